/**
 * RFC 3339 `date-time` to epoch milliseconds, from a string (parseRfc3339) or from the bytes of a JSON string
 * token (parseRfc3339Bytes, the fast path); the two agree on every input (property-tested in
 * test/fast-path.test.ts).
 */
import {
  CHAR_0,
  CHAR_9,
  CHAR_COLON,
  CHAR_DASH,
  CHAR_DOT,
  CHAR_LOWER_T,
  CHAR_LOWER_Z,
  CHAR_PLUS,
  LOWER_CASE_BIT,
} from './ascii.js';

/**
 * Longest timestamp accepted: `2026-01-01T00:00:00.123456789+05:30` is 35 characters; 64 allows long
 * fractions while bounding the work on a hostile value.
 */
const MAX_TIMESTAMP_LENGTH = 64;

/**
 * Strict RFC 3339 `date-time` (section 5.6) to epoch milliseconds, or NaN.
 *
 *   YYYY-MM-DD T hh:mm:ss [.fraction] (Z | +hh:mm | -hh:mm)
 *
 * - The offset is required: a time without one is local to an unknown zone, so its age would be wrong.
 * - `T` and `Z` may be lower-case, as RFC 3339 allows; the space separator it mentions as an option for
 *   applications is not accepted (it is not in the grammar).
 * - Calendar checks: month 01–12, day within the month (Gregorian leap years), hour 00–23, minute and
 *   offset minute 00–59, offset hour 00–23. Second 60 (a leap second) is rejected: the API is Python,
 *   whose datetime cannot hold one, and epoch milliseconds cannot represent one.
 * - The fraction may have any number of digits; it is truncated to whole milliseconds (like Date.parse).
 *
 * Written by hand because Date.parse is lenient in engine-specific ways (date-only forms, no offset taken
 * as local time, two-digit years).
 */
export function parseRfc3339(text: string): number {
  const length = text.length;
  // `YYYY-MM-DDThh:mm:ssZ` is the shortest form (20 characters).
  if (length < 20 || length > MAX_TIMESTAMP_LENGTH) return NaN;
  const year = digits4(text, 0);
  const month = digits2(text, 5);
  const day = digits2(text, 8);
  const hour = digits2(text, 11);
  const minute = digits2(text, 14);
  const second = digits2(text, 17);
  if (
    text.charCodeAt(4) !== CHAR_DASH ||
    text.charCodeAt(7) !== CHAR_DASH ||
    (text.charCodeAt(10) | LOWER_CASE_BIT) !== CHAR_LOWER_T ||
    text.charCodeAt(13) !== CHAR_COLON ||
    text.charCodeAt(16) !== CHAR_COLON
  ) {
    return NaN;
  }
  // digitsN gives NaN for a non-digit, and every comparison with NaN is false.
  if (!(year >= 0 && month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month))) return NaN;
  if (!(hour <= 23 && minute <= 59 && second <= 59)) return NaN;

  let i = 19;
  let millis = 0;
  if (text.charCodeAt(i) === CHAR_DOT) {
    i++;
    const fractionStart = i;
    let code = text.charCodeAt(i);
    while (code >= CHAR_0 && code <= CHAR_9) {
      // Only the first three digits count: truncation to whole milliseconds.
      const place = i - fractionStart;
      if (place < 3) millis += (code - CHAR_0) * MILLIS_PLACE[place]!;
      code = text.charCodeAt(++i);
    }
    if (i === fractionStart) return NaN;
  }

  let offsetMinutes: number;
  const designator = text.charCodeAt(i);
  if ((designator | LOWER_CASE_BIT) === CHAR_LOWER_Z) {
    if (i + 1 !== length) return NaN;
    offsetMinutes = 0;
  } else if (designator === CHAR_PLUS || designator === CHAR_DASH) {
    if (i + 6 !== length || text.charCodeAt(i + 3) !== CHAR_COLON) return NaN;
    const offsetHour = digits2(text, i + 1);
    const offsetMinute = digits2(text, i + 4);
    if (!(offsetHour <= 23 && offsetMinute <= 59)) return NaN;
    offsetMinutes = (designator === CHAR_PLUS ? 1 : -1) * (offsetHour * 60 + offsetMinute);
  } else {
    return NaN;
  }

  const days = daysFromCivil(year, month, day);
  return days * MS_PER_DAY + ((hour * 60 + minute - offsetMinutes) * 60 + second) * 1000 + millis;
}

