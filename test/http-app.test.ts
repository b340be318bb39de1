import http from 'node:http';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { Collection } from '../lib/collection.js';
import { Aggregator } from '../lib/aggregate/aggregator.js';
import { authorized, ExporterApp } from '../lib/outputs/http/app.js';
import { Logger } from '../lib/log.js';
import { startServer } from '../lib/outputs/http/server.js';
import { job, NOW_MS } from './support/jobs.js';

const FAILED: Collection = {
  ok: false,
  errorKind: 'upstream',
  errorMessage: 'HTTP 503',
  durationSeconds: 1,
  finishedAtMs: NOW_MS,
};
const TOKEN = 'metrics-token-0123456789';

function success(): Collection {
  const agg = new Aggregator({
    nowMs: NOW_MS,
    runtimeWindowSeconds: 3600,
    maxWorkflows: 10,
    histogramBuckets: [1, 10],
    quantiles: [0.5],
  });
  for (let i = 0; i < 20; i++) agg.add(job({ workflowId: `wf-${i}` }));
  return { ok: true, snapshot: agg.snapshot(), durationSeconds: 1, finishedAtMs: NOW_MS };
}

function app(options: { token?: string; maxBodyBytes?: number; collection?: Collection } = {}) {
  let calls = 0;
  const instance = new ExporterApp({
    version: '9.9.9',
    collection: async () => {
      calls++;
      return options.collection ?? FAILED;
    },
    token: async () => options.token,
    ...(options.maxBodyBytes !== undefined && { maxBodyBytes: options.maxBodyBytes }),
  });
  return { instance, calls: () => calls };
}

const get = (path: string, headers: Record<string, string> = {}) => ({ method: 'GET', path, headers });

