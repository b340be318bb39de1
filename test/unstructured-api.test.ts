import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { normalizeApiUrl } from '../lib/config.js';
import { loadMinorGc, NUDGE_EVERY_BYTES } from '../lib/pull/gc-nudge.js';
import { JsonArrayStream, type JsonStreamError } from '../lib/pull/json-stream.js';
import { PULL_ERROR_KINDS, PullError } from '../lib/pull/pull-error.js';
import { pullJobs, type PullOptions, type PullStats } from '../lib/pull/unstructured-api.js';
import {
  errorScenario,
  INVALID_KEY_DETAIL,
  MISSING_KEY_DETAIL,
  SAMPLE_WORKFLOWS,
  sampleJobs,
  startFakeApi,
  type FakeApi,
} from './support/fake-api.js';
import { freePort } from './support/ports.js';

type PullConfig = Parameters<typeof pullJobs>[0];

const BASE = {
  workflowIds: [] as string[],
  requestTimeoutMs: 2_000,
  pullDeadlineMs: 10_000,
  maxRetries: 3,
  maxResponseBytes: 1024 ** 3,
};
const FIXED_NOW = Date.parse('2026-11-29T12:00:00Z');

let api: FakeApi;
beforeEach(async () => {
  api = await startFakeApi({ jobs: sampleJobs() });
});
afterEach(async () => {
  await api.close();
});

function config(overrides: Partial<PullConfig> = {}): PullConfig {
  return { apiUrl: api.url, ...BASE, ...overrides };
}

/** A sleep that records the requested waits and returns at once. */
function recordingSleep(): { delays: number[]; sleep: (ms: number) => Promise<void> } {
  const delays: number[] = [];
  return { delays, sleep: async (ms) => void delays.push(ms) };
}

async function pull(
  cfg: PullConfig,
  options: Partial<PullOptions> = {},
): Promise<{ records: unknown[]; stats: PullStats }> {
  const records: unknown[] = [];
  const stats = await pullJobs(cfg, (r) => records.push(r), { apiKey: api.apiKey, random: () => 0.5, ...options });
  return { records, stats };
}

async function pullError(cfg: PullConfig, options: Partial<PullOptions> = {}): Promise<PullError> {
  try {
    await pull(cfg, options);
  } catch (error) {
    if (error instanceof PullError) return error;
    throw error;
  }
  throw new Error('expected the pull to fail, it succeeded');
}

function expectOneLineWithoutKey(error: PullError): void {
  expect(error.message).not.toMatch(/[\r\n]/);
  expect(error.message).not.toContain(api.apiKey);
  expect(PULL_ERROR_KINDS).toContain(error.kind);
}

