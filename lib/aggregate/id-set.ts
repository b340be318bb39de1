/**
 * Duplicate detection: a set of job ids, 14 bytes an id of any length, fast at a million ids; exact for UUIDs.
 *
 * Canonical lower-case UUIDs (what the API sends) are stored in 14 bytes, not 16. The id (a, b, c, d) is
 * mapped to (h, b, c, d) with h = hash128(a, b, c, d) = fmix32(a ^ f(b, c, d)): fmix32 is a bijection of 32
 * bits and f does not read a, so the map is a bijection — two ids are equal exactly when their h, b, c and d
 * are. Entries sit in one dense array grouped by the top bits of h (group g holds [starts[g], starts[g + 1])),
 * so inside a group the top 16 bits of h are the same for every entry and need not be stored: an entry is its
 * 16-bit tag (the low half of h, in `#tags`) and its words b, c, d (in `#rest`). A lookup scans the group's
 * tags — ~15 of them at 10^6 ids, 30 contiguous bytes in a 2 MB array — and reads b, c, d only on a tag match.
 *
 * New ids first go to a pending table of PENDING_CAPACITY entries in twice as many slots: linear probing from
 * the slot the top bits of h name, with each run kept in order of h (an insert shifts the rest of its run by
 * one), so the whole table is in order of h and thus of group, and an entry holds its own h, b, c, d. When it
 * is full, it is merged into the dense array in place by one backward pass over the groups and the slots
 * together: each group moves up by the number of pending entries of the groups before it, and its own pending
 * entries are written after it (sequential memory traffic on both sides, no scratch copy).
 * The dense arrays are views of one plain ArrayBuffer reserved for RESERVED_ENTRIES entries: a buffer that
 * large is mapped fresh and zero without being touched, so memory is committed page by page as entries are
 * written, and the arrays never exist twice (past the reservation, a 4× bigger one is taken and the entries
 * copied). Plain buffers, not resizable ones: on Node 20, typed arrays over a resizable (or growable shared)
 * buffer read and write about twice as slowly.
 *
 * A released IdSet (`release()`, once the snapshot is taken) hands its memory to the next one: a serving
 * exporter collects again and again, and on these VMs the first write to a fresh page costs more than the id
 * set's own work.
 *
 * Measurements, and the designs this replaced: docs/performance.md ("Exact dedup in 14 bytes an id").
 *
 * Any other id (not a UUID, upper-case hex, up to MAX_ID_LENGTH characters of anything) is hashed to 128 bits
 * (MurmurHash3_x86_128 of its UTF-16 code units, lib/common/murmur3.ts) and stored as if those were a UUID's:
 * 14 bytes, whatever its length (a Set of such strings took ~300 bytes an id at 256 characters). A UUID is
 * stored exactly — two UUIDs are equal exactly when their entries are — but two other ids are taken for one
 * when their hashes are equal, and so are such an id and a UUID whose words equal its hash. Among n ids of
 * which any two are equally likely to collide, the chance that any pair does is below n² / 2^129: 1.5 × 10^-25
 * for 10^7 ids, 3 × 10^-25 for the ~1.4 × 10^7 smallest valid records that fit in the default
 * MAX_RESPONSE_BYTES (1 GiB), far below the chance of a memory error flipping the answer. A collision would count one job as a duplicate of another; an
 * upstream that builds colliding ids on purpose (MurmurHash3 is not cryptographic) gets nothing it could not
 * get by sending the same id twice.
 */
import { murmur3x86x128 } from '../common/murmur3.js';
import { uuidFromString } from '../records/uuid.js';

/** Bits of h kept in an entry's tag; the rest are the group's (so groups are never fewer than 2^16). */
const TAG_BITS = 16;
const TAG_MASK = (1 << TAG_BITS) - 1;
/** Groups stop splitting at 2^24 (a tag still holds the next bit to split on up to 2^32 groups). */
const MAX_GROUP_BITS = 24;
/**
 * Entries reserved at first: 4M ids, 56 MB of address space, not of memory. glibc serves a calloc above its
 * mmap threshold (32 MB at most) with fresh zero pages it does not write, so pages are committed as entries
 * are written (checked by test/id-set.test.ts on Linux).
 */
const RESERVED_ENTRIES = 1 << 22;
/** Reservations tried, in turn, when the address space for a bigger one is refused (a ulimit -v). */
const FALLBACK_ENTRIES = [1 << 20, 1 << 16] as const;