const MS_PER_DAY = 86_400_000;
const MILLIS_PLACE = [100, 10, 1] as const;

/** The value of one ASCII digit, or NaN. */
function digit(text: string, at: number): number {
  const code = text.charCodeAt(at);
  return code >= CHAR_0 && code <= CHAR_9 ? code - CHAR_0 : NaN;
}

function digits2(text: string, at: number): number {
  return digit(text, at) * 10 + digit(text, at + 1);
}

function digits4(text: string, at: number): number {
  return digits2(text, at) * 100 + digits2(text, at + 2);
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). Pure arithmetic
 * rather than Date.UTC, which maps years 0–99 to 1900–1999.
 */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

/**
 * parseRfc3339 over the bytes `[start, end)` of a buffer (the inside of a JSON string token without escapes),
 * without making a string. Every accepted character is ASCII and every position is checked, so a byte ≥ 0x80
 * fails exactly where the string version fails on the character it belongs to.
 */
export function parseRfc3339Bytes(bytes: Uint8Array, start: number, end: number): number {
  const length = end - start;
  if (length < 20 || length > MAX_TIMESTAMP_LENGTH) return NaN;
  const year = byteDigits2(bytes, start) * 100 + byteDigits2(bytes, start + 2);
  const month = byteDigits2(bytes, start + 5);
  const day = byteDigits2(bytes, start + 8);
  const hour = byteDigits2(bytes, start + 11);
  const minute = byteDigits2(bytes, start + 14);
  const second = byteDigits2(bytes, start + 17);
  if (
    bytes[start + 4] !== CHAR_DASH ||
    bytes[start + 7] !== CHAR_DASH ||
    ((bytes[start + 10] as number) | LOWER_CASE_BIT) !== CHAR_LOWER_T ||
    bytes[start + 13] !== CHAR_COLON ||
    bytes[start + 16] !== CHAR_COLON
  ) {
    return NaN;
  }
  if (!(year >= 0 && month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month))) return NaN;
  if (!(hour <= 23 && minute <= 59 && second <= 59)) return NaN;

  let i = start + 19;
  let millis = 0;
  if (bytes[i] === CHAR_DOT) {
    i++;
    const fractionStart = i;
    let code = i < end ? (bytes[i] as number) : -1;
    while (code >= CHAR_0 && code <= CHAR_9) {
      const place = i - fractionStart;
      if (place < 3) millis += (code - CHAR_0) * MILLIS_PLACE[place]!;
      code = ++i < end ? (bytes[i] as number) : -1;
    }
    if (i === fractionStart) return NaN;
  }

  let offsetMinutes: number;
  const designator = i < end ? (bytes[i] as number) : -1;
  if ((designator | LOWER_CASE_BIT) === CHAR_LOWER_Z) {
    if (i + 1 !== end) return NaN;
    offsetMinutes = 0;
  } else if (designator === CHAR_PLUS || designator === CHAR_DASH) {
    if (i + 6 !== end || bytes[i + 3] !== CHAR_COLON) return NaN;
    const offsetHour = byteDigits2(bytes, i + 1);
    const offsetMinute = byteDigits2(bytes, i + 4);
    if (!(offsetHour <= 23 && offsetMinute <= 59)) return NaN;
    offsetMinutes = (designator === CHAR_PLUS ? 1 : -1) * (offsetHour * 60 + offsetMinute);
  } else {
    return NaN;
  }
  const days = daysFromCivil(year, month, day);
  return days * MS_PER_DAY + ((hour * 60 + minute - offsetMinutes) * 60 + second) * 1000 + millis;
}

function byteDigits2(bytes: Uint8Array, at: number): number {
  const a = (bytes[at] as number) - CHAR_0;
  const b = (bytes[at + 1] as number) - CHAR_0;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : NaN;
}
