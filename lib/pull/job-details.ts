/**
 * HTTP for a job's details and failed files: `GET {apiUrl}/api/v1/jobs/{id}/details` and `…/failed-files`.
 *
 * The same rules as the job list (unstructured-api.ts), for small bodies read whole:
 * - retried: 429, 408, every 5xx, connection errors and per-attempt timeouts, at most `maxRetries` times, after
 *   the list's backoff (full jitter) or the server's `Retry-After`; nothing waits past `deadlineAt`;
 * - never retried: 404 and other 4xx, redirects, a 2xx that is not JSON or is not valid JSON;
 * - `requestTimeoutMs` bounds the wait for the headers and each idle gap of the body; the body is bounded by
 *   `maxBodyBytes` (after decompression) and fails `too_large` before the first byte past it is kept;
 * - every message is one line with the API key redacted (pull-error.ts).
 * Only the body differs: one JSON object, parsed once complete (a details body is a few hundred bytes).
 */
import type { Agent, IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { setTimeout as timersSleep } from 'node:timers/promises';

import { oneLine } from '../common/text.js';
import { classifyStatus, extractDetail, parseRetryAfter, PullError, redact, type PullErrorKind } from './pull-error.js';
import { BACKOFF_BASE_MS, BACKOFF_CAP_MS, loadNet, RETRYABLE_NETWORK_CODES, type Net } from './unstructured-api.js';

/**
 * Largest details body read: `{id, processing_status, node_stats, message}` is a few hundred bytes for a DAG of a
 * handful of nodes; 1 MiB leaves room for a huge `message` and hundreds of nodes, and bounds a hostile one.
 */
export const MAX_DETAILS_BODY_BYTES = 1024 ** 2;
/**
 * Largest failed-files body read: ~300 bytes a failed document, so ~27,000 of them; a larger list fails
 * `too_large` (counted, not retried: the same body would come back), and the job's counts still come from details.
 */
export const MAX_FAILED_FILES_BODY_BYTES = 8 * 1024 ** 2;

export type DetailsResource = 'details' | 'failed-files';

/**
 * Sockets the details requests may hold per scheme: DETAILS_CONCURRENCY's largest value (config.ts), so that
 * concurrency is not capped by the list's agent (4 sockets) and no request waits for a socket inside its timeout.
 */
const MAX_DETAILS_SOCKETS = 64;

let agents: Promise<Record<'http:' | 'https:', Agent>> | undefined;

/** Keep-alive agents of their own (loaded with the first details request, like the list's: loadNet). */
function detailsAgents(): Promise<Record<'http:' | 'https:', Agent>> {
  agents ??= Promise.all([import('node:http'), import('node:https')]).then(([http, https]) => ({
    'http:': new http.Agent({ keepAlive: true, maxSockets: MAX_DETAILS_SOCKETS }),
    'https:': new https.Agent({ keepAlive: true, maxSockets: MAX_DETAILS_SOCKETS }),
  }));
  return agents;
}

export interface DetailsRequestOptions {
  readonly apiUrl: string;
  readonly apiKey: string;
  readonly userAgent: string;
  readonly requestTimeoutMs: number;
  readonly maxRetries: number;
  /** No attempt starts, and no wait runs, past this (epoch ms on `now`). */
  readonly deadlineAt: number;
  readonly now?: () => number;
  /** Test hook: the wait between attempts. */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

/** The URL of a job's resource; the id is path-encoded (it comes from the list and may be anything). */
export function detailsUrl(apiUrl: string, jobId: string, resource: DetailsResource): URL {
  const base = apiUrl.replace(/\/+$/, '').replace(/\/api\/v1$/, '');
  return new URL(`${base}/api/v1/jobs/${encodeURIComponent(jobId)}/${resource}`);
}

/** One failed attempt, before the retry decision. */
class AttemptFailure {
  constructor(
    readonly kind: PullErrorKind,
    readonly message: string,
    readonly retryable: boolean,
    readonly status?: number,
    readonly retryAfterMs?: number,
  ) {}
}

/**
 * The parsed JSON body of `GET <resource>` of a job; rejects with a PullError (kind `not_found` for 404, which
 * the caller does not retry in later collections either).
 */
export async function getJobResource(
  jobId: string,
  resource: DetailsResource,
  options: DetailsRequestOptions,
): Promise<unknown> {
  // `.` and `..` survive path-encoding and the URL parser resolves them (`/jobs/../details` is `/details`): such a
  // job has no addressable details, like a 404 (never asked again), and no request leaves for another path.
  if (jobId === '.' || jobId === '..')
    throw new PullError(
      'not_found',
      `job id ${JSON.stringify(jobId)} is a path dot segment: no ${resource} request`,
      0,
    );
  const net = await loadNet();
  const agent = await detailsAgents();
  const now = options.now ?? Date.now;
  const url = detailsUrl(options.apiUrl, jobId, resource);
  const maxBytes = resource === 'details' ? MAX_DETAILS_BODY_BYTES : MAX_FAILED_FILES_BODY_BYTES;
  let attempts = 0;
  for (let retry = 0; ; retry++) {
    const left = options.deadlineAt - now();
    if (left <= 0) throw fail(new AttemptFailure('timeout', `details deadline passed before GET ${url.href}`, false));
    attempts++;
    let failure: AttemptFailure;
    try {
      return await attempt(net, agent, url, options, options.requestTimeoutMs, maxBytes, now);
    } catch (error) {
      if (!(error instanceof AttemptFailure)) throw error;
      failure = error;
    }
    if (!failure.retryable || retry >= options.maxRetries) throw fail(failure);
    const waitMs =
      failure.retryAfterMs ??
      Math.floor((options.random ?? Math.random)() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** retry));
    if (waitMs >= options.deadlineAt - now()) throw fail(failure);
    await (options.sleep ?? ((ms: number) => timersSleep(ms)))(waitMs);
  }

  function fail(failure: AttemptFailure): PullError {
    const message = redact(oneLine(failure.message), options.apiKey);
    return new PullError(
      failure.kind,
      message,
      attempts,
      failure.status === undefined ? {} : { status: failure.status },
    );
  }
}

function attempt(
  net: Net,
  agents: Record<'http:' | 'https:', Agent>,
  url: URL,
  options: DetailsRequestOptions,
  timeoutMs: number,
  maxBytes: number,
  now: () => number,
): Promise<unknown> {
  return new Promise<unknown>((resolve, reject) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    let response: IncomingMessage | undefined;
    let source: Readable | undefined;
    const scheme = url.protocol === 'https:' ? 'https:' : 'http:';
    const req = net.transports[scheme].request(url, {
      method: 'GET',
      agent: agents[scheme],
      headers: {
        'unstructured-api-key': options.apiKey,
        accept: 'application/json',
        'accept-encoding': 'gzip, deflate',
        'user-agent': options.userAgent,
      },
    });
    const finish = (error: AttemptFailure | undefined, value?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error !== undefined) {
        source?.destroy();
        response?.destroy();
        req.destroy();
        reject(error);
      } else resolve(value);
    };
    // Each wait is the idle timeout or what is left of the deadline, whichever is shorter: a body trickling in
    // under the idle timeout must not hold the request (and the collection) past the deadline.
    const arm = (what: string) => {
      clearTimeout(timer);
      const left = options.deadlineAt - now();
      timer =
        left < timeoutMs
          ? setTimeout(
              () =>
                finish(
                  new AttemptFailure('timeout', `details deadline passed while waiting on GET ${url.href}`, false),
                ),
              Math.max(0, left),
            )
          : setTimeout(
              () => finish(new AttemptFailure('timeout', `${what} within ${timeoutMs} ms from GET ${url.href}`, true)),
              timeoutMs,
            );
    };
    arm('no response headers');
    req.on('error', (error) => {
      const code = (error as NodeJS.ErrnoException).code;
      const retryable = code === undefined || RETRYABLE_NETWORK_CODES.has(code);
      finish(new AttemptFailure('network', `GET ${url.href} failed: ${error.message}`, retryable));
    });
    req.on('response', (res) => {
      response = res;
      const status = res.statusCode ?? 0;
      const encoding = (res.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
      if (encoding === 'gzip' || encoding === 'x-gzip') source = res.pipe(net.createGunzip());
      else if (encoding === 'deflate') source = res.pipe(net.createInflate());
      else if (encoding === 'identity' || encoding === '') source = res;
      else
        return finish(
          new AttemptFailure(
            'invalid_response',
            `HTTP ${status} from GET ${url.href}: unsupported content-encoding`,
            false,
            status,
          ),
        );
      const chunks: Buffer[] = [];
      let bytes = 0;
      let over = false;
      const isError = status < 200 || status > 299;
      const mediaType = (res.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
      if (!isError && mediaType !== 'application/json' && !mediaType.endsWith('+json')) {
        return finish(
          new AttemptFailure('invalid_response', `HTTP ${status} from GET ${url.href} is not JSON`, false, status),
        );
      }
      arm('no response body');
      source.on('data', (chunk: Buffer) => {
        arm('response body stalled');
        if (over) return;
        bytes += chunk.length;
        if (bytes > maxBytes) {
          over = true;
          if (!isError)
            return finish(
              new AttemptFailure('too_large', `the body of GET ${url.href} passed ${maxBytes} bytes`, false, status),
            );
          return;
        }
        chunks.push(chunk);
      });
      source.on('error', (error) =>
        finish(
          new AttemptFailure('invalid_response', `could not read GET ${url.href}: ${error.message}`, !isError, status),
        ),
      );
      res.on('close', () => {
        if (!res.complete)
          finish(new AttemptFailure('network', `connection closed before the response of GET ${url.href} ended`, true));
      });
      source.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (isError) {
          const { kind, retryable } = classifyStatus(status);
          const detail = extractDetail(text, res.headers['content-type']);
          const retryAfterMs = retryable ? parseRetryAfter(res.headers['retry-after'], now()) : undefined;
          const message = `HTTP ${status} from GET ${url.href}${detail === undefined ? '' : `: ${detail}`}`;
          return finish(new AttemptFailure(kind, message, retryable, status, retryAfterMs));
        }
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch (error) {
          return finish(
            new AttemptFailure(
              'invalid_response',
              `HTTP ${status} from GET ${url.href}: body is not valid JSON (${(error as Error).message})`,
              false,
              status,
            ),
          );
        }
        finish(undefined, value);
      });
    });
    req.end();
  });
}
