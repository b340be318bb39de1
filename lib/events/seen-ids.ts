/**
 * The ids of the finished jobs already published (or recorded by a first run), by the hour they finished in:
 * membership for millions of ids at about 30 bytes an id, forgotten by whole hours. No object or string per id.
 *
 * An id is kept as a 128-bit key: a canonical lower-case UUID (what the API sends) as its own 128 bits
 * (records/uuid.ts: exact), any other id as the first 128 bits of its SHA-256 over its UTF-16 code units (so two
 * ids differing only in a lone surrogate stay apart, which UTF-8 would merge). Two different ids share a key only
 * if two hashed ids collide, or a hashed id lands on a UUID's bits: for n ids the chance is at most n²/2¹²⁹ —
 * 1.5 × 10⁻²⁵ for 10⁷ ids, against ~10⁻¹⁵ for an undetected disk or memory error a job could suffer instead — and
 * SHA-256 offers no way to aim at one (a chosen collision of 128 bits costs ~2⁶⁴ hashes). What a collision would
 * do: the second job is taken for published, so one event is missing; never a duplicate, never a state that
 * cannot be read.
 *
 * Layout: the entries in insertion order in two typed arrays, the keys (4 Int32 words, most significant first,
 * the order they are stored in) and the hours (Int32: epoch hours up to 2³¹ − 1, the year 246,953), plus an
 * open-addressing table over them (Int32Array of entry number + 1, linear probing, at most half full). That is
 * 20 bytes an entry and 4 bytes a slot: 28–36 bytes an id when sized for the ids it holds (a decoded state),
 * under 50 after growing (entries by half, the table by doubling). The table's hash is seeded per set, so ids
 * picked to pile up in one process's table do not in another's.
 *
 * Insertion order is kept (an id recorded earlier comes first in its hour): encoding is then one pass with no
 * sort, and a decoded state encodes to the same bytes.
 */
import { hash, randomBytes } from 'node:crypto';
import { uuidFromString } from '../records/uuid.js';

export const HOUR_MS = 3_600_000;
/** Bytes of a stored key. */
export const KEY_BYTES = 16;
/** The last epoch hour a set can hold (Int32); ~245,000 years past any job's finish. */
export const MAX_EPOCH_HOUR = 2 ** 31 - 1;

export function finishHour(finishedAtMs: number): number {
  return Math.floor(finishedAtMs / HOUR_MS);
}

/** True for an hour a SeenIds holds: an integer in [0, MAX_EPOCH_HOUR]. */
export function isEpochHour(hour: unknown): hour is number {
  return typeof hour === 'number' && Number.isInteger(hour) && hour >= 0 && hour <= MAX_EPOCH_HOUR;
}

/** An hour a SeenIds cannot hold: a bug upstream of it (FinishedJobs and the decoder check before). */
export class SeenHourError extends RangeError {
  override readonly name = 'SeenHourError';
  constructor(readonly hour: number) {
    super(`not an epoch hour a finished-jobs state can hold (0 … ${MAX_EPOCH_HOUR}): ${hour}`);
  }
}

/** Entries of a new, empty set. */
const INITIAL_CAPACITY = 1024;

/** The key of an id into `out` (4 words, most significant first). */
export function keyOf(id: string, out: Int32Array): void {
  if (uuidFromString(id, out)) return;
  const digest = hash('sha256', Buffer.from(id, 'utf16le'), 'buffer');
  for (let w = 0; w < 4; w++) out[w] = digest.readInt32BE(4 * w);
}

/** One hour's keys as stored: KEY_BYTES per id, big-endian words, in insertion order. */
export interface SeenBucket {
  readonly hour: number;
  readonly keys: Buffer;
}

export class SeenIds {
  /** 4 words an entry. */
  #keys: Int32Array;
  #hours: Int32Array;
  #count = 0;
  /** Entry number + 1 per slot, 0 for free; a power of two in length, at most half full. */
  #table: Int32Array;
  #mask: number;
  readonly #seed = randomBytes(4).readInt32LE(0);
  readonly #words = new Int32Array(4);

  /** `expected`: ids it will hold (a decoded state's count), so that it is sized once. */
  constructor(expected = 0) {
    const capacity = Math.max(INITIAL_CAPACITY, expected);
    this.#keys = new Int32Array(4 * capacity);
    this.#hours = new Int32Array(capacity);
    this.#table = new Int32Array(tableSizeFor(capacity));
    this.#mask = this.#table.length - 1;
  }

  get size(): number {
    return this.#count;
  }

  has(id: string): boolean {
    const w = this.#words;
    keyOf(id, w);
    return this.#find(w[0]!, w[1]!, w[2]!, w[3]!) >= 0;
  }

  /** Records the id under the hour of `finishedAtMs`; an id already recorded keeps its hour. */
  add(id: string, finishedAtMs: number): void {
    const w = this.#words;
    keyOf(id, w);
    this.addKey(w[0]!, w[1]!, w[2]!, w[3]!, finishHour(finishedAtMs));
  }

