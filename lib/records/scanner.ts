/**
 * The byte-level fast path: job records read straight from the response bytes.
 *
 * A job list of 10^6 records is ~460 MB of JSON. Handing every element to JSON.parse builds ~10 objects and
 * ~20 strings per record only for toJob to read seven of them. JobRecordScanner reads an element straight
 * from the bytes instead: it validates the whole element against the JSON grammar (every byte, ignored
 * fields included) while it extracts the seven fields toJob reads, then applies toJob's rules to them.
 * It allocates nothing for a typical record: ids become 128-bit words, repeated strings (workflow ids,
 * statuses, job types, names) are interned by their bytes, timestamps and durations are parsed in place.
 *
 * Whenever it meets something it does not handle exactly like JSON.parse + toJob would — an escape in a
 * key, a repeated key, a control character, invalid JSON, nesting deeper than MAX_SCAN_DEPTH — it declines
 * the element, and the caller gives that element to the reference path (JSON.parse + toJob), which
 * validates it (and reports the error) exactly as before. Only fully understood elements are consumed.
 */
import { keepHiddenClass } from '../common/keep-hidden-class.js';
import type { ObjectScanner } from '../pull/json-stream.js';
import { DEFAULT_JOB_TYPE, type SkipReason } from '../vocabulary.js';
import { ByteInterner, decodeToken, TOKEN_ESCAPE, TOKEN_NON_ASCII } from './byte-interner.js';
import { parseIsoDuration, parseIsoDurationBytes } from './duration.js';
import type { Job } from './job.js';
import {
  B_BACKSLASH,
  B_CLOSE_BRACE,
  B_COLON,
  B_COMMA,
  B_QUOTE,
  NULL_BYTES,
  PLAIN,
  SCAN_DECLINE,
  SCAN_NEED_MORE,
  sameKey,
  skipEscape,
  skipLiteral,
  skipValue,
  skipWhitespace,
} from './json-bytes.js';
import { parseRfc3339, parseRfc3339Bytes } from './rfc3339.js';
import { finishesByNow } from './runtime-bound.js';
import { isId, MAX_ID_LENGTH } from './to-job.js';
import { isLowerUuid, uuidFromBytes, uuidToString } from './uuid.js';

/**
 * One record read by JobRecordScanner: either a skip reason, or the fields of a Job. Reused from record to
 * record (valid only during the sink call). The id is 128-bit words for a canonical lower-case UUID, else
 * `idString`; the workflow name is decoded only when asked for (aggregation needs it rarely).
 */
export class ScannedJob {
  /** Why the record is not counted, or undefined for a valid job. */
  reason: SkipReason | undefined = undefined;
  /** The id when it is not a canonical lower-case UUID (then id0..id3 are meaningless). */
  idString: string | undefined = undefined;
  id0 = 0;
  id1 = 0;
  id2 = 0;
  id3 = 0;
  workflowId = '';
  status = '';
  jobType = '';
  createdAtMs = 0;
  /** The runtime in seconds, NaN for none (a plain double field: no allocation per record). */
  runtime = Number.NaN;
  runtimeInvalid = false;
  runtimeLongerThanAge = false;

  /** Job.runtimeSeconds: undefined when absent, null, unparsable, negative or longer than the job's age. */
  get runtimeSeconds(): number | undefined {
    return Number.isNaN(this.runtime) ? undefined : this.runtime;
  }

  /** Where the name token is (kind as in the scanner), for the lazy getter. */
  nameKind = 0;
  nameStart = 0;
  nameEnd = 0;
  nameFlags = 0;
  nameBytes: Buffer | undefined = undefined;
  readonly #names = new ByteInterner();

  get workflowName(): string {
    if (this.nameKind !== KIND_STRING) return this.workflowId;
    // A long name is decoded each time, never interned (ByteInterner.MAX_INTERNED_BYTES), for the aggregation to cut.
    return this.#names.get(this.nameBytes as Buffer, this.nameStart, this.nameEnd, this.nameFlags);
  }

  get id(): string {
    return this.idString ?? uuidToString(this.id0, this.id1, this.id2, this.id3);
  }

  /** The Job toJob would have made of the record (call only when `reason` is undefined). */
  toJob(): Job {
    return {
      id: this.id,
      workflowId: this.workflowId,
      workflowName: this.workflowName,
      status: this.status,
      jobType: this.jobType,
      createdAtMs: this.createdAtMs,
      runtimeSeconds: this.runtimeSeconds,
      runtimeInvalid: this.runtimeInvalid,
      runtimeLongerThanAge: this.runtimeLongerThanAge,
    };
  }
}

