/**
 * Validation of one API record (JobInformation, see shared/reference/unstructured-jobs-api.md) into a Job.
 * A record that cannot be counted yields the SkipReason that says why; a record with a bad `runtime` is
 * still counted (its status and age are sound) but kept out of runtime statistics.
 */
import { parseIsoDuration, parseIsoDurationBytes } from './duration.js';
import type { Job } from './job.js';
import { OBJECT_SCAN_DECLINE, OBJECT_SCAN_NEED_MORE, type ObjectScanner } from '../pull/json-stream.js';
import { DEFAULT_JOB_TYPE, type SkipReason } from '../aggregate/snapshot.js';

/**
 * Longest `id` / `workflow_id` accepted. Both are UUIDs (36 characters); 256 leaves room for other id
 * schemes while refusing a value that would make a huge metric label or map key.
 */
export const MAX_ID_LENGTH = 256;

export function toJob(raw: unknown): Job | SkipReason {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return 'not_an_object';
  const record = raw as Record<string, unknown>;

  const id = record['id'];
  if (!isId(id)) return 'invalid_id';
  const workflowId = record['workflow_id'];
  if (!isId(workflowId)) return 'invalid_workflow_id';
  const status = record['status'];
  // Unknown statuses are kept as sent: older API versions used other strings and new ones may appear.
  if (typeof status !== 'string' || status.length === 0) return 'invalid_status';
  const createdAt = record['created_at'];
  const createdAtMs = typeof createdAt === 'string' ? parseRfc3339(createdAt) : NaN;
  if (Number.isNaN(createdAtMs)) return 'invalid_created_at';

  // Required by the schema, but a missing name must not lose the job: the id names the workflow then.
  const name = record['workflow_name'];
  const workflowName = typeof name === 'string' ? name : workflowId;

  // The schema says absent means the default and does not allow null; anything unusable counts as the default.
  const type = record['job_type'];
  const jobType = typeof type === 'string' && type.length > 0 ? type : DEFAULT_JOB_TYPE;

  // Absent or null right after creation: no runtime yet, which is not an error.
  const runtime = record['runtime'];
  let runtimeSeconds: number | undefined;
  let runtimeInvalid = false;
  if (runtime !== undefined && runtime !== null) {
    const seconds = typeof runtime === 'string' ? parseIsoDuration(runtime) : NaN;
    if (Number.isFinite(seconds) && seconds >= 0) runtimeSeconds = seconds;
    else runtimeInvalid = true;
  }

  return { id, workflowId, workflowName, status, jobType, createdAtMs, runtimeSeconds, runtimeInvalid };
}

function isId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_ID_LENGTH;
}

/**
 * Longest timestamp accepted: `2026-01-01T00:00:00.123456789+05:30` is 35 characters; 64 allows long
 * fractions while bounding the work on a hostile value.
 */
const MAX_TIMESTAMP_LENGTH = 64;

/**
 * Strict RFC 3339 `date-time` (section 5.6) to epoch milliseconds, or NaN.
 *
 *   YYYY-MM-DD T hh:mm:ss [.fraction] (Z | +hh:mm | -hh:mm)
 *
 * - The offset is required: a time without one is local to an unknown zone, so its age would be wrong.
 * - `T` and `Z` may be lower-case, as RFC 3339 allows; the space separator it mentions as an option for
 *   applications is not accepted (it is not in the grammar).
 * - Calendar checks: month 01–12, day within the month (Gregorian leap years), hour 00–23, minute and
 *   offset minute 00–59, offset hour 00–23. Second 60 (a leap second) is rejected: the API is Python,
 *   whose datetime cannot hold one, and epoch milliseconds cannot represent one.
 * - The fraction may have any number of digits; it is truncated to whole milliseconds (like Date.parse).
 *
 * Written by hand because Date.parse is lenient in engine-specific ways (date-only forms, no offset taken
 * as local time, two-digit years).
 */
