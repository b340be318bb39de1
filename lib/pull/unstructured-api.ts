/**
 * HTTP client for the Unstructured Platform job list: `GET {apiUrl}/api/v1/jobs/`.
 *
 * The endpoint has no pagination: the whole job history arrives as one JSON array that may be hundreds of
 * megabytes. The body is therefore never buffered: bytes go through node:zlib (when compressed) into the
 * streaming array parser, and every element is handed to `onRecord` as soon as it is complete.
 *
 * Retry policy (because records are streamed, a retry after some were delivered would count them twice):
 * - Retried: 429, 408 and every 5xx; connection errors (refused, reset, …) and per-attempt timeouts — but
 *   only while no byte of a 2xx body has been received. Bounded by `maxRetries` per request.
 * - Never retried: any failure once the first body byte of a 2xx answer arrived (reset, truncation, idle
 *   timeout, bad JSON). It is a final `network`/`timeout`/`invalid_response` error, never a partial
 *   success: records already passed to `onRecord` must be discarded by the caller.
 * - Never retried: 400/401/403/404/422 and other 4xx, redirects, a 2xx that is not JSON.
 * - Waits: exponential backoff with full jitter, or the server's `Retry-After` when it sends one. Nothing
 *   waits past the pull deadline: a wait that would is not started, the last error is reported instead.
 * - The whole pull (every request, attempt, wait and body) ends within `pullDeadlineMs` or fails with
 *   `timeout`. `requestTimeoutMs` bounds the wait for headers and each idle gap in the body.
 * - The bodies of the pull (after decompression, every request of it together) end within
 *   `maxResponseBytes` or the pull fails with `too_large`, before the first byte past it is parsed: what the
 *   pull holds grows with the records read, and a response that never ends must not take memory with it.
 */
import type { Agent, IncomingHttpHeaders, IncomingMessage, request as httpRequest } from 'node:http';
import type { Readable } from 'node:stream';
import { setTimeout as timersSleep } from 'node:timers/promises';
import type { Gunzip, Inflate, createGunzip, createInflate } from 'node:zlib';

import type { Config } from '../config.js';
import {
  loadMinorGc,
  loadYoungGenerationHold,
  NUDGE_EVERY_BYTES,
  type MinorGc,
  type YoungGenerationHold,
} from './gc-nudge.js';
import { JsonArrayStream, JsonStreamError, type ObjectScanner } from './json-stream.js';
import { oneLine } from '../common/text.js';
import { classifyStatus, extractDetail, parseRetryAfter, PullError, redact, type PullErrorKind } from './pull-error.js';

/** First backoff window (also the details requests', lib/pull/job-details.ts); retry n waits random() × min(BACKOFF_CAP_MS, BACKOFF_BASE_MS × 2^n). */
export const BACKOFF_BASE_MS = 500;
/** One wait stays short enough that a few retries still fit the default 25 s pull deadline. */
export const BACKOFF_CAP_MS = 8_000;
/** Error bodies are read only for their `detail`; a proxy's huge error page must not be buffered. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;
/** Output chunk of the gzip/deflate decoder. */
const INFLATE_CHUNK_BYTES = 256 * 1024;
/** Socket errors worth another attempt: the peer or the path was briefly unavailable. */
export const RETRYABLE_NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENETUNREACH',
  'ENETDOWN',
  'EHOSTUNREACH',
  'EHOSTDOWN',
]);

/** What a pull needs from Node beyond the JavaScript: a transport per scheme, and the body decoders. */
export interface Net {
  readonly transports: Readonly<
    Record<'http:' | 'https:', { readonly request: typeof httpRequest; readonly agent: Agent }>
  >;
  readonly createGunzip: typeof createGunzip;
  readonly createInflate: typeof createInflate;
  /** Run every NUDGE_EVERY_BYTES of body (lib/pull/gc-nudge.ts). */
  readonly minorGc: MinorGc;
  /** Held for the length of a pull (lib/pull/gc-nudge.ts). */
  readonly holdYoungGeneration: YoungGenerationHold;
}

let net: Promise<Net> | undefined;

