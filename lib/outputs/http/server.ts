/** The long-running HTTP server (`serve`): the shared app on node:http, with graceful shutdown. */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ExporterApp, HttpRequest } from './app.js';
import type { Logger } from '../../log.js';

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export function toHttpRequest(req: IncomingMessage): HttpRequest {
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(req.headers)) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return { method: req.method ?? 'GET', path: q < 0 ? url : url.slice(0, q), headers };
}

export async function startServer(app: ExporterApp, options: { port: number; host: string; logger: Logger }): Promise<RunningServer> {
  const { logger } = options;
  const server: Server = createServer((req, res) => {
    const request = toHttpRequest(req);
    app.handle(request).then(
      (response) => {
        res.writeHead(response.status, { ...response.headers, 'content-length': String(response.body.length) });
        // The body's memory goes back to the renderer once the socket has taken it, not before.
        if (request.method === 'HEAD') {
          res.end();
          response.release?.();
        } else res.end(response.body, () => response.release?.());
      },
      (error: unknown) => {
        logger.error('request failed', { path: request.path, error: error instanceof Error ? error.message : String(error) });
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('internal error\n');
      },
    );
  });
  server.keepAliveTimeout = 65_000; // longer than Prometheus' idle connections, so scrapes reuse sockets
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const shownHost = options.host === '0.0.0.0' || options.host === '::' ? 'localhost' : options.host;
  return {
    url: `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
