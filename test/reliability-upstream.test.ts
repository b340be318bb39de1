/**
 * Reliability, upstream faults: every way the Unstructured API can fail, served by the fake API and driven
 * END TO END through the real exporter — `createExporter(...).app.handle('/metrics')` (the local server's and
 * the function URL's shared app), the metrics Lambda handler, the scheduled collect Lambda handler (with a
 * capturing CloudWatch client) and `renderDatums`.
 *
 * For each fault the contract is: retried within the pull deadline (requests counted at the fake) or one clear
 * error; a failure reads `unstructured_up 0` + `unstructured_collect_error{kind}` and NO job series, and
 * `CollectorUp 0` with no job datums; nothing throws out of the app or the handlers.
 *
 * Each case's outcome is written to test/.artifacts/reliability-upstream.json (scripts/reliability-report.mjs).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { MetricDatum } from '@aws-sdk/client-cloudwatch';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, ScheduledEvent } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { renderDatums, validateDatum } from '../lib/outputs/cloudwatch/datums.js';
import type { Collection } from '../lib/collection.js';
import { createExporter } from '../lib/exporter.js';
import { Logger } from '../lib/log.js';
import { KNOWN_STATUSES, SKIP_REASONS, type SkipReason } from '../lib/vocabulary.js';
import { escapeHtml } from '../lib/outputs/status-page.js';
import {
  errorScenario,
  FAKE_API_KEY,
  SAMPLE_EXPECTED,
  SAMPLE_NOW_MS,
  SAMPLE_WORKFLOWS,
  sampleJobs,
  startFakeApi,
  type FakeApi,
  type JobsSource,
  type Scenario,
} from './support/fake-api.js';
import { parseExposition, type Sample } from './support/exposition.js';
import { promtoolCheckMetrics } from './support/promtool.js';

// ---------------------------------------------------------------------------------------------------------
// Settings: small timeouts so every fault resolves within a few seconds.

// Generous enough that a loaded 2-core CI machine does not turn a healthy answer into a timeout (and a retry).
const REQUEST_TIMEOUT_MS = 1_000;
const PULL_DEADLINE_MS = 6_000;
const MAX_RETRIES = 2;
/** Slack over the deadline for the time a failed pull may take (event loop, loopback, 3 pulls in parallel). */
const GIVE_UP_SLACK_MS = 1_000;
const FAULT_ENV = {
  REQUEST_TIMEOUT: `${REQUEST_TIMEOUT_MS}ms`,
  PULL_DEADLINE: `${PULL_DEADLINE_MS / 1000}s`,
  MAX_RETRIES: String(MAX_RETRIES),
  LOG_LEVEL: 'debug',
} as const;

/** Series that must never be exported when the pull failed. */
const JOB_SERIES = [
  'unstructured_jobs{',
  'unstructured_job_runtime',
  'unstructured_jobs_fetched',
  'unstructured_job_records_skipped',
  'unstructured_job_oldest_age_seconds',
  'unstructured_workflows',
];
/** Datums that must never be published when the pull failed. */
const JOB_DATUM = /^(Jobs|OldestJobAge|RecentJobRuntime.*|JobsFetched|RecordsSkipped)$/;

// ---------------------------------------------------------------------------------------------------------
// The capturing CloudWatch client the collect Lambda gets instead of the SDK's (no network, every datum kept).

let published: MetricDatum[] = [];
vi.doMock('../lib/outputs/cloudwatch/publisher.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../lib/outputs/cloudwatch/publisher.js')>();
  return {
    ...original,
    createCloudWatchClient: async () => ({
      send: async (command: { input: { MetricData?: MetricDatum[] } }) => {
        published.push(...(command.input.MetricData ?? []));
        return {};
      },
    }),
  };
});

// ---------------------------------------------------------------------------------------------------------
// Helpers

function sumBy(samples: readonly Sample[], name: string, label: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samples)
    if (s.name === name) out[s.labels[label] as string] = (out[s.labels[label] as string] ?? 0) + s.value;
  return out;
}

function one(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

function urlEvent(path: string): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers: { 'user-agent': 'Prometheus/3.0' },
    requestContext: {
      accountId: 'anonymous',
      apiId: 'reliability',
      domainName: 'reliability.lambda-url.us-east-1.on.aws',
      domainPrefix: 'reliability',
      http: { method: 'GET', path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'Prometheus/3.0' },
      requestId: 'req-1',
      routeKey: '$default',
      stage: '$default',
      time: new Date().toUTCString(),
      timeEpoch: Date.now(),
    },
    isBase64Encoded: false,
  };
}