/**
 * Exported for the details requests (lib/pull/job-details.ts), which share the keep-alive agents.
 * Loaded at the first pull, not at import: node:https brings TLS, the largest part of what importing the
 * /metrics handler would cost (bench: "importing the /metrics bundle"), and a cold /healthz, a refused token
 * or a scrape served from the cache needs none of it. Deployed, the first pull follows the SSM read, whose
 * SDK has loaded node:https already.
 */
export function loadNet(): Promise<Net> {
  net ??= Promise.all([
    import('node:http'),
    import('node:https'),
    import('node:zlib'),
    loadMinorGc(),
    loadYoungGenerationHold(),
  ]).then(([http, https, zlib, minorGc, holdYoungGeneration]) => ({
    // Keep-alive: scrapes every 15–60 s reuse the TLS connection instead of a new handshake each time.
    transports: {
      'http:': { request: http.request, agent: new http.Agent({ keepAlive: true, maxSockets: 4 }) },
      'https:': { request: https.request, agent: new https.Agent({ keepAlive: true, maxSockets: 4 }) },
    },
    createGunzip: zlib.createGunzip,
    createInflate: zlib.createInflate,
    minorGc,
    holdYoungGeneration,
  }));
  return net;
}

export interface PullOptions {
  apiKey: string;
  /** Sent as `user-agent: unstructured-jobs-exporter/<version>`. */
  version?: string;
  /** Aborting fails the pull with kind `timeout` ("pull aborted"). */
  signal?: AbortSignal;
  /** Test hook: the wait between attempts. */
  sleep?: (ms: number) => Promise<void>;
  /** Test hook: jitter source in [0, 1). */
  random?: () => number;
  /** Test hook: what runs every NUDGE_EVERY_BYTES of body (default: a minor garbage collection). */
  minorGc?: MinorGc;
  /** Test hook: the hold taken for the length of the pull (default: lib/pull/gc-nudge.ts's young-generation hold). */
  holdYoungGeneration?: YoungGenerationHold;
  /** Test hook: clock in epoch ms (deadline arithmetic and HTTP-date `Retry-After`). */
  now?: () => number;
  /**
   * Fast path for object elements (JobRecordScanner): elements it consumes never reach `onRecord`; every
   * other element (and every one it declines) does, as JSON.parse gives it.
   */
  objectScanner?: ObjectScanner;
  /**
   * Called for each array element over the element limit (DEFAULT_MAX_ELEMENT_BYTES), which is passed over
   * unread and the pull goes on. Without it, such an element fails the pull (`invalid_response`).
   */
  onOversizedRecord?: () => void;
  /**
   * The list read, under `{apiUrl}/api/v1/`: `jobs/` (the default) or `workflows/` (lib/pull/workflows.ts), with
   * the same retries, deadline, size limit and secret handling. `workflowIds` filters only `jobs/`.
   */
  endpoint?: 'jobs/' | 'workflows/';
  /** Query string of a `workflows/` request, without `?` (its paging: lib/pull/workflows.ts). */
  query?: string;
}

export interface PullStats {
  /** HTTP attempts over the whole pull (all workflow ids, retries included). */
  attempts: number;
  /** Body bytes fed to the JSON parser (after decompression), summed over requests. */
  bytes: number;
  /** Array elements delivered to `onRecord`, summed over requests. */
  elements: number;
  /** Status of the last successful response. */
  statusCode: number;
}

type PullConfig = Pick<
  Config,
  'apiUrl' | 'workflowIds' | 'requestTimeoutMs' | 'pullDeadlineMs' | 'maxRetries' | 'maxResponseBytes'
>;

/**
 * Streams every job record of the account (or of each `workflowIds` entry, one request per id, in order)
 * into `onRecord`. Resolves with statistics, or rejects with a PullError (or with whatever `onRecord`
 * threw). After a rejection, records already delivered must be discarded.
 */
