/**
 * The one UUID codec: a canonical lower-case UUID (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`) ↔ its 128 bits as
 * four 32-bit words, most significant first. Used by the scanner (ids from the bytes), the id set (dedup) and
 * the finished-jobs state (ids stored as 16 bytes).
 */
import { CHAR_0, CHAR_DASH } from './ascii.js';

/** Value of a lower-case hex digit (the canonical UUID form), else -1. */
const LOWER_HEX = new Int8Array(256).fill(-1);
for (let c = 0; c < 10; c++) LOWER_HEX[CHAR_0 + c] = c;
for (let c = 0; c < 6; c++) LOWER_HEX[0x61 + c] = 10 + c;

/** Offsets of the 32 hex digits in a canonical 8-4-4-4-12 UUID. */
const UUID_DIGITS = Int32Array.from([
  0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 14, 15, 16, 17, 19, 20, 21, 22, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35,
]);

/**
 * The 128 bits of a canonical lower-case UUID (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, 36 bytes at `start`)
 * into out[0..4), most significant word first; false (out unspecified) for any other text. Upper-case hex is
 * refused on purpose: `ABC…` and `abc…` are different ids, and only the lower-case form maps to words.
 */
export function uuidFromBytes(bytes: Uint8Array, start: number, out: Int32Array): boolean {
  if (
    bytes[start + 8] !== CHAR_DASH ||
    bytes[start + 13] !== CHAR_DASH ||
    bytes[start + 18] !== CHAR_DASH ||
    bytes[start + 23] !== CHAR_DASH
  ) {
    return false;
  }
  let bad = 0;
  for (let w = 0; w < 4; w++) {
    let v = 0;
    for (let k = 0; k < 8; k++) {
      const h = LOWER_HEX[bytes[start + UUID_DIGITS[w * 8 + k]!]!]!;
      bad |= h;
      v = (v << 4) | h;
    }
    out[w] = v;
  }
  return bad >= 0;
}

/** uuidFromBytes for a string: exactly 36 characters in the canonical lower-case form. */
export function uuidFromString(text: string, out: Int32Array): boolean {
  if (text.length !== 36) return false;
  if (
    text.charCodeAt(8) !== CHAR_DASH ||
    text.charCodeAt(13) !== CHAR_DASH ||
    text.charCodeAt(18) !== CHAR_DASH ||
    text.charCodeAt(23) !== CHAR_DASH
  ) {
    return false;
  }
  let bad = 0;
  for (let w = 0; w < 4; w++) {
    let v = 0;
    for (let k = 0; k < 8; k++) {
      const code = text.charCodeAt(UUID_DIGITS[w * 8 + k]!);
      const h = code < 256 ? LOWER_HEX[code]! : -1;
      bad |= h;
      v = (v << 4) | h;
    }
    out[w] = v;
  }
  return bad >= 0;
}

const HEX_DIGITS = '0123456789abcdef';

/** The canonical lower-case text of the UUID in words[0..4) (inverse of uuidFromString). */
export function uuidToString(w0: number, w1: number, w2: number, w3: number): string {
  const hex = (v: number) => {
    let s = '';
    for (let shift = 28; shift >= 0; shift -= 4) s += HEX_DIGITS[(v >>> shift) & 15];
    return s;
  };
  const b = hex(w1);
  const c = hex(w2);
  return `${hex(w0)}-${b.slice(0, 4)}-${b.slice(4)}-${c.slice(0, 4)}-${c.slice(4)}${hex(w3)}`;
}

/** 1 for a lower-case hex digit. */
const IS_LOWER_HEX = new Uint8Array(256);
for (const c of '0123456789abcdef') IS_LOWER_HEX[c.charCodeAt(0)] = 1;

/** 36 bytes at `start` in the canonical lower-case UUID form (the checks uuidFromBytes makes, without the words). */
export function isLowerUuid(bytes: Uint8Array, start: number): boolean {
  if (
    bytes[start + 8] !== CHAR_DASH ||
    bytes[start + 13] !== CHAR_DASH ||
    bytes[start + 18] !== CHAR_DASH ||
    bytes[start + 23] !== CHAR_DASH
  )
    return false;
  let ok = 1;
  for (let k = 0; k < 32; k++) ok &= IS_LOWER_HEX[bytes[start + UUID_DIGITS[k]!]!]!;
  return ok === 1;
}