const SCHEDULED_EVENT: ScheduledEvent = {
  id: 'reliability-event',
  version: '0',
  account: '123456789012',
  time: new Date().toISOString(),
  region: 'us-east-1',
  resources: [],
  source: 'aws.events',
  'detail-type': 'Scheduled Event',
  detail: {},
};

/** Runs `start` (which synchronously reads process.env) with `env` applied, then restores process.env. */
function withEnv<T>(env: Record<string, string>, start: () => T): T {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return start();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// The fault table

type Expected =
  | {
      readonly up: true;
      readonly requests: number;
      readonly minSeconds?: number;
      /** Records in the response. */
      readonly fetched: number;
      readonly byStatus: Readonly<Record<string, number>>;
      readonly skipped?: Partial<Record<SkipReason, number>>;
    }
  | {
      readonly up: false;
      readonly kind: string;
      /** Exact, or an inclusive range when jitter decides whether a last retry fits the deadline. */
      readonly requests: number | readonly [number, number];
      readonly message: RegExp;
      readonly minSeconds?: number;
    };

interface FaultCase {
  readonly name: string;
  readonly scenarios: readonly Scenario[];
  readonly jobs?: JobsSource;
  readonly expected: Expected;
}

const SAMPLE_UP = { up: true, fetched: SAMPLE_EXPECTED.jobsFetched, byStatus: SAMPLE_EXPECTED.byStatus } as const;
const times = (n: number, s: Scenario): Scenario[] => Array.from({ length: n }, () => s);
const raw200 = (contentType: string, body: string): Scenario => ({ kind: 'raw', status: 200, contentType, body });
const ALL_ATTEMPTS = MAX_RETRIES + 1;

/** j01 sent three more times with other fields: counted once. */
function jobsWithDuplicates(): object[] {
  const list = sampleJobs();
  const first = list[0] as Record<string, unknown>;
  const again = [1, 2, 3].map((n) => ({
    ...first,
    status: 'FAILED',
    workflow_id: SAMPLE_WORKFLOWS.sharedA.id,
    runtime: `PT${n}S`,
  }));
  return [...list, ...again];
}

const CASES: readonly FaultCase[] = [
  {
    name: '401 unauthorized',
    scenarios: [errorScenario(401)],
    expected: { up: false, kind: 'auth', requests: 1, message: /HTTP 401 .*API key is missing/ },
  },
  {
    name: '403 forbidden',
    scenarios: [errorScenario(403)],
    expected: { up: false, kind: 'auth', requests: 1, message: /HTTP 403 .*Not authorized/ },
  },
  {
    name: '404 not found',
    scenarios: [errorScenario(404)],
    expected: { up: false, kind: 'not_found', requests: 1, message: /HTTP 404 .*Not Found/ },
  },
  {
    name: '422 validation error',
    scenarios: [errorScenario(422)],
    expected: {
      up: false,
      kind: 'invalid_request',
      requests: 1,
      message: /HTTP 422 .*query\.workflow_id: Input should be a valid UUID/,
    },
  },
  {
    name: '429 without Retry-After, every attempt',
    scenarios: times(ALL_ATTEMPTS, errorScenario(429)),
    expected: {
      up: false,
      kind: 'rate_limited',
      requests: ALL_ATTEMPTS,
      message: /HTTP 429 .*gave up after 3 attempts/,
    },
  },
  {
    name: '429 with Retry-After: 1, then 200',
    scenarios: [errorScenario(429, { 'retry-after': '1' })],
    expected: { ...SAMPLE_UP, requests: 2, minSeconds: 1 },
  },
  {
    name: '429 with Retry-After: 30 (past the deadline)',
    scenarios: [errorScenario(429, { 'retry-after': '30' })],
    expected: { up: false, kind: 'rate_limited', requests: 1, message: /HTTP 429 .*Retry-After asks to wait 30 s/ },
  },
  {
    name: '500, every attempt',
    scenarios: times(ALL_ATTEMPTS, errorScenario(500)),
    expected: {
      up: false,
      kind: 'upstream',
      requests: ALL_ATTEMPTS,
      message: /HTTP 500 .*Internal Server Error; gave up after 3 attempts/,
    },
  },
  {
    name: '502 HTML page, every attempt',
    scenarios: times(ALL_ATTEMPTS, errorScenario(502)),
    expected: { up: false, kind: 'upstream', requests: ALL_ATTEMPTS, message: /HTTP 502 .*502 Bad Gateway/ },
  },
  {
    name: '503 with Retry-After: 0, every attempt',
    scenarios: times(ALL_ATTEMPTS, errorScenario(503, { 'retry-after': '0' })),
    expected: {
      up: false,
      kind: 'upstream',
      requests: ALL_ATTEMPTS,
      message: /HTTP 503 .*Service Unavailable; gave up/,
    },
  },
  { name: '503 once, then 200', scenarios: [errorScenario(503)], expected: { ...SAMPLE_UP, requests: 2 } },
  {
    name: 'connection reset, every attempt',
    scenarios: times(ALL_ATTEMPTS, { kind: 'reset' }),
    expected: { up: false, kind: 'network', requests: ALL_ATTEMPTS, message: /ECONNRESET|socket hang up/ },
  },
  { name: 'connection reset once, then 200', scenarios: [{ kind: 'reset' }], expected: { ...SAMPLE_UP, requests: 2 } },
  // Each attempt waits REQUEST_TIMEOUT_MS for headers; whether a third fits in the deadline depends on the jitter (and the load).
  {
    name: 'no response headers (stall past the request timeout)',
    scenarios: times(ALL_ATTEMPTS, { kind: 'stall-headers' }),
    expected: {
      up: false,
      kind: 'timeout',
      requests: [2, ALL_ATTEMPTS],
      message: new RegExp(
        `no response headers within ${REQUEST_TIMEOUT_MS} ms|pull deadline of ${PULL_DEADLINE_MS} ms`,
      ),
    },
  },
  {
    name: 'body stalls after 1,000 bytes',
    scenarios: [{ kind: 'stall-body', afterBytes: 1_000 }],
    expected: {
      up: false,
      kind: 'timeout',
      requests: 1,
      message: new RegExp(`response body stalled: no data for ${REQUEST_TIMEOUT_MS} ms after 1000 bytes`),
    },
  },
  // 20 bytes every 50 ms never idles past the request timeout, so only the pull deadline stops it.
  {
    name: 'slow trickle past the pull deadline',
    scenarios: [{ kind: 'trickle', intervalMs: 50, bytesPerTick: 20 }],
    expected: {
      up: false,
      kind: 'timeout',
      requests: 1,
      message: new RegExp(`pull deadline of ${PULL_DEADLINE_MS} ms exceeded after \\d+ bytes`),
      minSeconds: PULL_DEADLINE_MS / 1000 - 0.1,
    },
  },
  {
    name: 'truncated body (content-length not reached)',
    scenarios: [{ kind: 'truncate', afterBytes: 1_000 }],
    expected: {
      up: false,
      kind: 'network',
      requests: 1,
      message: /connection lost after 1000 bytes|closed before the response ended|aborted/,
    },
  },
  {
    name: 'invalid JSON',
    scenarios: [raw200('application/json', '[{"id": "a", "status": "COMPLETED",}]')],
    expected: { up: false, kind: 'invalid_response', requests: 1, message: /not a valid JSON array/ },
  },
  {
    name: 'top level is an object',
    scenarios: [raw200('application/json', '{"jobs": []}')],
    expected: { up: false, kind: 'invalid_response', requests: 1, message: /top level is an object, not an array/ },
  },
  {
    name: 'top level is null',
    scenarios: [raw200('application/json', 'null')],
    expected: {
      up: false,
      kind: 'invalid_response',
      requests: 1,
      message: /top level is .*null.*not an array|not a valid JSON array/,
    },
  },
  {
    name: 'empty 200 body',
    scenarios: [raw200('application/json', '')],
    expected: { up: false, kind: 'invalid_response', requests: 1, message: /empty body/ },
  },
  {
    name: 'non-JSON content type (login page)',
    scenarios: [raw200('text/html; charset=utf-8', '<html><body>Sign in</body></html>')],
    expected: {
      up: false,
      kind: 'invalid_response',
      requests: 1,
      message: /content-type text\/html, expected application\/json/,
    },
  },
  {
    name: '200 carrying an error object',
    scenarios: [raw200('application/json', '{"detail": "Internal error while listing jobs"}')],
    expected: {
      up: false,
      kind: 'invalid_response',
      requests: 1,
      message: /detail: Internal error while listing jobs/,
    },
  },
  {
    name: 'unsupported content-encoding',
    scenarios: [{ kind: 'status', status: 200, body: [], headers: { 'content-encoding': 'br' } }],
    expected: { up: false, kind: 'invalid_response', requests: 1, message: /unsupported content-encoding "br"/ },
  },
  {
    name: '307 redirect (not followed)',
    scenarios: [
      { kind: 'status', status: 307, body: '', headers: { location: 'https://elsewhere.example/api/v1/jobs/' } },
    ],
    expected: {
      up: false,
      kind: 'invalid_response',
      requests: 1,
      message: /HTTP 307 .*redirect to https:\/\/elsewhere\.example\/api\/v1\/jobs\/, not followed/,
    },
  },
  {
    name: 'gzip-encoded body',
    scenarios: [{ kind: 'compressed', encoding: 'gzip' }],
    expected: { ...SAMPLE_UP, requests: 1 },
  },
  {
    name: 'deflate-encoded body',
    scenarios: [{ kind: 'compressed', encoding: 'deflate' }],
    expected: { ...SAMPLE_UP, requests: 1 },
  },
  { name: 'empty job list', scenarios: [], jobs: [], expected: { up: true, requests: 1, fetched: 0, byStatus: {} } },
  {
    name: 'duplicate job ids',
    scenarios: [],
    jobs: jobsWithDuplicates,
    expected: {
      ...SAMPLE_UP,
      requests: 1,
      fetched: SAMPLE_EXPECTED.jobsFetched + 3,
      skipped: { ...SAMPLE_EXPECTED.recordsSkipped, duplicate_id: 3 },
    },
  },
];

// ---------------------------------------------------------------------------------------------------------
// The results collector (read by scripts/reliability-report.mjs)

interface CaseResult {
  fault: string;
  outcome: string;
  expected: string;
  requests: number;
  seconds: number;
  lambdaRequests?: number;
  collectLambdaRequests?: number;
  message?: string;
  passed: boolean;
}
const results: CaseResult[] = [];
let largeResult: Record<string, unknown> = {};
const ARTIFACT_DIR = new URL('./.artifacts/', import.meta.url);

afterAll(() => {
  mkdirSync(ARTIFACT_DIR, { recursive: true });
  writeFileSync(
    new URL('reliability-upstream.json', ARTIFACT_DIR),
    `${JSON.stringify(
      {
        generatedAt: new Date().toISOString(),
        settings: { requestTimeoutMs: REQUEST_TIMEOUT_MS, pullDeadlineMs: PULL_DEADLINE_MS, maxRetries: MAX_RETRIES },
        cases: results,
        large: largeResult,
      },
      null,
      2,
    )}\n`,
  );
});

// ---------------------------------------------------------------------------------------------------------

describe('upstream faults, end to end through the exporter and both Lambda handlers', () => {
  /** One fake API per entry point, so the three run the same fault at once without sharing a scenario queue. */
  let apis: { app: FakeApi; metrics: FakeApi; collect: FakeApi };
  const stderr: string[] = [];

  beforeAll(async () => {
    const [app, metrics, collect] = await Promise.all([startFakeApi(), startFakeApi(), startFakeApi()]);
    apis = { app, metrics, collect };
    // The Lambda handlers log to stderr with their own Logger: keep their lines (checked for the key below).
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stderr.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    });
  });

  afterAll(async () => {
    vi.restoreAllMocks();
    await Promise.all(Object.values(apis ?? {}).map((api) => api.close()));
  });

  afterEach(() => {
    // A Lambda handler's log never carries the API key, whatever the fault.
    for (const line of stderr) expect(line).not.toContain(FAKE_API_KEY);
    stderr.length = 0;
  });

  it.each(CASES)('$name', async (c) => {
    // Prepare
    for (const api of Object.values(apis)) {
      api.requests.length = 0;
      api.setJobs(c.jobs ?? sampleJobs());
      api.setScenario(c.scenarios);
    }
    const logs: string[] = [];
    const exporter = createExporter({
      env: { UNSTRUCTURED_API_URL: apis.app.url, UNSTRUCTURED_API_KEY: FAKE_API_KEY, ...FAULT_ENV },
      logger: new Logger({ level: 'debug', write: (line) => logs.push(line) }),
      now: () => SAMPLE_NOW_MS,
    });
    // Fresh handler modules: a cold Lambda each (its exporter and cache are module state).
    vi.resetModules();
    const metricsLambda = await import('../functions/metrics.js');
    const collectLambda = await import('../functions/collect.js');
    published = [];
    const lambdaEnv = (api: FakeApi) => ({
      UNSTRUCTURED_API_URL: api.url,
      UNSTRUCTURED_API_KEY: FAKE_API_KEY,
      ...FAULT_ENV,
      LOG_LEVEL: 'info',
    });

    // Act
    const started = performance.now();
    const appRun = exporter.app
      .handle({ method: 'GET', path: '/metrics', headers: {} })
      .then((response) => ({ response, seconds: (performance.now() - started) / 1000 }));
    // Each handler reads process.env synchronously when first called (createExporter before its first await).
    const metricsRun: Promise<APIGatewayProxyStructuredResultV2> = withEnv(lambdaEnv(apis.metrics), () =>
      metricsLambda.handler(urlEvent('/metrics')),
    );
    const collectRun = withEnv(lambdaEnv(apis.collect), () => collectLambda.handler(SCHEDULED_EVENT));
    const [{ response, seconds }, metricsResult, collectSummary] = await Promise.all([appRun, metricsRun, collectRun]);
    const collection: Collection = await exporter.cache.get(); // the cached collection the scrape rendered
    const statusPage = (await exporter.app.handle({ method: 'GET', path: '/', headers: {} })).body.toString('utf8');
    const exposition = response.body.toString('utf8');
    const samples = parseExposition(exposition);
    const datums = renderDatums(collection, { quantiles: exporter.config.quantiles });
    // The faults are the job list's: its requests are counted, not the details' (lib/details/stage.ts).
    const listRequests = (api: FakeApi) => api.requests.filter((r) => !/\/(details|failed-files)$/.test(r.path)).length;
    const requests = listRequests(apis.app);

    // Assess
    const e = c.expected;
    const row: CaseResult = {
      fault: c.name,
      outcome: collection.ok ? 'up (unstructured_up 1)' : `error kind=${collection.errorKind}`,
      expected: e.up ? `up after ${e.requests} request(s)` : `error kind=${e.kind}`,
      requests,
      seconds: Math.round(seconds * 1000) / 1000,
      lambdaRequests: listRequests(apis.metrics),
      collectLambdaRequests: listRequests(apis.collect),
      ...(!collection.ok && { message: collection.errorMessage }),
      passed: false,
    };
    try {
      // Nothing escaped; each entry point made the expected requests.
      expect(response.status).toBe(200);
      expect(metricsResult.statusCode).toBe(200);
      const expectRequests = (n: number) => {
        if (typeof e.requests === 'number') expect(n).toBe(e.requests);
        else {
          expect(n).toBeGreaterThanOrEqual(e.requests[0]);
          expect(n).toBeLessThanOrEqual(e.requests[1]);
        }
      };
      expectRequests(requests);
      expectRequests(listRequests(apis.metrics));
      expectRequests(listRequests(apis.collect));
      if (e.minSeconds !== undefined) expect(seconds).toBeGreaterThanOrEqual(e.minSeconds);
      expect(promtoolCheckMetrics(exposition)).toEqual({ status: 0, output: '' });
      for (const d of datums) expect(validateDatum(d, SAMPLE_NOW_MS)).toEqual([]);
      for (const d of published) expect(validateDatum(d)).toEqual([]);
      const metricsBody = metricsResult.body ?? '';
      expect(collectSummary.collectorUp).toBe(e.up);

      if (!e.up) {
        // One clear error: the kind, a one-line message that says what happened, one error log line.
        expect(collection.ok).toBe(false);
        if (collection.ok) return;
        expect(collection.errorKind).toBe(e.kind);
        expect(collection.errorMessage).toMatch(e.message);
        expect(collection.errorMessage).not.toMatch(/[\r\n]/);
        const errors = logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.level === 'error');
        expect(errors).toEqual([expect.objectContaining({ message: 'collection failed', errorKind: e.kind })]);
        // A failure gives up within the deadline (plus slack), however many attempts it made.
        expect(seconds).toBeLessThan((PULL_DEADLINE_MS + GIVE_UP_SLACK_MS) / 1000);
        // The exposition says it is broken, and shows no number that could pass for data.
        for (const body of [exposition, metricsBody]) {
          expect(body).toMatch(/^unstructured_up 0$/m);
          expect(body).toContain(`unstructured_collect_error{kind="${e.kind}"} 1`);
          for (const series of JOB_SERIES) expect(body).not.toContain(series);
        }
        expect(statusPage).toContain(escapeHtml(collection.errorMessage)); // the status page shows the same error
        // CloudWatch: CollectorUp 0, no job datum (from the renderer and from what the collect Lambda published).
        expect(collectSummary.errorKind).toBe(e.kind);
        for (const set of [datums, published]) {
          expect(set.find((d) => d.MetricName === 'CollectorUp')?.Value).toBe(0);
          expect(set.filter((d) => JOB_DATUM.test(d.MetricName ?? ''))).toEqual([]);
        }
      } else {
        expect(collection.ok).toBe(true);
        expect(one(samples, 'unstructured_up')).toBe(1);
        expect(exposition).not.toContain('unstructured_collect_error');
        expect(one(samples, 'unstructured_jobs_fetched')).toBe(e.fetched);
        const expectedByStatus = { ...Object.fromEntries(KNOWN_STATUSES.map((s) => [s, 0])), ...e.byStatus };
        const byStatus = sumBy(samples, 'unstructured_jobs', 'status');
        expect(e.fetched === 0 ? {} : byStatus).toEqual(e.fetched === 0 ? {} : expectedByStatus);
        const skipped = {
          ...Object.fromEntries(SKIP_REASONS.map((r) => [r, 0])),
          ...(e.fetched === 0 ? {} : SAMPLE_EXPECTED.recordsSkipped),
          ...e.skipped,
        };
        expect(sumBy(samples, 'unstructured_job_records_skipped', 'reason')).toEqual(skipped);
        // The metrics Lambda saw the same numbers.
        const lambdaSamples = parseExposition(metricsBody);
        expect(one(lambdaSamples, 'unstructured_up')).toBe(1);
        expect(sumBy(lambdaSamples, 'unstructured_jobs', 'status')).toEqual(byStatus);
        // CloudWatch totals (datums without a Workflow dimension) by status, rendered and published.
        for (const set of [datums, published]) {
          expect(set.find((d) => d.MetricName === 'CollectorUp')?.Value).toBe(1);
          const totals = Object.fromEntries(
            set
              .filter((d) => d.MetricName === 'Jobs' && d.Dimensions?.length === 1)
              .map((d) => [d.Dimensions?.[0]?.Value, d.Value]),
          );
          expect(totals).toEqual(expectedByStatus);
          expect(set.find((d) => d.MetricName === 'JobsFetched')?.Value).toBe(e.fetched);
        }
      }
      row.passed = true;
    } finally {
      results.push(row);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------
// A million records

describe('a million records', () => {
  const RECORDS = 1_000_000;
  const WORKFLOWS = 4;
  /** Small records (~270 bytes): the body is ~270 MB, far more than the memory the pull may take. */
  function* million(): Iterable<object> {
    for (let i = 0; i < RECORDS; i++) {
      yield {
        id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
        workflow_id: `6b1f0c52-3f7e-4d3a-9a51-1f0c2e6d9a0${i % WORKFLOWS}`,
        workflow_name: 'Bulk ingestion workflow',
        status: i % 10 === 0 ? 'FAILED' : i % 10 === 1 ? 'IN_PROGRESS' : 'COMPLETED',
        created_at: '2026-11-29T11:00:00.123456Z',
        runtime: i % 10 === 1 ? null : 'PT2M30.456S',
        job_type: 'ephemeral',
        input_file_ids: null,
      };
    }
  }

  it('counts 1,000,000 records exactly with memory growth far below the body size', { timeout: 90_000 }, async () => {
    // Prepare
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const api = await startFakeApi({ jobs: million, chunkBytes: 64 * 1024 });
    const logs: string[] = [];
    const exporter = createExporter({
      env: {
        UNSTRUCTURED_API_URL: api.url,
        UNSTRUCTURED_API_KEY: FAKE_API_KEY,
        PULL_DEADLINE: '80s',
        REQUEST_TIMEOUT: '10s',
        // The list pull's own figures (docs/reliability.md); the details' cost is bench/bench.ts's.
        JOB_DETAILS: 'off',
      },
      logger: new Logger({ write: (line) => logs.push(line) }),
      now: () => SAMPLE_NOW_MS,
    });
    gc();
    gc();
    const base = process.memoryUsage();
    const baseHeap = base.heapUsed + base.arrayBuffers;
    let peakRss = base.rss;
    let peakHeap = baseHeap;
    const sampler = setInterval(() => {
      const m = process.memoryUsage();
      peakRss = Math.max(peakRss, m.rss);
      peakHeap = Math.max(peakHeap, m.heapUsed + m.arrayBuffers);
    }, 25);

    // Act
    const started = performance.now();
    let response: Awaited<ReturnType<typeof exporter.app.handle>>;
    try {
      response = await exporter.app.handle({ method: 'GET', path: '/metrics', headers: { 'accept-encoding': 'gzip' } });
    } finally {
      clearInterval(sampler);
      await api.close();
    }
    const seconds = (performance.now() - started) / 1000;
    const collection = await exporter.cache.get();
    const samples = parseExposition(
      (await exporter.app.handle({ method: 'GET', path: '/metrics', headers: {} })).body.toString('utf8'),
    );
    gc();
    gc();
    const after = process.memoryUsage();
    const retainedMb = (after.heapUsed + after.arrayBuffers - baseHeap) / 1e6;
    const succeeded = logs
      .map((l) => JSON.parse(l) as { message: string; bytes?: number })
      .find((l) => l.message === 'collection succeeded');
    const bodyMb = (succeeded?.bytes ?? 0) / 1e6;
    const heapGrowthMb = (peakHeap - baseHeap) / 1e6;
    const rssGrowthMb = (peakRss - base.rss) / 1e6;
    largeResult = {
      records: RECORDS,
      bodyMb: Math.round(bodyMb),
      seconds: Math.round(seconds * 10) / 10,
      peakHeapGrowthMb: Math.round(heapGrowthMb),
      peakRssGrowthMb: Math.round(rssGrowthMb),
      retainedAfterGcMb: Math.round(retainedMb * 10) / 10,
      requests: api.requests.length,
    };
    console.info(`1M records: ${JSON.stringify(largeResult)}`);

    // Assess
    expect(response.status).toBe(200);
    expect(collection.ok).toBe(true);
    expect(api.requests).toHaveLength(1);
    expect(one(samples, 'unstructured_up')).toBe(1);
    expect(one(samples, 'unstructured_jobs_fetched')).toBe(RECORDS);
    expect(sumBy(samples, 'unstructured_jobs', 'status')).toEqual({
      SCHEDULED: 0,
      IN_PROGRESS: RECORDS / 10,
      COMPLETED: (RECORDS * 8) / 10,
      STOPPED: 0,
      FAILED: RECORDS / 10,
    });
    expect(sumBy(samples, 'unstructured_job_records_skipped', 'reason')).toEqual(
      Object.fromEntries(SKIP_REASONS.map((r) => [r, 0])),
    );
    expect(one(samples, 'unstructured_workflows')).toBe(WORKFLOWS);
    const completedCount = sumBy(
      samples.filter((s) => s.labels.status === 'COMPLETED'),
      'unstructured_job_runtime_seconds_count',
      'status',
    );
    expect(completedCount).toEqual({ COMPLETED: (RECORDS * 8) / 10 });
    expect(bodyMb).toBeGreaterThan(200);
    // Streamed: the body is never held. What may grow is the duplicate-id set (1M ids) and the window's
    // runtimes (1M doubles), plus GC slack; buffering the body would need > 270 MB.
    expect(heapGrowthMb).toBeLessThan(150);
    expect(rssGrowthMb).toBeLessThan(bodyMb);
    // Nothing of the pull stays once it is done: only the snapshot (a few KB) is cached.
    expect(retainedMb).toBeLessThan(20);
    // Its time is a figure in docs/reliability.md, not a bound: speed is the bench's (npm run bench).
    largeResult.passed = true;
  });
});