export async function pullJobs(
  config: PullConfig,
  onRecord: (raw: unknown) => void,
  options: PullOptions,
): Promise<PullStats> {
  const now = options.now ?? Date.now;
  if (options.apiKey === '') throw new PullError('auth', 'no API key to send', 0);
  // Node rejects such a header value itself, but with a message of its own; say what is wrong instead.
  if (/[^\t\x20-\x7e\x80-\xff]/.test(options.apiKey)) {
    throw new PullError('auth', 'the API key contains characters not allowed in an HTTP header (a stray newline?)', 0);
  }
  const ctx: PullContext = {
    config,
    onRecord,
    apiKey: options.apiKey,
    userAgent: `unstructured-jobs-exporter/${options.version ?? 'unknown'}`,
    signal: options.signal,
    sleep: options.sleep,
    random: options.random ?? Math.random,
    now,
    deadlineAt: now() + config.pullDeadlineMs,
    objectScanner: options.objectScanner,
    onOversizedRecord: options.onOversizedRecord,
    net: await loadNet(),
    minorGc: options.minorGc,
  };
  const totals: PullStats = { attempts: 0, bytes: 0, elements: 0, statusCode: 0 };

  const endpoint = options.endpoint ?? 'jobs/';
  const base = `${config.apiUrl.replace(/\/+$/, '').replace(/\/api\/v1$/, '')}/api/v1/${endpoint}`;
  const urls =
    config.workflowIds.length === 0 || endpoint !== 'jobs/'
      ? [options.query === undefined || options.query === '' ? base : `${base}?${options.query}`]
      : config.workflowIds.map((id) => `${base}?workflow_id=${encodeURIComponent(id)}`);
  const release = (options.holdYoungGeneration ?? ctx.net.holdYoungGeneration)(); // lib/pull/gc-nudge.ts
  try {
    for (const url of urls) {
      const result = await pullOne(new URL(url), ctx, totals);
      totals.bytes += result.bytes;
      totals.elements += result.elements;
      totals.statusCode = result.statusCode;
    }
  } finally {
    release();
  }
  return totals;
}

interface PullContext {
  readonly config: PullConfig;
  readonly onRecord: (raw: unknown) => void;
  readonly apiKey: string;
  readonly userAgent: string;
  readonly signal: AbortSignal | undefined;
  readonly sleep: ((ms: number) => Promise<void>) | undefined;
  readonly random: () => number;
  readonly now: () => number;
  readonly deadlineAt: number;
  readonly objectScanner: ObjectScanner | undefined;
  readonly onOversizedRecord: (() => void) | undefined;
  readonly net: Net;
  readonly minorGc: MinorGc | undefined;
}

interface AttemptSuccess {
  readonly statusCode: number;
  readonly bytes: number;
  readonly elements: number;
}

/** One failed attempt, before the retry decision. */
class AttemptFailure {
  constructor(
    readonly kind: PullErrorKind,
    readonly message: string,
    readonly retryable: boolean,
    readonly extra: { readonly status?: number; readonly detail?: string; readonly retryAfterMs?: number } = {},
  ) {}
}

async function pullOne(url: URL, ctx: PullContext, totals: PullStats): Promise<AttemptSuccess> {
  const { maxRetries, pullDeadlineMs } = ctx.config;
  for (let retry = 0; ; retry++) {
    if (ctx.signal?.aborted) throw toPullError(abortFailure(ctx.signal), ctx, totals.attempts);
    if (ctx.deadlineAt - ctx.now() <= 0) {
      throw toPullError(
        new AttemptFailure('timeout', `pull deadline of ${pullDeadlineMs} ms exceeded before GET ${url.href}`, false),
        ctx,
        totals.attempts,
      );
    }
    totals.attempts++;
    let failure: AttemptFailure;
    try {
      return await attempt(url, ctx, totals.bytes);
    } catch (error) {
      if (!(error instanceof AttemptFailure)) throw error; // thrown by onRecord: the caller's own error
      failure = error;
    }
    const tries = `${retry + 1} attempt${retry === 0 ? '' : 's'}`;
    if (!failure.retryable || retry >= maxRetries) {
      throw toPullError(failure, ctx, totals.attempts, failure.retryable ? `gave up after ${tries}` : undefined);
    }
    const retryAfterMs = failure.extra.retryAfterMs;
    const waitMs = retryAfterMs ?? Math.floor(ctx.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** retry));
    const leftMs = ctx.deadlineAt - ctx.now();
    if (waitMs >= leftMs) {
      const why =
        retryAfterMs !== undefined
          ? `Retry-After asks to wait ${Math.ceil(retryAfterMs / 1000)} s but only ${Math.max(0, leftMs)} ms remain of the ${pullDeadlineMs} ms pull deadline`
          : `the next retry (in ${waitMs} ms) would pass the ${pullDeadlineMs} ms pull deadline`;
      throw toPullError(failure, ctx, totals.attempts, `not retried after ${tries}: ${why}`);
    }
    try {
      await sleepUnlessAborted(waitMs, ctx);
    } catch (error) {
      if (error instanceof AttemptFailure) throw toPullError(error, ctx, totals.attempts);
      throw error;
    }
  }
}

