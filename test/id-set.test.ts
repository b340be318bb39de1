/**
 * IdSet: exact membership of UUIDs with 14-byte entries (the group implies the top of the hash), other ids by
 * their 128-bit hash in the same entries; merges, splits, a reservation crossed, memory handed on by
 * release(). test/fast-path.test.ts checks it against a Set of strings at the default sizes.
 */
import { describe, expect, it } from 'vitest';
import { hash128, IdSet } from '../lib/aggregate/id-set.js';
import { uuidToString } from '../lib/records/uuid.js';

/** xorshift32: a fixed-seed stream of 32-bit words. */
function words(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x | 0;
  };
}

/** Inverse of fmix32 (MurmurHash3's finaliser), to build ids with a chosen hash. */
function unfmix32(y: number): number {
  const unshift = (v: number, s: number) => {
    let r = v;
    for (let i = 0; i < 32 / s; i++) r = v ^ (r >>> s);
    return r;
  };
  let x = unshift(y, 16);
  x = Math.imul(x, 0x7ed1b41d); // inverse of 0xc2b2ae35 mod 2^32
  x = unshift(x, 13);
  x = Math.imul(x, 0xa5cb9243); // inverse of 0x85ebca6b mod 2^32
  return unshift(x, 16) | 0;
}

/** The first word that gives (a, b, c, d) the hash h: hash128 is fmix32(a ^ f(b, c, d)). */
function firstWordFor(h: number, b: number, c: number, d: number): number {
  return unfmix32(h) ^ unfmix32(hash128(0, b, c, d));
}