export function parseRfc3339(text: string): number {
  const length = text.length;
  // `YYYY-MM-DDThh:mm:ssZ` is the shortest form (20 characters).
  if (length < 20 || length > MAX_TIMESTAMP_LENGTH) return NaN;
  const year = digits4(text, 0);
  const month = digits2(text, 5);
  const day = digits2(text, 8);
  const hour = digits2(text, 11);
  const minute = digits2(text, 14);
  const second = digits2(text, 17);
  if (
    text.charCodeAt(4) !== CHAR_DASH ||
    text.charCodeAt(7) !== CHAR_DASH ||
    (text.charCodeAt(10) | LOWER_CASE_BIT) !== CHAR_LOWER_T ||
    text.charCodeAt(13) !== CHAR_COLON ||
    text.charCodeAt(16) !== CHAR_COLON
  ) {
    return NaN;
  }
  // digitsN gives NaN for a non-digit, and every comparison with NaN is false.
  if (!(year >= 0 && month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month))) return NaN;
  if (!(hour <= 23 && minute <= 59 && second <= 59)) return NaN;

  let i = 19;
  let millis = 0;
  if (text.charCodeAt(i) === CHAR_DOT) {
    i++;
    const fractionStart = i;
    let code = text.charCodeAt(i);
    while (code >= CHAR_0 && code <= CHAR_9) {
      // Only the first three digits count: truncation to whole milliseconds.
      const place = i - fractionStart;
      if (place < 3) millis += (code - CHAR_0) * MILLIS_PLACE[place]!;
      code = text.charCodeAt(++i);
    }
    if (i === fractionStart) return NaN;
  }

  let offsetMinutes: number;
  const designator = text.charCodeAt(i);
  if ((designator | LOWER_CASE_BIT) === CHAR_LOWER_Z) {
    if (i + 1 !== length) return NaN;
    offsetMinutes = 0;
  } else if (designator === CHAR_PLUS || designator === CHAR_DASH) {
    if (i + 6 !== length || text.charCodeAt(i + 3) !== CHAR_COLON) return NaN;
    const offsetHour = digits2(text, i + 1);
    const offsetMinute = digits2(text, i + 4);
    if (!(offsetHour <= 23 && offsetMinute <= 59)) return NaN;
    offsetMinutes = (designator === CHAR_PLUS ? 1 : -1) * (offsetHour * 60 + offsetMinute);
  } else {
    return NaN;
  }

  const days = daysFromCivil(year, month, day);
  return days * MS_PER_DAY + ((hour * 60 + minute - offsetMinutes) * 60 + second) * 1000 + millis;
}

const MS_PER_DAY = 86_400_000;
const MILLIS_PLACE = [100, 10, 1] as const;
const CHAR_0 = 0x30;
const CHAR_9 = 0x39;
const CHAR_PLUS = 0x2b;
const CHAR_DASH = 0x2d;
const CHAR_DOT = 0x2e;
const CHAR_COLON = 0x3a;
const CHAR_LOWER_T = 0x74;
const CHAR_LOWER_Z = 0x7a;
/** OR-ing this folds an ASCII upper-case letter to lower case (and leaves `t`/`z` as they are). */
const LOWER_CASE_BIT = 0x20;

/** The value of one ASCII digit, or NaN. */
function digit(text: string, at: number): number {
  const code = text.charCodeAt(at);
  return code >= CHAR_0 && code <= CHAR_9 ? code - CHAR_0 : NaN;
}

function digits2(text: string, at: number): number {
  return digit(text, at) * 10 + digit(text, at + 1);
}

function digits4(text: string, at: number): number {
  return digits2(text, at) * 100 + digits2(text, at + 2);
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). Pure arithmetic
 * rather than Date.UTC, which maps years 0–99 to 1900–1999.
 */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