function toPullError(failure: AttemptFailure, ctx: PullContext, attempts: number, note?: string): PullError {
  const message = redact(oneLine(note === undefined ? failure.message : `${failure.message}; ${note}`), ctx.apiKey);
  const detail = failure.extra.detail === undefined ? undefined : redact(failure.extra.detail, ctx.apiKey);
  return new PullError(failure.kind, message, attempts, {
    ...(failure.extra.status === undefined ? {} : { status: failure.extra.status }),
    ...(detail === undefined ? {} : { detail }),
  });
}

async function sleepUnlessAborted(ms: number, ctx: PullContext): Promise<void> {
  const { signal } = ctx;
  if (ctx.sleep === undefined) {
    try {
      await timersSleep(ms, undefined, signal === undefined ? {} : { signal });
    } catch (error) {
      if (signal?.aborted) throw abortFailure(signal);
      throw error;
    }
    return;
  }
  if (signal === undefined) return ctx.sleep(ms);
  const sleep = ctx.sleep;
  await new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(abortFailure(signal));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    sleep(ms).then(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

function abortFailure(signal: AbortSignal): AttemptFailure {
  const reason: unknown = signal.reason;
  const why = reason instanceof Error ? reason.message : typeof reason === 'string' ? reason : '';
  return new AttemptFailure('timeout', why === '' ? 'pull aborted' : `pull aborted: ${why}`, false);
}

/**
 * One HTTP attempt, after `bytesBefore` body bytes of the pull's earlier requests. Rejects with an
 * AttemptFailure, or with what `onRecord` threw.
 */
function attempt(url: URL, ctx: PullContext, bytesBefore: number): Promise<AttemptSuccess> {
  const { requestTimeoutMs, pullDeadlineMs, maxResponseBytes } = ctx.config;
  return new Promise<AttemptSuccess>((resolve, reject) => {
    let settled = false;
    /** Set at the first body byte of a 2xx answer: from then on nothing is retryable. */
    let bodyStarted = false;
    let bytes = 0;
    let idleTimer: NodeJS.Timeout | undefined;
    let response: IncomingMessage | undefined;
    let decoder: Gunzip | Inflate | undefined;

    const transport = ctx.net.transports[url.protocol === 'https:' ? 'https:' : 'http:'];
    const req = transport.request(url, {
      method: 'GET',
      agent: transport.agent,
      headers: {
        'unstructured-api-key': ctx.apiKey,
        accept: 'application/json',
        'accept-encoding': 'gzip, deflate',
        'user-agent': ctx.userAgent,
      },
    });

    const cleanup = () => {
      clearTimeout(idleTimer);
      clearTimeout(deadlineTimer);
      ctx.signal?.removeEventListener('abort', onAbort);
    };
    const fail = (error: unknown) => {
      if (settled) return;
      settled = true;
      cleanup();
      decoder?.destroy();
      response?.destroy();
      req.destroy();
      reject(error);
    };
    const succeed = (value: AttemptSuccess) => {
      if (settled) return;
      settled = true;
      cleanup();
      resolve(value);
    };
    const armIdle = (onIdle: () => void) => {
      clearTimeout(idleTimer);
      idleTimer = setTimeout(onIdle, requestTimeoutMs);
    };
    const onAbort = () => fail(abortFailure(ctx.signal as AbortSignal));

    const deadlineTimer = setTimeout(
      () => {
        const where = bodyStarted ? `after ${bytes} bytes of the response body` : 'waiting for the response';
        fail(
          new AttemptFailure(
            'timeout',
            `pull deadline of ${pullDeadlineMs} ms exceeded ${where} of GET ${url.href}`,
            false,
          ),
        );
      },
      Math.max(0, ctx.deadlineAt - ctx.now()),
    );
    ctx.signal?.addEventListener('abort', onAbort, { once: true });
    armIdle(() =>
      fail(
        new AttemptFailure('timeout', `no response headers within ${requestTimeoutMs} ms from GET ${url.href}`, true),
      ),
    );

    req.on('error', (error) => fail(networkFailure(error, url, bodyStarted, bytes)));
    req.on('response', (res) => {
      response = res;
      const status = res.statusCode ?? 0;
      /** An error answer is classified by its status, whatever happens to its body. */
      const isError = status < 200 || status > 299;
      res.on('error', (error) => {
        if (!isError) fail(networkFailure(error, url, bodyStarted, bytes));
      });
      res.on('close', () => {
        if (!isError && !res.complete) {
          fail(networkFailure(new Error('connection closed before the response ended'), url, bodyStarted, bytes));
        }
      });

      const encoding = (res.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
      // Large output chunks: fewer, bigger writes into the parser (the default 16 KiB costs ~30k stream
      // round trips for a 460 MB list). Inflating runs on the thread pool, beside the parsing.
      if (encoding === 'gzip' || encoding === 'x-gzip')
        decoder = ctx.net.createGunzip({ chunkSize: INFLATE_CHUNK_BYTES });
      else if (encoding === 'deflate') decoder = ctx.net.createInflate({ chunkSize: INFLATE_CHUNK_BYTES });
      else if (encoding !== 'identity' && encoding !== '') {
        return fail(
          new AttemptFailure(
            'invalid_response',
            `HTTP ${status} from GET ${url.href} with unsupported content-encoding ${JSON.stringify(encoding)}`,
            false,
            { status },
          ),
        );
      }
      const source: Readable = decoder === undefined ? res : res.pipe(decoder);
      decoder?.on('error', (error) => {
        if (isError) return;
        fail(
          new AttemptFailure(
            'invalid_response',
            `could not decode the ${encoding} body of GET ${url.href}: ${error.message}`,
            !bodyStarted,
            { status },
          ),
        );
      });

      if (isError) {
        clearTimeout(idleTimer);
        void readCapped(source, requestTimeoutMs).then((text) =>
          fail(statusFailure(status, res.headers, text, url, ctx.now())),
        );
        return;
      }
      const mediaType = (res.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
      if (mediaType !== 'application/json' && !mediaType.endsWith('+json')) {
        const shown = mediaType === '' ? 'no content-type' : `content-type ${mediaType}`;
        return fail(
          new AttemptFailure(
            'invalid_response',
            `HTTP ${status} from GET ${url.href} with ${shown}, expected application/json`,
            false,
            { status },
          ),
        );
      }

      const onIdle = () => {
        const message = bodyStarted
          ? `response body stalled: no data for ${requestTimeoutMs} ms after ${bytes} bytes of GET ${url.href}`
          : `no response body within ${requestTimeoutMs} ms after the headers of GET ${url.href}`;
        fail(new AttemptFailure('timeout', message, !bodyStarted, { status }));
      };
      armIdle(onIdle);
      res.on('data', () => {
        bodyStarted = true;
        armIdle(onIdle);
      });

      // A 200 carrying an error object (`{"detail": …}`) is reported by the parser, which quotes the detail.
      const parser = new JsonArrayStream((value) => ctx.onRecord(value), {
        ...(ctx.objectScanner !== undefined && { objectScanner: ctx.objectScanner }),
        ...(ctx.onOversizedRecord !== undefined && { onOversized: ctx.onOversizedRecord }),
      });
      const minorGc = ctx.minorGc ?? ctx.net.minorGc;
      let sinceNudge = 0;
      source.on('data', (chunk: Buffer) => {
        if (settled) return;
        bytes += chunk.length;
        if (bytesBefore + bytes > maxResponseBytes) {
          const what = bytesBefore === 0 ? 'the response body' : 'the response bodies of the pull';
          return fail(
            new AttemptFailure(
              'too_large',
              `${what} passed MAX_RESPONSE_BYTES (${maxResponseBytes} bytes) at GET ${url.href}; nothing of it is used`,
              false,
              { status },
            ),
          );
        }
        sinceNudge += chunk.length;
        if (sinceNudge >= NUDGE_EVERY_BYTES) {
          sinceNudge -= NUDGE_EVERY_BYTES;
          minorGc(); // frees the spent socket and body buffers (lib/pull/gc-nudge.ts)
        }
        try {
          parser.write(chunk);
        } catch (error) {
          fail(parseFailure(error, status, url, bytes));
        }
      });
      source.on('end', () => {
        if (settled) return;
        try {
          parser.end();
        } catch (error) {
          return fail(parseFailure(error, status, url, bytes));
        }
        succeed({ statusCode: status, bytes, elements: parser.elementCount });
      });
    });
    req.end();
  });
}

function parseFailure(error: unknown, status: number, url: URL, bytes: number): unknown {
  if (!(error instanceof JsonStreamError)) return error; // thrown by onRecord
  return new AttemptFailure(
    'invalid_response',
    `HTTP ${status} from GET ${url.href}: body is not a valid JSON array (${error.message}; ${bytes} bytes read)`,
    false,
    { status },
  );
}

function networkFailure(error: Error, url: URL, bodyStarted: boolean, bytes: number): AttemptFailure {
  const code = (error as NodeJS.ErrnoException).code;
  const what = code !== undefined && !error.message.includes(code) ? `${error.message} (${code})` : error.message;
  if (bodyStarted) {
    return new AttemptFailure(
      'network',
      `connection lost after ${bytes} bytes of the response body of GET ${url.href}: ${what}`,
      false,
    );
  }
  const retryable = code === undefined || RETRYABLE_NETWORK_CODES.has(code);
  return new AttemptFailure('network', `GET ${url.href} failed: ${what}`, retryable);
}

/** Reads at most MAX_ERROR_BODY_BYTES; never rejects (an unreadable error body is just empty). */
function readCapped(source: Readable, idleMs: number): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let timer = setTimeout(done, idleMs);
    function done() {
      clearTimeout(timer);
      source.removeListener('data', onData);
      resolve(Buffer.concat(chunks).toString('utf8'));
    }
    function onData(chunk: Buffer) {
      const room = MAX_ERROR_BODY_BYTES - size;
      chunks.push(chunk.length > room ? chunk.subarray(0, room) : chunk);
      size += Math.min(room, chunk.length);
      clearTimeout(timer);
      if (size >= MAX_ERROR_BODY_BYTES) return done();
      timer = setTimeout(done, idleMs);
    }
    source.on('data', onData);
    source.once('end', done);
    source.once('error', done);
    source.once('close', done);
  });
}

function statusFailure(
  status: number,
  headers: IncomingHttpHeaders,
  text: string,
  url: URL,
  nowMs: number,
): AttemptFailure {
  const { kind, retryable } = classifyStatus(status);
  const detail = extractDetail(text, headers['content-type']);
  const retryAfterMs = retryable ? parseRetryAfter(headers['retry-after'], nowMs) : undefined;
  let message = `HTTP ${status} from GET ${url.href}`;
  if (status >= 300 && status < 400 && headers.location !== undefined) {
    message += ` (redirect to ${headers.location}, not followed)`;
  }
  if (detail !== undefined) message += `: ${detail}`;
  return new AttemptFailure(kind, message, retryable, {
    status,
    ...(detail === undefined ? {} : { detail }),
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  });
}
