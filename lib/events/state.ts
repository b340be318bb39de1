/**
 * The finished-jobs state: which jobs have been published (or deliberately left out), the batch a run has
 * claimed and not yet confirmed, and that run's lease. Bounded by the retention horizon, not the history.
 *
 * Stored form, version 3 (JSON, docs/events.md "State format"):
 *
 *   {
 *     "format": "unstructured-jobs-exporter/finished-jobs", "version": 3,
 *     "createdAtMs": …, "updatedAtMs": …,
 *     "seen": [ { "hour": <epoch hour of the jobs' finish>, "keys": "<base64, 16 bytes per id>" } ],
 *     "pending": [ { "id", "status", "workflow", "runtimeSeconds", "finishedAtMs" } ],
 *     "details": {                                   (version 3: the jobs whose details events were published)
 *       "seen": [ { "hour", "keys" } ],
 *       "pending": [ { "id", "workflow", "finishedAtMs", "filesFailed", "completedWithErrors" } ]
 *     },
 *     "lease": { "owner": "…", "expiresAtMs": … }                                       (only while a run publishes)
 *   }
 *
 * Version 2 is version 3 without `details` (read as none published yet: issue 16 added them).
 *
 * A seen id is its 128-bit key (seen-ids.ts: a UUID's own bits, any other id hashed). Version 1 stored UUIDs as
 * their 16 bytes (`uuids`) and other ids as strings (`ids`); it is still read, and written back as version 2.
 *
 * The encoder and the decoder cannot disagree: both judge every field with the same functions (the *Problem
 * functions below), and the encoder throws StateEncodeError rather than write what the decoder would refuse, so
 * whatever is written can be read back (test/events-state.test.ts checks it on random states). Nothing reaches
 * the encoder that way in practice: FinishedJobs admits only events these functions accept, and SeenIds holds
 * only epoch hours it can store.
 */
import { TERMINAL_STATUSES, type TerminalStatus } from '../vocabulary.js';
import { StateCorruptError } from './store.js';
import { HOUR_MS, isEpochHour, KEY_BYTES, keyOf, MAX_EPOCH_HOUR, SeenIds } from './seen-ids.js';
import { splitSeen } from './state-bytes.js';

export { finishHour, SeenIds } from './seen-ids.js';

export const STATE_FORMAT = 'unstructured-jobs-exporter/finished-jobs';
/** The version written. Read: this one, 2 (no `details`) and 1 (migrated: see decodeState). */
export const STATE_VERSION = 3;
/** The latest time the state holds, epoch ms: the end of its last epoch hour (year 246,953; a safe integer). */
export const MAX_STATE_TIME_MS = (MAX_EPOCH_HOUR + 1) * HOUR_MS - 1;

/** One finished job as published: everything needed to publish it again without the job list. */
export interface FinishedEvent {
  readonly id: string;
  readonly status: TerminalStatus;
  /** Workflow dimension value, fixed when the job was first claimed (workflowDimensionValue or `Other`). */
  readonly workflow: string;
  readonly runtimeSeconds: number;
  /** created_at + runtime, epoch ms. */
  readonly finishedAtMs: number;
}

/**
 * The outcome of one finished job, published once its details are known (lib/details/stage.ts): FilesFailed and
 * JobsCompletedWithErrors (events/outcome-datums.ts).
 */
export interface OutcomeEvent {
  readonly id: string;
  /** Workflow dimension value, fixed when first claimed (as FinishedEvent's). */
  readonly workflow: string;
  /** created_at + runtime, epoch ms. */
  readonly finishedAtMs: number;
  /** Sum of the failure counts of the job's node_stats. */
  readonly filesFailed: number;
  /** processing_status was COMPLETED_WITH_ERRORS. */
  readonly completedWithErrors: boolean;
}

/** The details events' part of the state: published ids (by finish hour) and the unconfirmed batch. */
export interface DetailsEventsState {
  readonly seen: SeenIds;
  readonly pending: readonly OutcomeEvent[];
}

export interface Lease {
  /** The run holding it (random per run). */
  readonly owner: string;
  readonly expiresAtMs: number;
}