const KIND_ABSENT = 0;
const KIND_STRING = 1;
const KIND_NULL = 2;
const KIND_OTHER = 3;

const F_ID = 0;
const F_WORKFLOW_ID = 1;
const F_WORKFLOW_NAME = 2;
const F_STATUS = 3;
const F_CREATED_AT = 4;
const F_RUNTIME = 5;
const F_JOB_TYPE = 6;
const FIELD_COUNT = 7;

const KEY_BYTES = {
  status: Buffer.from('status'),
  runtime: Buffer.from('runtime'),
  jobType: Buffer.from('job_type'),
  createdAt: Buffer.from('created_at'),
  workflowId: Buffer.from('workflow_id'),
  workflowName: Buffer.from('workflow_name'),
} as const;

/** Which field a key (its bytes `[start, end)`, no escapes) names, or -1 for one toJob does not read. */
function fieldOf(bytes: Uint8Array, start: number, end: number): number {
  switch (end - start) {
    case 2:
      return bytes[start] === 0x69 && bytes[start + 1] === 0x64 ? F_ID : -1;
    case 6:
      return sameKey(bytes, start, KEY_BYTES.status) ? F_STATUS : -1;
    case 7:
      return sameKey(bytes, start, KEY_BYTES.runtime) ? F_RUNTIME : -1;
    case 8:
      return sameKey(bytes, start, KEY_BYTES.jobType) ? F_JOB_TYPE : -1;
    case 10:
      return sameKey(bytes, start, KEY_BYTES.createdAt) ? F_CREATED_AT : -1;
    case 11:
      return sameKey(bytes, start, KEY_BYTES.workflowId) ? F_WORKFLOW_ID : -1;
    case 13:
      return sameKey(bytes, start, KEY_BYTES.workflowName) ? F_WORKFLOW_NAME : -1;
    default:
      return -1;
  }
}

/** JobInformation's keys in the order the API writes them, with their quotes and colon, and their fields. */
const EXPECTED_KEY_NAMES = [
  'id',
  'workflow_id',
  'workflow_name',
  'status',
  'created_at',
  'runtime',
  'input_file_ids',
  'output_node_files',
  'job_type',
] as const;
const EXPECTED_KEYS = EXPECTED_KEY_NAMES.map((k) => Buffer.from(`"${k}":`));
const EXPECTED_FIELDS = Int32Array.from([
  F_ID,
  F_WORKFLOW_ID,
  F_WORKFLOW_NAME,
  F_STATUS,
  F_CREATED_AT,
  F_RUNTIME,
  -1,
  -1,
  F_JOB_TYPE,
]);

const EMPTY_BYTES = Buffer.alloc(0);

/**
 * Reads job records (top-level array elements that are objects) straight from the bytes (see the top of
 * this file). `scan` is the JsonArrayStream object-scanner contract: it either consumes one whole element
 * (handing the ScannedJob to the sink) and returns the index after it, or returns SCAN_NEED_MORE /
 * SCAN_DECLINE having consumed nothing.
 */
export class JobRecordScanner implements ObjectScanner {
  readonly job = new ScannedJob();
  readonly #sink: (job: ScannedJob) => void;
  /** Per field: kind, token start, token end, token flags. */
  readonly #fields = new Int32Array(FIELD_COUNT * 4);
  readonly #words = new Int32Array(4);
  readonly #workflowIds = new ByteInterner();
  readonly #statuses = new ByteInterner();
  readonly #jobTypes = new ByteInterner();
  /** The collection's "now" (epoch ms): a runtime must not end after it (runtime-bound.ts). */
  readonly #nowMs: number;

  constructor(sink: (job: ScannedJob) => void, nowMs: number) {
    this.#sink = sink;
    this.#nowMs = nowMs;
  }

  /**
   * Ends this scanner once its response is read: its record, without the last chunk it pointed into, is kept
   * (keepHiddenClass) for ScannedJob's hidden class.
   */
  release(): void {
    this.job.nameBytes = EMPTY_BYTES;
    keepHiddenClass(this.job);
  }

  /** Elements consumed (delivered to the sink). */
  count = 0;