describe('ExporterApp', () => {
  it('serves /metrics without auth when no token is configured', async () => {
    // Act
    const res = await app().instance.handle(get('/metrics'));

    // Assess
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(res.body.toString()).toContain('unstructured_up 0');
  });

  it('answers 401 without the token, with a wrong one, or with another scheme, and never pulls', async () => {
    // Prepare
    const { instance, calls } = app({ token: TOKEN });

    // Act
    const responses = await Promise.all(
      [
        undefined,
        'Bearer wrong',
        `Bearer ${TOKEN}x`,
        `Token ${TOKEN}`,
        'Bearer',
        `Basic ${Buffer.from('u:nope').toString('base64')}`,
      ].map((h) => instance.handle(get('/metrics', h === undefined ? {} : { authorization: h }))),
    );

    // Assess
    expect(responses.map((r) => r.status)).toEqual([401, 401, 401, 401, 401, 401]);
    expect(responses[0]?.headers['www-authenticate']).toContain('Bearer');
    expect(calls()).toBe(0);
    for (const r of responses) expect(r.body.toString()).not.toContain(TOKEN);
  });

  it('accepts the bearer token and basic auth carrying the token as password', async () => {
    // Prepare
    const { instance } = app({ token: TOKEN });

    // Act
    const bearer = await instance.handle(get('/metrics', { authorization: `Bearer ${TOKEN}` }));
    const basic = await instance.handle(
      get('/', { authorization: `Basic ${Buffer.from(`prometheus:${TOKEN}`).toString('base64')}` }),
    );

    // Assess
    expect(bearer.status).toBe(200);
    expect(basic.status).toBe(200);
    expect(basic.headers['content-type']).toContain('text/html');
  });

  it('keeps /healthz open and cheap: no auth, no pull', async () => {
    // Prepare
    const { instance, calls } = app({ token: TOKEN });

    // Act
    const res = await instance.handle(get('/healthz'));

    // Assess
    expect(res.status).toBe(200);
    expect(calls()).toBe(0);
  });

  it('negotiates OpenMetrics and gzip like Prometheus asks', async () => {
    // Prepare: the Accept header Prometheus 2.42 sends
    const headers = {
      accept:
        'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1',
      'accept-encoding': 'gzip',
    };

    // Act
    const res = await app({ collection: success() }).instance.handle(get('/metrics', headers));

    // Assess
    expect(res.headers['content-type']).toContain('application/openmetrics-text');
    expect(res.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(res.body).toString()).toMatch(/unstructured_up 1\n[\s\S]*workflow_id="other"[\s\S]*# EOF\n$/);
  });

  it('does not gzip when the client refuses it', async () => {
    // Act
    const res = await app({ collection: success() }).instance.handle(
      get('/metrics', { 'accept-encoding': 'gzip;q=0, identity' }),
    );

    // Assess
    expect(res.headers['content-encoding']).toBeUndefined();
  });

  it('refuses a body over the transport limit with a message saying what to change', async () => {
    // Act
    const res = await app({ maxBodyBytes: 100 }).instance.handle(get('/metrics'));

    // Assess
    expect(res.status).toBe(500);
    expect(res.body.toString()).toContain('MAX_WORKFLOWS');
  });

  it('answers 404 and 405 for what it does not serve', async () => {
    // Act
    const missing = await app().instance.handle(get('/nope'));
    const post = await app().instance.handle({ method: 'POST', path: '/metrics', headers: {} });

    // Assess
    expect(missing.status).toBe(404);
    expect(post.status).toBe(405);
  });
});

describe('authorized', () => {
  it('is exact: prefixes, suffixes and case changes of the token fail', () => {
    // Act / Assess
    expect(authorized(`Bearer ${TOKEN}`, TOKEN)).toBe(true);
    expect(authorized(`bearer ${TOKEN}`, TOKEN)).toBe(true); // the scheme is case-insensitive (RFC 7235)
    expect(authorized(`Bearer ${TOKEN.slice(0, -1)}`, TOKEN)).toBe(false);
    expect(authorized(`Bearer ${TOKEN.toUpperCase()}`, TOKEN)).toBe(false);
    expect(authorized(`Bearer ${TOKEN} extra`, TOKEN)).toBe(false);
  });
});

describe('startServer', () => {
  /** A GET whose reader pauses `pauseMs` after the first chunk; resolved once those first bytes arrived (the server has rendered this body and is sending it). */
  const slowGetStarted = (url: string, pauseMs: number) =>
    new Promise<{ body: Promise<Buffer> }>((started, reject) => {
      http
        .get(url, (res) => {
          const chunks: Buffer[] = [];
          let paused = false;
          const body = new Promise<Buffer>((resolve, fail) => {
            res.on('end', () => resolve(Buffer.concat(chunks)));
            res.on('error', fail);
          });
          res.on('data', (chunk: Buffer) => {
            chunks.push(chunk);
            if (!paused) {
              paused = true;
              res.pause();
              setTimeout(() => res.resume(), pauseMs);
              started({ body });
            }
          });
        })
        .on('error', reject);
    });

  const slowGet = async (url: string, pauseMs: number) => (await slowGetStarted(url, pauseMs)).body;

  it('sends every overlapping scrape its whole exposition: output memory is reused only once a body is sent', async () => {
    // Prepare: two multi-MB expositions (more than a socket takes at once), served in turn, and readers that
    // stall mid-body while other scrapes render (and release) into the memory the renderer reuses
    const big = (variant: string): Collection => {
      const agg = new Aggregator({
        nowMs: NOW_MS,
        runtimeWindowSeconds: 3600,
        maxWorkflows: 6000,
        histogramBuckets: [1, 10, 100],
        quantiles: [0.5, 0.99],
      });
      for (let i = 0; i < 6000; i++)
        agg.add(
          job({
            id: `j${i}`,
            workflowId: `wf-${variant}-${i}`,
            workflowName: `workflow ${variant} ${i} ${'x'.repeat(40)}`,
          }),
        );
      return { ok: true, snapshot: agg.snapshot(), durationSeconds: 1, finishedAtMs: NOW_MS };
    };
    const slowOne = big('slow');
    const fastOne = big('fast');
    let calls = 0;
    const instance = new ExporterApp({
      version: '9.9.9',
      collection: async () => (calls++ < 2 ? slowOne : fastOne),
      token: async () => undefined,
    });
    const expected = async (c: Collection) =>
      (
        await new ExporterApp({ version: '9.9.9', collection: async () => c, token: async () => undefined }).handle(
          get('/metrics'),
        )
      ).body.toString('utf8');
    const expectedSlow = await expected(slowOne);
    const expectedFast = await expected(fastOne);
    const server = await startServer(instance, {
      port: 0,
      host: '127.0.0.1',
      logger: new Logger({ level: 'error', write: () => undefined }),
    });
    try {
      // Act
      const slow = [
        await slowGetStarted(`${server.url}/metrics`, 500),
        await slowGetStarted(`${server.url}/metrics`, 700),
      ];
      const fast: Promise<Buffer>[] = [];
      for (let i = 0; i < 6; i++) fast.push(slowGet(`${server.url}/metrics`, 0));
      const [slowBodies, fastBodies] = [await Promise.all(slow.map((s) => s.body)), await Promise.all(fast)];

      // Assess
      expect(expectedSlow.length).toBeGreaterThan(5_000_000);
      for (const body of slowBodies) expect(body.toString('utf8') === expectedSlow).toBe(true);
      for (const body of fastBodies) expect(body.toString('utf8') === expectedFast).toBe(true);
    } finally {
      await server.close();
    }
  });
});