// ---------------------------------------------------------------------------------------------------------
// Byte-level fast path
//
// A job list of 10^6 records is ~460 MB of JSON. Handing every element to JSON.parse builds ~10 objects and
// ~20 strings per record only for toJob to read seven of them. JobRecordScanner reads an element straight
// from the bytes instead: it validates the whole element against the JSON grammar (every byte, ignored
// fields included) while it extracts the seven fields toJob reads, then applies toJob's rules to them.
// It allocates nothing for a typical record: ids become 128-bit words, repeated strings (workflow ids,
// statuses, job types, names) are interned by their bytes, timestamps and durations are parsed in place.
//
// Whenever it meets something it does not handle exactly like JSON.parse + toJob would — an escape in a
// key, a repeated key, a control character, invalid JSON, nesting deeper than MAX_SCAN_DEPTH — it declines
// the element, and the caller gives that element to the reference path (JSON.parse + toJob), which
// validates it (and reports the error) exactly as before. Only fully understood elements are consumed.

/** `scan` needs bytes past `limit` to finish the element. */
export const SCAN_NEED_MORE = OBJECT_SCAN_NEED_MORE;
/** The element must go through JSON.parse + toJob. */
export const SCAN_DECLINE = OBJECT_SCAN_DECLINE;
/** Nesting (inside ignored values) the scanner follows before declining the element. */
export const MAX_SCAN_DEPTH = 64;

/**
 * parseRfc3339 over the bytes `[start, end)` of a buffer (the inside of a JSON string token without escapes),
 * without making a string. Every accepted character is ASCII and every position is checked, so a byte ≥ 0x80
 * fails exactly where the string version fails on the character it belongs to.
 */
export function parseRfc3339Bytes(bytes: Uint8Array, start: number, end: number): number {
  const length = end - start;
  if (length < 20 || length > MAX_TIMESTAMP_LENGTH) return NaN;
  const year = byteDigits2(bytes, start) * 100 + byteDigits2(bytes, start + 2);
  const month = byteDigits2(bytes, start + 5);
  const day = byteDigits2(bytes, start + 8);
  const hour = byteDigits2(bytes, start + 11);
  const minute = byteDigits2(bytes, start + 14);
  const second = byteDigits2(bytes, start + 17);
  if (
    bytes[start + 4] !== CHAR_DASH ||
    bytes[start + 7] !== CHAR_DASH ||
    ((bytes[start + 10] as number) | LOWER_CASE_BIT) !== CHAR_LOWER_T ||
    bytes[start + 13] !== CHAR_COLON ||
    bytes[start + 16] !== CHAR_COLON
  ) {
    return NaN;
  }
  if (!(year >= 0 && month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month))) return NaN;
  if (!(hour <= 23 && minute <= 59 && second <= 59)) return NaN;

  let i = start + 19;
  let millis = 0;
  if (bytes[i] === CHAR_DOT) {
    i++;
    const fractionStart = i;
    let code = i < end ? (bytes[i] as number) : -1;
    while (code >= CHAR_0 && code <= CHAR_9) {
      const place = i - fractionStart;
      if (place < 3) millis += (code - CHAR_0) * MILLIS_PLACE[place]!;
      code = ++i < end ? (bytes[i] as number) : -1;
    }
    if (i === fractionStart) return NaN;
  }

  let offsetMinutes: number;
  const designator = i < end ? (bytes[i] as number) : -1;
  if ((designator | LOWER_CASE_BIT) === CHAR_LOWER_Z) {
    if (i + 1 !== end) return NaN;
    offsetMinutes = 0;
  } else if (designator === CHAR_PLUS || designator === CHAR_DASH) {
    if (i + 6 !== end || bytes[i + 3] !== CHAR_COLON) return NaN;
    const offsetHour = byteDigits2(bytes, i + 1);
    const offsetMinute = byteDigits2(bytes, i + 4);
    if (!(offsetHour <= 23 && offsetMinute <= 59)) return NaN;
    offsetMinutes = (designator === CHAR_PLUS ? 1 : -1) * (offsetHour * 60 + offsetMinute);
  } else {
    return NaN;
  }
  const days = daysFromCivil(year, month, day);
  return days * MS_PER_DAY + ((hour * 60 + minute - offsetMinutes) * 60 + second) * 1000 + millis;
}

function byteDigits2(bytes: Uint8Array, at: number): number {
  const a = (bytes[at] as number) - CHAR_0;
  const b = (bytes[at + 1] as number) - CHAR_0;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : NaN;
}

