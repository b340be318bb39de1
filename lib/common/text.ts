/**
 * Small text rules shared by several stages. Each has one definition here so that two places that must agree
 * (the aggregation and the finished-job events key workflows alike; every sort of labels is the same) cannot
 * drift apart.
 */

/**
 * Orders strings by UTF-16 code units, as `<` does (not by locale): the order every output and the stored
 * state use, stable across machines.
 */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// With the u flag these classes match lone surrogates only, never a valid pair.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
const LONE_SURROGATES = /[\uD800-\uDFFF]/gu;

/**
 * The text with each lone surrogate (JSON can carry one as `"\ud800"`) replaced by U+FFFD, as invalid UTF-8
 * bytes are in the parser. Labels are written as UTF-8, where every lone surrogate is U+FFFD: two values
 * differing only there would otherwise be two groups rendered as one series twice (an invalid exposition,
 * duplicate CloudWatch datums). The aggregation keys workflows, statuses and job types by this form, and the
 * finished-job events key workflows the same way so that they match the snapshot.
 */
export function wellFormed(text: string): string {
  return LONE_SURROGATE.test(text) ? text.replace(LONE_SURROGATES, '\uFFFD') : text;
}

/**
 * Text made fit for one line of a log or an error message: every run of whitespace or control characters
 * becomes one space, and the ends are trimmed (test/common-text.test.ts: what the two former copies gave).
 */
export function oneLine(text: string): string {
  return text.replace(/[\s\u0000-\u001f\u007f]+/g, ' ').trim();
}
