/**
 * What one client may hold of `serve`: the connection cap (idle ones closed first), shared response bodies and
 * their cap, and the headers, request and send timeouts. Real sockets on 127.0.0.1 against an in-process
 * server with small limits; the 3,000-client and 20,000-socket attacks on the CLI binary are in
 * test/reliability-serve.test.ts.
 */
import { EventEmitter } from 'node:events';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Aggregator } from '../lib/aggregate/aggregator.js';
import type { Collection } from '../lib/collection.js';
import { Logger } from '../lib/log.js';
import { ExporterApp, type HttpResponse } from '../lib/outputs/http/app.js';
import { ConnectionLimiter } from '../lib/outputs/http/connections.js';
import { startServer, type RunningServer, type ServerLimits } from '../lib/outputs/http/server.js';
import { MAX_LIVE_BODIES, SharedBodies } from '../lib/outputs/http/shared-bodies.js';
import { job, NOW_MS } from './support/jobs.js';
import { pollUntil } from './support/ports.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A collection whose exposition is about `workflows` × 5 KB. */
function collectionOf(workflows: number, tag = 'wf'): Collection {
  const agg = new Aggregator({
    nowMs: NOW_MS,
    runtimeWindowSeconds: 3600,
    maxWorkflows: workflows,
    histogramBuckets: [1, 10, 100, 1000],
    quantiles: [0.5, 0.99],
  });
  for (let i = 0; i < workflows; i++)
    agg.add(job({ id: `${tag}-${i}`, workflowId: `${tag}-${i}`, workflowName: `${tag} workflow ${i}` }));
  return { ok: true, snapshot: agg.snapshot(), durationSeconds: 1, finishedAtMs: NOW_MS };
}

let largeCollection: Collection | undefined;
/** ~20 MB of exposition: a client that does not read it stalls the server's writes (loopback buffers take a few MB). */
const large = () => (largeCollection ??= collectionOf(5_000, 'large'));

// ---------------------------------------------------------------------------------------------------------

describe('SharedBodies', () => {
  const busy = (): HttpResponse => ({ status: 503, headers: {}, body: Buffer.from('busy') });
  const body = (text: string) => ({ status: 200, headers: {}, body: Buffer.from(text) });

  it('makes one body for concurrent requests of a variant, and frees it after the last release', async () => {
    // Prepare
    const shared = new SharedBodies<object>();
    const owner = {};
    let made = 0;
    let freed = 0;
    const produce = async () => {
      made++;
      await sleep(10);
      return { response: body(`body ${made}`), release: () => freed++ };
    };

    // Act
    const responses = await Promise.all(Array.from({ length: 20 }, () => shared.get(owner, 'metrics', produce, busy)));
    const liveWhileSent = shared.live;
    for (const r of responses.slice(0, 19)) r.release?.();
    const freedBeforeLast = freed;
    responses[19]?.release?.();
    responses[19]?.release?.(); // a second release of one response counts once
    const again = await shared.get(owner, 'metrics', produce, busy);

    // Assess
    expect(new Set(responses.map((r) => r.body)).size).toBe(1);
    expect(responses[0]?.body.toString()).toBe('body 1');
    expect(liveWhileSent).toBe(1);
    expect(freedBeforeLast).toBe(0);
    expect(freed).toBe(1);
    expect(again.body.toString()).toBe('body 2'); // nobody held the first any more: a fresh one
    again.release?.();
    expect(shared.live).toBe(0);
  });

  it('keeps variants and owners apart, and answers busy past its cap without producing', async () => {
    // Prepare
    const shared = new SharedBodies<object>(3);
    const [a, b] = [{}, {}];
    let made = 0;
    const produce = async () => ({ response: body(`body ${++made}`) });

    // Act
    const held = [
      await shared.get(a, 'text', produce, busy),
      await shared.get(a, 'gzip', produce, busy),
      await shared.get(b, 'text', produce, busy),
    ];
    const refused = await shared.get(b, 'gzip', produce, busy);
    const joined = await shared.get(a, 'text', produce, busy); // a live variant is joined even at the cap
    held[0]?.release?.();
    joined.release?.();
    const afterRelease = await shared.get(b, 'gzip', produce, busy);

    // Assess
    expect(held.map((r) => r.body.toString())).toEqual(['body 1', 'body 2', 'body 3']);
    expect(refused.status).toBe(503);
    expect(joined.body.toString()).toBe('body 1');
    expect(afterRelease.body.toString()).toBe('body 4');
    expect(made).toBe(4);
    expect(MAX_LIVE_BODIES).toBeGreaterThanOrEqual(6); // one collection's variants always fit
  });

  it('forgets a failed production: every waiter gets the error, the next request tries again', async () => {
    // Prepare
    const shared = new SharedBodies<object>();
    const owner = {};
    let attempt = 0;
    const produce = async () => {
      attempt++;
      await sleep(5);
      if (attempt === 1) throw new Error('render failed');
      return { response: body('ok') };
    };

    // Act
    const failed = await Promise.allSettled([
      shared.get(owner, 'v', produce, busy),
      shared.get(owner, 'v', produce, busy),
    ]);
    const liveAfterFailure = shared.live;
    const next = await shared.get(owner, 'v', produce, busy);

    // Assess
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(liveAfterFailure).toBe(0);
    expect(next.body.toString()).toBe('ok');
  });
});