/** Value of a lower-case hex digit (the canonical UUID form), else -1. */
const LOWER_HEX = new Int8Array(256).fill(-1);
for (let c = 0; c < 10; c++) LOWER_HEX[CHAR_0 + c] = c;
for (let c = 0; c < 6; c++) LOWER_HEX[0x61 + c] = 10 + c;

/** Offsets of the 32 hex digits in a canonical 8-4-4-4-12 UUID. */
const UUID_DIGITS = Int32Array.from([
  0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 14, 15, 16, 17, 19, 20, 21, 22, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35,
]);

/**
 * The 128 bits of a canonical lower-case UUID (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, 36 bytes at `start`)
 * into out[0..4), most significant word first; false (out unspecified) for any other text. Upper-case hex is
 * refused on purpose: `ABC…` and `abc…` are different ids, and only the lower-case form maps to words.
 */
export function uuidFromBytes(bytes: Uint8Array, start: number, out: Int32Array): boolean {
  if (bytes[start + 8] !== CHAR_DASH || bytes[start + 13] !== CHAR_DASH || bytes[start + 18] !== CHAR_DASH || bytes[start + 23] !== CHAR_DASH) {
    return false;
  }
  let bad = 0;
  for (let w = 0; w < 4; w++) {
    let v = 0;
    for (let k = 0; k < 8; k++) {
      const h = LOWER_HEX[bytes[start + UUID_DIGITS[w * 8 + k]!]!]!;
      bad |= h;
      v = (v << 4) | h;
    }
    out[w] = v;
  }
  return bad >= 0;
}

/** uuidFromBytes for a string: exactly 36 characters in the canonical lower-case form. */
export function uuidFromString(text: string, out: Int32Array): boolean {
  if (text.length !== 36) return false;
  if (text.charCodeAt(8) !== CHAR_DASH || text.charCodeAt(13) !== CHAR_DASH || text.charCodeAt(18) !== CHAR_DASH || text.charCodeAt(23) !== CHAR_DASH) {
    return false;
  }
  let bad = 0;
  for (let w = 0; w < 4; w++) {
    let v = 0;
    for (let k = 0; k < 8; k++) {
      const code = text.charCodeAt(UUID_DIGITS[w * 8 + k]!);
      const h = code < 256 ? LOWER_HEX[code]! : -1;
      bad |= h;
      v = (v << 4) | h;
    }
    out[w] = v;
  }
  return bad >= 0;
}

const HEX_DIGITS = '0123456789abcdef';

/** The canonical lower-case text of the UUID in words[0..4) (inverse of uuidFromString). */
export function uuidToString(w0: number, w1: number, w2: number, w3: number): string {
  const hex = (v: number) => {
    let s = '';
    for (let shift = 28; shift >= 0; shift -= 4) s += HEX_DIGITS[(v >>> shift) & 15];
    return s;
  };
  const b = hex(w1);
  const c = hex(w2);
  return `${hex(w0)}-${b.slice(0, 4)}-${b.slice(4)}-${c.slice(0, 4)}-${c.slice(4)}${hex(w3)}`;
}

/**
 * Strings interned by their bytes: the JSON token (inside the quotes, escapes as written) maps to the
 * decoded string, so a workflow id or a status seen a million times is decoded once and is one string.
 * Bounded: past MAX_INTERNED distinct values, further ones are decoded each time and not kept.
 */
class ByteInterner {
  static readonly MAX_INTERNED = 8192;
  #mask = 63;
  #hashes = new Int32Array(64);
  #keys: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(64).fill(undefined);
  #values: string[] = new Array<string>(64).fill('');
  #size = 0;
  /**
   * A direct-mapped front: a few bytes of the token pick one recent key, compared whole. Most lookups (the
   * same 200 workflow ids, 5 statuses) end here, without hashing every byte.
   */
  readonly #frontKeys: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(FRONT_SIZE).fill(undefined);
  readonly #frontValues: string[] = new Array<string>(FRONT_SIZE).fill('');

