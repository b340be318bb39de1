/**
 * End to end against moto (a CloudWatch emulator run as a local process): what the exporter publishes is what
 * CloudWatch lists and returns, read back with two different clients (the JS SDK and the Debian awscli).
 * Also runs the scheduled Lambda handler in-process against moto and a tiny fake Unstructured API.
 *
 * Writes test/.artifacts/cloudwatch-emitted.json: every (metric name, dimension names) moto received in this
 * file, for the dashboard and alarm tests to compare against.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CloudWatchClient, Metric } from '@aws-sdk/client-cloudwatch';
import type { ScheduledEvent } from 'aws-lambda';
import { build } from 'esbuild';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Aggregator } from '../lib/aggregate/aggregator.js';
import { renderDatums } from '../lib/outputs/cloudwatch/datums.js';
import { publishCollection } from '../lib/outputs/cloudwatch/run.js';
import type { Collection } from '../lib/collection.js';
import type { Job } from '../lib/records/job.js';
import { clockEnv } from './support/clock.js';
import { startFakeApi, type FakeApi } from './support/fake-api.js';
import { collect } from '../lib/collector.js';
import { loadConfig } from '../lib/config.js';
import { Logger } from '../lib/log.js';
import { SecretSource } from '../lib/secrets.js';
import { workflowDimensionValue } from '../lib/outputs/cloudwatch/datums.js';
import { referenceInventory, referenceRuns, scenarioJobs, scenarioWorkflows } from './support/workflows-scenario.js';
import { job } from './support/jobs.js';
import {
  cloudWatchClientFor,
  dimensionKey,
  exactStatistics,
  FAKE_CREDENTIALS,
  getMetricStatistics,
  listAllMetrics,
  listMetrics,
  MOTO_REGION,
  startMoto,
  type RunningMoto,
} from './support/moto.js';

const AWS_CLI = '/usr/bin/aws';
const ARTIFACT = fileURLToPath(new URL('./.artifacts/cloudwatch-emitted.json', import.meta.url));
const QUANTILES = [0.5, 0.9, 0.95, 0.99, 1] as const;
const MINUTE = 60_000;
const API_KEY = 'test-api-key-0123456789';

const WF_A = '2f0c1a52-7b1e-4c1d-9a3e-00000000000a';
const WF_B = '2f0c1a52-7b1e-4c1d-9a3e-00000000000b';
const WF_C = '2f0c1a52-7b1e-4c1d-9a3e-00000000000c';
const WF_D = '2f0c1a52-7b1e-4c1d-9a3e-00000000000d';
/** A and B share a name; C's name needs sanitising; D is folded into Other (MAX_WORKFLOWS 3). */
const NAMES: Record<string, string> = {
  [WF_A]: 'Ingest invoices',
  [WF_B]: 'Ingest invoices',
  [WF_C]: 'Café ✨ reports\n',
  [WF_D]: 'Tiny',
};
const VALUE = {
  a: `Ingest invoices (${WF_A})`,
  b: `Ingest invoices (${WF_B})`,
  c: `Cafe ? reports (${WF_C})`,
  other: 'Other',
};

/** [workflow, status, created seconds ago, runtime seconds] */
const JOBS: ReadonlyArray<readonly [string, string, number, number | undefined]> = [
  [WF_A, 'COMPLETED', 7_200, 10],
  [WF_A, 'COMPLETED', 7_200, 20],
  [WF_A, 'COMPLETED', 7_200, 30],
  [WF_A, 'FAILED', 3_600, 4],
  [WF_A, 'SCHEDULED', 600, undefined],
  [WF_B, 'COMPLETED', 10_800, 100],
  [WF_B, 'IN_PROGRESS', 300, undefined],
  [WF_B, 'FAILED', 1_800, 8],
  [WF_C, 'FAILED', 1_200, 2],
  [WF_C, 'SCHEDULED', 1_800, undefined],
  [WF_D, 'STOPPED', 3_600, 6],
];

