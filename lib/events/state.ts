/**
 * The finished-jobs state: which jobs have been published (or deliberately left out), the batch a run has
 * claimed and not yet confirmed, and that run's lease. Bounded by the retention horizon, not the history.
 *
 * Stored form (JSON, docs/events.md "State format"):
 *
 *   {
 *     "format": "unstructured-jobs-exporter/finished-jobs", "version": 1,
 *     "createdAtMs": …, "updatedAtMs": …,
 *     "seen": [ { "hour": <epoch hour of the jobs' finish>, "uuids": "<base64, 16 bytes per id, sorted>", "ids": ["…"] } ],
 *     "pending": [ { "id", "status", "workflow", "runtimeSeconds", "finishedAtMs" } ],
 *     "lease": { "owner": "…", "expiresAtMs": … }                                       (only while a run publishes)
 *   }
 *
 * Ids are exact: canonical lower-case UUIDs as their 128 bits, anything else as the string itself. No hash, so
 * no collision can ever hide a job. A `seen` bucket is dropped once its whole hour is older than the horizon.
 */
import { TERMINAL_STATUSES, type TerminalStatus } from '../vocabulary.js';
import { uuidFromString, uuidToString } from '../records/uuid.js';
import { StateCorruptError } from './store.js';
import { compareCodeUnits } from '../common/text.js';

export const STATE_FORMAT = 'unstructured-jobs-exporter/finished-jobs';
export const STATE_VERSION = 1;
const HOUR_MS = 3_600_000;
const UUID_BYTES = 16;

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

export interface Lease {
  /** The run holding it (random per run). */
  readonly owner: string;
  readonly expiresAtMs: number;
}

export function finishHour(finishedAtMs: number): number {
  return Math.floor(finishedAtMs / HOUR_MS);
}

/** Ids of finished jobs by the hour they finished in: exact membership, pruned by whole hours. */
export class SeenIds {
  readonly #byHour = new Map<number, Set<string>>();
  readonly #hourOf = new Map<string, number>();

  get size(): number {
    return this.#hourOf.size;
  }

  has(id: string): boolean {
    return this.#hourOf.has(id);
  }

  /** Records the id under the hour of `finishedAtMs`; an id already recorded keeps its hour. */
  add(id: string, finishedAtMs: number): void {
    this.addToHour(id, finishHour(finishedAtMs));
  }