  get(bytes: Buffer, start: number, end: number, flags: number): string {
    const length = end - start;
    const front =
      length === 0 ? 0 : (Math.imul(bytes[start]! ^ (bytes[end - 1]! << 7) ^ (bytes[start + (length >> 1)]! << 14) ^ (bytes[start + (length >> 2)]! << 21), 0x9e3779b1) ^ length) >>> (32 - FRONT_BITS);
    const candidate = this.#frontKeys[front];
    if (candidate !== undefined && candidate.length === length && sameBytes(candidate, bytes, start)) return this.#frontValues[front] as string;
    const value = this.#lookup(bytes, start, end, flags);
    const key = this.#lastKey;
    if (key !== undefined) {
      this.#frontKeys[front] = key;
      this.#frontValues[front] = value;
    }
    return value;
  }

  /** The key bytes of the entry the last #lookup found or added (undefined when not kept). */
  #lastKey: Uint8Array | undefined = undefined;

  #lookup(bytes: Buffer, start: number, end: number, flags: number): string {
    this.#lastKey = undefined;
    // Four bytes a step, then MurmurHash3's finaliser (so the low bits used for the slot depend on every byte).
    let h = 0x811c9dc5 ^ (end - start);
    let i = start;
    for (; i + 4 <= end; i += 4) h = Math.imul(h ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24)), 0x01000193);
    for (; i < end; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    h = h | 1; // never 0: 0 marks an empty slot
    const mask = this.#mask;
    for (let slot = h & mask; ; slot = (slot + 1) & mask) {
      const stored = this.#hashes[slot]!;
      if (stored === 0) break;
      if (stored === h) {
        const key = this.#keys[slot] as Uint8Array;
        if (key.length === end - start && sameBytes(key, bytes, start)) {
          this.#lastKey = key;
          return this.#values[slot] as string;
        }
      }
    }
    const value = decodeToken(bytes, start, end, flags);
    if (this.#size < ByteInterner.MAX_INTERNED) {
      const key = bytes.slice(start, end);
      this.#insert(h, key, value);
      this.#lastKey = key;
    }
    return value;
  }

  #insert(h: number, key: Uint8Array, value: string): void {
    if ((this.#size + 1) * 2 > this.#mask + 1) this.#grow();
    const mask = this.#mask;
    let slot = h & mask;
    while (this.#hashes[slot] !== 0) slot = (slot + 1) & mask;
    this.#hashes[slot] = h;
    this.#keys[slot] = key;
    this.#values[slot] = value;
    this.#size++;
  }

  #grow(): void {
    const hashes = this.#hashes;
    const keys = this.#keys;
    const values = this.#values;
    const capacity = hashes.length * 2;
    this.#mask = capacity - 1;
    this.#hashes = new Int32Array(capacity);
    this.#keys = new Array<Uint8Array | undefined>(capacity).fill(undefined);
    this.#values = new Array<string>(capacity).fill('');
    this.#size = 0;
    for (let slot = 0; slot < hashes.length; slot++) {
      if (hashes[slot] !== 0) this.#insert(hashes[slot]!, keys[slot] as Uint8Array, values[slot] as string);
    }
  }
}

function sameBytes(key: Uint8Array, bytes: Uint8Array, start: number): boolean {
  for (let k = 0; k < key.length; k++) if (key[k] !== bytes[start + k]) return false;
  return true;
}

const FRONT_BITS = 10;
const FRONT_SIZE = 1 << FRONT_BITS;

const TOKEN_ESCAPE = 1;
const TOKEN_NON_ASCII = 2;

/** The string a JSON string token (its inside `[start, end)`) stands for, as JSON.parse would give it. */
function decodeToken(bytes: Buffer, start: number, end: number, flags: number): string {
  if ((flags & TOKEN_ESCAPE) !== 0) return JSON.parse(bytes.toString('utf8', start - 1, end + 1)) as string;
  return (flags & TOKEN_NON_ASCII) !== 0 ? bytes.toString('utf8', start, end) : bytes.toString('latin1', start, end);
}

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

  /** Job.runtimeSeconds: undefined when absent, null, unparsable or negative. */
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
const TRUE_BYTES = Buffer.from('true');
const FALSE_BYTES = Buffer.from('false');
const NULL_BYTES = Buffer.from('null');