  /**
   * Records a key (4 words, most significant first) under `hour`; false when it was already recorded (it keeps
   * its hour). Throws SeenHourError for an hour it cannot hold, so no such hour is ever stored.
   */
  addKey(a: number, b: number, c: number, d: number, hour: number): boolean {
    if (!isEpochHour(hour)) throw new SeenHourError(hour);
    let slot = slotHash(a, b, c, d, this.#seed) & this.#mask;
    const table = this.#table;
    const keys = this.#keys;
    for (let e = table[slot]!; e !== 0; e = table[slot]!) {
      const k = 4 * (e - 1);
      if (keys[k] === a && keys[k + 1] === b && keys[k + 2] === c && keys[k + 3] === d) return false;
      slot = (slot + 1) & this.#mask;
    }
    if (this.#count === this.#hours.length) this.#growEntries(); // the table still holds every entry number
    const n = this.#count++;
    this.#keys[4 * n] = a;
    this.#keys[4 * n + 1] = b;
    this.#keys[4 * n + 2] = c;
    this.#keys[4 * n + 3] = d;
    this.#hours[n] = hour;
    table[slot] = n + 1;
    if (2 * this.#count > table.length) this.#rebuildTable(table.length * 2);
    return true;
  }

  /** Forgets every hour that ended at or before `horizonMs` (all its jobs finished before it); returns how many ids. */
  prune(horizonMs: number): number {
    const hours = this.#hours;
    const keys = this.#keys;
    let kept = 0;
    for (let e = 0; e < this.#count; e++) {
      const hour = hours[e]!;
      if ((hour + 1) * HOUR_MS <= horizonMs) continue;
      if (kept !== e) {
        hours[kept] = hour;
        keys.copyWithin(4 * kept, 4 * e, 4 * e + 4);
      }
      kept++;
    }
    const removed = this.#count - kept;
    if (removed === 0) return 0;
    this.#count = kept;
    // Give memory back once mostly empty; otherwise keep the arrays and re-file what is left.
    if (kept * 4 < hours.length && hours.length > INITIAL_CAPACITY) this.#resizeEntries(Math.max(INITIAL_CAPACITY, Math.ceil(kept * 1.5)));
    this.#rebuildTable(tableSizeFor(Math.max(kept, INITIAL_CAPACITY)));
    return removed;
  }

  /** The hours held, ascending. */
  hours(): number[] {
    const seen = new Set<number>();
    for (let e = 0; e < this.#count; e++) seen.add(this.#hours[e]!);
    return [...seen].sort((x, y) => x - y);
  }

  /** The keys by hour (ascending), each hour's in insertion order: what the state stores. */
  buckets(): SeenBucket[] {
    const counts = new Map<number, number>();
    for (let e = 0; e < this.#count; e++) {
      const hour = this.#hours[e]!;
      counts.set(hour, (counts.get(hour) ?? 0) + 1);
    }
    const hours = [...counts.keys()].sort((x, y) => x - y);
    const out = new Map<number, { keys: Buffer; at: number }>();
    for (const hour of hours) out.set(hour, { keys: Buffer.allocUnsafe(KEY_BYTES * (counts.get(hour) as number)), at: 0 });
    for (let e = 0; e < this.#count; e++) {
      const bucket = out.get(this.#hours[e]!) as { keys: Buffer; at: number };
      for (let w = 0; w < 4; w++) bucket.keys.writeInt32BE(this.#keys[4 * e + w]!, bucket.at + 4 * w);
      bucket.at += KEY_BYTES;
    }
    return hours.map((hour) => ({ hour, keys: (out.get(hour) as { keys: Buffer }).keys }));
  }

  /** Entry number of the key, or -1. */
  #find(a: number, b: number, c: number, d: number): number {
    let slot = slotHash(a, b, c, d, this.#seed) & this.#mask;
    const table = this.#table;
    const keys = this.#keys;
    for (let e = table[slot]!; e !== 0; e = table[slot]!) {
      const k = 4 * (e - 1);
      if (keys[k] === a && keys[k + 1] === b && keys[k + 2] === c && keys[k + 3] === d) return e - 1;
      slot = (slot + 1) & this.#mask;
    }
    return -1;
  }

  #growEntries(): void {
    this.#resizeEntries(Math.ceil(this.#hours.length * 1.5));
  }

  #resizeEntries(capacity: number): void {
    const keys = new Int32Array(4 * capacity);
    keys.set(this.#keys.subarray(0, 4 * this.#count));
    const hours = new Int32Array(capacity);
    hours.set(this.#hours.subarray(0, this.#count));
    this.#keys = keys;
    this.#hours = hours;
  }

  #rebuildTable(size: number): void {
    const table = size === this.#table.length ? this.#table.fill(0) : new Int32Array(size);
    const mask = size - 1;
    const keys = this.#keys;
    for (let e = 0; e < this.#count; e++) {
      const k = 4 * e;
      let slot = slotHash(keys[k]!, keys[k + 1]!, keys[k + 2]!, keys[k + 3]!, this.#seed) & mask;
      while (table[slot] !== 0) slot = (slot + 1) & mask;
      table[slot] = e + 1;
    }
    this.#table = table;
    this.#mask = mask;
  }
}

/** Slots for `entries` at most half full: the power of two ≥ 2 × entries. */
function tableSizeFor(entries: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(2, 2 * entries)));
}

/** 32 bits of a key for the table: every word mixed in (murmur3's multipliers), after a per-set seed. */
function slotHash(a: number, b: number, c: number, d: number, seed: number): number {
  let h = Math.imul(seed ^ a, 0xcc9e2d51);
  h = Math.imul(h ^ (h >>> 15) ^ b, 0x1b873593);
  h = Math.imul(h ^ (h >>> 13) ^ c, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 16) ^ d, 0xc2b2ae35);
  return h ^ (h >>> 15);
}