describe('pullJobs: success', () => {
  it('streams every record and sends the key, accept, encoding and user-agent headers', async () => {
    // Prepare
    const expected = sampleJobs();

    // Act
    const { records, stats } = await pull(config(), { version: '1.2.3' });

    // Assess
    expect(records).toEqual(expected);
    expect(stats).toEqual({
      attempts: 1,
      bytes: Buffer.byteLength(JSON.stringify(expected)),
      elements: 20,
      statusCode: 200,
    });
    expect(api.requests).toHaveLength(1);
    const [request] = api.requests;
    expect(request?.path).toBe('/api/v1/jobs/');
    expect(request?.query).toEqual({});
    expect(request?.headers['unstructured-api-key']).toBe(api.apiKey);
    expect(request?.headers.accept).toBe('application/json');
    expect(request?.headers['accept-encoding']).toBe('gzip, deflate');
    expect(request?.headers['user-agent']).toBe('unstructured-jobs-exporter/1.2.3');
  });

  it('accepts a base URL given with /api/v1 (normalized by config, or raw)', async () => {
    // Prepare
    const normalized = config({ apiUrl: normalizeApiUrl(`${api.url}/api/v1/`) });
    const raw = config({ apiUrl: `${api.url}/api/v1` });

    // Act
    const a = await pull(normalized);
    const b = await pull(raw);

    // Assess
    expect(a.stats.elements).toBe(20);
    expect(b.stats.elements).toBe(20);
    expect(api.requests.map((r) => r.path)).toEqual(['/api/v1/jobs/', '/api/v1/jobs/']);
  });

  it('makes one request per workflow id, in order, and sums the statistics', async () => {
    // Prepare
    const ids = [SAMPLE_WORKFLOWS.sharedA.id, SAMPLE_WORKFLOWS.quotes.id];
    const expected = ids.flatMap((id) => sampleJobs().filter((j) => j.workflow_id === id));

    // Act
    const { records, stats } = await pull(config({ workflowIds: ids }));

    // Assess
    expect(api.requests.map((r) => r.query)).toEqual(ids.map((id) => ({ workflow_id: id })));
    expect(records).toEqual(expected);
    expect(stats.elements).toBe(6); // 1 + 4 valid + the record without id
    expect(stats.attempts).toBe(2);
    expect(stats.bytes).toBe(
      ids.reduce(
        (sum, id) => sum + Buffer.byteLength(JSON.stringify(sampleJobs().filter((j) => j.workflow_id === id))),
        0,
      ),
    );
  });

  it('encodes the workflow id in the query', async () => {
    // Prepare
    const id = 'a&b c/ü';

    // Act
    await pull(config({ workflowIds: [id] }));

    // Assess
    expect(api.requests[0]?.query).toEqual({ workflow_id: id });
  });

  it.each(['gzip', 'deflate'] as const)('decompresses a %s body', async (encoding) => {
    // Prepare
    api.setScenario({ kind: 'compressed', encoding });

    // Act
    const { records, stats } = await pull(config());

    // Assess
    expect(records).toEqual(sampleJobs());
    expect(stats.bytes).toBe(Buffer.byteLength(JSON.stringify(sampleJobs())));
  });

  it('accepts a +json content type with parameters', async () => {
    // Prepare
    api.setScenario({
      kind: 'raw',
      status: 200,
      contentType: 'application/vnd.unstructured+json; charset=utf-8',
      body: '[{"a":1}]',
    });

    // Act
    const { records } = await pull(config());

    // Assess
    expect(records).toEqual([{ a: 1 }]);
  });
});