/** 1 for a byte that may stand in a string as is (not `"`, not `\`, not a control character). */
const PLAIN = new Uint8Array(256);
PLAIN.fill(1, 0x20);
PLAIN[0x22] = 0;
PLAIN[0x5c] = 0;
/** 1 for the bytes a `\` may be followed by, `u` aside. */
const SIMPLE_ESCAPE = new Uint8Array(256);
for (const c of '"\\/bfnrt') SIMPLE_ESCAPE[c.charCodeAt(0)] = 1;
/** 1 for any hex digit (either case), as `\uXXXX` allows. */
const ANY_HEX = new Uint8Array(256);
for (const c of '0123456789abcdefABCDEF') ANY_HEX[c.charCodeAt(0)] = 1;

const B_QUOTE = 0x22;
const B_BACKSLASH = 0x5c;
const B_COMMA = 0x2c;
const B_COLON = 0x3a;
const B_OPEN_BRACE = 0x7b;
const B_CLOSE_BRACE = 0x7d;
const B_OPEN_BRACKET = 0x5b;
const B_CLOSE_BRACKET = 0x5d;
const B_MINUS = 0x2d;

function skipWhitespace(bytes: Uint8Array, p: number, limit: number): number {
  while (p < limit) {
    const c = bytes[p]!;
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) p++;
    else break;
  }
  return p;
}

/** At a `\` (q): the index after a valid escape, SCAN_NEED_MORE, or SCAN_DECLINE. */
function skipEscape(bytes: Uint8Array, q: number, limit: number): number {
  if (q + 1 >= limit) return SCAN_NEED_MORE;
  const e = bytes[q + 1]!;
  if (SIMPLE_ESCAPE[e] === 1) return q + 2;
  if (e !== 0x75) return SCAN_DECLINE;
  if (q + 5 >= limit) return SCAN_NEED_MORE;
  return ANY_HEX[bytes[q + 2]!]! & ANY_HEX[bytes[q + 3]!]! & ANY_HEX[bytes[q + 4]!]! & ANY_HEX[bytes[q + 5]!]! ? q + 6 : SCAN_DECLINE;
}

/** At a `"` (p): the index after the closing quote. */
function skipString(bytes: Uint8Array, p: number, limit: number): number {
  let q = p + 1;
  for (;;) {
    while (q < limit && PLAIN[bytes[q]!] === 1) q++;
    if (q >= limit) return SCAN_NEED_MORE;
    const c = bytes[q]!;
    if (c === B_QUOTE) return q + 1;
    if (c !== B_BACKSLASH) return SCAN_DECLINE; // a raw control character
    q = skipEscape(bytes, q, limit);
    if (q < 0) return q;
  }
}

function skipLiteral(bytes: Uint8Array, p: number, limit: number, word: Uint8Array): number {
  for (let k = 0; k < word.length; k++) {
    if (p + k >= limit) return SCAN_NEED_MORE;
    if (bytes[p + k] !== word[k]) return SCAN_DECLINE;
  }
  return p + word.length;
}

function isDigit(c: number): boolean {
  return c >= CHAR_0 && c <= CHAR_9;
}