// ---------------------------------------------------------------------------------------------------------
// What the state can hold: one judge for the encoder and the decoder

const TERMINAL: ReadonlySet<string> = new Set(TERMINAL_STATUSES);

/** A time the state holds: an integer number of epoch milliseconds in [0, MAX_STATE_TIME_MS]. */
export function isStateTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_STATE_TIME_MS;
}

/** A runtime the state holds: finite, not negative (JSON writes every such double exactly). */
export function isStateRuntime(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

/** What is wrong with a pending event, as `<field> is not …`; undefined when the state can hold it. */
export function eventProblem(e: Readonly<Record<string, unknown>>): string | undefined {
  if (typeof e.id !== 'string' || e.id === '') return 'id is not an id';
  if (typeof e.status !== 'string' || !TERMINAL.has(e.status)) return 'status is not a terminal status';
  if (typeof e.workflow !== 'string' || e.workflow === '') return 'workflow is not a dimension value';
  if (!isStateRuntime(e.runtimeSeconds)) return 'runtimeSeconds is not a runtime';
  if (!isStateTime(e.finishedAtMs)) return 'finishedAtMs is not a time in epoch milliseconds';
  return undefined;
}

/** What is wrong with a pending outcome event, as `<field> is not …`; undefined when the state can hold it. */
export function outcomeEventProblem(e: Readonly<Record<string, unknown>>): string | undefined {
  if (typeof e.id !== 'string' || e.id === '') return 'id is not an id';
  if (typeof e.workflow !== 'string' || e.workflow === '') return 'workflow is not a dimension value';
  if (!isStateTime(e.finishedAtMs)) return 'finishedAtMs is not a time in epoch milliseconds';
  if (typeof e.filesFailed !== 'number' || !Number.isSafeInteger(e.filesFailed) || e.filesFailed < 0)
    return 'filesFailed is not a count';
  if (typeof e.completedWithErrors !== 'boolean') return 'completedWithErrors is not a boolean';
  return undefined;
}

/** What is wrong with a lease; undefined when the state can hold it. */
function leaseProblem(l: unknown): string | undefined {
  if (typeof l !== 'object' || l === null || typeof (l as Record<string, unknown>).owner !== 'string')
    return '"lease" is not a lease';
  if (!isStateTime((l as Record<string, unknown>).expiresAtMs))
    return 'lease.expiresAtMs is not a time in epoch milliseconds';
  return undefined;
}

/** A state that the decoder would refuse was about to be written: nothing is written (a bug, not an input). */
export class StateEncodeError extends Error {
  override readonly name = 'StateEncodeError';
  constructor(readonly detail: string) {
    super(`refusing to write a finished-jobs state that could not be read back: ${detail}`);
  }
}

export interface EventsState {
  readonly createdAtMs: number;
  readonly updatedAtMs: number;
  readonly seen: SeenIds;
  readonly pending: readonly FinishedEvent[];
  /** Absent: none published (a version 2 state, or a state built before any details were known). */
  readonly details?: DetailsEventsState;
  readonly lease?: Lease;
}

export function emptyState(nowMs: number): EventsState {
  return { createdAtMs: nowMs, updatedAtMs: nowMs, seen: new SeenIds(), pending: [] };
}

export function emptyDetailsState(): DetailsEventsState {
  return { seen: new SeenIds(), pending: [] };
}

// ---------------------------------------------------------------------------------------------------------
// Encoding

/** The stored text of `state` (version STATE_VERSION): encodeStateBytes as a string. */
export function encodeState(state: EventsState): string {
  return encodeStateBytes(state).toString('utf8');
}

/**
 * The stored form of `state` (version STATE_VERSION) as UTF-8 bytes: exactly `JSON.stringify` of the JSON above,
 * written straight into one buffer — the seen ids one hour at a time — so that a state of 500k ids (11 MB) is
 * not built a second and a third time as strings. Written into `reuse` when it is large enough (the claim's
 * buffer, once written, for the commit: the two never take memory side by side). Throws StateEncodeError rather
 * than write what decodeState refuses.
 */
export function encodeStateBytes(state: EventsState, reuse?: Buffer): Buffer {
  if (!isStateTime(state.createdAtMs))
    throw new StateEncodeError(`createdAtMs ${state.createdAtMs} is not a time in epoch milliseconds`);
  if (!isStateTime(state.updatedAtMs))
    throw new StateEncodeError(`updatedAtMs ${state.updatedAtMs} is not a time in epoch milliseconds`);
  const pending = state.pending.map((e, i): FinishedEvent => {
    const event = {
      id: e.id,
      status: e.status,
      workflow: e.workflow,
      runtimeSeconds: e.runtimeSeconds,
      finishedAtMs: e.finishedAtMs,
    };
    const problem = eventProblem(event);
    if (problem !== undefined) throw new StateEncodeError(`pending[${i}].${problem} (${JSON.stringify(event)})`);
    return event;
  });
  let lease: Lease | undefined;
  if (state.lease !== undefined) {
    const problem = leaseProblem(state.lease);
    if (problem !== undefined) throw new StateEncodeError(problem);
    lease = { owner: state.lease.owner, expiresAtMs: state.lease.expiresAtMs };
  }
  const details = state.details ?? emptyDetailsState();
  const outcomes = details.pending.map((e, i): OutcomeEvent => {
    const event = {
      id: e.id,
      workflow: e.workflow,
      finishedAtMs: e.finishedAtMs,
      filesFailed: e.filesFailed,
      completedWithErrors: e.completedWithErrors,
    };
    const problem = outcomeEventProblem(event);
    if (problem !== undefined)
      throw new StateEncodeError(`details.pending[${i}].${problem} (${JSON.stringify(event)})`);
    return event;
  });
  // {"format":…,"version":…,"createdAtMs":…,"updatedAtMs":…,"seen":[{"hour":…,"keys":"…"},…],"pending":[…],
  //  "details":{"seen":[…],"pending":[…]},"lease":{…}}
  const head = Buffer.from(
    `${JSON.stringify({ format: STATE_FORMAT, version: STATE_VERSION, createdAtMs: state.createdAtMs, updatedAtMs: state.updatedAtMs }).slice(0, -1)},"seen":[`,
  );
  const middle = Buffer.from(`],"pending":${JSON.stringify(pending)},"details":{"seen":[`, 'utf8');
  const tail = Buffer.from(
    `],"pending":${JSON.stringify(outcomes)}}${lease === undefined ? '' : `,"lease":${JSON.stringify(lease)}`}}`,
    'utf8',
  );
  const length = head.length + seenBytes(state.seen) + middle.length + seenBytes(details.seen) + tail.length;
  const out = reuse !== undefined && reuse.length >= length ? reuse.subarray(0, length) : Buffer.allocUnsafe(length);
  let at = head.copy(out, 0);
  at = writeSeen(out, at, state.seen);
  at += middle.copy(out, at);
  at = writeSeen(out, at, details.seen);
  at += tail.copy(out, at);
  if (at !== out.length) throw new Error(`encodeStateBytes: wrote ${at} of ${out.length} bytes`); // a bug in the sizes above
  return out;
}

/** Bytes of a SeenIds' buckets as written by writeSeen. */
function seenBytes(seen: SeenIds): number {
  // SeenIds holds only epoch hours (it throws SeenHourError for any other): every bucket reads back.
  const sizes = seen.bucketSizes();
  let bytes = Math.max(0, sizes.length - 1); // the commas
  for (const { hour, ids } of sizes)
    bytes += bucketPrefix(hour).length + 4 * Math.ceil((KEY_BYTES * ids) / 3) + BUCKET_SUFFIX.length;
  return bytes;
}

/** Writes the buckets `{"hour":…,"keys":"…"},…` at `start`; returns the offset after them. */
function writeSeen(out: Buffer, start: number, seen: SeenIds): number {
  let at = start;
  seen.forEachBucket((hour, keys) => {
    if (at > start) at += out.write(',', at, 'latin1');
    at += out.write(bucketPrefix(hour), at, 'latin1');
    at += out.write(keys.toString('base64'), at, 'latin1');
    at += out.write(BUCKET_SUFFIX, at, 'latin1');
  });
  return at;
}

const bucketPrefix = (hour: number): string => `{"hour":${hour},"keys":"`;
const BUCKET_SUFFIX = '"}';

// ---------------------------------------------------------------------------------------------------------
// Decoding

/**
 * Room a decoded set keeps for the ids its run adds: 1/64 of it, at least ROOM_MIN_IDS. A run adds the jobs
 * finished since the last one (a few hundred every 5 minutes at 70k a day); with no room, the first of them would
 * copy a set sized exactly into arrays half as large again while the old ones are still held (+15 MB at 500k).
 */
function roomFor(ids: number): number {
  return Math.max(ROOM_MIN_IDS, Math.ceil(ids / 64));
}
/** An hour of a busy account's finished jobs (70k a day: ~3k an hour). */
const ROOM_MIN_IDS = 4_096;

/** A state as read, with what reading it involved. */
export interface DecodedState extends EventsState {
  /** The version it was stored in: STATE_VERSION, or an older one, migrated. */
  readonly version: number;
  /**
   * Version 1 only: seen ids and pending events dropped because they carry a time no state can hold (a finish
   * ~10²² ms away, from an impossible runtime: issue 15). Version 1 wrote them and could not read them back.
   */
  readonly discarded: number;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** An integer past `max`: what version 1 wrote for the finish of an impossible runtime (it rounded, so never a fraction). */
function beyondStateTime(value: unknown, max: number): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value > max;
}

/** Bytes that valid base64 text decodes to. */
function base64Bytes(text: string): number {
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  return Math.floor(((text.length - padding) * 3) / 4);
}

/**
 * Reads a stored state (version STATE_VERSION, or 1); throws StateCorruptError (naming `description` and what
 * is wrong) for anything else. A version 1 state is read as it was written, with one exception: a `seen` hour or
 * a pending `finishedAtMs` that is a number but no time a state can hold (what an impossible runtime made
 * version 1 write, then refuse for ever) is dropped and counted in `discarded`: those jobs are no events now.
 *
 * Given the stored bytes (what the stores read), the `seen` buckets are parsed one at a time from them
 * (state-bytes.ts), so that a large state never exists as one string nor its ids as base64 strings. The same
 * judge reads both forms; a state the bytes path refuses is read again as text, which refuses it with the text's
 * message: bytes and text give the same state or the same refusal (test/events-state.test.ts).
 */
export function decodeState(stored: string | Uint8Array, description: string): DecodedState {
  if (typeof stored === 'string') return decodeText(stored, description);
  const bytes = Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength);
  const split = splitSeen(bytes);
  if (split !== undefined) {
    try {
      const raw = JSON.parse(split.rest) as unknown;
      const { elements } = split;
      // One bucket's text at a time, parsed again on the second pass rather than kept (see decodeParsed).
      const buckets: Buckets = {
        each(visit) {
          for (let i = 0; i < elements.length / 2; i++)
            visit(JSON.parse(bytes.toString('utf8', elements[2 * i], elements[2 * i + 1])), i);
        },
      };
      return decodeParsed(raw, buckets, description);
    } catch (error) {
      if (!(error instanceof StateCorruptError) && !(error instanceof SyntaxError)) throw error;
      // Refused: read the whole text as below, which refuses it with the message of the first problem in it.
    }
  }
  return decodeText(bytes.toString('utf8'), description);
}

