/** The long-running HTTP server (`serve`): the shared app on node:http, with limits and graceful shutdown. */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ExporterApp, HttpRequest } from './app.js';
import { ConnectionLimiter, type ConnectionCounts } from './connections.js';
import { DEFAULT_MAX_CONNECTIONS, DEFAULT_SEND_TIMEOUT_MS } from '../../config.js';
import type { Logger } from '../../log.js';

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  /** Connections open now, and those the cap turned away or closed since start. */
  connections(): ConnectionCounts;
  close(): Promise<void>;
}

/**
 * What one client may hold of the server. The defaults, and which are settings, are listed in the README
 * (Commands, `serve`); tests pass smaller ones.
 */
export interface ServerLimits {
  /** Open connections (MAX_CONNECTIONS); see ConnectionLimiter for what happens when full. */
  readonly maxConnections: number;
  /** A response must be sent within this, or its connection is closed: a client that does not read (SEND_TIMEOUT). */
  readonly sendTimeoutMs: number;
  /** The request's headers must arrive within this after the connection opens or the previous response. */
  readonly headersTimeoutMs: number;
  /** The whole request must arrive within this (a GET has no body: the same idea as headersTimeoutMs, with room). */
  readonly requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  readonly keepAliveTimeoutMs: number;
}

export const DEFAULT_SERVER_LIMITS: ServerLimits = {
  // Prometheus holds one or two connections per target, a browser six: 256 leaves room for many scrapers and
  // keeps the worst case (every connection sending a body to a client that does not read) to a few MB of
  // socket buffers beside the shared bodies, far from the file descriptor limit.
  maxConnections: DEFAULT_MAX_CONNECTIONS,
  // Above Prometheus' usual scrape_timeout (10–30 s): a scrape that takes longer is abandoned by Prometheus anyway.
  sendTimeoutMs: DEFAULT_SEND_TIMEOUT_MS,
  // A scraper sends its few hundred bytes of request at once; 10 s is generous even over a slow link.
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 15_000,
  // Longer than Prometheus' idle connections (its HTTP client keeps them 5 min, but reuses within the scrape
  // interval), so scrapes reuse sockets; idle sockets beyond the cap are closed first anyway.
  keepAliveTimeoutMs: 65_000,
};

/** How often Node checks the headers and request timeouts (its default, 30 s, would let a slow client stay 40 s). */
const TIMEOUT_CHECK_INTERVAL_MS = 1_000;
/** At most one "connection limit reached" warning this often. */
const FULL_WARNING_INTERVAL_MS = 60_000;

export function toHttpRequest(req: IncomingMessage): HttpRequest {
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(req.headers))
    headers[name] = Array.isArray(value) ? value.join(', ') : value;
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return { method: req.method ?? 'GET', path: q < 0 ? url : url.slice(0, q), headers };
}

export async function startServer(
  app: ExporterApp,
  options: { port: number; host: string; logger: Logger; limits?: Partial<ServerLimits> },
): Promise<RunningServer> {
  const { logger } = options;
  const limits: ServerLimits = { ...DEFAULT_SERVER_LIMITS, ...options.limits };
  let lastWarningMs = Number.NEGATIVE_INFINITY;
  const connections = new ConnectionLimiter(limits.maxConnections, (counts) => {
    const now = Date.now();
    if (now - lastWarningMs < FULL_WARNING_INTERVAL_MS) return;
    lastWarningMs = now;
    logger.warn('connection limit reached (MAX_CONNECTIONS): closing idle connections first, then refusing new ones', {
      maxConnections: limits.maxConnections,
      ...counts,
    });
  });

  const server: Server = createServer({ connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS }, (req, res) => {
    const socket = req.socket;
    connections.requestStarted(socket);
    const request = toHttpRequest(req);
    // Whatever happens next (sent, timed out, the client gone before the answer was ready), 'close' ends it.
    let release: (() => void) | undefined;
    let closed = false;
    let sendTimer: NodeJS.Timeout | undefined;
    res.once('close', () => {
      closed = true;
      clearTimeout(sendTimer);
      connections.requestEnded(socket);
      release?.();
    });
    app.handle(request).then(
      (response) => {
        // The body's memory goes back once no response sends it any more (shared bodies count their senders).
        release = response.release;
        if (closed) {
          release?.();
          return;
        }
        res.writeHead(response.status, { ...response.headers, 'content-length': String(response.body.length) });
        // A client that does not read keeps the body and a socket: it has sendTimeoutMs to take it all.
        sendTimer = setTimeout(() => res.destroy(), limits.sendTimeoutMs);
        sendTimer.unref();
        if (request.method === 'HEAD') res.end();
        else res.end(response.body);
      },
      (error: unknown) => {
        logger.error('request failed', {
          path: request.path,
          error: error instanceof Error ? error.message : String(error),
        });
        if (closed) return;
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('internal error\n');
      },
    );
  });
  server.on('connection', (socket) => connections.admit(socket));
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const shownHost = options.host === '0.0.0.0' || options.host === '::' ? 'localhost' : options.host;
  return {
    url: `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}`,
    port,
    connections: () => connections.counts,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