/** JSON's number grammar exactly: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
function skipNumber(bytes: Uint8Array, p: number, limit: number): number {
  let q = p;
  if (bytes[q] === B_MINUS && ++q >= limit) return SCAN_NEED_MORE;
  const first = bytes[q]!;
  if (first === CHAR_0) q++;
  else if (first >= 0x31 && first <= 0x39) {
    q++;
    while (q < limit && isDigit(bytes[q]!)) q++;
  } else return SCAN_DECLINE;
  if (q >= limit) return SCAN_NEED_MORE;
  if (bytes[q] === CHAR_DOT) {
    if (++q >= limit) return SCAN_NEED_MORE;
    if (!isDigit(bytes[q]!)) return SCAN_DECLINE;
    while (q < limit && isDigit(bytes[q]!)) q++;
    if (q >= limit) return SCAN_NEED_MORE;
  }
  const e = bytes[q]!;
  if (e === 0x65 || e === 0x45) {
    if (++q >= limit) return SCAN_NEED_MORE;
    const sign = bytes[q]!;
    if ((sign === CHAR_PLUS || sign === CHAR_DASH) && ++q >= limit) return SCAN_NEED_MORE;
    if (!isDigit(bytes[q]!)) return SCAN_DECLINE;
    while (q < limit && isDigit(bytes[q]!)) q++;
    if (q >= limit) return SCAN_NEED_MORE;
  }
  return q;
}

/** Any JSON value at p (p < limit): the index after it. */
function skipValue(bytes: Uint8Array, p: number, limit: number, depth: number): number {
  const c = bytes[p]!;
  if (c === B_QUOTE) return skipString(bytes, p, limit);
  if (c === B_OPEN_BRACE || c === B_OPEN_BRACKET) {
    if (depth >= MAX_SCAN_DEPTH) return SCAN_DECLINE;
    return c === B_OPEN_BRACE ? skipObject(bytes, p, limit, depth + 1) : skipArray(bytes, p, limit, depth + 1);
  }
  if (c === 0x74) return skipLiteral(bytes, p, limit, TRUE_BYTES);
  if (c === 0x66) return skipLiteral(bytes, p, limit, FALSE_BYTES);
  if (c === 0x6e) return skipLiteral(bytes, p, limit, NULL_BYTES);
  if (c === B_MINUS || isDigit(c)) return skipNumber(bytes, p, limit);
  return SCAN_DECLINE;
}

function skipObject(bytes: Uint8Array, p: number, limit: number, depth: number): number {
  let q = skipWhitespace(bytes, p + 1, limit);
  if (q >= limit) return SCAN_NEED_MORE;
  if (bytes[q] === B_CLOSE_BRACE) return q + 1;
  for (;;) {
    if (bytes[q] !== B_QUOTE) return SCAN_DECLINE;
    q = skipString(bytes, q, limit);
    if (q < 0) return q;
    q = skipWhitespace(bytes, q, limit);
    if (q >= limit) return SCAN_NEED_MORE;
    if (bytes[q] !== B_COLON) return SCAN_DECLINE;
    q = skipWhitespace(bytes, q + 1, limit);
    if (q >= limit) return SCAN_NEED_MORE;
    q = skipValue(bytes, q, limit, depth);
    if (q < 0) return q;
    q = skipWhitespace(bytes, q, limit);
    if (q >= limit) return SCAN_NEED_MORE;
    const c = bytes[q]!;
    if (c === B_CLOSE_BRACE) return q + 1;
    if (c !== B_COMMA) return SCAN_DECLINE;
    q = skipWhitespace(bytes, q + 1, limit);
    if (q >= limit) return SCAN_NEED_MORE;
  }
}

function skipArray(bytes: Uint8Array, p: number, limit: number, depth: number): number {
  let q = skipWhitespace(bytes, p + 1, limit);
  if (q >= limit) return SCAN_NEED_MORE;
  if (bytes[q] === B_CLOSE_BRACKET) return q + 1;
  for (;;) {
    q = skipValue(bytes, q, limit, depth);
    if (q < 0) return q;
    q = skipWhitespace(bytes, q, limit);
    if (q >= limit) return SCAN_NEED_MORE;
    const c = bytes[q]!;
    if (c === B_CLOSE_BRACKET) return q + 1;
    if (c !== B_COMMA) return SCAN_DECLINE;
    q = skipWhitespace(bytes, q + 1, limit);
    if (q >= limit) return SCAN_NEED_MORE;
  }
}