export interface IdSetOptions {
  /** Pending entries merged at a time (default IdSet.PENDING_CAPACITY; a power of two). */
  readonly pendingCapacity?: number;
  /** Groups are split in two once they hold this many entries on average (default IdSet.MAX_GROUP_SIZE). */
  readonly maxGroupSize?: number;
  /** Entries reserved at first (default 2^22; tests use small ones to cross a reservation). */
  readonly reservedEntries?: number;
}

/** What an IdSet writes into, handed from a released IdSet to the next one. */
interface IdMemory {
  /** Capacity in entries: the tags are the buffer's first 2 × capacity bytes, then the words, 12 × capacity. */
  readonly capacity: number;
  readonly buffer: ArrayBuffer;
  /** Pending slots: h, then b, c, d, and whether the slot holds an entry. */
  readonly slotHash: Uint32Array;
  readonly slotRest: Int32Array;
  readonly slotUsed: Uint8Array;
}

/**
 * Slots past the last home slot, so that a run is never wrapped around to the start (which would break the
 * order of h). A run that would pass them merges the table first.
 */
const OVERFLOW_SLOTS = 1024;

/** The memory of the last released IdSet, for the next one. */
let spare: IdMemory | undefined;

export class IdSet {
  /**
   * Entries merged at a time: 2^17 + 1024 slots of 17 bytes (2.2 MB), written whole by a 100k pull too, so it
   * adds nothing to the 1M − 100k difference. A bigger table is written whole only by bigger pulls; a smaller
   * one merges, and so moves the dense array, more often (the sizes tried: docs/performance.md).
   */
  static readonly PENDING_CAPACITY = 1 << 16;
  static readonly MAX_GROUP_SIZE = 32;

  readonly #words = new Int32Array(4);
  readonly #maxGroupSize: number;

  // Dense, grouped entries: a 16-bit tag and 3 words each.
  #memory: IdMemory;
  #tags: Uint16Array;
  #rest: Int32Array;
  #denseCount = 0;
  #groupBits = TAG_BITS;
  /** Start entry of each group; starts[groups] === denseCount. */
  #starts = new Int32Array((1 << TAG_BITS) + 1);

  // Pending (not yet merged) entries, in slots ordered by h (see the top of the file).
  readonly #slotHash: Uint32Array;
  readonly #slotRest: Int32Array;
  readonly #slotUsed: Uint8Array;
  /** 32 − log2(home slots): h >>> #slotShift is an entry's home slot. */
  readonly #slotShift: number;
  readonly #pendingCapacity: number;
  #pendingCount = 0;
  #released = false;

  constructor(options: IdSetOptions = {}) {
    const pending = options.pendingCapacity ?? IdSet.PENDING_CAPACITY;
    if (!Number.isInteger(Math.log2(pending)) || pending < 2)
      throw new RangeError(`IdSet pendingCapacity must be a power of two ≥ 2, got ${pending}`);
    this.#maxGroupSize = options.maxGroupSize ?? IdSet.MAX_GROUP_SIZE;
    const reserved = options.reservedEntries ?? RESERVED_ENTRIES;
    if (!Number.isInteger(reserved) || reserved < 2 || reserved % 2 !== 0)
      throw new RangeError(`IdSet reservedEntries must be an even integer ≥ 2, got ${reserved}`);
    let memory = spare;
    if (
      memory !== undefined &&
      memory.slotUsed.length === 2 * pending + OVERFLOW_SLOTS &&
      memory.capacity >= reserved
    ) {
      spare = undefined;
      memory.slotUsed.fill(0); // the slots themselves are never read unless marked used
    } else memory = allocate(reserved, pending);
    this.#memory = memory;
    this.#tags = tagView(memory);
    this.#rest = restView(memory);
    this.#slotHash = memory.slotHash;
    this.#slotRest = memory.slotRest;
    this.#slotUsed = memory.slotUsed;
    this.#slotShift = 32 - Math.log2(2 * pending);
    this.#pendingCapacity = pending;
  }

  get size(): number {
    return this.#denseCount + this.#pendingCount;
  }

  /** Hands this set's memory to the next IdSet made (one is kept at a time). Adding after this throws. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#tags = new Uint16Array(0);
    this.#rest = new Int32Array(0);
    spare = this.#memory;
    // Not kept through this set: a next set that outgrows the reservation must be able to free it.
    this.#memory = { ...spare, capacity: 0, buffer: new ArrayBuffer(0) };
  }

  /** Adds the id; false when it was already there. */
  addId(id: string): boolean {
    const w = this.#words;
    return uuidFromString(id, w) ? this.addUuid(w[0]!, w[1]!, w[2]!, w[3]!) : this.addString(id);
  }