describe('pullJobs: error statuses', () => {
  it.each([
    { status: 401, kind: 'auth', detail: MISSING_KEY_DETAIL },
    { status: 403, kind: 'auth', detail: 'Not authorized to list jobs of this organization' },
    { status: 404, kind: 'not_found', detail: 'Not Found' },
    { status: 400, kind: 'invalid_request', detail: 'HTTP 400' },
    {
      status: 422,
      kind: 'invalid_request',
      detail:
        'query.workflow_id: Input should be a valid UUID, invalid character: expected an optional prefix of `urn:uuid:` followed by [0-9a-fA-F-], found `x` at 1; query.status: Input should be a valid string',
    },
  ])('$status is $kind, not retried, and the message names the status and detail', async ({ status, kind, detail }) => {
    // Prepare
    api.setScenario([errorScenario(status), errorScenario(status)]);
    const { delays, sleep } = recordingSleep();

    // Act
    const error = await pullError(config(), { sleep });

    // Assess
    expect(error.kind).toBe(kind);
    expect(error.status).toBe(status);
    expect(error.attempts).toBe(1);
    expect(error.detail).toBe(detail);
    expect(error.message).toBe(`HTTP ${status} from GET ${api.url}/api/v1/jobs/: ${detail}`);
    expect(api.requests).toHaveLength(1);
    expect(delays).toEqual([]);
    expectOneLineWithoutKey(error);
  });

  it('reports a wrong key as auth with the API detail', async () => {
    // Act
    const error = await pullError(config(), { apiKey: 'wrong-key-1234' });

    // Assess
    expect(error.kind).toBe('auth');
    expect(error.message).toContain(INVALID_KEY_DETAIL);
    expect(error.message).not.toContain('wrong-key-1234');
  });

  it('never puts the API key in the message, even when the server echoes it', async () => {
    // Prepare
    api.setScenario({ kind: 'status', status: 401, body: { detail: `API key ${api.apiKey} is not valid for\norg 7` } });

    // Act
    const error = await pullError(config());

    // Assess
    expect(error.message).toContain('API key [redacted] is not valid for org 7');
    expect(error.detail).not.toContain(api.apiKey);
    expectOneLineWithoutKey(error);
  });

  it('sends nothing when the key is empty or not a valid header value', async () => {
    // Act
    const empty = await pullError(config(), { apiKey: '' });
    const newline = await pullError(config(), { apiKey: 'abc\ndef' });

    // Assess
    expect([empty.kind, empty.attempts]).toEqual(['auth', 0]);
    expect([newline.kind, newline.attempts]).toEqual(['auth', 0]);
    expect(newline.message).not.toContain('abc');
    expect(api.requests).toHaveLength(0);
  });

  it.each([429, 500, 502, 503, 504])('%s is retried with jittered backoff, then succeeds', async (status) => {
    // Prepare
    api.setScenario(errorScenario(status));
    const { delays, sleep } = recordingSleep();

    // Act
    const { records, stats } = await pull(config(), { sleep });

    // Assess
    expect(stats.attempts).toBe(2);
    expect(records).toEqual(sampleJobs());
    expect(delays).toEqual([250]); // random 0.5 × 500 ms
    expect(api.requests).toHaveLength(2);
  });

  it('gives up after maxRetries with the last status, detail and attempt count', async () => {
    // Prepare
    api.setScenario([503, 503, 503, 503, 503].map((s) => errorScenario(s)));
    const { delays, sleep } = recordingSleep();

    // Act
    const error = await pullError(config({ maxRetries: 3 }), { sleep });

    // Assess
    expect(error.kind).toBe('upstream');
    expect(error.status).toBe(503);
    expect(error.attempts).toBe(4);
    expect(error.message).toBe(
      `HTTP 503 from GET ${api.url}/api/v1/jobs/: Service Unavailable; gave up after 4 attempts`,
    );
    expect(delays).toEqual([250, 500, 1000]);
    expect(api.requests).toHaveLength(4);
  });

  it('caps the backoff window at 8 s', async () => {
    // Prepare
    api.setScenario(Array.from({ length: 7 }, () => errorScenario(500)));
    const { delays, sleep } = recordingSleep();

    // Act
    await pullError(config({ maxRetries: 6, pullDeadlineMs: 60_000 }), { sleep, random: () => 0.999 });

    // Assess
    expect(delays).toEqual([499, 999, 1998, 3996, 7992, 7992]);
  });

  it('reads the text of an HTML 502 page and a huge error body only up to a bounded detail', async () => {
    // Prepare
    api.setScenario([
      errorScenario(502),
      { kind: 'status', status: 500, contentType: 'text/plain', body: 'boom '.repeat(200_000) },
    ]);

    // Act
    const html = await pullError(config({ maxRetries: 0 }));
    const huge = await pullError(config({ maxRetries: 0 }));

    // Assess
    expect(html.detail).toBe('502 Bad Gateway 502 Bad Gateway');
    expect(huge.detail).toHaveLength(300);
    expect(huge.detail?.endsWith('…')).toBe(true);
    expect(huge.message.length).toBeLessThan(450);
  });

  it('does not follow redirects', async () => {
    // Prepare
    api.setScenario({
      kind: 'status',
      status: 301,
      body: '',
      headers: { location: 'https://elsewhere.example/api/v1/jobs/' },
    });

    // Act
    const error = await pullError(config());

    // Assess
    expect(error.kind).toBe('invalid_response');
    expect(error.message).toContain('redirect to https://elsewhere.example/api/v1/jobs/, not followed');
    expect(error.attempts).toBe(1);
  });
});

