/**
 * Delivery of one collection's series to a remote-write receiver: requests of at most MAX_SERIES_PER_REQUEST
 * series, a few at a time, each retried with backoff on 5xx, 429 and network errors while the run's deadline
 * allows; a 4xx other than 429 is not retried (the receiver refuses the data itself), and 401, 403, 404 and a
 * redirect (never followed) stop the run (every request would get the same answer). What was not delivered is counted exactly, by metric, with the
 * first series named, and the receiver's message quoted bounded and with every secret scrubbed.
 */
import type { Logger } from '../../log.js';
import type { Authorizer } from './auth.js';
import { compress } from 'snappyjs';
import { type ExtraLabels, REMOTE_WRITE_HEADERS, WriteRequestEncoder } from './encode.js';
import { type Series, seriesText } from './series.js';

/**
 * Series (one sample each) per request: Prometheus' own sender sends at most 2000 samples a request (queue_config
 * max_samples_per_send's default), the size receivers are built for; ~225 bytes a series before snappy, ~20 after
 * (docs/performance.md). A whole 20-workflow collection is one request; AMP's limits are on samples per second
 * (70,000) and per burst (1,000,000), which even 10k workflows (~930k series) stay within (docs/remote-write.md).
 */
export const MAX_SERIES_PER_REQUEST = 2000;
/** Label bytes per request at most, for series with very long label values (a request then holds fewer series). */
export const MAX_REQUEST_LABEL_BYTES = 1024 * 1024;
/** Requests in flight at once: Prometheus' sender starts with one shard and grows; 4 keeps a 10k-workflow push short. */
export const REQUEST_CONCURRENCY = 4;
/** Backoff before the first retry, doubled after each, at most MAX_BACKOFF_MS (Prometheus: min_backoff 30ms, max 5s). */
export const FIRST_BACKOFF_MS = 100;
export const MAX_BACKOFF_MS = 5000;
/** Characters of a receiver's error message quoted (after scrubbing). */
export const MAX_RECEIVER_MESSAGE_CHARS = 300;
/** Series named in a report of what was not delivered (all are counted, by metric). */
export const MAX_UNDELIVERED_NAMED = 10;

/** Statuses after which no further request is sent: the URL or the credentials are wrong for every request. */
const STOPPING_STATUSES: ReadonlySet<number> = new Set([401, 403, 404]);

export interface DeliveryOptions {
  readonly url: string;
  readonly authorize: Authorizer;
  readonly extraLabels: ExtraLabels;
  readonly timestampMs: number;
  /** The run gives up at this instant (Date.now() clock). */
  readonly deadlineAtMs: number;
  /** One attempt gives up after this (or at the deadline, if sooner). */
  readonly timeoutMs: number;
  readonly logger: Logger;
}

export interface Undelivered {
  /** Series not delivered. */
  readonly series: number;
  /** The same, by metric name. */
  readonly byMetric: Readonly<Record<string, number>>;
  /** The first MAX_UNDELIVERED_NAMED of them, as `name{label="value",…}`. */
  readonly named: readonly string[];
  /** Why the first undelivered request failed (bounded, scrubbed). */
  readonly firstError: string;
}

export interface DeliveryReport {
  readonly series: number;
  readonly delivered: number;
  /** Requests sent, retries included. */
  readonly requests: number;
  readonly retries: number;
  /** Compressed bytes sent, retries included. */
  readonly bytes: number;
  readonly undelivered?: Undelivered;
}

/** Why one request was not delivered. */
class RequestFailure {
  constructor(
    readonly message: string,
    /** No further request is worth sending (401, 403, 404, no credentials). */
    readonly stop: boolean,
  ) {}
}

/** Groups the series into requests of at most MAX_SERIES_PER_REQUEST series and MAX_REQUEST_LABEL_BYTES of labels. */
function* batches(series: Iterable<Series>): Generator<Series[]> {
  let batch: Series[] = [];
  let bytes = 0;
  for (const s of series) {
    let size = s.name.length;
    for (const [name, value] of s.labels) size += name.length + value.length;
    if (batch.length > 0 && (batch.length >= MAX_SERIES_PER_REQUEST || bytes + size > MAX_REQUEST_LABEL_BYTES)) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(s);
    bytes += size;
  }
  if (batch.length > 0) yield batch;
}