  scan(bytes: Buffer, start: number, limit: number): number {
    const f = this.#fields;
    for (let k = 0; k < FIELD_COUNT * 4; k += 4) f[k] = KIND_ABSENT;
    let p = skipWhitespace(bytes, start + 1, limit);
    if (p >= limit) return SCAN_NEED_MORE;
    if (bytes[p] !== B_CLOSE_BRACE) {
      // Keys are first matched against the order FastAPI writes them in (`"id":` … as whole byte
      // sequences); any other key, order or spacing takes the general path.
      let expected = 0;
      for (;;) {
        if (bytes[p] !== B_QUOTE) return SCAN_DECLINE;
        let field: number;
        const next = EXPECTED_KEYS[expected];
        if (next !== undefined && p + next.length < limit && sameKey(bytes, p, next)) {
          field = EXPECTED_FIELDS[expected]!;
          expected++;
          p += next.length;
        } else {
          expected = EXPECTED_KEYS.length;
          const keyStart = p + 1;
          let q = keyStart;
          while (q < limit && PLAIN[bytes[q]!] === 1) q++;
          if (q >= limit) return SCAN_NEED_MORE;
          // An escape in a key (it could spell a field name) or a control character: leave it to JSON.parse.
          if (bytes[q] !== B_QUOTE) return SCAN_DECLINE;
          field = fieldOf(bytes, keyStart, q);
          p = skipWhitespace(bytes, q + 1, limit);
          if (p >= limit) return SCAN_NEED_MORE;
          if (bytes[p] !== B_COLON) return SCAN_DECLINE;
          p++;
        }
        if (p < limit && bytes[p]! <= 0x20) p = skipWhitespace(bytes, p, limit);
        if (p >= limit) return SCAN_NEED_MORE;
        if (field < 0) {
          p = skipValue(bytes, p, limit, 1);
          if (p < 0) return p;
        } else {
          const at = field * 4;
          // A repeated field: JSON.parse keeps the last one; leave that rare case to it.
          if (f[at] !== KIND_ABSENT) return SCAN_DECLINE;
          const c = bytes[p]!;
          if (
            c === B_QUOTE &&
            field <= F_WORKFLOW_ID &&
            p + 37 < limit &&
            bytes[p + 37] === B_QUOTE &&
            isLowerUuid(bytes, p + 1)
          ) {
            // A canonical UUID (every byte a hex digit or a dash: nothing to escape): the token as is.
            f[at] = KIND_STRING;
            f[at + 1] = p + 1;
            f[at + 2] = p + 37;
            f[at + 3] = 0;
            p += 38;
          } else if (c === B_QUOTE) {
            let q2 = p + 1;
            let flags = 0;
            for (;;) {
              if (q2 >= limit) return SCAN_NEED_MORE;
              const b = bytes[q2]!;
              if (PLAIN[b] === 1) {
                if (b >= 0x80) flags |= TOKEN_NON_ASCII;
                q2++;
              } else if (b === B_QUOTE) break;
              else if (b === B_BACKSLASH) {
                q2 = skipEscape(bytes, q2, limit);
                if (q2 < 0) return q2;
                flags |= TOKEN_ESCAPE;
              } else return SCAN_DECLINE;
            }
            f[at] = KIND_STRING;
            f[at + 1] = p + 1;
            f[at + 2] = q2;
            f[at + 3] = flags;
            p = q2 + 1;
          } else if (c === 0x6e) {
            p = skipLiteral(bytes, p, limit, NULL_BYTES);
            if (p < 0) return p;
            f[at] = KIND_NULL;
          } else {
            p = skipValue(bytes, p, limit, 1);
            if (p < 0) return p;
            f[at] = KIND_OTHER;
          }
        }
        p = skipWhitespace(bytes, p, limit);
        if (p >= limit) return SCAN_NEED_MORE;
        const c = bytes[p]!;
        if (c === B_CLOSE_BRACE) break;
        if (c !== B_COMMA) return SCAN_DECLINE;
        p = skipWhitespace(bytes, p + 1, limit);
        if (p >= limit) return SCAN_NEED_MORE;
      }
    }
    this.#deliver(bytes);
    this.count++;
    return p + 1;
  }

