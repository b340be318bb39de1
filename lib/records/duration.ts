/**
 * ISO 8601 durations (the API's `runtime`) to seconds.
 *
 * Accepted grammar (one pass over the char codes, no regex, no allocation — it runs once per job,
 * up to 10^6 times per collection):
 *
 *   P [n Y] [n M] [n W] [n D] [T [n H] [n M] [n S]]
 *
 * - At least one component; a `T` must be followed by at least one time component (`PT`, `P1DT` are rejected).
 * - Components appear at most once each and in the order above. Weeks may be mixed with the other units
 *   (`P2W3D`): ISO 8601-1:2019 allows it, and the value is unambiguous.
 * - `n` is one or more ASCII digits, optionally followed by a fraction (`.` or `,` then one or more digits).
 *   ISO 8601 allows a fraction on the lowest-order component only, so a fraction must be on the last one
 *   (`PT1.5H` is 5400 s, `PT1.5H2M` is rejected).
 * - Designators are upper-case only: ISO 8601 defines them so and pydantic emits them so; a lower-case
 *   `pt5s` means the producer is not what we expect, and guessing is worse than counting it as unparsable.
 * - Nominal lengths: a year is 365 days, a month 30 days, a week 7 days, a day 86 400 s. pydantic v2
 *   writes a timedelta of 400 days as `P1Y35D`, so 365-day years make that round-trip exact; 30-day months
 *   are the usual convention (pydantic never emits months). Leap days and DST are meaningless for a runtime.
 * - No sign: pydantic writes a negative timedelta as `-PT5S`, which is no valid job runtime, so any sign
 *   (and anything else not in the grammar) gives NaN.
 *
 * @returns the duration in seconds, or NaN when `text` is not an acceptable job runtime.
 */
export function parseIsoDuration(text: string): number {
  const length = text.length;
  // Shortest valid form is `P0D`; beyond the cap it is not a runtime any producer writes.
  if (length < 3 || length > MAX_DURATION_LENGTH || text.charCodeAt(0) !== CHAR_P) return NaN;

  let seconds = 0;
  let lastRank = 0;
  let inTime = false;
  let hadFraction = false;
  let i = 1;
  while (i < length) {
    let code = text.charCodeAt(i);
    if (code === CHAR_T) {
      if (inTime) return NaN;
      inTime = true;
      i++;
      if (i === length) return NaN; // `PT`, `P1DT`: a time part needs a component
      code = text.charCodeAt(i);
    }
    // A component after a fractional one: the fraction was not on the last unit.
    if (hadFraction) return NaN;

    // Integer and fraction digits go into one mantissa, divided once by a power of ten: exact for up to
    // 15 significant digits (so `30.456` gives the same double as the literal), no per-digit rounding.
    let mantissa = 0;
    let scale = 1;
    const digitsStart = i;
    while (code >= CHAR_0 && code <= CHAR_9) {
      mantissa = mantissa * 10 + (code - CHAR_0);
      if (++i === length) return NaN; // a number without a designator
      code = text.charCodeAt(i);
    }
    if (i === digitsStart) return NaN; // a designator without a number, or a stray character
    if (code === CHAR_DOT || code === CHAR_COMMA) {
      hadFraction = true;
      if (++i === length) return NaN;
      code = text.charCodeAt(i);
      const fractionStart = i;
      while (code >= CHAR_0 && code <= CHAR_9) {
        mantissa = mantissa * 10 + (code - CHAR_0);
        scale *= 10;
        if (++i === length) return NaN;
        code = text.charCodeAt(i);
      }
      if (i === fractionStart) return NaN; // `PT1.S`
    }

    // Rank enforces the order Y M W D T H M S and, being strictly increasing, forbids repeats.
    let rank: number;
    let unit: number;
    switch (inTime ? code + TIME_OFFSET : code) {
      case CHAR_Y:
        rank = 1;
        unit = SECONDS_PER_YEAR;
        break;
      case CHAR_M:
        rank = 2;
        unit = SECONDS_PER_MONTH;
        break;
      case CHAR_W:
        rank = 3;
        unit = SECONDS_PER_WEEK;
        break;
      case CHAR_D:
        rank = 4;
        unit = SECONDS_PER_DAY;
        break;
      case CHAR_H + TIME_OFFSET:
        rank = 5;
        unit = SECONDS_PER_HOUR;
        break;
      case CHAR_M + TIME_OFFSET:
        rank = 6;
        unit = SECONDS_PER_MINUTE;
        break;
      case CHAR_S + TIME_OFFSET:
        rank = 7;
        unit = 1;
        break;
      default:
        return NaN;
    }
    if (rank <= lastRank) return NaN;
    lastRank = rank;
    seconds += (mantissa / scale) * unit;
    i++;
  }
  // lastRank is 0 only for a bare `P` followed by nothing, which the length check already refused;
  // kept so the function does not depend on that check. Finite always holds under the length cap.
  return lastRank === 0 ? NaN : seconds;
}

