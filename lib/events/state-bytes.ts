/**
 * A stored state read from its bytes without holding its `seen` ids as text (issue 15: the collect run's memory).
 *
 * `JSON.parse` of a whole state makes the text (11 MB for 500k ids) and then every bucket's base64 again as
 * strings (another 11 MB), beside the bytes read and the decoded set. Here the bytes are walked once, with the
 * JSON grammar of records/json-bytes.ts, to find the top-level object's last `"seen"` member (the one JSON.parse
 * keeps) and, when it is an array, where each of its elements starts and ends. The state's decoder then parses
 * the document with that array cut down to `[]` (its small head, pending events and lease), and each bucket on
 * its own, one at a time: at most one bucket's text exists at once.
 *
 * JSON.parse stays the judge of every value: this walk only finds boundaries, and anything it does not follow
 * exactly (a construct past MAX_SCAN_DEPTH, a byte out of place) makes it give up — the decoder then reads the
 * whole text as before. Cutting at ASCII bytes (`[`, `{`, `}`, `]`) decodes each piece's UTF-8 exactly as the
 * whole text would be decoded.
 */
import {
  B_CLOSE_BRACE,
  B_CLOSE_BRACKET,
  B_COLON,
  B_COMMA,
  B_OPEN_BRACE,
  B_OPEN_BRACKET,
  B_QUOTE,
  skipString,
  skipValue,
  skipWhitespace,
} from '../records/json-bytes.js';

/** A state's bytes with its `seen` array taken apart. */
export interface SplitState {
  /** The document with the `seen` array's value replaced by `[]`, as text. */
  readonly rest: string;
  /** Start and end (exclusive) byte offsets of each element of the `seen` array, in order: 2 numbers an element. */
  readonly elements: Int32Array;
}

/** The top-level `seen` array taken apart, or undefined when the bytes are not a JSON object this walk follows. */
export function splitSeen(bytes: Buffer): SplitState | undefined {
  const end = bytes.length;
  let p = skipWhitespace(bytes, 0, end);
  if (bytes[p] !== B_OPEN_BRACE) return undefined;
  // The cut: the byte range of the last `seen` member's value, when it is an array.
  let cutStart = -1;
  let cutEnd = -1;
  let elements: number[] = [];
  p = skipWhitespace(bytes, p + 1, end);
  if (bytes[p] !== B_CLOSE_BRACE) {
    for (;;) {
      if (bytes[p] !== B_QUOTE) return undefined;
      const keyEnd = skipString(bytes, p, end);
      if (keyEnd < 0) return undefined;
      const isSeen = memberName(bytes, p, keyEnd) === 'seen';
      p = skipWhitespace(bytes, keyEnd, end);
      if (bytes[p] !== B_COLON) return undefined;
      p = skipWhitespace(bytes, p + 1, end);
      if (p >= end) return undefined;
      if (isSeen) {
        // A later `seen` replaces an earlier one, as in JSON.parse.
        cutStart = -1;
        elements = [];
      }
      if (isSeen && bytes[p] === B_OPEN_BRACKET) {
        const valueEnd = walkArray(bytes, p, end, elements);
        if (valueEnd < 0) return undefined;
        cutStart = p;
        cutEnd = valueEnd;
        p = valueEnd;
      } else {
        p = skipValue(bytes, p, end, 1);
        if (p < 0) return undefined;
      }
      p = skipWhitespace(bytes, p, end);
      if (bytes[p] === B_CLOSE_BRACE) break;
      if (bytes[p] !== B_COMMA) return undefined;
      p = skipWhitespace(bytes, p + 1, end);
    }
  }
  if (skipWhitespace(bytes, p + 1, end) !== end) return undefined;
  if (cutStart < 0) return undefined; // no `seen` array: nothing to gain, the whole text is small
  return {
    rest: `${bytes.toString('utf8', 0, cutStart)}[]${bytes.toString('utf8', cutEnd, end)}`,
    elements: Int32Array.from(elements),
  };
}

/** A member name (the string at [start, end)) as JSON.parse reads it; undefined for one it refuses. */
function memberName(bytes: Buffer, start: number, end: number): string | undefined {
  try {
    return JSON.parse(bytes.toString('utf8', start, end)) as string;
  } catch {
    return undefined;
  }
}

/** At a `[` (p): pushes each element's start and end onto `out`; returns the index after the `]`, or −1. */
function walkArray(bytes: Buffer, p: number, end: number, out: number[]): number {
  let q = skipWhitespace(bytes, p + 1, end);
  if (bytes[q] === B_CLOSE_BRACKET) return q + 1;
  for (;;) {
    if (q >= end) return -1;
    const valueEnd = skipValue(bytes, q, end, 2);
    if (valueEnd < 0) return -1;
    out.push(q, valueEnd);
    q = skipWhitespace(bytes, valueEnd, end);
    if (bytes[q] === B_CLOSE_BRACKET) return q + 1;
    if (bytes[q] !== B_COMMA) return -1;
    q = skipWhitespace(bytes, q + 1, end);
  }
}
