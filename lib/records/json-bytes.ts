/**
 * The JSON grammar over bytes, for the scanner: each `skip…` function reads one construct at `p` and returns the
 * index after it, SCAN_NEED_MORE when the construct runs past `limit`, or SCAN_DECLINE when the bytes are not
 * JSON this reader handles exactly like JSON.parse (the element then goes to JSON.parse).
 */
import { OBJECT_SCAN_DECLINE, OBJECT_SCAN_NEED_MORE } from '../pull/json-stream.js';
import { CHAR_0, CHAR_9, CHAR_DASH, CHAR_DOT, CHAR_PLUS } from './ascii.js';

/** `scan` needs bytes past `limit` to finish the element. */
export const SCAN_NEED_MORE = OBJECT_SCAN_NEED_MORE;
/** The element must go through JSON.parse + toJob. */
export const SCAN_DECLINE = OBJECT_SCAN_DECLINE;
/** Nesting (inside ignored values) the scanner follows before declining the element. */
export const MAX_SCAN_DEPTH = 64;

export const TRUE_BYTES = Buffer.from('true');
export const FALSE_BYTES = Buffer.from('false');
export const NULL_BYTES = Buffer.from('null');

/** 1 for a byte that may stand in a string as is (not `"`, not `\`, not a control character). */
export const PLAIN = new Uint8Array(256);
PLAIN.fill(1, 0x20);
PLAIN[0x22] = 0;
PLAIN[0x5c] = 0;
/** 1 for the bytes a `\` may be followed by, `u` aside. */
export const SIMPLE_ESCAPE = new Uint8Array(256);
for (const c of '"\\/bfnrt') SIMPLE_ESCAPE[c.charCodeAt(0)] = 1;
/** 1 for any hex digit (either case), as `\uXXXX` allows. */
export const ANY_HEX = new Uint8Array(256);
for (const c of '0123456789abcdefABCDEF') ANY_HEX[c.charCodeAt(0)] = 1;

export const B_QUOTE = 0x22;
export const B_BACKSLASH = 0x5c;
export const B_COMMA = 0x2c;
export const B_COLON = 0x3a;
export const B_OPEN_BRACE = 0x7b;
export const B_CLOSE_BRACE = 0x7d;
export const B_OPEN_BRACKET = 0x5b;
export const B_CLOSE_BRACKET = 0x5d;
export const B_MINUS = 0x2d;

export function skipWhitespace(bytes: Uint8Array, p: number, limit: number): number {
  while (p < limit) {
    const c = bytes[p]!;
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) p++;
    else break;
  }
  return p;
}

/** At a `\` (q): the index after a valid escape, SCAN_NEED_MORE, or SCAN_DECLINE. */
export function skipEscape(bytes: Uint8Array, q: number, limit: number): number {
  if (q + 1 >= limit) return SCAN_NEED_MORE;
  const e = bytes[q + 1]!;
  if (SIMPLE_ESCAPE[e] === 1) return q + 2;
  if (e !== 0x75) return SCAN_DECLINE;
  if (q + 5 >= limit) return SCAN_NEED_MORE;
  return ANY_HEX[bytes[q + 2]!]! & ANY_HEX[bytes[q + 3]!]! & ANY_HEX[bytes[q + 4]!]! & ANY_HEX[bytes[q + 5]!]!
    ? q + 6
    : SCAN_DECLINE;
}

/** At a `"` (p): the index after the closing quote. */
export function skipString(bytes: Uint8Array, p: number, limit: number): number {
  let q = p + 1;
  for (;;) {
    while (q < limit && PLAIN[bytes[q]!] === 1) q++;
    if (q >= limit) return SCAN_NEED_MORE;
    const c = bytes[q]!;
    if (c === B_QUOTE) return q + 1;
    if (c !== B_BACKSLASH) return SCAN_DECLINE; // a raw control character
    q = skipEscape(bytes, q, limit);
    if (q < 0) return q;
  }
}

export function skipLiteral(bytes: Uint8Array, p: number, limit: number, word: Uint8Array): number {
  for (let k = 0; k < word.length; k++) {
    if (p + k >= limit) return SCAN_NEED_MORE;
    if (bytes[p + k] !== word[k]) return SCAN_DECLINE;
  }
  return p + word.length;
}

export function isDigit(c: number): boolean {
  return c >= CHAR_0 && c <= CHAR_9;
}