describe('pullJobs: Retry-After and the deadline', () => {
  it('waits the Retry-After seconds instead of the backoff', async () => {
    // Prepare
    api.setScenario(errorScenario(429, { 'retry-after': '3' }));
    const { delays, sleep } = recordingSleep();

    // Act
    const { stats } = await pull(config(), { sleep });

    // Assess
    expect(delays).toEqual([3_000]);
    expect(stats.attempts).toBe(2);
  });

  it('honours a Retry-After HTTP-date', async () => {
    // Prepare
    api.setScenario(errorScenario(503, { 'retry-after': new Date(FIXED_NOW + 5_000).toUTCString() }));
    const { delays, sleep } = recordingSleep();

    // Act
    await pull(config(), { sleep, now: () => FIXED_NOW });

    // Assess
    expect(delays).toEqual([5_000]);
  });

  it('fails at once with rate_limited when Retry-After is beyond the deadline', async () => {
    // Prepare
    api.setScenario(errorScenario(429, { 'retry-after': '120' }));
    const { delays, sleep } = recordingSleep();

    // Act
    const error = await pullError(config({ pullDeadlineMs: 10_000 }), { sleep, now: () => FIXED_NOW });

    // Assess
    expect(error.kind).toBe('rate_limited');
    expect(error.attempts).toBe(1);
    expect(error.message).toContain(
      'Retry-After asks to wait 120 s but only 10000 ms remain of the 10000 ms pull deadline',
    );
    expect(delays).toEqual([]);
  });

  it('does not start a backoff wait that would pass the deadline', async () => {
    // Prepare: a clock that only the waits move
    api.setScenario([500, 500, 500].map((s) => errorScenario(s)));
    let clock = FIXED_NOW;
    const delays: number[] = [];
    const sleep = async (ms: number) => {
      delays.push(ms);
      clock += ms;
    };

    // Act
    const error = await pullError(config({ pullDeadlineMs: 1_000 }), { sleep, now: () => clock, random: () => 0.999 });

    // Assess: waited 499 ms; the next wait (999 ms) would pass the 501 ms left
    expect(delays).toEqual([499]);
    expect(error.kind).toBe('upstream');
    expect(error.attempts).toBe(2);
    expect(error.message).toContain('the next retry (in 999 ms) would pass the 1000 ms pull deadline');
  });

  it('retries when the headers do not come within the request timeout', async () => {
    // Prepare
    api.setScenario({ kind: 'stall-headers' });
    const { sleep } = recordingSleep();

    // Act
    const { records, stats } = await pull(config({ requestTimeoutMs: 200 }), { sleep });

    // Assess
    expect(stats.attempts).toBe(2);
    expect(records).toEqual(sampleJobs());
  });

  it('fails with timeout once every attempt timed out', async () => {
    // Prepare
    api.setScenario([{ kind: 'stall-headers' }, { kind: 'stall-headers' }]);
    const { sleep } = recordingSleep();
    const started = Date.now();

    // Act
    const error = await pullError(config({ requestTimeoutMs: 200, maxRetries: 1 }), { sleep });

    // Assess
    expect(error.kind).toBe('timeout');
    expect(error.attempts).toBe(2);
    expect(error.message).toBe(
      `no response headers within 200 ms from GET ${api.url}/api/v1/jobs/; gave up after 2 attempts`,
    );
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('stops a stalled request at the pull deadline', async () => {
    // Prepare
    api.setScenario({ kind: 'stall-headers' });
    const started = Date.now();

    // Act
    const error = await pullError(config({ requestTimeoutMs: 10_000, pullDeadlineMs: 300 }));

    // Assess
    const elapsed = Date.now() - started;
    expect(error.kind).toBe('timeout');
    expect(error.message).toContain('pull deadline of 300 ms exceeded waiting for the response');
    expect(elapsed).toBeGreaterThanOrEqual(280);
    expect(elapsed).toBeLessThan(1_500);
  });

  it('bounds a slow trickle by the deadline even though it never idles', async () => {
    // Prepare: ~5 KB at 20 bytes every 20 ms would take ~5 s
    api.setScenario({ kind: 'trickle', intervalMs: 20, bytesPerTick: 20 });
    const started = Date.now();

    // Act
    const error = await pullError(config({ requestTimeoutMs: 200, pullDeadlineMs: 600 }));

    // Assess
    const elapsed = Date.now() - started;
    expect(error.kind).toBe('timeout');
    expect(error.message).toMatch(/pull deadline of 600 ms exceeded after \d+ bytes of the response body/);
    expect(error.attempts).toBe(1);
    expect(elapsed).toBeLessThan(1_500);
  });

  it('does not retry a body that stalls mid-way (records were already delivered)', async () => {
    // Prepare
    api.setScenario({ kind: 'stall-body', afterBytes: 2_000 });
    const records: unknown[] = [];

    // Act
    const result = await pullJobs(config({ requestTimeoutMs: 200, maxRetries: 3 }), (r) => records.push(r), {
      apiKey: api.apiKey,
    }).catch((error: unknown) => error);

    // Assess
    expect(result).toBeInstanceOf(PullError);
    const error = result as PullError;
    expect(error.kind).toBe('timeout');
    expect(error.message).toContain('response body stalled: no data for 200 ms after 2000 bytes');
    expect(error.attempts).toBe(1);
    expect(api.requests).toHaveLength(1);
    expect(records.length).toBeGreaterThan(0); // partial delivery happened: the caller must discard it
  });

  it('aborts on the signal, also during a backoff wait', async () => {
    // Prepare
    api.setScenario([{ kind: 'stall-headers' }, errorScenario(503)]);
    const first = new AbortController();
    const second = new AbortController();
    setTimeout(() => first.abort(new Error('shutting down')), 100);
    const started = Date.now();

    // Act
    const whileWaiting = await pullError(config(), { signal: first.signal });
    setTimeout(() => second.abort(), 100);
    const whileSleeping = await pullError(config(), { signal: second.signal, random: () => 0.99 }); // would wait 495 ms

    // Assess
    expect([whileWaiting.kind, whileWaiting.message]).toEqual(['timeout', 'pull aborted: shutting down']);
    expect(whileSleeping.kind).toBe('timeout');
    expect(whileSleeping.message).toMatch(/^pull aborted/);
    expect(whileSleeping.attempts).toBe(1);
    expect(Date.now() - started).toBeLessThan(450);
  });
});

describe('pullJobs: broken bodies and connections', () => {
  it('fails a truncated body (content-length not reached) without retrying or succeeding', async () => {
    // Prepare
    const size = Buffer.byteLength(JSON.stringify(sampleJobs()));
    api.setScenario({ kind: 'truncate', afterBytes: Math.floor(size / 2) });

    // Act
    const error = await pullError(config({ maxRetries: 3 }));

    // Assess
    expect(error.kind).toBe('network');
    expect(error.message).toMatch(/^connection lost after \d+ bytes of the response body/);
    expect(error.attempts).toBe(1);
    expect(api.requests).toHaveLength(1);
  });

  it('reports invalid JSON as invalid_response with the parser message, not retried', async () => {
    // Prepare
    const body = '[{"id":"a"},{"id":}]';
    api.setScenario({ kind: 'raw', status: 200, contentType: 'application/json', body });
    let parserMessage = '';
    try {
      new JsonArrayStream(() => undefined).write(Buffer.from(body));
    } catch (error) {
      parserMessage = (error as JsonStreamError).message;
    }

    // Act
    const error = await pullError(config());

    // Assess
    expect(parserMessage).not.toBe('');
    expect(error.kind).toBe('invalid_response');
    expect(error.message).toContain(parserMessage);
    expect(error.attempts).toBe(1);
  });

  it('holds the young generation for the whole pull and releases it once, after success and after failure', async () => {
    // Prepare
    const events: string[] = [];
    const hold = () => {
      events.push('hold');
      return () => void events.push('release');
    };

    // Act
    await pullJobs(config(), () => void events.push('record'), { apiKey: api.apiKey, holdYoungGeneration: hold });
    api.setScenario({ kind: 'raw', status: 200, contentType: 'application/json', body: '[{"id":}]' });
    const error = await pullError(config(), { holdYoungGeneration: hold });

    // Assess
    expect(error.kind).toBe('invalid_response');
    expect(events).toEqual(['hold', ...sampleJobs().map(() => 'record'), 'release', 'hold', 'release']);
  });

  it('reports a 200 error object with its detail', async () => {
    // Prepare
    api.setScenario({
      kind: 'raw',
      status: 200,
      contentType: 'application/json',
      body: '{"detail": "Workspace is being migrated"}',
    });

    // Act
    const error = await pullError(config());

    // Assess
    expect(error.kind).toBe('invalid_response');
    expect(error.message).toContain('not an array');
    expect(error.message).toContain('Workspace is being migrated');
    expect(error.attempts).toBe(1);
  });

  it('reports an empty 200 body as invalid_response, never as zero jobs', async () => {
    // Prepare
    api.setScenario({ kind: 'raw', status: 200, contentType: 'application/json', body: '' });

    // Act
    const error = await pullError(config());

    // Assess
    expect(error.kind).toBe('invalid_response');
  });

  it('rejects a 2xx that is not JSON (a login page)', async () => {
    // Prepare
    api.setScenario({
      kind: 'raw',
      status: 200,
      contentType: 'text/html; charset=utf-8',
      body: '<html><body>Sign in</body></html>',
    });

    // Act
    const error = await pullError(config());

    // Assess
    expect(error.kind).toBe('invalid_response');
    expect(error.message).toBe(
      `HTTP 200 from GET ${api.url}/api/v1/jobs/ with content-type text/html, expected application/json`,
    );
    expect(error.attempts).toBe(1);
  });

  it('retries a connection reset before the body and delivers the records once', async () => {
    // Prepare
    api.setScenario([{ kind: 'reset' }, { kind: 'reset' }]);
    const { delays, sleep } = recordingSleep();

    // Act
    const { records, stats } = await pull(config(), { sleep });

    // Assess
    expect(stats.attempts).toBe(3);
    expect(records).toEqual(sampleJobs());
    expect(delays).toEqual([250, 500]);
  });

  it('fails with network after maxRetries when the connection is refused', async () => {
    // Prepare
    const port = await freePort();
    const { delays, sleep } = recordingSleep();

    // Act
    const error = await pullError(config({ apiUrl: `http://127.0.0.1:${port}`, maxRetries: 2 }), { sleep });

    // Assess
    expect(error.kind).toBe('network');
    expect(error.attempts).toBe(3);
    expect(error.message).toContain('ECONNREFUSED');
    expect(error.message).toMatch(/gave up after 3 attempts$/);
    expect(delays).toHaveLength(2);
  });

  it('passes an error thrown by onRecord through unchanged, without retrying', async () => {
    // Prepare
    const thrown = new Error('sink full');

    // Act
    const result = await pullJobs(
      config(),
      () => {
        throw thrown;
      },
      { apiKey: api.apiKey },
    ).catch((error: unknown) => error);

    // Assess
    expect(result).toBe(thrown);
    expect(api.requests).toHaveLength(1);
  });
});

describe('pullJobs: MAX_RESPONSE_BYTES and oversized elements', () => {
  const bodyBytes = () => Buffer.byteLength(JSON.stringify(sampleJobs()));

  it('reads a body of exactly maxResponseBytes, and fails one byte more as too_large, not retried', async () => {
    // Act
    const exact = await pull(config({ maxResponseBytes: bodyBytes() }));
    const over = await pull(config({ maxResponseBytes: bodyBytes() - 1 })).catch((e: unknown) => e);

    // Assess
    expect(exact.stats.bytes).toBe(bodyBytes());
    expect(over).toBeInstanceOf(PullError);
    expect((over as PullError).kind).toBe('too_large');
    expect((over as PullError).message).toBe(
      `the response body passed MAX_RESPONSE_BYTES (${bodyBytes() - 1} bytes) at GET ${api.url}/api/v1/jobs/; nothing of it is used`,
    );
    expect((over as PullError).attempts).toBe(1);
    expect(api.requests).toHaveLength(2);
  });

  it('counts the bytes after decompression: a gzip body small on the wire is still too large', async () => {
    // Prepare
    api.setScenario({ kind: 'compressed', encoding: 'gzip' });

    // Act
    const error = await pull(config({ maxResponseBytes: bodyBytes() - 1 })).catch((e: unknown) => e);

    // Assess
    expect((error as PullError).kind).toBe('too_large');
  });

  it('counts every request of the pull together (WORKFLOW_IDS)', async () => {
    // Prepare: two workflows whose bodies each fit, but not both.
    const ids = [SAMPLE_WORKFLOWS.sharedA.id, SAMPLE_WORKFLOWS.quotes.id];
    const sizes = ids.map((id) => Buffer.byteLength(JSON.stringify(sampleJobs().filter((j) => j.workflow_id === id))));

    // Act
    const error = await pull(config({ workflowIds: ids, maxResponseBytes: Math.max(...sizes) + 1 })).catch(
      (e: unknown) => e,
    );

    // Assess
    expect((error as PullError).kind).toBe('too_large');
    expect((error as PullError).message).toContain('the response bodies of the pull passed MAX_RESPONSE_BYTES');
    expect(api.requests).toHaveLength(2);
  });

  it('passes over an element over the element limit and goes on, when asked to', async () => {
    // Prepare: a 17 MiB record between two sample records.
    const [first, second] = sampleJobs();
    api.setJobs([first as object, { id: 'huge', blob: 'x'.repeat(17 * 1024 * 1024) }, second as object]);
    let oversized = 0;

    // Act
    const { records, stats } = await pull(config({ pullDeadlineMs: 30_000 }), { onOversizedRecord: () => oversized++ });
    const failure = await pull(config({ pullDeadlineMs: 30_000 })).catch((e: unknown) => e);

    // Assess: the two records, one element passed over; without the callback the pull fails as before.
    expect(records).toEqual([first, second]);
    expect(oversized).toBe(1);
    expect(stats.elements).toBe(3);
    expect((failure as PullError).kind).toBe('invalid_response');
    expect((failure as PullError).message).toContain('exceeds the limit of 16777216 bytes');
  });
});

describe('pullJobs: a large list', () => {
  const RECORDS = 250_000;
  const INPUT_IDS = Array.from({ length: 4 }, (_, i) => `9b2d6f4e-1c3a-4e5b-8d7f-0a1b2c3d4e5${i}`);

  function* bigList(): Iterable<object> {
    for (let i = 0; i < RECORDS; i++) {
      yield {
        id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
        workflow_id: '6b1f0c52-3f7e-4d3a-9a51-1f0c2e6d9a01',
        workflow_name: 'Bulk ingestion workflow',
        status: i % 10 === 0 ? 'FAILED' : 'COMPLETED',
        created_at: '2026-11-29T11:00:00.123456Z',
        runtime: 'PT2M30.456S',
        input_file_ids: INPUT_IDS,
        output_node_files: [
          {
            node_id: 'n1a2b3c4-5d6e-7f8a-9b0c-1d2e3f4a5b6c',
            file_id: `output-${i}.json`,
            node_type: 'destination',
            node_subtype: 's3',
          },
        ],
        job_type: 'ephemeral',
      };
    }
  }

  it('streams 250k records (140+ MB) with memory growth far below the body size, nudging a collection every 4 MiB', {
    timeout: 60_000,
  }, async () => {
    // Prepare
    api.setJobs(bigList);
    const minorGc = await loadMinorGc();
    let nudges = 0;
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    // Buffers live outside the JS heap: count them too, so buffering the body as chunks would show.
    const used = () => {
      const m = process.memoryUsage();
      return m.heapUsed + m.arrayBuffers;
    };
    const baseline = used();
    let peak = baseline;
    let seen = 0;
    let failed = 0;

    // Act
    const stats = await pullJobs(
      // Server and client share this process (and two cores with the rest of the suite): allow long idle gaps.
      config({ pullDeadlineMs: 50_000, requestTimeoutMs: 20_000 }),
      (raw) => {
        if ((raw as { status: string }).status === 'FAILED') failed++;
        if (++seen % 2_000 === 0) peak = Math.max(peak, used());
      },
      {
        apiKey: api.apiKey,
        minorGc: () => {
          nudges++;
          minorGc();
        },
      },
    );

    // Assess
    const growthMb = (peak - baseline) / 1e6;
    const bodyMb = stats.bytes / 1e6;
    console.info(
      `large list: ${stats.elements} records, ${bodyMb.toFixed(1)} MB body, peak heap+buffer growth ${growthMb.toFixed(1)} MB`,
    );
    expect(stats.elements).toBe(RECORDS);
    expect(failed).toBe(RECORDS / 10);
    expect(bodyMb).toBeGreaterThan(140);
    expect(growthMb).toBeLessThan(60); // measured ~30 MB (GC slack); buffering would need > 140 MB
    expect(nudges).toBe(Math.floor(stats.bytes / NUDGE_EVERY_BYTES));
  });
});