  /** toJob's rules, in toJob's order, over the extracted tokens. */
  #deliver(bytes: Buffer): void {
    const f = this.#fields;
    const job = this.job;
    job.reason = this.#fill(bytes, f, job);
    this.#sink(job);
  }

  #fill(bytes: Buffer, f: Int32Array, job: ScannedJob): SkipReason | undefined {
    // id
    if (f[F_ID * 4] !== KIND_STRING) return 'invalid_id';
    {
      const start = f[F_ID * 4 + 1]!;
      const end = f[F_ID * 4 + 2]!;
      const flags = f[F_ID * 4 + 3]!;
      if (flags === 0 && end - start === 36 && uuidFromBytes(bytes, start, this.#words)) {
        const w = this.#words;
        job.idString = undefined;
        job.id0 = w[0]!;
        job.id1 = w[1]!;
        job.id2 = w[2]!;
        job.id3 = w[3]!;
      } else {
        if (flags === 0 && (end === start || end - start > MAX_ID_LENGTH)) return 'invalid_id';
        const id = decodeToken(bytes, start, end, flags);
        if (!isId(id)) return 'invalid_id';
        job.idString = id;
      }
    }
    // workflow_id
    if (f[F_WORKFLOW_ID * 4] !== KIND_STRING) return 'invalid_workflow_id';
    {
      const start = f[F_WORKFLOW_ID * 4 + 1]!;
      const end = f[F_WORKFLOW_ID * 4 + 2]!;
      const flags = f[F_WORKFLOW_ID * 4 + 3]!;
      if (flags === 0 && (end === start || end - start > MAX_ID_LENGTH)) return 'invalid_workflow_id';
      // A byte length over the limit may still be few enough UTF-16 units: isId judges the decoded text.
      const workflowId =
        end - start > 4 * MAX_ID_LENGTH
          ? decodeToken(bytes, start, end, flags)
          : this.#workflowIds.get(bytes, start, end, flags);
      if (!isId(workflowId)) return 'invalid_workflow_id';
      job.workflowId = workflowId;
    }
    // status
    if (f[F_STATUS * 4] !== KIND_STRING) return 'invalid_status';
    {
      const start = f[F_STATUS * 4 + 1]!;
      const end = f[F_STATUS * 4 + 2]!;
      if (end === start) return 'invalid_status';
      job.status = this.#statuses.get(bytes, start, end, f[F_STATUS * 4 + 3]!);
    }
    // created_at
    if (f[F_CREATED_AT * 4] !== KIND_STRING) return 'invalid_created_at';
    {
      const start = f[F_CREATED_AT * 4 + 1]!;
      const end = f[F_CREATED_AT * 4 + 2]!;
      const flags = f[F_CREATED_AT * 4 + 3]!;
      const ms =
        flags === 0 ? parseRfc3339Bytes(bytes, start, end) : parseRfc3339(decodeToken(bytes, start, end, flags));
      if (Number.isNaN(ms)) return 'invalid_created_at';
      job.createdAtMs = ms;
    }
    // workflow_name: decoded lazily (ScannedJob.workflowName)
    job.nameKind = f[F_WORKFLOW_NAME * 4]!;
    job.nameStart = f[F_WORKFLOW_NAME * 4 + 1]!;
    job.nameEnd = f[F_WORKFLOW_NAME * 4 + 2]!;
    job.nameFlags = f[F_WORKFLOW_NAME * 4 + 3]!;
    job.nameBytes = bytes;
    // job_type
    if (f[F_JOB_TYPE * 4] === KIND_STRING && f[F_JOB_TYPE * 4 + 2]! > f[F_JOB_TYPE * 4 + 1]!) {
      job.jobType = this.#jobTypes.get(bytes, f[F_JOB_TYPE * 4 + 1]!, f[F_JOB_TYPE * 4 + 2]!, f[F_JOB_TYPE * 4 + 3]!);
    } else job.jobType = DEFAULT_JOB_TYPE;
    // runtime
    const runtimeKind = f[F_RUNTIME * 4]!;
    job.runtime = Number.NaN;
    job.runtimeInvalid = false;
    job.runtimeLongerThanAge = false;
    if (runtimeKind === KIND_STRING) {
      const start = f[F_RUNTIME * 4 + 1]!;
      const end = f[F_RUNTIME * 4 + 2]!;
      const flags = f[F_RUNTIME * 4 + 3]!;
      const seconds =
        flags === 0
          ? parseIsoDurationBytes(bytes, start, end)
          : parseIsoDuration(decodeToken(bytes, start, end, flags));
      if (!(Number.isFinite(seconds) && seconds >= 0)) job.runtimeInvalid = true;
      else if (!finishesByNow(job.createdAtMs, seconds, this.#nowMs)) job.runtimeLongerThanAge = true;
      else job.runtime = seconds;
    } else if (runtimeKind === KIND_OTHER) job.runtimeInvalid = true;
    return undefined;
  }
}