function jobsAt(nowMs: number): Job[] {
  return JOBS.map(([workflowId, status, agoSeconds, runtimeSeconds], i) =>
    job({
      id: `job-${i}`,
      workflowId,
      workflowName: NAMES[workflowId] ?? '',
      status,
      createdAtMs: nowMs - agoSeconds * 1000,
      runtimeSeconds,
    }),
  );
}

/** The same jobs as the Unstructured API lists them. */
function apiRecordsAt(nowMs: number): object[] {
  return JOBS.map(([workflowId, status, agoSeconds, runtimeSeconds], i) => ({
    id: `6a1e0c3b-0000-4000-8000-${String(i).padStart(12, '0')}`,
    workflow_id: workflowId,
    workflow_name: NAMES[workflowId],
    status,
    created_at: new Date(nowMs - agoSeconds * 1000).toISOString(),
    runtime: runtimeSeconds === undefined ? null : `PT${runtimeSeconds}S`,
    input_file_ids: [],
    output_node_files: [],
    job_type: 'ephemeral',
  }));
}

/** Every metric (name + exact dimensions) the job list above must create. */
function expectedMetricKeys(): string[] {
  const keys = ['CollectorUp{}', 'JobsFetched{}', 'RecordsSkipped{}', 'CollectionDuration{}'];
  const group = (workflow: string | undefined, recent: readonly string[]) => {
    const dims = (status: string) =>
      dimensionKey([
        ...(workflow === undefined ? [] : [{ Name: 'Workflow', Value: workflow }]),
        { Name: 'Status', Value: status },
      ]);
    for (const s of ['SCHEDULED', 'IN_PROGRESS', 'COMPLETED', 'STOPPED', 'FAILED']) keys.push(`Jobs{${dims(s)}}`);
    for (const s of ['SCHEDULED', 'IN_PROGRESS']) keys.push(`OldestJobAge{${dims(s)}}`);
    for (const s of recent)
      for (const m of ['P50', 'P90', 'P95', 'P99', 'Max']) keys.push(`RecentJobRuntime${m}{${dims(s)}}`);
  };
  group(undefined, ['COMPLETED', 'FAILED', 'STOPPED']);
  group(VALUE.a, ['COMPLETED', 'FAILED']);
  group(VALUE.b, ['COMPLETED', 'FAILED']);
  group(VALUE.c, ['FAILED']);
  group(VALUE.other, ['STOPPED']);
  return keys.sort();
}

function metricKeys(metrics: readonly Metric[]): string[] {
  return metrics.map((m) => `${m.MetricName}{${dimensionKey(m.Dimensions)}}`).sort();
}

let namespaceCounter = 0;
function uniqueNamespace(what: string): string {
  return `UJE-Test/${what}-${process.pid}-${Date.now()}-${++namespaceCounter}`;
}

function minuteNow(): number {
  return Math.floor(Date.now() / MINUTE) * MINUTE;
}

/** A window of 10 minutes around `atMs`, read as one period. */
function around(atMs: number) {
  return { startMs: atMs - 5 * MINUTE, endMs: atMs + 5 * MINUTE, periodSeconds: 600 };
}