export async function deliver(series: Iterable<Series>, options: DeliveryOptions): Promise<DeliveryReport> {
  const url = new URL(options.url);
  const queue = batches(series);
  const encoder = new WriteRequestEncoder(options.extraLabels, options.timestampMs);
  let total = 0;
  let delivered = 0;
  let requests = 0;
  let retries = 0;
  let bytes = 0;
  let stopped: RequestFailure | undefined;
  const undelivered = { series: 0, byMetric: {} as Record<string, number>, named: [] as string[], firstError: '' };
  const lose = (batch: readonly Series[], failure: RequestFailure) => {
    undelivered.series += batch.length;
    if (undelivered.firstError === '') undelivered.firstError = failure.message;
    for (const s of batch) {
      undelivered.byMetric[s.name] = (undelivered.byMetric[s.name] ?? 0) + 1;
      if (undelivered.named.length < MAX_UNDELIVERED_NAMED) undelivered.named.push(seriesText(s));
    }
  };

  const send = async (batch: readonly Series[]): Promise<RequestFailure | undefined> => {
    const body = compress(encoder.encode(batch));
    let last: RequestFailure | undefined;
    for (let attempt = 0; ; attempt++) {
      const left = options.deadlineAtMs - Date.now();
      if (left <= 0)
        return new RequestFailure(`deadline reached${last === undefined ? '' : ` after: ${last.message}`}`, false);
      let headers: Record<string, string>;
      try {
        headers = { ...REMOTE_WRITE_HEADERS };
        // The secret's SSM read (or the SigV4 credentials) has no time limit of its own: the deadline is it.
        const authorization = await beforeDeadline(options.authorize({ url, headers, body }), left);
        if (authorization === undefined)
          return new RequestFailure('deadline reached while reading the credentials', true);
        Object.assign(headers, authorization);
      } catch (error) {
        return new RequestFailure(`no credentials: ${describe(error, options.logger)}`, true);
      }
      requests++;
      if (attempt > 0) retries++;
      bytes += body.length;
      let retryAfterMs: number | undefined;
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers,
          body,
          // Never followed: the Authorization would go to wherever the receiver points.
          redirect: 'manual',
          signal: AbortSignal.timeout(Math.min(options.timeoutMs, left)),
        });
        if (response.ok) {
          await response.body?.cancel();
          return undefined;
        }
        if (response.status >= 300 && response.status < 400) {
          // Every request would be redirected the same way: a wrong REMOTE_WRITE_URL, not worth a retry.
          await response.body?.cancel();
          return new RequestFailure(
            `HTTP ${response.status} from ${url.host}: redirect not followed; set REMOTE_WRITE_URL to where it points`,
            true,
          );
        }
        const message = `HTTP ${response.status} from ${url.host}: ${await receiverMessage(response, options.logger)}`;
        if (response.status !== 429 && response.status < 500)
          return new RequestFailure(message, STOPPING_STATUSES.has(response.status));
        last = new RequestFailure(message, false);
        retryAfterMs = retryAfter(response.headers.get('retry-after'));
      } catch (error) {
        last = new RequestFailure(`${url.host}: ${describe(error, options.logger)}`, false);
      }
      const backoff = Math.max(retryAfterMs ?? 0, Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** attempt));
      if (Date.now() + backoff >= options.deadlineAtMs)
        return new RequestFailure(`deadline reached after: ${last.message}`, false);
      await new Promise((resolve) => setTimeout(resolve, backoff));
    }
  };

  const worker = async () => {
    for (let next = queue.next(); next.done !== true; next = queue.next()) {
      const batch = next.value;
      total += batch.length;
      if (stopped !== undefined) {
        lose(batch, stopped);
        continue;
      }
      const failure = await send(batch);
      if (failure === undefined) delivered += batch.length;
      else {
        lose(batch, failure);
        if (failure.stop) stopped = failure;
      }
    }
  };
  await Promise.all(Array.from({ length: REQUEST_CONCURRENCY }, worker));
  return {
    series: total,
    delivered,
    requests,
    retries,
    bytes,
    ...(undelivered.series > 0 && { undelivered }),
  };
}

/** The promise's value, or undefined when it has not settled within `ms`. */
async function beforeDeadline<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Retry-After in seconds (or an HTTP date), as milliseconds; undefined when absent or unreadable. */
function retryAfter(header: string | null): number | undefined {
  if (header === null) return undefined;
  const seconds = Number(header);
  if (header.trim() !== '' && Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** The start of the receiver's answer, one line, bounded and scrubbed: what it said was wrong. */
async function receiverMessage(response: Response, logger: Logger): Promise<string> {
  let text = '';
  try {
    const reader = response.body?.getReader();
    const decoder = new TextDecoder();
    // Read no more than needed: a hostile or broken receiver may answer with a huge body.
    while (reader !== undefined && text.length < 4 * MAX_RECEIVER_MESSAGE_CHARS) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    await reader?.cancel();
  } catch {
    // The status alone still says what happened.
  }
  const line = logger.scrub(text.replace(/\s+/g, ' ').trim());
  // The reason phrase is the receiver's text too: it may echo the Authorization as well as a body can.
  if (line === '') return logger.scrub(response.statusText).slice(0, MAX_RECEIVER_MESSAGE_CHARS) || '(no message)';
  return line.length > MAX_RECEIVER_MESSAGE_CHARS ? `${line.slice(0, MAX_RECEIVER_MESSAGE_CHARS)}…` : line;
}

function describe(error: unknown, logger: Logger): string {
  const e = error as { name?: unknown; message?: unknown; cause?: { code?: unknown; message?: unknown } };
  let text = error instanceof Error ? `${e.name}: ${e.message}` : String(error);
  // fetch's "fetch failed" says nothing: the cause (ECONNREFUSED, a TLS error …) does.
  if (e.cause !== undefined && typeof e.cause.message === 'string') text += ` (${e.cause.message})`;
  return logger.scrub(text).slice(0, MAX_RECEIVER_MESSAGE_CHARS);
}
