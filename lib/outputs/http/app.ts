/**
 * The HTTP surface shared by the local server and the Lambda function URL handler:
 * routing, bearer/basic auth, content negotiation (OpenMetrics), gzip and the response size guard.
 * Transport-free: requests and responses are plain objects.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import type { Collection } from '../../collection.js';
import { renderPrometheus } from '../prometheus/render.js';
import { renderStatusPage } from '../status-page.js';
import { SharedBodies, type Produced } from './shared-bodies.js';

export interface HttpRequest {
  readonly method: string;
  /** Path without the query string. */
  readonly path: string;
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string | undefined>>;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
  /** Call once `body` has been sent (or dropped): its memory is reused by the next render. */
  readonly release?: () => void;
}

/**
 * Lambda's synchronous response payload limit is 6 MB (AWS Lambda quotas page), and a function URL
 * base64-encodes binary bodies (×4/3): keep the encoded body under it with a margin for headers.
 */
export const LAMBDA_RESPONSE_LIMIT_BYTES = 6 * 1024 * 1024;
export const LAMBDA_BODY_LIMIT_BYTES = Math.floor(((LAMBDA_RESPONSE_LIMIT_BYTES - 64 * 1024) * 3) / 4);
/** Below this, gzip costs more than it saves. */
const GZIP_MIN_BYTES = 1024;

export interface AppOptions {
  readonly version: string;
  /** The collection comes from the embedded demo: every output says so. */
  readonly demo?: boolean;
  /** The current collection (cached, single-flight). */
  readonly collection: () => Promise<Collection>;
  /** The token /metrics and / require; undefined means no auth (local use). */
  readonly token: () => Promise<string | undefined>;
  /** Max body bytes (after compression) the transport can carry; Infinity for the local server. */
  readonly maxBodyBytes?: number;
}

export class ExporterApp {
  readonly #options: AppOptions;
  /** Concurrent requests for the same collection, page, format and encoding share one body. */
  readonly #bodies = new SharedBodies<Collection>();

  constructor(options: AppOptions) {
    this.#options = options;
  }

  async handle(request: HttpRequest): Promise<HttpResponse> {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return text(405, 'method not allowed\n', { allow: 'GET, HEAD' });
    }
    switch (request.path) {
      case '/healthz':
        // Liveness of the process only: it does not pull (a broken upstream is unstructured_up 0, not a dead exporter).
        return text(200, 'ok\n');
      case '/metrics':
        return this.#guard(request, () => this.#metrics(request));
      case '/':
        return this.#guard(request, () => this.#statusPage(request));
      default:
        return text(404, 'not found: try /metrics\n');
    }
  }

  async #guard(request: HttpRequest, next: () => Promise<HttpResponse>): Promise<HttpResponse> {
    let token: string | undefined;
    try {
      token = await this.#options.token();
    } catch {
      // Fail closed: without the token nobody gets in (the reason is logged where the token is read, never shown).
      return text(503, 'unavailable: the metrics token could not be read\n', { 'retry-after': '30' });
    }
    if (token !== undefined && !authorized(request.headers.authorization, token)) {
      return text(401, 'unauthorized: send "Authorization: Bearer <token>"\n', {
        'www-authenticate': 'Bearer realm="unstructured-jobs-exporter", Basic realm="unstructured-jobs-exporter"',
      });
    }
    return next();
  }

  async #metrics(request: HttpRequest): Promise<HttpResponse> {
    const collection = await this.#options.collection();
    const openMetrics = (request.headers.accept ?? '').includes('application/openmetrics-text');
    const variant = `metrics ${openMetrics ? 'openmetrics' : 'text'} ${this.#gzip(request) ? 'gzip' : 'identity'}`;
    return this.#bodies.get(collection, variant, () => this.#renderMetrics(request, collection, openMetrics), busy);
  }

  async #renderMetrics(request: HttpRequest, collection: Collection, openMetrics: boolean): Promise<Produced> {
    const rendered = await renderPrometheus(collection, {
      version: this.#options.version,
      demo: this.#options.demo === true,
      openMetrics,
    });
    const response = await this.#encode(request, rendered.bytes, rendered.contentType);
    if (response.body.buffer === rendered.bytes.buffer) return { response, release: () => rendered.release() };
    rendered.release(); // gzipped or refused: the exposition's bytes are no longer needed
    return { response };
  }

  async #statusPage(request: HttpRequest): Promise<HttpResponse> {
    const collection = await this.#options.collection();
    const variant = `status ${this.#gzip(request) ? 'gzip' : 'identity'}`;
    return this.#bodies.get(
      collection,
      variant,
      async () => ({
        response: await this.#encode(
          request,
          renderStatusPage(collection, { version: this.#options.version, demo: this.#options.demo === true }),
          'text/html; charset=utf-8',
        ),
      }),
      busy,
    );
  }

  #gzip(request: HttpRequest): boolean {
    return acceptsGzip(request.headers['accept-encoding']);
  }

  async #encode(request: HttpRequest, body: string | Buffer, contentType: string): Promise<HttpResponse> {
    const raw = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    const limit = this.#options.maxBodyBytes ?? Infinity;
    const headers: Record<string, string> = {
      'content-type': contentType,
      'cache-control': 'no-store',
      vary: 'accept-encoding',
    };
    let out = raw;
    if (acceptsGzip(request.headers['accept-encoding']) && raw.length >= GZIP_MIN_BYTES) {
      // node:zlib is loaded by the first gzip scrape, not at import (cold start).
      const { gzipSync } = await import('node:zlib');
      out = gzipSync(raw, { level: 6 });
      headers['content-encoding'] = 'gzip';
    }
    if (out.length > limit) {
      return text(
        500,
        `response of ${out.length} bytes is over the ${limit}-byte limit of this transport; lower MAX_WORKFLOWS or scrape with gzip\n`,
      );
    }
    return { status: 200, headers, body: out };
  }
}

/** Every shared body slot is taken (MAX_LIVE_BODIES): slow clients hold them; try again shortly. */
function busy(): HttpResponse {
  return text(503, 'busy: too many responses are being sent; retry shortly\n', { 'retry-after': '5' });
}

function text(status: number, body: string, extra: Record<string, string> = {}): HttpResponse {
  return {
    status,
    headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...extra },
    body: Buffer.from(body),
  };
}

function acceptsGzip(header: string | undefined): boolean {
  if (header === undefined) return false;
  return header.split(',').some((part) => {
    const [coding, ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return (coding === 'gzip' || coding === '*') && (q === undefined || Number(q.slice(2)) > 0);
  });
}

/**
 * Accepts `Bearer <token>` (Prometheus `authorization`/`bearer_token`) and `Basic base64(user:token)`
 * (browsers, Prometheus `basic_auth`; the user name is ignored). Compared in constant time over
 * SHA-256 digests, so neither content nor length leaks through timing.
 */
export function authorized(header: string | undefined, token: string): boolean {
  if (header === undefined) return false;
  const space = header.indexOf(' ');
  if (space < 0) return false;
  const scheme = header.slice(0, space).toLowerCase();
  const credential = header.slice(space + 1).trim();
  let presented: string;
  if (scheme === 'bearer') presented = credential;
  else if (scheme === 'basic') {
    const decoded = Buffer.from(credential, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return false;
    presented = decoded.slice(colon + 1);
  } else return false;
  return timingSafeEqual(digest(presented), digest(token));
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