describe('IdSet', () => {
  it('agrees with a Set of strings through many merges, splits and a crossed reservation', () => {
    // Prepare: a small pending table, groups split past 1 entry on average (2^16 groups: at 65,537 ids), a
    // reservation of 4096 entries.
    const set = new IdSet({ pendingCapacity: 1024, maxGroupSize: 1, reservedEntries: 4096 });
    const reference = new Set<string>();
    const next = words(0x2545f491);
    const seen: string[] = [];
    // Act + assess: 150k adds (3% repeats): ~140 merges, two splits, three bigger reservations.
    for (let i = 0; i < 150_000; i++) {
      const repeat = (next() >>> 0) % 100 < 3 && seen.length > 0;
      const id = repeat ? (seen[(next() >>> 0) % seen.length] as string) : uuidToString(next(), next(), next(), next());
      seen.push(id);
      const before = reference.size;
      reference.add(id);
      expect(set.addId(id)).toBe(reference.size !== before);
    }
    expect(set.size).toBe(reference.size);
    for (let i = 0; i < seen.length; i += 5) expect(set.addId(seen[i] as string)).toBe(false);
    set.release();
  });

  it('keeps ids that are not canonical UUIDs by their hash, beside the UUIDs: agrees with a Set of strings', () => {
    // Prepare: 60k ids of many kinds — upper-case UUIDs (the same bits as a lower-case one, yet another id),
    // numbers, 256-character ids that differ in one character only, non-ASCII — and repeats of each.
    const set = new IdSet({ pendingCapacity: 1024, reservedEntries: 4096 });
    const reference = new Set<string>();
    const next = words(0x7f4a7c15);
    const long = 'x'.repeat(255);
    let lastUpper = 'A';
    const kinds = [
      () => uuidToString(next(), next(), next(), next()),
      () => (lastUpper = uuidToString(next(), next(), next(), next()).toUpperCase()),
      () => lastUpper.toLowerCase(), // the same 128 bits as the id before it, as a UUID: another id
      () => String(next() >>> 20),
      () => `${long.slice(0, (next() >>> 0) % 255)}${String.fromCharCode(0x21 + ((next() >>> 0) % 90))}`,
      () => `job-${String.fromCharCode(0xe9, 0xd83d, 0xde00)}-${next() >>> 16}`,
    ];
    const seen: string[] = [];

    // Act + assess
    for (let i = 0; i < 60_000; i++) {
      const repeat = (next() >>> 0) % 100 < 10 && seen.length > 0;
      const id = repeat ? (seen[(next() >>> 0) % seen.length] as string) : (kinds[i % kinds.length] as () => string)();
      seen.push(id);
      const before = reference.size;
      reference.add(id);
      expect(set.addId(id)).toBe(reference.size !== before);
    }
    expect(set.size).toBe(reference.size);
    for (const id of reference) expect(set.addId(id)).toBe(false);
    set.release();
  });

  it('merges early when a run of slots would pass the overflow slots, and loses no id', () => {
    // Prepare: 4096 home slots and 1024 overflow slots; 1,500 ids whose hashes all name the last home slot,
    // so their run reaches the end of the table after 1,025 of them, before the pending table (2048) is full.
    const set = new IdSet({ pendingCapacity: 2048 });
    const next = words(0x51ed270b);
    const ids: number[][] = [];
    for (let i = 0; i < 1500; i++) {
      const [b, c, d] = [next(), next(), next()];
      ids.push([firstWordFor((0xfff00000 + i) | 0, b, c, d), b, c, d]);
    }

    // Act + assess
    for (const [a, b, c, d] of ids) expect(set.addUuid(a!, b!, c!, d!)).toBe(true);
    expect(set.size).toBe(1500);
    for (const [a, b, c, d] of ids) expect(set.addUuid(a!, b!, c!, d!)).toBe(false);
    expect(set.size).toBe(1500);
  });

  it('tells apart ids with the same hash (same group, same tag) and ids that differ in one word only', () => {
    // Prepare: 6,000 ids sharing one hash, and ids equal but for the first word (the one the hash is a
    // bijection of) or the last.
    const set = new IdSet({ pendingCapacity: 256 });
    const next = words(0x9e3779b9);
    const h = 0x12345678;
    const colliding: number[][] = [];
    for (let i = 0; i < 3000; i++) {
      const [b, c, d] = [next(), next(), next()];
      colliding.push([firstWordFor(h, b, c, d), b, c, d]);
      // … and some that differ from each other in one of b, c, d only.
      if (i < 1000)
        colliding.push(
          [firstWordFor(h, 5, 5, i), 5, 5, i],
          [firstWordFor(h, 5, i + 1000, 5), 5, i + 1000, 5],
          [firstWordFor(h, i + 2000, 5, 5), i + 2000, 5, 5],
        );
    }
    for (const [a, b, c, d] of colliding) expect(hash128(a!, b!, c!, d!)).toBe(h);
    const neighbours: number[][] = [];
    for (let i = 0; i < 3000; i++) neighbours.push([i, 7, 7, 7], [7, 7, 7, i + 8]);

    // Act + assess: all new the first time (across merges of 256), all present the second.
    for (const [a, b, c, d] of [...colliding, ...neighbours]) expect(set.addUuid(a!, b!, c!, d!)).toBe(true);
    for (const [a, b, c, d] of [...colliding, ...neighbours]) expect(set.addUuid(a!, b!, c!, d!)).toBe(false);
    expect(set.size).toBe(12_000);
    set.release();
  });

  it('hands its memory to the next set, which starts empty, and refuses use after release', () => {
    // Prepare: a set with ids merged and pending, released.
    const first = new IdSet({ pendingCapacity: 1024 });
    const next = words(0x51ed270b);
    const ids = Array.from({ length: 5000 }, () => uuidToString(next(), next(), next(), next()));
    for (const id of ids) first.addId(id);
    first.release();

    // Act: a new set, on the same memory.
    const second = new IdSet({ pendingCapacity: 1024 });

    // Assess: none of the first set's ids are in it; the first set cannot be used.
    expect(second.size).toBe(0);
    for (const id of ids) expect(second.addId(id)).toBe(true);
    for (const id of ids) expect(second.addId(id)).toBe(false);
    expect(() => first.addId(ids[0] as string)).toThrow('IdSet used after release()');
    expect(() => first.addString('job-1')).toThrow('IdSet used after release()');
    second.release();
  });

  it.runIf(process.platform === 'linux')(
    'reserves address space, not memory: pages are committed as ids are written',
    () => {
      // Prepare: a reservation of 2^23 entries (112 MB), bigger than any spare, so it is allocated fresh.
      const rssMb = () => process.memoryUsage().rss / 2 ** 20;
      const before = rssMb();

      // Act
      const set = new IdSet({ reservedEntries: 1 << 23 });
      const after = rssMb();

      // Assess: the pending tables (1.5 MB) and some slack, not 112 MB.
      expect(after - before).toBeLessThan(24);
      set.release();
    },
  );

  it('rejects option values it cannot work with, with the value in the message', () => {
    expect(() => new IdSet({ pendingCapacity: 100 })).toThrow(
      'IdSet pendingCapacity must be a power of two ≥ 2, got 100',
    );
    expect(() => new IdSet({ reservedEntries: 3 })).toThrow('IdSet reservedEntries must be an even integer ≥ 2, got 3');
  });
});