  addToHour(id: string, hour: number): void {
    if (this.#hourOf.has(id)) return;
    this.#hourOf.set(id, hour);
    let ids = this.#byHour.get(hour);
    if (ids === undefined) this.#byHour.set(hour, (ids = new Set()));
    ids.add(id);
  }

  /** Forgets every hour that ended at or before `horizonMs` (all its jobs finished before it); returns how many ids. */
  prune(horizonMs: number): number {
    let removed = 0;
    for (const [hour, ids] of this.#byHour) {
      if ((hour + 1) * HOUR_MS <= horizonMs) {
        for (const id of ids) this.#hourOf.delete(id);
        removed += ids.size;
        this.#byHour.delete(hour);
      }
    }
    return removed;
  }

  hours(): number[] {
    return [...this.#byHour.keys()].sort((a, b) => a - b);
  }

  idsOf(hour: number): ReadonlySet<string> {
    return this.#byHour.get(hour) ?? new Set();
  }

  clone(): SeenIds {
    const copy = new SeenIds();
    for (const [hour, ids] of this.#byHour) for (const id of ids) copy.addToHour(id, hour);
    return copy;
  }
}

export interface EventsState {
  readonly createdAtMs: number;
  readonly updatedAtMs: number;
  readonly seen: SeenIds;
  readonly pending: readonly FinishedEvent[];
  readonly lease?: Lease;
}

export function emptyState(nowMs: number): EventsState {
  return { createdAtMs: nowMs, updatedAtMs: nowMs, seen: new SeenIds(), pending: [] };
}

// ---------------------------------------------------------------------------------------------------------
// Encoding

interface SeenBucketJson {
  hour: number;
  uuids?: string;
  ids?: string[];
}

interface StateJson {
  format: string;
  version: number;
  createdAtMs: number;
  updatedAtMs: number;
  seen: SeenBucketJson[];
  pending: FinishedEvent[];
  lease?: Lease;
}

const words = new Int32Array(4);

/** The 16 bytes of a canonical UUID (its four words, big-endian) at `offset`. */
function writeUuid(id: string, out: Buffer, offset: number): void {
  uuidFromString(id, words);
  for (let w = 0; w < 4; w++) out.writeInt32BE(words[w]!, offset + 4 * w);
}

/** The canonical text of the 16 bytes at `offset` (inverse of writeUuid). */
function uuidText(bytes: Buffer, offset: number): string {
  return uuidToString(bytes.readInt32BE(offset), bytes.readInt32BE(offset + 4), bytes.readInt32BE(offset + 8), bytes.readInt32BE(offset + 12));
}

export function encodeState(state: EventsState): string {
  const seen: SeenBucketJson[] = [];
  for (const hour of state.seen.hours()) {
    const uuids: string[] = [];
    const others: string[] = [];
    for (const id of state.seen.idsOf(hour)) (uuidFromString(id, words) ? uuids : others).push(id);
    const bucket: SeenBucketJson = { hour };
    if (uuids.length > 0) {
      // Canonical lower-case UUIDs sort like the bytes they spell (the dashes are at the same places in all).
      uuids.sort(compareCodeUnits);
      const bytes = Buffer.alloc(uuids.length * UUID_BYTES);
      uuids.forEach((id, i) => writeUuid(id, bytes, i * UUID_BYTES));
      bucket.uuids = bytes.toString('base64');
    }
    if (others.length > 0) bucket.ids = others.sort(compareCodeUnits);
    seen.push(bucket);
  }
  const json: StateJson = {
    format: STATE_FORMAT,
    version: STATE_VERSION,
    createdAtMs: state.createdAtMs,
    updatedAtMs: state.updatedAtMs,
    seen,
    pending: state.pending.map((e) => ({
      id: e.id,
      status: e.status,
      workflow: e.workflow,
      runtimeSeconds: e.runtimeSeconds,
      finishedAtMs: e.finishedAtMs,
    })),
    ...(state.lease !== undefined && { lease: { owner: state.lease.owner, expiresAtMs: state.lease.expiresAtMs } }),
  };
  return JSON.stringify(json);
}


const TERMINAL: ReadonlySet<string> = new Set(TERMINAL_STATUSES);
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Reads a stored state; throws StateCorruptError (naming `description` and what is wrong) for anything else. */
export function decodeState(text: string, description: string): EventsState {
  const fail = (detail: string): never => {
    throw new StateCorruptError(description, detail);
  };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return fail(`not JSON: ${(error as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail('not a JSON object');
  const o = raw as Record<string, unknown>;
  if (o.format !== STATE_FORMAT) return fail(`"format" is ${JSON.stringify(o.format)}, expected ${JSON.stringify(STATE_FORMAT)}`);
  if (typeof o.version !== 'number') return fail('"version" is missing');
  if (o.version > STATE_VERSION) return fail(`"version" ${o.version} was written by a newer exporter (this one reads ${STATE_VERSION})`);
  if (o.version !== STATE_VERSION) return fail(`"version" ${o.version} is not supported`);
  const time = (value: unknown, what: string): number =>
    typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : fail(`${what} is not a time in epoch milliseconds`);
  const createdAtMs = time(o.createdAtMs, '"createdAtMs"');
  const updatedAtMs = time(o.updatedAtMs, '"updatedAtMs"');

  if (!Array.isArray(o.seen)) return fail('"seen" is not an array');
  const seen = new SeenIds();
  o.seen.forEach((b: unknown, i) => {
    const where = `seen[${i}]`;
    if (typeof b !== 'object' || b === null) return fail(`${where} is not an object`);
    const bucket = b as Record<string, unknown>;
    if (typeof bucket.hour !== 'number' || !Number.isSafeInteger(bucket.hour) || bucket.hour < 0) return fail(`${where}.hour is not an epoch hour`);
    const hour = bucket.hour;
    if (bucket.uuids !== undefined) {
      if (typeof bucket.uuids !== 'string' || !BASE64.test(bucket.uuids)) return fail(`${where}.uuids is not base64`);
      const bytes = Buffer.from(bucket.uuids, 'base64');
      if (bytes.length % UUID_BYTES !== 0) return fail(`${where}.uuids holds ${bytes.length} bytes, not a whole number of 16-byte ids`);
      for (let off = 0; off < bytes.length; off += UUID_BYTES) seen.addToHour(uuidText(bytes, off), hour);
    }
    if (bucket.ids !== undefined) {
      if (!Array.isArray(bucket.ids)) return fail(`${where}.ids is not an array`);
      for (const id of bucket.ids) {
        if (typeof id !== 'string' || id === '') return fail(`${where}.ids holds a value that is not an id`);
        seen.addToHour(id, hour);
      }
    }
  });

  if (!Array.isArray(o.pending)) return fail('"pending" is not an array');
  const pending = o.pending.map((p: unknown, i): FinishedEvent => {
    const where = `pending[${i}]`;
    if (typeof p !== 'object' || p === null) return fail(`${where} is not an object`);
    const e = p as Record<string, unknown>;
    if (typeof e.id !== 'string' || e.id === '') return fail(`${where}.id is not an id`);
    if (typeof e.status !== 'string' || !TERMINAL.has(e.status)) return fail(`${where}.status is not a terminal status`);
    if (typeof e.workflow !== 'string' || e.workflow === '') return fail(`${where}.workflow is not a dimension value`);
    if (typeof e.runtimeSeconds !== 'number' || !Number.isFinite(e.runtimeSeconds) || e.runtimeSeconds < 0) {
      return fail(`${where}.runtimeSeconds is not a runtime`);
    }
    return {
      id: e.id,
      status: e.status as TerminalStatus,
      workflow: e.workflow,
      runtimeSeconds: e.runtimeSeconds,
      finishedAtMs: time(e.finishedAtMs, `${where}.finishedAtMs`),
    };
  });

  let lease: Lease | undefined;
  if (o.lease !== undefined) {
    const l = o.lease as Record<string, unknown> | null;
    if (typeof l !== 'object' || l === null || typeof l.owner !== 'string') return fail('"lease" is not a lease');
    lease = { owner: l.owner, expiresAtMs: time(l.expiresAtMs, 'lease.expiresAtMs') };
  }
  return { createdAtMs, updatedAtMs, seen, pending, ...(lease !== undefined && { lease }) };
}