describe('ExporterApp shares one body', () => {
  it('among concurrent /metrics requests for the same collection, format and encoding', async () => {
    // Prepare
    const collection = collectionOf(200);
    const app = new ExporterApp({ version: '1', collection: async () => collection, token: async () => undefined });
    const get = (headers: Record<string, string>) => app.handle({ method: 'GET', path: '/metrics', headers });

    // Act
    const plain = await Promise.all(Array.from({ length: 10 }, () => get({})));
    const gzip = await Promise.all(Array.from({ length: 10 }, () => get({ 'accept-encoding': 'gzip' })));
    const openMetrics = await get({ accept: 'application/openmetrics-text' });
    const pages = await Promise.all(
      Array.from({ length: 5 }, () => app.handle({ method: 'GET', path: '/', headers: {} })),
    );

    // Assess
    expect(new Set(plain.map((r) => r.body)).size).toBe(1); // the same Buffer, not equal copies
    expect(new Set(gzip.map((r) => r.body)).size).toBe(1);
    expect(new Set(pages.map((r) => r.body)).size).toBe(1);
    expect(gzip[0]?.headers['content-encoding']).toBe('gzip');
    expect(plain[0]?.body).not.toBe(gzip[0]?.body);
    expect(openMetrics.body.toString()).toMatch(/# EOF\n$/);
    for (const r of [...plain, ...gzip, openMetrics, ...pages]) r.release?.();
  });
});

describe('ConnectionLimiter', () => {
  class FakeSocket extends EventEmitter {
    destroyed = false;
    destroy(): void {
      if (this.destroyed) return;
      this.destroyed = true;
      this.emit('close');
    }
  }
  const socket = () => new FakeSocket() as unknown as Socket & FakeSocket;

  it('closes the connection idle the longest to admit a new one, and refuses only when all are busy', () => {
    // Prepare
    const limiter = new ConnectionLimiter(3);
    const [a, b, c] = [socket(), socket(), socket()];
    for (const s of [a, b, c]) limiter.admit(s);
    limiter.requestStarted(a);
    limiter.requestStarted(b);
    limiter.requestEnded(b); // b idle again, after c

    // Act
    const d = socket();
    limiter.admit(d); // full: c has been idle longest (b's request ended after c connected)
    limiter.requestStarted(d);
    limiter.requestStarted(b);
    const e = socket();
    limiter.admit(e); // a, b, d busy: refused
    a.destroy();
    const f = socket();
    limiter.admit(f); // room again

    // Assess
    expect([a.destroyed, b.destroyed, c.destroyed, d.destroyed, e.destroyed, f.destroyed]).toEqual([
      true,
      false,
      true,
      false,
      true,
      false,
    ]);
    expect(limiter.counts).toEqual({ open: 3, refused: 1, evicted: 1 });
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('serve: limits on real sockets', () => {
  let server: RunningServer | undefined;
  const clients: Socket[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.destroy();
    await server?.close();
    server = undefined;
  });

  async function start(app: ExporterApp, limits: Partial<ServerLimits>): Promise<RunningServer> {
    server = await startServer(app, {
      port: 0,
      host: '127.0.0.1',
      logger: new Logger({ level: 'error', write: () => undefined }),
      limits,
    });
    return server;
  }

  /** A raw client; resolves once connected. `closed` resolves when the server (or anyone) closes it. */
  async function open(port: number): Promise<{ socket: Socket; closed: Promise<number> }> {
    const socket = connect(port, '127.0.0.1');
    clients.push(socket);
    socket.on('error', () => undefined);
    const opened = performance.now();
    const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(performance.now() - opened)));
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return { socket, closed };
  }

  const scrape = async (url: string) => {
    const response = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) });
    return { status: response.status, body: await response.text() };
  };

  it('holds at most MAX_CONNECTIONS: idle sockets are closed first, so a scrape still gets in', async () => {
    // Prepare
    const collection = collectionOf(5);
    const running = await start(
      new ExporterApp({ version: '1', collection: async () => collection, token: async () => undefined }),
      { maxConnections: 8 },
    );
    const idle = [];
    for (let i = 0; i < 30; i++) idle.push(await open(running.port));

    // Act
    const scraped = await scrape(running.url);
    await sleep(50);

    // Assess
    expect(scraped.status).toBe(200);
    expect(scraped.body).toMatch(/^unstructured_up 1$/m);
    expect(running.connections().open).toBeLessThanOrEqual(8);
    const stillOpen = idle.filter((c) => !c.socket.destroyed && c.socket.readyState === 'open');
    expect(stillOpen.length).toBeLessThanOrEqual(8);
    expect(running.connections().evicted).toBeGreaterThanOrEqual(22);
  });

  it('refuses new connections only while every one is busy, and serves again as soon as they leave', async () => {
    // Prepare: 4 clients ask for a ~20 MB body (more than loopback's socket buffers take) and never read; the cap is 4.
    const collection = large();
    const running = await start(
      new ExporterApp({ version: '1', collection: async () => collection, token: async () => undefined }),
      { maxConnections: 4, sendTimeoutMs: 60_000 },
    );
    const stalled = [];
    for (let i = 0; i < 4; i++) {
      const c = await open(running.port);
      c.socket.pause(); // never read: the body fills the socket buffers and stays
      c.socket.write('GET /metrics HTTP/1.1\r\nhost: x\r\n\r\n');
      stalled.push(c);
    }
    await pollUntil(
      'the four requests to be in progress',
      async () => (running.connections().open === 4 ? true : undefined),
      5_000,
      20,
    );
    await sleep(200);

    // Act
    const whileStalled = await scrape(running.url).catch((error: unknown) => error);
    for (const c of stalled) c.socket.destroy();
    const started = performance.now();
    const health = async () => (await fetch(`${running.url}/healthz`, { signal: AbortSignal.timeout(1_000) })).status;
    // The deadline is the bound: the server answers again as soon as the stalled clients are gone.
    await pollUntil(
      'the server to answer again',
      async () => ((await health().catch(() => 0)) === 200 ? true : undefined),
      3_000,
      5,
    );
    const recoveredMs = performance.now() - started;
    const after = await scrape(running.url);

    // Assess
    expect(whileStalled).toBeInstanceOf(Error); // the new connection was closed at once
    expect(running.connections().refused).toBeGreaterThanOrEqual(1);
    expect(recoveredMs).toBeLessThan(3_000);
    expect(after.status).toBe(200);
  });

  it('closes a client that does not read its response after the send timeout, and frees the body', async () => {
    // Prepare: a ~20 MB body, more than loopback's socket buffers take.
    const collection = large();
    const app = new ExporterApp({ version: '1', collection: async () => collection, token: async () => undefined });
    const running = await start(app, { sendTimeoutMs: 500 });
    const c = await open(running.port);
    c.socket.pause();

    // Act: the client never reads, so it is the server's side that shows the close.
    const sent = performance.now();
    c.socket.write('GET /metrics HTTP/1.1\r\nhost: x\r\n\r\n');
    await pollUntil(
      'the request to start',
      async () => (running.connections().open === 1 ? true : undefined),
      2_000,
      5,
    );
    await pollUntil(
      'the server to close the connection',
      async () => (running.connections().open === 0 ? true : undefined),
      5_000,
      10,
    );
    const closedAfterMs = performance.now() - sent;

    // Assess
    expect(closedAfterMs).toBeGreaterThanOrEqual(450);
    expect(closedAfterMs).toBeLessThan(3_000);
    // The body was handed back: a new request renders it again into the arena (no live body is left).
    expect((await scrape(running.url)).status).toBe(200);
  });

  it('closes a connection whose request headers do not arrive in time (slow headers), and one that sends nothing', async () => {
    // Prepare
    const collection = collectionOf(1);
    const running = await start(
      new ExporterApp({ version: '1', collection: async () => collection, token: async () => undefined }),
      {
        headersTimeoutMs: 1_000,
        requestTimeoutMs: 1_500,
        keepAliveTimeoutMs: 1_000,
      },
    );
    const slow = await open(running.port);
    const silent = await open(running.port);
    const keptAlive = await open(running.port);
    for (const c of [slow, silent]) c.socket.resume(); // read (and drop) what comes, so the close is seen
    let answers = '';
    keptAlive.socket.on('data', (d: Buffer) => (answers += d.toString()));

    // Act: one header line every 300 ms, forever; nothing at all; one request, then idle.
    const trickle = setInterval(() => slow.socket.write('x-slow: 1\r\n'), 300);
    slow.socket.write('GET /healthz HTTP/1.1\r\n');
    keptAlive.socket.write('GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n');
    const [slowMs, silentMs, idleMs] = await Promise.all([slow.closed, silent.closed, keptAlive.closed]);
    clearInterval(trickle);

    // Assess: each within its timeout plus Node's 1 s check interval.
    expect(slowMs).toBeGreaterThanOrEqual(900);
    expect(slowMs).toBeLessThan(3_500);
    expect(silentMs).toBeLessThan(3_500);
    expect(answers).toMatch(/^HTTP\/1\.1 200/);
    expect(idleMs).toBeLessThan(3_500);
  });

  it('frees the shared body of a client that left before its response was ready', async () => {
    // Prepare: the collection takes 300 ms; the client leaves after 50.
    const collection = collectionOf(50);
    let releases = 0;
    const app = new ExporterApp({
      version: '1',
      collection: async () => {
        await sleep(300);
        return collection;
      },
      token: async () => undefined,
    });
    const handle = app.handle.bind(app);
    app.handle = async (request) => {
      const response = await handle(request);
      const release = response.release;
      return {
        ...response,
        release: () => {
          releases++;
          release?.();
        },
      };
    };
    const running = await start(app, {});
    const c = await open(running.port);

    // Act
    c.socket.write('GET /metrics HTTP/1.1\r\nhost: x\r\n\r\n');
    await sleep(50);
    c.socket.destroy();
    await pollUntil(
      'the abandoned response to be released',
      async () => (releases === 1 ? true : undefined),
      3_000,
      20,
    );

    // Assess
    expect(releases).toBe(1);
    expect(running.connections().open).toBe(0);
  });
});