/** JSON's number grammar exactly: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
function skipNumber(bytes: Uint8Array, p: number, limit: number): number {
  let q = p;
  if (bytes[q] === B_MINUS && ++q >= limit) return SCAN_NEED_MORE;
  const first = bytes[q]!;
  if (first === CHAR_0) q++;
  else if (first >= 0x31 && first <= 0x39) {
    q++;
    while (q < limit && isDigit(bytes[q]!)) q++;
  } else return SCAN_DECLINE;
  if (q >= limit) return SCAN_NEED_MORE;
  if (bytes[q] === CHAR_DOT) {
    if (++q >= limit) return SCAN_NEED_MORE;
    if (!isDigit(bytes[q]!)) return SCAN_DECLINE;
    while (q < limit && isDigit(bytes[q]!)) q++;
    if (q >= limit) return SCAN_NEED_MORE;
  }
  const e = bytes[q]!;
  if (e === 0x65 || e === 0x45) {
    if (++q >= limit) return SCAN_NEED_MORE;
    const sign = bytes[q]!;
    if ((sign === CHAR_PLUS || sign === CHAR_DASH) && ++q >= limit) return SCAN_NEED_MORE;
    if (!isDigit(bytes[q]!)) return SCAN_DECLINE;
    while (q < limit && isDigit(bytes[q]!)) q++;
    if (q >= limit) return SCAN_NEED_MORE;
  }
  return q;
}

/** Any JSON value at p (p < limit): the index after it. */
export function skipValue(bytes: Uint8Array, p: number, limit: number, depth: number): number {
  const c = bytes[p]!;
  if (c === B_QUOTE) return skipString(bytes, p, limit);
  if (c === B_OPEN_BRACE || c === B_OPEN_BRACKET) {
    if (depth >= MAX_SCAN_DEPTH) return SCAN_DECLINE;
    return c === B_OPEN_BRACE ? skipObject(bytes, p, limit, depth + 1) : skipArray(bytes, p, limit, depth + 1);
  }
  if (c === 0x74) return skipLiteral(bytes, p, limit, TRUE_BYTES);
  if (c === 0x66) return skipLiteral(bytes, p, limit, FALSE_BYTES);
  if (c === 0x6e) return skipLiteral(bytes, p, limit, NULL_BYTES);
  if (c === B_MINUS || isDigit(c)) return skipNumber(bytes, p, limit);
  return SCAN_DECLINE;
}

function skipObject(bytes: Uint8Array, p: number, limit: number, depth: number): number {
  let q = skipWhitespace(bytes, p + 1, limit);
  if (q >= limit) return SCAN_NEED_MORE;
  if (bytes[q] === B_CLOSE_BRACE) return q + 1;
  for (;;) {
    if (bytes[q] !== B_QUOTE) return SCAN_DECLINE;
    q = skipString(bytes, q, limit);
    if (q < 0) return q;
    q = skipWhitespace(bytes, q, limit);
    if (q >= limit) return SCAN_NEED_MORE;
    if (bytes[q] !== B_COLON) return SCAN_DECLINE;
    q = skipWhitespace(bytes, q + 1, limit);
    if (q >= limit) return SCAN_NEED_MORE;
    q = skipValue(bytes, q, limit, depth);
    if (q < 0) return q;
    q = skipWhitespace(bytes, q, limit);
    if (q >= limit) return SCAN_NEED_MORE;
    const c = bytes[q]!;
    if (c === B_CLOSE_BRACE) return q + 1;
    if (c !== B_COMMA) return SCAN_DECLINE;
    q = skipWhitespace(bytes, q + 1, limit);
    if (q >= limit) return SCAN_NEED_MORE;
  }
}

function skipArray(bytes: Uint8Array, p: number, limit: number, depth: number): number {
  let q = skipWhitespace(bytes, p + 1, limit);
  if (q >= limit) return SCAN_NEED_MORE;
  if (bytes[q] === B_CLOSE_BRACKET) return q + 1;
  for (;;) {
    q = skipValue(bytes, q, limit, depth);
    if (q < 0) return q;
    q = skipWhitespace(bytes, q, limit);
    if (q >= limit) return SCAN_NEED_MORE;
    const c = bytes[q]!;
    if (c === B_CLOSE_BRACKET) return q + 1;
    if (c !== B_COMMA) return SCAN_DECLINE;
    q = skipWhitespace(bytes, q + 1, limit);
    if (q >= limit) return SCAN_NEED_MORE;
  }
}

export function sameKey(bytes: Uint8Array, start: number, key: Uint8Array): boolean {
  for (let k = 0; k < key.length; k++) if (bytes[start + k] !== key[k]) return false;
  return true;
}
