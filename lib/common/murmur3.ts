/**
 * MurmurHash3_x86_128 (Austin Appleby, public domain) of a string's UTF-16 code units, taken as their
 * little-endian bytes: the same 128 bits as the reference C code gives for `Buffer.from(text, 'utf16le')`
 * (test/murmur3.test.ts checks the reference's SMHasher verification value and that equality). It turns an
 * id of any length into four words for the id set (lib/aggregate/id-set.ts), which says why a collision does
 * not matter there. Not a cryptographic hash: whoever chooses the input can build collisions on purpose.
 */

const C1 = 0x239b961b;
const C2 = 0xab0e9789;
const C3 = 0x38b34ae5;
const C4 = 0xa1e38b93;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function fmix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  return x ^ (x >>> 16);
}

/** The four 32-bit words h1..h4 of the hash of `text` into out[0..4) (as signed 32-bit integers). */
export function murmur3x86x128(text: string, out: Int32Array, seed = 0): void {
  const units = text.length;
  let h1 = seed | 0;
  let h2 = seed | 0;
  let h3 = seed | 0;
  let h4 = seed | 0;
  // A 16-byte block is 8 code units; word j of a block is units 2j (low half) and 2j + 1 (high half).
  const blocks = units >>> 3;
  for (let b = 0; b < blocks; b++) {
    const i = b << 3;
    let k1 = text.charCodeAt(i) | (text.charCodeAt(i + 1) << 16);
    let k2 = text.charCodeAt(i + 2) | (text.charCodeAt(i + 3) << 16);
    let k3 = text.charCodeAt(i + 4) | (text.charCodeAt(i + 5) << 16);
    let k4 = text.charCodeAt(i + 6) | (text.charCodeAt(i + 7) << 16);

    k1 = Math.imul(rotl(Math.imul(k1, C1), 15), C2);
    h1 ^= k1;
    h1 = rotl(h1, 19) + h2;
    h1 = (Math.imul(h1, 5) + 0x561ccd1b) | 0;
    k2 = Math.imul(rotl(Math.imul(k2, C2), 16), C3);
    h2 ^= k2;
    h2 = rotl(h2, 17) + h3;
    h2 = (Math.imul(h2, 5) + 0x0bcaa747) | 0;
    k3 = Math.imul(rotl(Math.imul(k3, C3), 17), C4);
    h3 ^= k3;
    h3 = rotl(h3, 15) + h4;
    h3 = (Math.imul(h3, 5) + 0x96cd1c35) | 0;
    k4 = Math.imul(rotl(Math.imul(k4, C4), 18), C1);
    h4 ^= k4;
    h4 = rotl(h4, 13) + h1;
    h4 = (Math.imul(h4, 5) + 0x32ac3b17) | 0;
  }
  // The tail: 0–7 code units, 0–14 bytes (always even), mixed as the reference's fall-through switch does.
  const i = blocks << 3;
  const rest = units - i;
  const unit = (k: number) => (k < rest ? text.charCodeAt(i + k) : 0);
  if (rest > 6) h4 ^= Math.imul(rotl(Math.imul(unit(6), C4), 18), C1);
  if (rest > 4) h3 ^= Math.imul(rotl(Math.imul(unit(4) | (unit(5) << 16), C3), 17), C4);
  if (rest > 2) h2 ^= Math.imul(rotl(Math.imul(unit(2) | (unit(3) << 16), C2), 16), C3);
  if (rest > 0) h1 ^= Math.imul(rotl(Math.imul(unit(0) | (unit(1) << 16), C1), 15), C2);

  const bytes = units * 2;
  h1 ^= bytes;
  h2 ^= bytes;
  h3 ^= bytes;
  h4 ^= bytes;
  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;
  h1 = fmix32(h1);
  h2 = fmix32(h2);
  h3 = fmix32(h3);
  h4 = fmix32(h4);
  h1 = (h1 + h2 + h3 + h4) | 0;
  out[0] = h1;
  out[1] = (h2 + h1) | 0;
  out[2] = (h3 + h1) | 0;
  out[3] = (h4 + h1) | 0;
}