/**
 * Longest accepted text. pydantic's longest output for any timedelta is about 30 characters
 * (`P2739726Y9DT23H59M59.999999S` for timedelta.max); 64 leaves room for other producers' zero padding
 * and long fractions while bounding the work per record and keeping every mantissa finite.
 */
export const MAX_DURATION_LENGTH = 64;

export const SECONDS_PER_MINUTE = 60;
export const SECONDS_PER_HOUR = 3600;
export const SECONDS_PER_DAY = 86_400;
export const SECONDS_PER_WEEK = 7 * SECONDS_PER_DAY;
/** Nominal 30-day month (see the doc comment of parseIsoDuration). */
export const SECONDS_PER_MONTH = 30 * SECONDS_PER_DAY;
/** Nominal 365-day year, as pydantic v2 counts it when it writes `P1Y35D`. */
export const SECONDS_PER_YEAR = 365 * SECONDS_PER_DAY;

/** Moves time designators to their own case labels (`M` is minutes after `T`, months before). */
const TIME_OFFSET = 0x100;
const CHAR_0 = 0x30;
const CHAR_9 = 0x39;
const CHAR_COMMA = 0x2c;
const CHAR_DOT = 0x2e;
const CHAR_D = 0x44;
const CHAR_H = 0x48;
const CHAR_M = 0x4d;
const CHAR_P = 0x50;
const CHAR_S = 0x53;
const CHAR_T = 0x54;
const CHAR_W = 0x57;
const CHAR_Y = 0x59;

/**
 * parseIsoDuration over the bytes `[start, end)` of a buffer (the inside of a JSON string token that holds
 * no escape), without making a string. Same grammar and result as parseIsoDuration of the decoded text:
 * every accepted character is ASCII, so a byte ≥ 0x80 (part of a non-ASCII character) fails exactly where
 * the string version fails on that character.
 */
export function parseIsoDurationBytes(bytes: Uint8Array, start: number, end: number): number {
  const length = end - start;
  if (length < 3 || length > MAX_DURATION_LENGTH || bytes[start] !== CHAR_P) return NaN;

  let seconds = 0;
  let lastRank = 0;
  let inTime = false;
  let hadFraction = false;
  let i = start + 1;
  while (i < end) {
    let code = bytes[i] as number;
    if (code === CHAR_T) {
      if (inTime) return NaN;
      inTime = true;
      i++;
      if (i === end) return NaN;
      code = bytes[i] as number;
    }
    if (hadFraction) return NaN;

    let mantissa = 0;
    let scale = 1;
    const digitsStart = i;
    while (code >= CHAR_0 && code <= CHAR_9) {
      mantissa = mantissa * 10 + (code - CHAR_0);
      if (++i === end) return NaN;
      code = bytes[i] as number;
    }
    if (i === digitsStart) return NaN;
    if (code === CHAR_DOT || code === CHAR_COMMA) {
      hadFraction = true;
      if (++i === end) return NaN;
      code = bytes[i] as number;
      const fractionStart = i;
      while (code >= CHAR_0 && code <= CHAR_9) {
        mantissa = mantissa * 10 + (code - CHAR_0);
        scale *= 10;
        if (++i === end) return NaN;
        code = bytes[i] as number;
      }
      if (i === fractionStart) return NaN;
    }

    let rank: number;
    let unit: number;
    switch (inTime ? code + TIME_OFFSET : code) {
      case CHAR_Y:
        rank = 1;
        unit = SECONDS_PER_YEAR;
        break;
      case CHAR_M:
        rank = 2;
        unit = SECONDS_PER_MONTH;
        break;
      case CHAR_W:
        rank = 3;
        unit = SECONDS_PER_WEEK;
        break;
      case CHAR_D:
        rank = 4;
        unit = SECONDS_PER_DAY;
        break;
      case CHAR_H + TIME_OFFSET:
        rank = 5;
        unit = SECONDS_PER_HOUR;
        break;
      case CHAR_M + TIME_OFFSET:
        rank = 6;
        unit = SECONDS_PER_MINUTE;
        break;
      case CHAR_S + TIME_OFFSET:
        rank = 7;
        unit = 1;
        break;
      default:
        return NaN;
    }
    if (rank <= lastRank) return NaN;
    lastRank = rank;
    seconds += (mantissa / scale) * unit;
    i++;
  }
  return lastRank === 0 ? NaN : seconds;
}
