/**
 * Strings decoded from JSON string tokens, and interned by their bytes (the scanner's repeated values).
 */

/**
 * Strings interned by their bytes: the JSON token (inside the quotes, escapes as written) maps to the
 * decoded string, so a workflow id or a status seen a million times is decoded once and is one string.
 * Bounded: past MAX_INTERNED distinct values, or past MAX_INTERNED_BYTES, a value is decoded each time and
 * not kept (an interner holds at most ~5 MB, whatever the tokens: the values worth keeping are short).
 */
export class ByteInterner {
  static readonly MAX_INTERNED = 8192;
  /** Longest token kept: a UUID is 36 bytes, a status or job type a dozen, a typical name a few dozen. */
  static readonly MAX_INTERNED_BYTES = 256;
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

  /** Values kept. */
  get size(): number {
    return this.#size;
  }

  get(bytes: Buffer, start: number, end: number, flags: number): string {
    const length = end - start;
    if (length > ByteInterner.MAX_INTERNED_BYTES) return decodeToken(bytes, start, end, flags);
    const front =
      length === 0
        ? 0
        : (Math.imul(
            bytes[start]! ^
              (bytes[end - 1]! << 7) ^
              (bytes[start + (length >> 1)]! << 14) ^
              (bytes[start + (length >> 2)]! << 21),
            0x9e3779b1,
          ) ^
            length) >>>
          (32 - FRONT_BITS);
    const candidate = this.#frontKeys[front];
    if (candidate !== undefined && candidate.length === length && sameBytes(candidate, bytes, start))
      return this.#frontValues[front] as string;
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
    for (; i + 4 <= end; i += 4)
      h = Math.imul(h ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24)), 0x01000193);
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
      // A copy, never a view (Buffer#slice is one): the bytes are a socket chunk, which a view would keep
      // alive whole (64 KiB for a 36-byte id), or the stream's carry-over buffer, which the next element
      // spanning chunks overwrites: the key would then read as another token and map it to this value.
      const key = new Uint8Array(bytes.subarray(start, end));
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

export const TOKEN_ESCAPE = 1;
export const TOKEN_NON_ASCII = 2;

/** The string a JSON string token (its inside `[start, end)`) stands for, as JSON.parse would give it. */
export function decodeToken(bytes: Buffer, start: number, end: number, flags: number): string {
  if ((flags & TOKEN_ESCAPE) !== 0) return JSON.parse(bytes.toString('utf8', start - 1, end + 1)) as string;
  return (flags & TOKEN_NON_ASCII) !== 0 ? bytes.toString('utf8', start, end) : bytes.toString('latin1', start, end);
}
