/**
 * How a pull fails: the bounded set of error kinds (the `kind` label of unstructured_collect_error), the
 * error itself, and what an error answer of the API is turned into (a one-line detail, a Retry-After wait),
 * with the API key never in it.
 */
import { oneLine } from '../common/text.js';

export const PULL_ERROR_KINDS = [
  'auth',
  'not_found',
  'invalid_request',
  'rate_limited',
  'upstream',
  'timeout',
  'network',
  'invalid_response',
  'too_large',
] as const;
export type PullErrorKind = (typeof PULL_ERROR_KINDS)[number];

/** FastAPI details are short; anything longer (HTML pages, stack traces) only clutters logs and metrics. */
const MAX_DETAIL_CHARS = 300;

export class PullError extends Error {
  override readonly name = 'PullError';
  readonly status?: number;
  readonly detail?: string;
  constructor(
    readonly kind: PullErrorKind,
    message: string,
    /** Attempts made in the whole pull until this error (0 when none was made). */
    readonly attempts: number,
    extra: { status?: number; detail?: string } = {},
  ) {
    super(message);
    if (extra.status !== undefined) this.status = extra.status;
    if (extra.detail !== undefined) this.detail = extra.detail;
  }
}

/** What an HTTP status means for the pull: its error kind, and whether another attempt may succeed. */
export function classifyStatus(status: number): { kind: PullErrorKind; retryable: boolean } {
  if (status === 401 || status === 403) return { kind: 'auth', retryable: false };
  if (status === 404) return { kind: 'not_found', retryable: false };
  if (status === 429) return { kind: 'rate_limited', retryable: true };
  if (status === 408) return { kind: 'timeout', retryable: true };
  if (status >= 500) return { kind: 'upstream', retryable: true };
  if (status >= 400) return { kind: 'invalid_request', retryable: false };
  return { kind: 'invalid_response', retryable: false }; // 1xx/3xx: redirects are not followed
}

/** `Retry-After: <seconds>` or `Retry-After: <HTTP-date>`, as a wait in ms; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/** The API's `detail` (string, or pydantic's `[{loc, msg}]`), else the body text; one line, ≤ MAX_DETAIL_CHARS. */
export function extractDetail(text: string, contentType: string | undefined): string | undefined {
  let detail: string | undefined;
  try {
    const body: unknown = JSON.parse(text);
    if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
      const record = body as Record<string, unknown>;
      const value = record.detail ?? record.message ?? record.error;
      if (typeof value === 'string') detail = value;
      else if (Array.isArray(value)) detail = value.map(formatIssue).join('; ');
      else if (value !== undefined) detail = JSON.stringify(value);
    }
  } catch {
    // not JSON: fall back to the text
  }
  if (detail === undefined) detail = /html/i.test(contentType ?? '') ? text.replace(/<[^>]*>/g, ' ') : text;
  detail = oneLine(detail);
  if (detail === '') return undefined;
  if (detail.length <= MAX_DETAIL_CHARS) return detail;
  return `${detail.slice(0, MAX_DETAIL_CHARS - 1).replace(/[\uD800-\uDBFF]$/, '')}…`;
}

function formatIssue(issue: unknown): string {
  if (typeof issue !== 'object' || issue === null) return String(issue);
  const { loc, msg } = issue as { loc?: unknown; msg?: unknown };
  const where = Array.isArray(loc) ? loc.map(String).join('.') : undefined;
  const what = typeof msg === 'string' ? msg : JSON.stringify(issue);
  return where === undefined || where === '' ? what : `${where}: ${what}`;
}

/** Shorter leftovers of a cut key are not worth redacting (and would mangle ordinary text). */
const MIN_PARTIAL_SECRET_CHARS = 4;

export function redact(text: string, secret: string): string {
  if (secret === '') return text;
  let out = text.split(secret).join('[redacted]');
  // A detail cut to length ends with "…" (extractDetail, the parser's excerpt): the cut may fall inside the
  // key, leaving its first characters, which the whole-key replacement above cannot see.
  for (let n = secret.length - 1; n >= MIN_PARTIAL_SECRET_CHARS; n--) {
    const cut = `${secret.slice(0, n)}…`;
    if (out.includes(cut)) out = out.split(cut).join('[redacted]…');
  }
  return out;
}
