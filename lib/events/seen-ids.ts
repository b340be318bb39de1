/**
 * The ids of the finished jobs already published (or recorded by a first run), by the hour they finished in:
 * membership for millions of ids at about 30 bytes an id, forgotten by whole hours. No object or string per id.
 *
 * Each id is its 128-bit key (key-table.ts: a UUID's own bits, any other id hashed; why a collision does not
 * matter is said there), in a KeyTable, with its finish hour beside it (Int32: epoch hours up to 2³¹ − 1, the
 * year 246,953). 20 bytes an entry and 4 a slot: 28–36 bytes an id when sized for the ids it holds (a decoded
 * state), under 50 after growing (entries by half, the table by doubling).
 *
 * Insertion order is kept (an id recorded earlier comes first in its hour): encoding is then one pass with no
 * sort, and a decoded state encodes to the same bytes.
 */
import { INITIAL_ENTRIES, KEY_BYTES, keyOf, KeyTable, grown } from './key-table.js';

export { KEY_BYTES, keyOf } from './key-table.js';

export const HOUR_MS = 3_600_000;
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

/** One hour's keys as stored: KEY_BYTES per id, big-endian words, in insertion order. */
export interface SeenBucket {
  readonly hour: number;
  readonly keys: Buffer;
}

export class SeenIds {
  readonly #keys: KeyTable;
  /** Finish hour per entry. */
  #hours: Int32Array;
  readonly #words = new Int32Array(4);

  /** `expected`: ids it will hold (a decoded state's count), so that it is sized once. */
  constructor(expected = 0) {
    this.#keys = new KeyTable(expected);
    this.#hours = new Int32Array(this.#keys.capacity);
  }

  get size(): number {
    return this.#keys.size;
  }

  has(id: string): boolean {
    const w = this.#words;
    keyOf(id, w);
    return this.#keys.find(w[0]!, w[1]!, w[2]!, w[3]!) >= 0;
  }

  /** has() for a key (4 words, most significant first). */
  hasKey(a: number, b: number, c: number, d: number): boolean {
    return this.#keys.find(a, b, c, d) >= 0;
  }

  /** Records the id under the hour of `finishedAtMs`; an id already recorded keeps its hour. */
  add(id: string, finishedAtMs: number): void {
    const w = this.#words;
    keyOf(id, w);
    this.addKey(w[0]!, w[1]!, w[2]!, w[3]!, finishHour(finishedAtMs));
  }

  /**
   * Records a key under `hour`; false when it was already recorded (it keeps its hour). Throws SeenHourError
   * for an hour it cannot hold, so no such hour is ever stored.
   */
  addKey(a: number, b: number, c: number, d: number, hour: number): boolean {
    if (!isEpochHour(hour)) throw new SeenHourError(hour);
    const e = this.#keys.add(a, b, c, d);
    if (e < 0) return false;
    this.#hours = grown(this.#hours, e + 1, (n) => new Int32Array(n));
    this.#hours[e] = hour;
    return true;
  }

  /** Forgets every hour that ended at or before `horizonMs` (all its jobs finished before it); returns how many ids. */
  prune(horizonMs: number): number {
    const hours = this.#hours;
    const removed = this.#keys.retain(
      (e) => (hours[e]! + 1) * HOUR_MS > horizonMs,
      (from, to) => (hours[to] = hours[from]!),
    );
    // The table may have given memory back: so do the hours.
    if (removed > 0 && this.#keys.capacity < hours.length && hours.length > INITIAL_ENTRIES)
      this.#hours = hours.slice(0, this.#keys.capacity);
    return removed;
  }

  /** The hours held, ascending. */
  hours(): number[] {
    return [...this.#counts().keys()].sort((x, y) => x - y);
  }

  /**
   * Calls `each` for every hour held (ascending) with its keys, in insertion order, as stored (KEY_BYTES an id,
   * big-endian words): what the state writes. `keys` is reused from call to call: read it before returning.
   * One hour at a time, so that encoding a large set never holds a second copy of it.
   */
  forEachBucket(each: (hour: number, keys: Buffer) => void): void {
    const n = this.size;
    const counts = this.#counts();
    const hours = [...counts.keys()].sort((x, y) => x - y);
    // Entries grouped by hour, each group in insertion order (a counting sort).
    const start = new Map<number, number>();
    let at = 0;
    let largest = 0;
    for (const hour of hours) {
      const count = counts.get(hour) as number;
      start.set(hour, at);
      at += count;
      largest = Math.max(largest, count);
    }
    const order = new Int32Array(n);
    for (let e = 0; e < n; e++) {
      const hour = this.#hours[e]!;
      const i = start.get(hour) as number;
      order[i] = e;
      start.set(hour, i + 1);
    }
    const scratch = Buffer.allocUnsafe(KEY_BYTES * largest);
    let next = 0;
    for (const hour of hours) {
      const count = counts.get(hour) as number;
      for (let i = 0; i < count; i++) {
        const e = order[next + i]!;
        for (let w = 0; w < 4; w++) scratch.writeInt32BE(this.#keys.word(e, w), KEY_BYTES * i + 4 * w);
      }
      next += count;
      each(hour, scratch.subarray(0, KEY_BYTES * count));
    }
  }

  /** The hours held (ascending) and how many ids each: the sizes of forEachBucket's calls. */
  bucketSizes(): { hour: number; ids: number }[] {
    return [...this.#counts()].sort((x, y) => x[0] - y[0]).map(([hour, ids]) => ({ hour, ids }));
  }

  /** Ids by hour. */
  #counts(): Map<number, number> {
    const counts = new Map<number, number>();
    for (let e = 0; e < this.size; e++) counts.set(this.#hours[e]!, (counts.get(this.#hours[e]!) ?? 0) + 1);
    return counts;
  }

  /** forEachBucket's hours and keys, copied (tests, small sets). */
  buckets(): SeenBucket[] {
    const out: SeenBucket[] = [];
    this.forEachBucket((hour, keys) => out.push({ hour, keys: Buffer.from(keys) }));
    return out;
  }
}
