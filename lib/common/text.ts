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

/**
 * Longest workflow name shown, in characters (code points): in the Prometheus `workflow_name` label, the
 * snapshot (status page, table, JSON) and the CloudWatch Workflow dimension. A name is free text from the API
 * with no bound of its own: a 1 MB name sat on every one of a workflow's ~90 series (an 88 MB exposition).
 * 200 is CloudWatch's choice from the start, kept for both outputs; the workflow id next to it keeps the
 * series (and the dimension value) unique.
 */
export const MAX_WORKFLOW_NAME_CHARS = 200;

/** What ends a name that was cut (one character, so a cut name is still at most MAX_WORKFLOW_NAME_CHARS). */
export const CUT_MARK = '…';

/**
 * The text cut to at most `max` code points: when it is longer, its first `max - |mark|` code points (trailing
 * whitespace trimmed) and `mark`. Counts and cuts by code point, so a surrogate pair is never split; a lone
 * surrogate counts as one.
 */
export function cutText(text: string, max: number, mark: string = CUT_MARK): string {
  if (text.length <= max) return text; // at most `max` UTF-16 units is at most `max` code points
  const keep = max - codePoints(mark);
  let end = 0; // UTF-16 index after the first `keep` code points
  for (let n = 0; n < keep && end < text.length; n++) end += isPairAt(text, end) ? 2 : 1;
  let rest = end;
  for (let n = keep; n < max && rest < text.length; n++) rest += isPairAt(text, rest) ? 2 : 1;
  if (rest >= text.length) return text; // `max` code points or fewer: nothing to cut
  return `${text.slice(0, end).trimEnd()}${mark}`;
}

function isPairAt(text: string, i: number): boolean {
  const high = text.charCodeAt(i);
  if (high < 0xd800 || high > 0xdbff) return false;
  const low = text.charCodeAt(i + 1);
  return low >= 0xdc00 && low <= 0xdfff;
}

function codePoints(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i += isPairAt(text, i) ? 2 : 1) n++;
  return n;
}

/**
 * A workflow name as every output shows it: cut to MAX_WORKFLOW_NAME_CHARS (cutText), then made well-formed
 * (wellFormed). Cutting first keeps the cost bounded whatever the name's length; the order does not change the
 * result (wellFormed replaces one code point by one).
 */
export function shownWorkflowName(name: string): string {
  return wellFormed(cutText(name, MAX_WORKFLOW_NAME_CHARS));
}
