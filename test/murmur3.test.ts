/**
 * murmur3x86x128: the reference algorithm over bytes (a transcription of MurmurHash3_x86_128 from SMHasher,
 * checked here by SMHasher's own verification value), and the string version equal to it on the UTF-16LE
 * bytes of any string.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { murmur3x86x128 } from '../lib/common/murmur3.js';

const rotl = (x: number, r: number) => (x << r) | (x >>> (32 - r));
const fmix = (h: number) => {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
};

/** MurmurHash3_x86_128 over bytes, line by line as in SMHasher's MurmurHash3.cpp; 16 bytes, little-endian words. */
function referenceBytes(key: Uint8Array, seed: number): Uint8Array {
  const [c1, c2, c3, c4] = [0x239b961b, 0xab0e9789, 0x38b34ae5, 0xa1e38b93];
  const len = key.length;
  const nblocks = len >>> 4;
  let [h1, h2, h3, h4] = [seed, seed, seed, seed];
  const word = (at: number) => key[at]! | (key[at + 1]! << 8) | (key[at + 2]! << 16) | (key[at + 3]! << 24);
  for (let i = 0; i < nblocks; i++) {
    let k1 = word(i * 16);
    let k2 = word(i * 16 + 4);
    let k3 = word(i * 16 + 8);
    let k4 = word(i * 16 + 12);
    k1 = Math.imul(k1, c1);
    k1 = rotl(k1, 15);
    k1 = Math.imul(k1, c2);
    h1 ^= k1;
    h1 = rotl(h1, 19);
    h1 = (h1 + h2) | 0;
    h1 = (Math.imul(h1, 5) + 0x561ccd1b) | 0;
    k2 = Math.imul(k2, c2);
    k2 = rotl(k2, 16);
    k2 = Math.imul(k2, c3);
    h2 ^= k2;
    h2 = rotl(h2, 17);
    h2 = (h2 + h3) | 0;
    h2 = (Math.imul(h2, 5) + 0x0bcaa747) | 0;
    k3 = Math.imul(k3, c3);
    k3 = rotl(k3, 17);
    k3 = Math.imul(k3, c4);
    h3 ^= k3;
    h3 = rotl(h3, 15);
    h3 = (h3 + h4) | 0;
    h3 = (Math.imul(h3, 5) + 0x96cd1c35) | 0;
    k4 = Math.imul(k4, c4);
    k4 = rotl(k4, 18);
    k4 = Math.imul(k4, c1);
    h4 ^= k4;
    h4 = rotl(h4, 13);
    h4 = (h4 + h1) | 0;
    h4 = (Math.imul(h4, 5) + 0x32ac3b17) | 0;
  }
  // The reference's fall-through switch on len & 15, as a chain of tests.
  const tail = nblocks * 16;
  const r = len & 15;
  const t = (n: number) => key[tail + n]!;
  let [k1, k2, k3, k4] = [0, 0, 0, 0];
  if (r >= 15) k4 ^= t(14) << 16;
  if (r >= 14) k4 ^= t(13) << 8;
  if (r >= 13) {
    k4 ^= t(12);
    k4 = Math.imul(k4, c4);
    k4 = rotl(k4, 18);
    k4 = Math.imul(k4, c1);
    h4 ^= k4;
  }
  if (r >= 12) k3 ^= t(11) << 24;
  if (r >= 11) k3 ^= t(10) << 16;
  if (r >= 10) k3 ^= t(9) << 8;
  if (r >= 9) {
    k3 ^= t(8);
    k3 = Math.imul(k3, c3);
    k3 = rotl(k3, 17);
    k3 = Math.imul(k3, c4);
    h3 ^= k3;
  }
  if (r >= 8) k2 ^= t(7) << 24;
  if (r >= 7) k2 ^= t(6) << 16;
  if (r >= 6) k2 ^= t(5) << 8;
  if (r >= 5) {
    k2 ^= t(4);
    k2 = Math.imul(k2, c2);
    k2 = rotl(k2, 16);
    k2 = Math.imul(k2, c3);
    h2 ^= k2;
  }
  if (r >= 4) k1 ^= t(3) << 24;
  if (r >= 3) k1 ^= t(2) << 16;
  if (r >= 2) k1 ^= t(1) << 8;
  if (r >= 1) {
    k1 ^= t(0);
    k1 = Math.imul(k1, c1);
    k1 = rotl(k1, 15);
    k1 = Math.imul(k1, c2);
    h1 ^= k1;
  }
  h1 ^= len;
  h2 ^= len;
  h3 ^= len;
  h4 ^= len;
  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;
  h1 = fmix(h1);
  h2 = fmix(h2);
  h3 = fmix(h3);
  h4 = fmix(h4);
  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;
  const out = new DataView(new ArrayBuffer(16));
  [h1, h2, h3, h4].forEach((h, i) => out.setInt32(i * 4, h, true));
  return new Uint8Array(out.buffer);
}

function stringHashBytes(text: string, seed = 0): Uint8Array {
  const words = new Int32Array(4);
  murmur3x86x128(text, words, seed);
  return new Uint8Array(words.buffer);
}

describe('murmur3x86x128', () => {
  it('transcribes the reference: SMHasher verification value 0xB3ECE62A', () => {
    // Prepare: SMHasher's VerificationTest: keys {}, {0}, {0, 1}, … {0 … 254}, the key of length i hashed
    // with seed 256 − i; the concatenated hashes hashed with seed 0; the first 4 bytes, little-endian.
    const key = Uint8Array.from({ length: 256 }, (_, i) => i);
    const hashes = new Uint8Array(16 * 256);

    // Act
    for (let i = 0; i < 256; i++) hashes.set(referenceBytes(key.subarray(0, i), 256 - i), i * 16);
    const final = referenceBytes(hashes, 0);

    // Assess
    expect(new DataView(final.buffer).getUint32(0, true).toString(16)).toBe('b3ece62a');
  });

  it('of a string equals the reference over its UTF-16LE bytes, for every length of tail', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), fc.integer(), (text, seed) => {
        expect(stringHashBytes(text, seed)).toEqual(referenceBytes(Buffer.from(text, 'utf16le'), seed));
      }),
      { numRuns: 2000 },
    );
    for (let n = 0; n < 40; n++) {
      const text = 'é😀x'.repeat(n).slice(0, n);
      expect(stringHashBytes(text)).toEqual(referenceBytes(Buffer.from(text, 'utf16le'), 0));
    }
  });
});