  /**
   * Adds an id that is not a canonical lower-case UUID, by its 128-bit hash (see the top of the file); false
   * when it was already there.
   */
  addString(id: string): boolean {
    const w = this.#words;
    murmur3x86x128(id, w);
    return this.addUuid(w[0]!, w[1]!, w[2]!, w[3]!);
  }

  /** Adds the UUID with these 128 bits (most significant word first); false when it was already there. */
  addUuid(a: number, b: number, c: number, d: number): boolean {
    if (this.#released) throw new Error('IdSet used after release()');
    const h = hash128(a, b, c, d);
    // Dense part: scan the group's tags; b, c, d only on a match.
    const g = h >>> (32 - this.#groupBits);
    const tag = h & TAG_MASK;
    const tags = this.#tags;
    const end = this.#starts[g + 1]!;
    for (let k = this.#starts[g]!; k < end; k++) {
      if (tags[k] === tag) {
        const rest = this.#rest;
        const r = k * 3;
        if (rest[r] === b && rest[r + 1] === c && rest[r + 2] === d) return false;
      }
    }
    // Pending part: the run from h's home slot, in order of h.
    const used = this.#slotUsed;
    const hashes = this.#slotHash;
    const pending = this.#slotRest;
    let slot = h >>> this.#slotShift;
    while (used[slot] === 1 && hashes[slot]! < h) slot++;
    for (; used[slot] === 1 && hashes[slot] === h; slot++) {
      const r = slot * 3;
      if (pending[r] === b && pending[r + 1] === c && pending[r + 2] === d) return false;
    }
    // New: insert at `slot`, the rest of the run shifted up by one into the next free slot.
    let free = slot;
    while (free < used.length && used[free] === 1) free++;
    if (free === used.length) {
      // The run reaches past the overflow slots (only a pathological set of hashes does this): merge, retry.
      this.#merge();
      return this.addUuid(a, b, c, d);
    }
    // Runs are short (the table is at most half full): a loop, not copyWithin's call overhead.
    for (let k = free; k > slot; k--) {
      hashes[k] = hashes[k - 1]!;
      const r = k * 3;
      pending[r] = pending[r - 3]!;
      pending[r + 1] = pending[r - 2]!;
      pending[r + 2] = pending[r - 1]!;
    }
    used[free] = 1;
    hashes[slot] = h;
    pending[slot * 3] = b;
    pending[slot * 3 + 1] = c;
    pending[slot * 3 + 2] = d;
    if (++this.#pendingCount === this.#pendingCapacity) this.#merge();
    return true;
  }

  /**
   * Moves the pending entries into the dense array, then splits groups that grew too large. The slots are in
   * order of h, so walking them backward gives the pending entries group by group from the last group down,
   * the order in which one backward pass over the groups writes them.
   */
  #merge(): void {
    const m = this.#pendingCount;
    const shift = 32 - this.#groupBits;
    const used = this.#slotUsed;
    const hashes = this.#slotHash;
    const pending = this.#slotRest;
    this.#ensureCapacity(this.#denseCount + m);
    const starts = this.#starts;
    const tags = this.#tags;
    const rest = this.#rest;
    // From the last group down: `remaining` pending entries belong to this group or the ones before it, so
    // the group's end moves up by that much; its own pending entries go right below the new end, then the
    // group itself moves up by what is left.
    let remaining = m;
    let slot = used.length - 1;
    for (let g = (1 << this.#groupBits) - 1; g >= 0 && remaining > 0; g--) {
      const from = starts[g]!;
      const to = starts[g + 1]!;
      let out = to + remaining;
      starts[g + 1] = out;
      for (; slot >= 0; slot--) {
        if (used[slot] === 0) continue;
        const h = hashes[slot]!;
        if (h >>> shift !== g) break;
        out--;
        tags[out] = h & TAG_MASK;
        const r = out * 3;
        const p = slot * 3;
        rest[r] = pending[p]!;
        rest[r + 1] = pending[p + 1]!;
        rest[r + 2] = pending[p + 2]!;
      }
      remaining = out - to;
      if (remaining > 0 && to > from) {
        if (to - from > 8) {
          tags.copyWithin(from + remaining, from, to);
          rest.copyWithin((from + remaining) * 3, from * 3, to * 3);
        } else {
          for (let k = to - 1; k >= from; k--) tags[k + remaining] = tags[k]!;
          const by = remaining * 3;
          for (let k = to * 3 - 1; k >= from * 3; k--) rest[k + by] = rest[k]!;
        }
      }
    }
    // Every pending entry has a group, so none is left once group 0 is done; a slot left over would be an id lost.
    if (remaining !== 0) throw new Error(`IdSet: ${remaining} pending entries not merged (slot order broken)`);
    this.#denseCount += m;
    this.#pendingCount = 0;
    used.fill(0);
    while (this.#denseCount > this.#maxGroupSize * (1 << this.#groupBits) && this.#groupBits < MAX_GROUP_BITS)
      this.#split();
  }

  /** Doubles the number of groups: each group is partitioned in place by the next bit of h (in the tag). */
  #split(): void {
    const bits = this.#groupBits + 1;
    const groups = 1 << bits;
    const old = this.#starts;
    const starts = new Int32Array(groups + 1);
    const tags = this.#tags;
    const rest = this.#rest;
    const bit = 1 << (32 - bits);
    for (let g = 0; g < groups / 2; g++) {
      let lo = old[g]!;
      let hi = old[g + 1]! - 1;
      // Partition: entries whose h has `bit` clear first.
      while (lo <= hi) {
        if ((tags[lo]! & bit) === 0) lo++;
        else {
          const t = tags[lo]!;
          tags[lo] = tags[hi]!;
          tags[hi] = t;
          for (let w = 0; w < 3; w++) {
            const x = rest[lo * 3 + w]!;
            rest[lo * 3 + w] = rest[hi * 3 + w]!;
            rest[hi * 3 + w] = x;
          }
          hi--;
        }
      }
      starts[2 * g] = old[g]!;
      starts[2 * g + 1] = lo;
    }
    starts[groups] = old[groups / 2]!;
    this.#starts = starts;
    this.#groupBits = bits;
  }

  #ensureCapacity(entries: number): void {
    const old = this.#memory;
    if (entries <= old.capacity) return;
    // Past the reservation: a 4× bigger one, the entries copied (the only time they exist twice).
    const memory = allocate(Math.max(entries, old.capacity * 4), 0, old);
    if (memory.capacity < entries) throw new RangeError(`IdSet: no address space for ${entries} ids`);
    tagView(memory).set(this.#tags.subarray(0, this.#denseCount));
    restView(memory).set(this.#rest.subarray(0, this.#denseCount * 3));
    this.#memory = memory;
    this.#tags = tagView(memory);
    this.#rest = restView(memory);
  }
}

/**
 * A reservation of `entries` (or of a fallback size, if the address space is refused) and pending tables of
 * `pending` entries (those of `keep`, when given).
 */
function allocate(entries: number, pending: number, keep?: IdMemory): IdMemory {
  const sizes = [entries, ...FALLBACK_ENTRIES.filter((n) => n < entries)];
  for (let i = 0; ; i++) {
    const capacity = sizes[i]!;
    let buffer: ArrayBuffer;
    try {
      buffer = new ArrayBuffer(capacity * 14);
    } catch (error) {
      if (error instanceof RangeError && i + 1 < sizes.length) continue;
      throw error;
    }
    const slots = 2 * pending + OVERFLOW_SLOTS;
    return {
      capacity,
      buffer,
      slotHash: keep?.slotHash ?? new Uint32Array(slots),
      slotRest: keep?.slotRest ?? new Int32Array(slots * 3),
      slotUsed: keep?.slotUsed ?? new Uint8Array(slots),
    };
  }
}

function tagView(memory: IdMemory): Uint16Array {
  return new Uint16Array(memory.buffer, 0, memory.capacity);
}

function restView(memory: IdMemory): Int32Array {
  return new Int32Array(memory.buffer, memory.capacity * 2, memory.capacity * 3);
}

/**
 * 32-bit hash of the 128 bits: fmix32 (MurmurHash3's finaliser, a bijection) of a xor a mix of b, c, d, so
 * that for fixed b, c, d it is a bijection of a (what lets an entry drop the bits its group implies), and
 * time-ordered ids (UUID v1/v7, whose first words barely change) spread as well as random ones.
 */
export function hash128(a: number, b: number, c: number, d: number): number {
  return (
    fmix32(
      a ^
        Math.imul(b ^ (b >>> 15), 0x9e3779b1) ^
        Math.imul(c ^ (c >>> 13), 0x85ebca77) ^
        Math.imul(d ^ (d >>> 16), 0xc2b2ae3d),
    ) >>> 0
  );
}

function fmix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  return x ^ (x >>> 16);
}