/** `aws cloudwatch list-metrics` with the Debian awscli (query protocol, XML): a second, independent client. */
function listMetricsWithAwsCli(endpoint: string, namespace: string): Metric[] {
  if (!existsSync(AWS_CLI)) {
    throw new Error(
      `${AWS_CLI} is missing: install the Debian package awscli (apt-get install -y awscli); scripts/test.sh does this`,
    );
  }
  const home = mkdtempSync(join(tmpdir(), 'uje-awscli-'));
  try {
    const run = spawnSync(
      AWS_CLI,
      ['cloudwatch', 'list-metrics', '--endpoint-url', endpoint, '--namespace', namespace, '--output', 'json'],
      {
        encoding: 'utf8',
        timeout: 30_000,
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          ...clockEnv(),
          HOME: home,
          AWS_ACCESS_KEY_ID: FAKE_CREDENTIALS.accessKeyId,
          AWS_SECRET_ACCESS_KEY: FAKE_CREDENTIALS.secretAccessKey,
          AWS_DEFAULT_REGION: MOTO_REGION,
          AWS_CONFIG_FILE: join(home, 'config'),
          AWS_SHARED_CREDENTIALS_FILE: join(home, 'credentials'),
          AWS_PAGER: '',
        },
      },
    );
    if (run.error !== undefined) throw new Error(`${AWS_CLI} could not run: ${run.error.message}`);
    if (run.status !== 0)
      throw new Error(`${AWS_CLI} cloudwatch list-metrics exited with ${run.status}: ${run.stderr}`);
    return (JSON.parse(run.stdout) as { Metrics?: Metric[] }).Metrics ?? [];
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

let moto: RunningMoto | undefined;
let cw: CloudWatchClient;
/** metric name → dimension-name sets moto received, over the whole file. */
const emitted = new Map<string, { metricName: string; dimensions: string[] }>();

function requireMoto(): RunningMoto {
  if (moto === undefined) throw new Error('moto did not start (see beforeAll)');
  return moto;
}

beforeAll(async () => {
  moto = await startMoto();
  cw = cloudWatchClientFor(moto.endpoint);
});

afterEach(async () => {
  if (moto === undefined) return;
  // Remember what moto received, then forget it: moto's GetMetricData ignores the namespace when dimensions are
  // given, so no two tests may share moto's memory.
  for (const m of await listAllMetrics(cw)) {
    const dimensions = (m.Dimensions ?? []).map((d) => d.Name ?? '').sort();
    emitted.set(`${m.MetricName}|${dimensions.join(',')}`, { metricName: m.MetricName ?? '', dimensions });
  }
  await moto.reset();
});

afterAll(async () => {
  if (emitted.size > 0) {
    mkdirSync(join(ARTIFACT, '..'), { recursive: true });
    const order = (v: { metricName: string; dimensions: string[] }) => [v.metricName, ...v.dimensions].join('\u0000');
    const metrics = [...emitted.values()].sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
    const note =
      'Every (metric name, dimension names) moto received in test/cloudwatch-moto.test.ts; dimension names sorted.';
    writeFileSync(ARTIFACT, `${JSON.stringify({ note, generatedAt: new Date().toISOString(), metrics }, null, 2)}\n`);
  }
  cw?.destroy();
  await moto?.stop();
});

/** The job list's requests, not the details' (lib/details/stage.ts). */
const listRequests = (fake: FakeApi) => fake.requests.filter((r) => !/\/(details|failed-files)$/.test(r.path));

describe('publishCollection into moto', () => {
  it('creates exactly the expected metrics, with the expected values, seen alike by the SDK and the awscli', async () => {
    // Prepare
    const { endpoint } = requireMoto();
    const namespace = uniqueNamespace('publish');
    const nowMs = minuteNow();
    const aggregator = new Aggregator({
      nowMs,
      runtimeWindowSeconds: 86_400,
      maxWorkflows: 3,
      histogramBuckets: [10, 100],
      quantiles: QUANTILES,
    });
    for (const j of jobsAt(nowMs)) aggregator.add(j);
    const collection: Collection = {
      ok: true,
      snapshot: aggregator.snapshot(),
      durationSeconds: 0.75,
      finishedAtMs: nowMs,
    };

    // Act
    const report = await publishCollection(collection, { namespace, quantiles: QUANTILES, client: cw });

    // Assess: what was listed
    expect(report).toEqual({ total: 84, requests: 1, failedRequests: 0, published: 84, failed: [], invalid: [] });
    const listed = await listMetrics(cw, namespace);
    expect(metricKeys(listed)).toEqual(expectedMetricKeys());
    expect(metricKeys(listed)).toEqual(
      metricKeys(renderDatums(collection).map((d) => ({ MetricName: d.MetricName, Dimensions: d.Dimensions }))),
    );
    expect(listed.every((m) => m.Namespace === namespace)).toBe(true);

    // Assess: values, exact dimension match
    const read = (metricName: string, dimensions: Record<string, string>) =>
      exactStatistics(cw, { namespace, metricName, dimensions, ...around(nowMs) });
    expect(await read('Jobs', { Status: 'FAILED' })).toEqual({ sum: 3, maximum: 3, sampleCount: 1 });
    expect(await read('Jobs', { Status: 'STOPPED' })).toEqual({ sum: 1, maximum: 1, sampleCount: 1 });
    expect(await read('Jobs', { Workflow: VALUE.b, Status: 'SCHEDULED' })).toEqual({
      sum: 0,
      maximum: 0,
      sampleCount: 1,
    });
    expect(await read('Jobs', { Workflow: VALUE.other, Status: 'STOPPED' })).toEqual({
      sum: 1,
      maximum: 1,
      sampleCount: 1,
    });
    expect(await read('OldestJobAge', { Status: 'SCHEDULED' })).toEqual({ sum: 1_800, maximum: 1_800, sampleCount: 1 });
    expect(await read('OldestJobAge', { Workflow: VALUE.a, Status: 'SCHEDULED' })).toEqual({
      sum: 600,
      maximum: 600,
      sampleCount: 1,
    });
    // COMPLETED in the window: 10, 20, 30, 100 → p95 = 30 + 0.85 × 70 (linear interpolation)
    expect(await read('RecentJobRuntimeP95', { Status: 'COMPLETED' })).toEqual({
      sum: expect.closeTo(89.5, 9),
      maximum: expect.closeTo(89.5, 9),
      sampleCount: 1,
    });
    expect(await read('RecentJobRuntimeP50', { Status: 'COMPLETED' })).toEqual({
      sum: 25,
      maximum: 25,
      sampleCount: 1,
    });
    expect(await read('RecentJobRuntimeMax', { Workflow: VALUE.c, Status: 'FAILED' })).toEqual({
      sum: 2,
      maximum: 2,
      sampleCount: 1,
    });
    expect(await read('JobsFetched', {})).toEqual({ sum: 11, maximum: 11, sampleCount: 1 });

    // Assess: GetMetricStatistics (where moto's subset match is an exact one), with units
    const stats = (metricName: string, dimensions: Record<string, string>) =>
      getMetricStatistics(cw, { namespace, metricName, dimensions, ...around(nowMs) });
    expect(await stats('Jobs', { Workflow: VALUE.a, Status: 'COMPLETED' })).toEqual([
      { Timestamp: expect.any(Date), Sum: 3, Maximum: 3, SampleCount: 1, Unit: 'Count' },
    ]);
    expect(await stats('RecentJobRuntimeP95', { Workflow: VALUE.a, Status: 'COMPLETED' })).toEqual([
      {
        Timestamp: expect.any(Date),
        Sum: expect.closeTo(29, 9),
        Maximum: expect.closeTo(29, 9),
        SampleCount: 1,
        Unit: 'Seconds',
      },
    ]);
    expect(await stats('CollectorUp', {})).toEqual([
      { Timestamp: expect.any(Date), Sum: 1, Maximum: 1, SampleCount: 1, Unit: 'None' },
    ]);
    expect(await stats('CollectionDuration', {})).toEqual([
      { Timestamp: expect.any(Date), Sum: 0.75, Maximum: 0.75, SampleCount: 1, Unit: 'Seconds' },
    ]);

    // Assess: a second client, another protocol
    expect(metricKeys(listMetricsWithAwsCli(endpoint, namespace))).toEqual(expectedMetricKeys());
  });

  it('publishes a failed collection as CollectorUp 0 and CollectionDuration, and no job metric', async () => {
    // Prepare
    const namespace = uniqueNamespace('failed');
    const nowMs = minuteNow();
    const failure: Collection = {
      ok: false,
      errorKind: 'upstream',
      errorMessage: 'HTTP 502',
      durationSeconds: 3.5,
      finishedAtMs: nowMs,
    };

    // Act
    const report = await publishCollection(failure, { namespace, quantiles: QUANTILES, client: cw });

    // Assess
    expect(report.published).toBe(2);
    expect(metricKeys(await listMetrics(cw, namespace))).toEqual(['CollectionDuration{}', 'CollectorUp{}']);
    expect(
      await exactStatistics(cw, { namespace, metricName: 'CollectorUp', dimensions: {}, ...around(nowMs) }),
    ).toEqual({
      sum: 0,
      maximum: 0,
      sampleCount: 1,
    });
  });
});

// ---------------------------------------------------------------------------------------------------------
// The scheduled Lambda handler, in-process

/** The shared fake Unstructured API, serving the job list above with created_at relative to each request's "now". */
function startJobsApi(apiKey: string): Promise<FakeApi> {
  return startFakeApi({ apiKey, jobs: () => apiRecordsAt(Date.now()) });
}

function scheduledEvent(): ScheduledEvent {
  return {
    version: '0',
    id: '53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa',
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '123456789012',
    time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: MOTO_REGION,
    resources: ['arn:aws:events:us-east-1:123456789012:rule/unstructured-jobs-exporter-collect'],
    detail: {},
  };
}

type Handler = (event: ScheduledEvent) => Promise<unknown>;
/** The handler and the PublishError class of the same (fresh) module graph. */
interface Loaded {
  readonly handler: Handler;
  readonly PublishError: new (...args: never[]) => Error;
}

describe('functions/collect handler', () => {
  const saved = new Map<string, string | undefined>();
  const cleanups: Array<() => Promise<void> | void> = [];

  /** Sets the Lambda's environment (restored after the test) and loads the handler as a cold start would. */
  async function coldStart(env: Record<string, string>): Promise<Loaded> {
    for (const [name, value] of Object.entries(env)) {
      if (!saved.has(name)) saved.set(name, process.env[name]);
      process.env[name] = value;
    }
    vi.resetModules();
    const { handler } = await import('../functions/collect.js');
    const { PublishError } = await import('../lib/outputs/cloudwatch/publisher.js');
    return { handler, PublishError };
  }

  function lambdaEnv(
    api: FakeApi,
    namespace: string,
    cloudwatchEndpoint: string,
    apiKey = API_KEY,
  ): Record<string, string> {
    return {
      UNSTRUCTURED_API_URL: api.url,
      UNSTRUCTURED_API_KEY: apiKey,
      CLOUDWATCH_NAMESPACE: namespace,
      MAX_WORKFLOWS: '3',
      AWS_ENDPOINT_URL: cloudwatchEndpoint,
      AWS_REGION: MOTO_REGION,
      AWS_ACCESS_KEY_ID: FAKE_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: FAKE_CREDENTIALS.secretAccessKey,
      AWS_DISABLE_REQUEST_COMPRESSION: 'true',
      AWS_EC2_METADATA_DISABLED: 'true',
      LOG_LEVEL: 'info',
    };
  }

  /** Runs `fn`, returning the JSON log lines the exporter wrote to stderr meanwhile. */
  async function capturingLogs<T>(fn: () => Promise<T>): Promise<{ result: T; logs: Array<Record<string, unknown>> }> {
    const lines: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    try {
      const result = await fn();
      return { result, logs: parseLogs(lines) };
    } catch (error) {
      (error as { logs?: unknown }).logs = parseLogs(lines);
      throw error;
    } finally {
      spy.mockRestore();
    }
  }

  function parseLogs(lines: readonly string[]): Array<Record<string, unknown>> {
    return lines
      .join('')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    saved.clear();
    vi.resetModules();
  });

  it('does not load the AWS SDK when the module is imported', async () => {
    // Prepare
    const entry = fileURLToPath(new URL('../functions/collect.ts', import.meta.url));

    // Act
    const result = await build({
      entryPoints: [entry],
      bundle: true,
      write: false,
      platform: 'node',
      format: 'esm',
      packages: 'external',
      metafile: true,
      logLevel: 'silent',
    });

    // Assess: every import of @aws-sdk/* reachable from the handler is a dynamic import()
    const imports = Object.values(result.metafile.inputs).flatMap((input) => input.imports);
    const sdk = imports.filter((i) => i.path.startsWith('@aws-sdk/'));
    expect(sdk.map((i) => i.path)).toContain('@aws-sdk/client-cloudwatch');
    expect(sdk.filter((i) => i.kind !== 'dynamic-import')).toEqual([]);
  });

  it('collects from the API and publishes to CloudWatch, logging a one-line summary', async () => {
    // Prepare
    const { endpoint } = requireMoto();
    const api = await startJobsApi(API_KEY);
    cleanups.push(() => api.close());
    const namespace = uniqueNamespace('handler');
    const { handler } = await coldStart(lambdaEnv(api, namespace, endpoint));

    // Act
    const { result, logs } = await capturingLogs(() => handler(scheduledEvent()));
    const nowMs = Date.now();

    // Assess
    expect(result).toEqual({
      namespace,
      collectorUp: true,
      // 84 for the jobs; the 85th is the total ScheduleMissed (issue 17: the workflows API lists no workflow).
      datums: 85,
      requests: 1,
      published: 85,
      failed: 0,
      invalid: 0,
      collectionSeconds: expect.any(Number),
    });
    // The list's requests: each finished job's details are one more (lib/details/stage.ts).
    expect(listRequests(api).map((r) => [r.method, r.path, r.query, r.headers['unstructured-api-key']])).toEqual([
      ['GET', '/api/v1/jobs/', {}, API_KEY],
    ]);
    const summary = logs.filter((l) => l.message === 'cloudwatch publish');
    expect(summary).toEqual([
      expect.objectContaining({ level: 'info', event: '53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa', ...(result as object) }),
    ]);
    expect(JSON.stringify(logs)).not.toContain(API_KEY);

    // The job list's metrics, and the total ScheduleMissed (issue 17: its workflows API lists none).
    expect(metricKeys(await listMetrics(cw, namespace))).toEqual([...expectedMetricKeys(), 'ScheduleMissed{}'].sort());
    const read = (metricName: string, dimensions: Record<string, string>) =>
      exactStatistics(cw, { namespace, metricName, dimensions, ...around(nowMs) });
    expect(await read('Jobs', { Status: 'COMPLETED' })).toEqual({ sum: 4, maximum: 4, sampleCount: 1 });
    expect(await read('Jobs', { Workflow: VALUE.a, Status: 'COMPLETED' })).toEqual({
      sum: 3,
      maximum: 3,
      sampleCount: 1,
    });
    expect(await read('CollectorUp', {})).toEqual({ sum: 1, maximum: 1, sampleCount: 1 });
    const oldest = await read('OldestJobAge', { Status: 'SCHEDULED' });
    // created_at is written when the API answers, "now" is taken just before the request: a few ms apart
    expect(Math.abs((oldest.maximum ?? 0) - 1_800)).toBeLessThan(10);
    expect(oldest.sampleCount).toBe(1);
  });

  it('publishes CollectorUp 0 and no job metric when the API refuses the key, and returns normally', async () => {
    // Prepare
    const { endpoint } = requireMoto();
    const api = await startJobsApi('another-key-entirely');
    cleanups.push(() => api.close());
    const namespace = uniqueNamespace('handler-401');
    const { handler } = await coldStart(lambdaEnv(api, namespace, endpoint));

    // Act
    const { result, logs } = await capturingLogs(() => handler(scheduledEvent()));
    const nowMs = Date.now();

    // Assess
    expect(result).toEqual({
      namespace,
      collectorUp: false,
      errorKind: 'auth',
      datums: 2,
      requests: 1,
      published: 2,
      failed: 0,
      invalid: 0,
      collectionSeconds: expect.any(Number),
    });
    expect(logs.find((l) => l.message === 'collection failed')).toMatchObject({ level: 'error', errorKind: 'auth' });
    expect(logs.find((l) => l.message === 'cloudwatch publish')).toMatchObject({
      level: 'info',
      collectorUp: false,
      errorKind: 'auth',
    });
    const listed = await listMetrics(cw, namespace);
    expect(metricKeys(listed)).toEqual(['CollectionDuration{}', 'CollectorUp{}']);
    expect(listed.filter((m) => m.MetricName === 'Jobs')).toEqual([]);
    expect(
      await exactStatistics(cw, { namespace, metricName: 'CollectorUp', dimensions: {}, ...around(nowMs) }),
    ).toEqual({
      sum: 0,
      maximum: 0,
      sampleCount: 1,
    });
  });

  it('pulls afresh on every warm invocation, reusing the exporter and the client', async () => {
    // Prepare
    const { endpoint } = requireMoto();
    const api = await startJobsApi(API_KEY);
    cleanups.push(() => api.close());
    const namespace = uniqueNamespace('handler-warm');
    const { handler } = await coldStart(lambdaEnv(api, namespace, endpoint));

    // Act
    await capturingLogs(() => handler(scheduledEvent()));
    process.env.CLOUDWATCH_NAMESPACE = uniqueNamespace('ignored-when-warm'); // configuration is read once per container
    const { result } = await capturingLogs(() => handler(scheduledEvent()));
    const nowMs = Date.now();

    // Assess
    expect(result).toMatchObject({ namespace, collectorUp: true, published: 85 }); // 84 and the total ScheduleMissed
    expect(listRequests(api)).toHaveLength(2); // no cache between scheduled runs
    const up = await exactStatistics(cw, {
      namespace,
      metricName: 'CollectorUp',
      dimensions: {},
      startMs: nowMs - 10 * MINUTE,
      endMs: nowMs + 10 * MINUTE,
      periodSeconds: 1_200,
    });
    expect(up).toEqual({ sum: 2, maximum: 1, sampleCount: 2 });
  });

  it('fails the invocation with a PublishError when CloudWatch refuses the data, after sending it all', async () => {
    // Prepare: a CloudWatch that refuses every request
    const api = await startJobsApi(API_KEY);
    cleanups.push(() => api.close());
    let attempts = 0;
    const refusing = createServer((req, res) => {
      attempts++;
      req.resume();
      req.on('end', () => {
        res.writeHead(400, {
          'content-type': 'application/x-amz-json-1.0',
          'x-amzn-query-error': 'InvalidParameterValue;Sender',
        });
        res.end(
          JSON.stringify({
            __type: 'com.amazonaws.cloudwatch#InvalidParameterValueException',
            message: 'refused for the test',
          }),
        );
      });
    });
    await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => refusing.close(() => resolve())));
    const endpoint = `http://127.0.0.1:${(refusing.address() as AddressInfo).port}`;
    const { handler, PublishError } = await coldStart(lambdaEnv(api, uniqueNamespace('handler-refused'), endpoint));

    // Act
    const outcome = capturingLogs(() => handler(scheduledEvent()));

    // Assess
    await expect(outcome).rejects.toThrow(PublishError);
    await expect(outcome).rejects.toThrow(
      'published 0 of 85 datums; 1 requests failed: InvalidParameterValueException: refused for the test (HTTP 400)',
    );
    const logs = ((await outcome.catch((e: unknown) => e)) as { logs: Array<Record<string, unknown>> }).logs;
    expect(logs.find((l) => l.message === 'cloudwatch publish incomplete')).toMatchObject({
      level: 'error',
      published: 0,
      failed: 85,
    });
    expect(attempts).toBe(1);
  });
});