/** The buckets of `seen`, visited in order (the decoder goes over them twice). */
interface Buckets {
  each(visit: (bucket: unknown, index: number) => void): void;
}

function decodeText(text: string, description: string): DecodedState {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new StateCorruptError(description, `not JSON: ${(error as Error).message}`);
  }
  const seen = (raw as { seen?: unknown } | null)?.seen;
  return decodeParsed(raw, { each: (visit) => (Array.isArray(seen) ? seen.forEach(visit) : undefined) }, description);
}

/**
 * The judge of a parsed state: `raw` as JSON.parse made it, its `seen` buckets from `buckets` (the same array
 * as `raw.seen`, or, read from bytes, its elements parsed one by one while `raw.seen` is an empty array).
 */
function decodeParsed(raw: unknown, buckets: Buckets, description: string): DecodedState {
  const fail = (detail: string): never => {
    throw new StateCorruptError(description, detail);
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail('not a JSON object');
  const o = raw as Record<string, unknown>;
  if (o.format !== STATE_FORMAT)
    return fail(`"format" is ${JSON.stringify(o.format)}, expected ${JSON.stringify(STATE_FORMAT)}`);
  if (typeof o.version !== 'number') return fail('"version" is missing');
  const version = o.version;
  if (version > STATE_VERSION)
    return fail(`"version" ${version} was written by a newer exporter (this one reads ${STATE_VERSION}, 2 and 1)`);
  if (version !== STATE_VERSION && version !== 2 && version !== 1) return fail(`"version" ${version} is not supported`);
  const legacy = version === 1;
  const time = (value: unknown, what: string): number =>
    isStateTime(value) ? value : fail(`${what} is not a time in epoch milliseconds`);
  const createdAtMs = time(o.createdAtMs, '"createdAtMs"');
  const updatedAtMs = time(o.updatedAtMs, '"updatedAtMs"');
  let discarded = 0;

  if (!Array.isArray(o.seen)) return fail('"seen" is not an array');
  // Checked first and counted, so that the set is allocated once at its size.
  let expected = 0;
  buckets.each((b: unknown, i) => {
    const where = `seen[${i}]`;
    if (typeof b !== 'object' || b === null) return fail(`${where} is not an object`);
    const bucket = b as Record<string, unknown>;
    const blobs = legacy ? (['uuids'] as const) : (['keys'] as const);
    for (const field of blobs) {
      const blob = bucket[field];
      if (blob === undefined && legacy) continue;
      if (typeof blob !== 'string' || !BASE64.test(blob)) return fail(`${where}.${field} is not base64`);
      const bytes = base64Bytes(blob);
      if (bytes % KEY_BYTES !== 0)
        return fail(`${where}.${field} holds ${bytes} bytes, not a whole number of 16-byte ids`);
      expected += bytes / KEY_BYTES;
    }
    if (legacy && bucket.ids !== undefined) {
      if (!Array.isArray(bucket.ids)) return fail(`${where}.ids is not an array`);
      if (!bucket.ids.every((id) => typeof id === 'string' && id !== ''))
        return fail(`${where}.ids holds a value that is not an id`);
      expected += bucket.ids.length;
    }
    if (isEpochHour(bucket.hour) || (legacy && beyondStateTime(bucket.hour, MAX_EPOCH_HOUR))) return undefined;
    return fail(`${where}.hour is not an epoch hour`);
  });
  const seen = new SeenIds(expected + roomFor(expected));
  const words = new Int32Array(4);
  buckets.each((b: unknown) => {
    const bucket = b as Record<string, unknown>;
    const blob = (legacy ? bucket.uuids : bucket.keys) as string | undefined;
    const ids = legacy ? ((bucket.ids ?? []) as string[]) : [];
    if (!isEpochHour(bucket.hour)) {
      // Version 1 only (checked above): a finish hour beyond any time, from an impossible runtime.
      discarded += (blob === undefined ? 0 : base64Bytes(blob) / KEY_BYTES) + ids.length;
      return;
    }
    const hour = bucket.hour;
    if (blob !== undefined) {
      const bytes = Buffer.from(blob, 'base64');
      if (bytes.length % KEY_BYTES !== 0)
        return fail(`a "seen" bucket of hour ${hour} holds ${bytes.length} bytes, not a whole number of 16-byte ids`);
      // The words, big-endian in the text, as native Int32s: swapped in place, read through an aligned view.
      const aligned = bytes.byteOffset % 4 === 0 ? bytes : Buffer.from(bytes);
      const words = new Int32Array(aligned.swap32().buffer, aligned.byteOffset, aligned.length / 4);
      for (let w = 0; w < words.length; w += 4)
        seen.addKey(words[w]!, words[w + 1]!, words[w + 2]!, words[w + 3]!, hour);
    }
    for (const id of ids) {
      keyOf(id, words);
      seen.addKey(words[0]!, words[1]!, words[2]!, words[3]!, hour);
    }
  });

  if (!Array.isArray(o.pending)) return fail('"pending" is not an array');
  const pending: FinishedEvent[] = [];
  o.pending.forEach((p: unknown, i) => {
    const where = `pending[${i}]`;
    if (typeof p !== 'object' || p === null) return fail(`${where} is not an object`);
    const e = p as Record<string, unknown>;
    const problem = eventProblem(e);
    if (problem === undefined) {
      pending.push({
        id: e.id as string,
        status: e.status as TerminalStatus,
        workflow: e.workflow as string,
        runtimeSeconds: e.runtimeSeconds as number,
        finishedAtMs: e.finishedAtMs as number,
      });
    } else if (legacy && problem.startsWith('finishedAtMs') && beyondStateTime(e.finishedAtMs, MAX_STATE_TIME_MS)) {
      discarded++; // version 1 wrote the finish of an impossible runtime
    } else fail(`${where}.${problem}`);
    return undefined;
  });

  let lease: Lease | undefined;
  if (o.lease !== undefined) {
    const problem = leaseProblem(o.lease);
    if (problem !== undefined) return fail(problem);
    const l = o.lease as Lease;
    lease = { owner: l.owner, expiresAtMs: l.expiresAtMs };
  }
  // Version 3 always writes `details`; versions 1 and 2 had none (nothing published yet).
  const details = version >= 3 || o.details !== undefined ? decodeDetails(o.details, fail) : emptyDetailsState();
  return {
    createdAtMs,
    updatedAtMs,
    seen,
    pending,
    details,
    ...(lease !== undefined && { lease }),
    version,
    discarded,
  };
}

/** The `details` of a version 3 state (the same judges as the encoder's). */
function decodeDetails(raw: unknown, fail: (detail: string) => never): DetailsEventsState {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail('"details" is not an object');
  const d = raw as Record<string, unknown>;
  if (!Array.isArray(d.seen)) return fail('details.seen is not an array');
  const blobs: { hour: number; bytes: Buffer }[] = [];
  let expected = 0;
  d.seen.forEach((b: unknown, i) => {
    const where = `details.seen[${i}]`;
    if (typeof b !== 'object' || b === null) return fail(`${where} is not an object`);
    const bucket = b as Record<string, unknown>;
    if (!isEpochHour(bucket.hour)) return fail(`${where}.hour is not an epoch hour`);
    if (typeof bucket.keys !== 'string' || !BASE64.test(bucket.keys)) return fail(`${where}.keys is not base64`);
    const bytes = Buffer.from(bucket.keys, 'base64');
    if (bytes.length % KEY_BYTES !== 0 || base64Bytes(bucket.keys) !== bytes.length)
      return fail(`${where}.keys holds ${bytes.length} bytes, not a whole number of 16-byte ids`);
    blobs.push({ hour: bucket.hour, bytes });
    expected += bytes.length / KEY_BYTES;
    return undefined;
  });
  const seen = new SeenIds(expected);
  for (const { hour, bytes } of blobs) {
    for (let at = 0; at < bytes.length; at += KEY_BYTES)
      seen.addKey(
        bytes.readInt32BE(at),
        bytes.readInt32BE(at + 4),
        bytes.readInt32BE(at + 8),
        bytes.readInt32BE(at + 12),
        hour,
      );
  }
  if (!Array.isArray(d.pending)) return fail('details.pending is not an array');
  const pending = d.pending.map((p: unknown, i): OutcomeEvent => {
    if (typeof p !== 'object' || p === null) return fail(`details.pending[${i}] is not an object`);
    const e = p as Record<string, unknown>;
    const problem = outcomeEventProblem(e);
    if (problem !== undefined) return fail(`details.pending[${i}].${problem}`);
    return {
      id: e.id as string,
      workflow: e.workflow as string,
      finishedAtMs: e.finishedAtMs as number,
      filesFailed: e.filesFailed as number,
      completedWithErrors: e.completedWithErrors as boolean,
    };
  });
  return { seen, pending };
}