function sameKey(bytes: Uint8Array, start: number, key: Uint8Array): boolean {
  for (let k = 0; k < key.length; k++) if (bytes[start + k] !== key[k]) return false;
  return true;
}

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
const EXPECTED_KEY_NAMES = ['id', 'workflow_id', 'workflow_name', 'status', 'created_at', 'runtime', 'input_file_ids', 'output_node_files', 'job_type'] as const;
const EXPECTED_KEYS = EXPECTED_KEY_NAMES.map((k) => Buffer.from(`"${k}":`));
const EXPECTED_FIELDS = Int32Array.from([F_ID, F_WORKFLOW_ID, F_WORKFLOW_NAME, F_STATUS, F_CREATED_AT, F_RUNTIME, -1, -1, F_JOB_TYPE]);

/** 1 for a lower-case hex digit. */
const IS_LOWER_HEX = new Uint8Array(256);
for (const c of '0123456789abcdef') IS_LOWER_HEX[c.charCodeAt(0)] = 1;

/** 36 bytes at `start` in the canonical lower-case UUID form (the checks uuidFromBytes makes, without the words). */
function isLowerUuid(bytes: Uint8Array, start: number): boolean {
  if (bytes[start + 8] !== CHAR_DASH || bytes[start + 13] !== CHAR_DASH || bytes[start + 18] !== CHAR_DASH || bytes[start + 23] !== CHAR_DASH) return false;
  let ok = 1;
  for (let k = 0; k < 32; k++) ok &= IS_LOWER_HEX[bytes[start + UUID_DIGITS[k]!]!]!;
  return ok === 1;
}

/**
 * Reads job records (top-level array elements that are objects) straight from the bytes; see the comment
 * above. `scan` is the JsonArrayStream object-scanner contract: it either consumes one whole element
 * (handing the ScannedJob to the sink) and returns the index after it, or returns SCAN_NEED_MORE /
 * SCAN_DECLINE having consumed nothing.
 */
const EMPTY_BYTES = Buffer.alloc(0);
/** The record of the last released scanner (see JobRecordScanner.release). */
let lastReleasedJob: ScannedJob | undefined;

export class JobRecordScanner implements ObjectScanner {
  readonly job = new ScannedJob();
  readonly #sink: (job: ScannedJob) => void;
  /** Per field: kind, token start, token end, token flags. */
  readonly #fields = new Int32Array(FIELD_COUNT * 4);
  readonly #words = new Int32Array(4);
  readonly #workflowIds = new ByteInterner();
  readonly #statuses = new ByteInterner();
  readonly #jobTypes = new ByteInterner();

  constructor(sink: (job: ScannedJob) => void) {
    this.#sink = sink;
  }

  /**
   * Ends this scanner once its response is read: its record (without the last chunk it pointed into) stays
   * referenced until the next release, so V8 keeps ScannedJob's hidden class for the next collection (see
   * Aggregator.release for what is lost otherwise).
   */
  release(): void {
    this.job.nameBytes = EMPTY_BYTES;
    lastReleasedJob = this.job;
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
          if (c === B_QUOTE && field <= F_WORKFLOW_ID && p + 37 < limit && bytes[p + 37] === B_QUOTE && isLowerUuid(bytes, p + 1)) {
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
      const workflowId = end - start > 4 * MAX_ID_LENGTH ? decodeToken(bytes, start, end, flags) : this.#workflowIds.get(bytes, start, end, flags);
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
      const ms = flags === 0 ? parseRfc3339Bytes(bytes, start, end) : parseRfc3339(decodeToken(bytes, start, end, flags));
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
    if (runtimeKind === KIND_STRING) {
      const start = f[F_RUNTIME * 4 + 1]!;
      const end = f[F_RUNTIME * 4 + 2]!;
      const flags = f[F_RUNTIME * 4 + 3]!;
      const seconds = flags === 0 ? parseIsoDurationBytes(bytes, start, end) : parseIsoDuration(decodeToken(bytes, start, end, flags));
      if (Number.isFinite(seconds) && seconds >= 0) job.runtime = seconds;
      else job.runtimeInvalid = true;
    } else if (runtimeKind === KIND_OTHER) job.runtimeInvalid = true;
    return undefined;
  }
}
