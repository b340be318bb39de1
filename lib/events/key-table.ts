/**
 * Job ids as 128-bit keys, and a set of such keys with entry numbers (the finished-jobs state's seen ids, and the
 * finished jobs of one pull): typed arrays only, no object or string per id.
 *
 * The key of an id: a canonical lower-case UUID (what the API sends) is its own 128 bits (records/uuid.ts:
 * exact); any other id is the first 128 bits of its SHA-256 over its UTF-16 code units (so two ids differing only
 * in a lone surrogate stay apart, which UTF-8 would merge). Two different ids share a key only if two hashed ids
 * collide, or a hashed id lands on a UUID's bits: for n ids the chance is at most n²/2¹²⁹ — 1.5 × 10⁻²⁵ for
 * 10⁷ ids, far below the odds of a memory or disk error the job could suffer instead — and SHA-256 offers no
 * way to aim at one (a chosen collision of 128 bits costs ~2⁶⁴ hashes). A cryptographic hash, not a faster one,
 * because keys are stored (the state outlives the process, so a hash seeded per process cannot be used). What a
 * collision would do: the second job is taken for published, so one event is missing; never a duplicate, never
 * a state that cannot be read. Hashing costs ~4 µs an id here (none for UUIDs).
 *
 * The set: keys in insertion order (4 Int32 words an entry, most significant first: the order they are stored
 * in) and an open-addressing table over them (Int32Array of entry number + 1, linear probing, at most half
 * full): 16 bytes an entry and 4 a slot. The table's hash is seeded per set, so keys picked to pile up in one
 * process's table do not in another's.
 */
import { hash, randomBytes } from 'node:crypto';
import { uuidFromString } from '../records/uuid.js';

/** Bytes of a stored key. */
export const KEY_BYTES = 16;

/** The key of `id` into `out` (4 words, most significant first); true when it is the id's own bits (a UUID). */
export function keyOf(id: string, out: Int32Array): boolean {
  if (uuidFromString(id, out)) return true;
  const digest = hash('sha256', Buffer.from(id, 'utf16le'), 'buffer');
  for (let w = 0; w < 4; w++) out[w] = digest.readInt32BE(4 * w);
  return false;
}

/** Entries of a new, empty table. */
export const INITIAL_ENTRIES = 1024;

export class KeyTable {
  /** 4 words an entry. */
  #keys: Int32Array;
  #count = 0;
  /** Entry number + 1 per slot, 0 for free; a power of two in length, at most half full. */
  #table: Int32Array;
  #mask: number;
  readonly #seed = randomBytes(4).readInt32LE(0);

  /** `expected`: keys it will hold, so that it is sized once. */
  constructor(expected = 0) {
    const capacity = Math.max(INITIAL_ENTRIES, expected);
    this.#keys = new Int32Array(4 * capacity);
    this.#table = new Int32Array(tableSizeFor(capacity));
    this.#mask = this.#table.length - 1;
  }

  get size(): number {
    return this.#count;
  }

  /** Entries the key arrays hold before they grow. */
  get capacity(): number {
    return this.#keys.length / 4;
  }

  /** Entry number of the key, or -1. */
  find(a: number, b: number, c: number, d: number): number {
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

  /** Adds the key as the next entry and returns its number; when it is there already, returns −(its number) − 1. */
  add(a: number, b: number, c: number, d: number): number {
    let slot = slotHash(a, b, c, d, this.#seed) & this.#mask;
    const table = this.#table;
    const keys = this.#keys;
    for (let e = table[slot]!; e !== 0; e = table[slot]!) {
      const k = 4 * (e - 1);
      if (keys[k] === a && keys[k + 1] === b && keys[k + 2] === c && keys[k + 3] === d) return -e;
      slot = (slot + 1) & this.#mask;
    }
    if (this.#count === this.capacity) this.#resize(Math.ceil(this.capacity * 1.5)); // the table is unchanged
    const n = this.#count++;
    const k = 4 * n;
    this.#keys[k] = a;
    this.#keys[k + 1] = b;
    this.#keys[k + 2] = c;
    this.#keys[k + 3] = d;
    table[slot] = n + 1;
    if (2 * this.#count > table.length) this.#rebuild(table.length * 2);
    return n;
  }

  /** Word `w` (0 most significant) of entry `e`'s key. */
  word(e: number, w: number): number {
    return this.#keys[4 * e + w]!;
  }

  /**
   * Keeps the entries `keep` says yes to, in order, and drops the others; `move(from, to)` is called for each kept
   * entry whose number changes, so that columns kept beside the table follow. Returns how many were dropped.
   */
  retain(keep: (e: number) => boolean, move: (from: number, to: number) => void): number {
    const keys = this.#keys;
    let kept = 0;
    for (let e = 0; e < this.#count; e++) {
      if (!keep(e)) continue;
      if (kept !== e) {
        keys.copyWithin(4 * kept, 4 * e, 4 * e + 4);
        move(e, kept);
      }
      kept++;
    }
    const dropped = this.#count - kept;
    if (dropped === 0) return 0;
    this.#count = kept;
    // Memory back once mostly empty; otherwise the arrays stay and what is left is re-filed.
    if (4 * kept < this.capacity && this.capacity > INITIAL_ENTRIES)
      this.#resize(Math.max(INITIAL_ENTRIES, Math.ceil(kept * 1.5)));
    this.#rebuild(tableSizeFor(Math.max(kept, INITIAL_ENTRIES)));
    return dropped;
  }

  #resize(capacity: number): void {
    const keys = new Int32Array(4 * capacity);
    keys.set(this.#keys.subarray(0, 4 * this.#count));
    this.#keys = keys;
  }

  #rebuild(size: number): void {
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

/** 32 bits of a key for the table: every word mixed in (MurmurHash3's multipliers), after a per-table seed. */
function slotHash(a: number, b: number, c: number, d: number, seed: number): number {
  let h = Math.imul(seed ^ a, 0xcc9e2d51);
  h = Math.imul(h ^ (h >>> 15) ^ b, 0x1b873593);
  h = Math.imul(h ^ (h >>> 13) ^ c, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 16) ^ d, 0xc2b2ae35);
  return h ^ (h >>> 15);
}

/** Grows a column kept beside a KeyTable to at least `entries`, by half. */
export function grown<T extends Int32Array | Float64Array | Uint8Array>(
  column: T,
  entries: number,
  make: (length: number) => T,
): T {
  if (entries <= column.length) return column;
  const next = make(Math.max(entries, Math.ceil(column.length * 1.5)));
  next.set(column);
  return next;
}