describe('schedule health into moto (issue 17)', () => {
  it('publishes ScheduleMissed and SecondsSinceLastSuccess as the independent computation gives them, read back', async () => {
    // Prepare: the scenario of test/schedule-health.test.ts around this minute (CloudWatch refuses old timestamps).
    const namespace = uniqueNamespace('schedule');
    const nowMs = minuteNow();
    const workflows = scenarioWorkflows(nowMs);
    const jobs = scenarioJobs(nowMs);
    const api = await startFakeApi({ apiKey: API_KEY, jobs, workflows });
    try {
      const collection = await collect(
        {
          config: loadConfig({ UNSTRUCTURED_API_URL: api.url, UNSTRUCTURED_API_KEY: API_KEY, MAX_WORKFLOWS: '3' }),
          apiKey: new SecretSource({ variable: 'UNSTRUCTURED_API_KEY', direct: API_KEY, param: undefined }),
          logger: new Logger({ write: () => undefined }),
        },
        { nowMs },
      );
      const expected = referenceInventory(workflows, jobs, nowMs);
      const runs = referenceRuns(jobs, nowMs);
      const value = (id: string) => workflowDimensionValue(id, expected.info.get(id)?.workflow_name ?? '');

      // Act
      const report = await publishCollection(collection, { namespace, quantiles: QUANTILES, client: cw });

      // Assess: the metrics listed
      expect(report.failed).toEqual([]);
      const listed = metricKeys(await listMetrics(cw, namespace)).filter((k) =>
        /^(ScheduleMissed|SecondsSince)/.test(k),
      );
      const withSuccess = [...expected.missed.keys()].filter((id) => runs.get(id)?.success !== undefined);
      expect(listed).toEqual(
        [
          'ScheduleMissed{}',
          ...[...expected.missed.keys()].map(
            (id) => `ScheduleMissed{${dimensionKey([{ Name: 'Workflow', Value: value(id) }])}}`,
          ),
          ...withSuccess.map(
            (id) => `SecondsSinceLastSuccess{${dimensionKey([{ Name: 'Workflow', Value: value(id) }])}}`,
          ),
        ].sort(),
      );

      // Assess: the values read back
      const read = (metricName: string, dimensions: Record<string, string>) =>
        exactStatistics(cw, { namespace, metricName, dimensions, ...around(nowMs) });
      const missing = [...expected.missed.values()].filter((v) => v === 1).length;
      for (const [id, missed] of expected.missed)
        expect(await read('ScheduleMissed', { Workflow: value(id) })).toEqual({
          sum: missed,
          maximum: missed,
          sampleCount: 1,
        });
      for (const id of withSuccess) {
        const secondsSince = (nowMs - (runs.get(id)?.success as number)) / 1000;
        expect(await read('SecondsSinceLastSuccess', { Workflow: value(id) })).toEqual({
          sum: secondsSince,
          maximum: secondsSince,
          sampleCount: 1,
        });
      }
      // The total: moto matches {} against every dimension set of the name (both read APIs), so the datapoint
      // holds the total and the per-workflow values. Those sum to `missing` (checked above), so the total is
      // Sum − missing, and it is the Maximum.
      const all = await getMetricStatistics(cw, {
        namespace,
        metricName: 'ScheduleMissed',
        dimensions: {},
        ...around(nowMs),
      });
      expect(all).toEqual([
        {
          Timestamp: expect.any(Date),
          Sum: 2 * missing,
          Maximum: missing,
          SampleCount: expected.missed.size + 1,
          Unit: 'Count',
        },
      ]);
      expect(missing).toBeGreaterThan(1); // so the Maximum is the total's, not a workflow's 1
    } finally {
      await api.close();
    }
  });
});
