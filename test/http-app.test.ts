import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { Collection } from '../lib/collection.js';
import { Aggregator } from '../lib/aggregate.js';
import { authorized, ExporterApp } from '../lib/http-app.js';
import { job, NOW_MS } from './support/jobs.js';

const FAILED: Collection = { ok: false, errorKind: 'upstream', errorMessage: 'HTTP 503', durationSeconds: 1, finishedAtMs: NOW_MS };
const TOKEN = 'metrics-token-0123456789';

function success(): Collection {
  const agg = new Aggregator({ nowMs: NOW_MS, runtimeWindowSeconds: 3600, maxWorkflows: 10, histogramBuckets: [1, 10], quantiles: [0.5] });
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
      [undefined, 'Bearer wrong', `Bearer ${TOKEN}x`, `Token ${TOKEN}`, 'Bearer', `Basic ${Buffer.from('u:nope').toString('base64')}`].map((h) =>
        instance.handle(get('/metrics', h === undefined ? {} : { authorization: h })),
      ),
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
    const basic = await instance.handle(get('/', { authorization: `Basic ${Buffer.from(`prometheus:${TOKEN}`).toString('base64')}` }));

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
      accept: 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1',
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
    const res = await app({ collection: success() }).instance.handle(get('/metrics', { 'accept-encoding': 'gzip;q=0, identity' }));

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
