/**
 * The events step wired into the entry points: the scheduled Lambda handler (STATE_BUCKET, S3 state in moto)
 * and `collect --sink cloudwatch --state <file>` (file state), each with one pull per run.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { ScheduledEvent } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { decodeState } from '../lib/events/state.js';
import { runCli } from './support/cli.js';
import { startFakeApi, type FakeApi } from './support/fake-api.js';
import { apiView, createBucket, MINUTE, s3ClientFor, uuid, type SimJob } from './support/finished-jobs.js';
import {
  cloudWatchClientFor,
  FAKE_CREDENTIALS,
  listMetrics,
  MOTO_REGION,
  startMoto,
  type RunningMoto,
} from './support/moto.js';

const BUCKET = 'events-wiring-state';
const WORKFLOW = { id: uuid(0xa, 'aa'), name: 'Ingest invoices' };

let moto: RunningMoto;
let api: FakeApi;
let s3: S3Client;
let cw: CloudWatchClient;
let dir: string;

beforeAll(async () => {
  [moto, api] = await Promise.all([startMoto(), startFakeApi()]);
  s3 = s3ClientFor(moto.endpoint);
  cw = cloudWatchClientFor(moto.endpoint);
  await createBucket(s3, BUCKET);
  dir = mkdtempSync(join(tmpdir(), 'events-wiring-'));
}, 30_000);

afterAll(async () => {
  await api?.close();
  await moto?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

function finishedJob(
  n: number,
  finishedAtMs: number,
  status: SimJob['status'] = 'COMPLETED',
  runtimeSeconds = 42,
): SimJob {
  return {
    id: uuid(n),
    workflow: WORKFLOW,
    status,
    createdAtMs: finishedAtMs - runtimeSeconds * 1000,
    runtimeSeconds,
    finishedAtMs,
  };
}

function awsEnv(): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: moto.endpoint,
    AWS_REGION: MOTO_REGION,
    AWS_ACCESS_KEY_ID: FAKE_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: FAKE_CREDENTIALS.secretAccessKey,
    AWS_DISABLE_REQUEST_COMPRESSION: 'true',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

function scheduledEvent(): ScheduledEvent {
  return {
    version: '0',
    id: '0b7c7d1e-1f2a-4b3c-8d4e-5f6a7b8c9d0e',
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '123456789012',
    time: new Date().toISOString(),
    region: MOTO_REGION,
    resources: [],
    detail: {},
  };
}

describe('functions/collect handler with STATE_BUCKET', () => {
  const saved = new Map<string, string | undefined>();

  async function coldStart(env: Record<string, string | undefined>) {
    for (const [name, value] of Object.entries(env)) {
      if (!saved.has(name)) saved.set(name, process.env[name]);
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    vi.resetModules();
    return (await import('../functions/collect.js')).handler;
  }

  async function capturingLogs<T>(fn: () => Promise<T>): Promise<{ result: T; logs: Array<Record<string, unknown>> }> {
    const lines: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    try {
      return {
        result: await fn(),
        logs: lines
          .join('')
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as Record<string, unknown>),
      };
    } finally {
      spy.mockRestore();
    }
  }

  function lambdaEnv(
    namespace: string,
    stateBucket: string | undefined,
    key?: string,
  ): Record<string, string | undefined> {
    return {
      ...awsEnv(),
      UNSTRUCTURED_API_URL: api.url,
      UNSTRUCTURED_API_KEY: api.apiKey,
      CLOUDWATCH_NAMESPACE: namespace,
      LOG_LEVEL: 'info',
      STATE_BUCKET: stateBucket,
      STATE_KEY: key,
      EVENTS_RETENTION: undefined,
      EVENTS_BACKFILL: undefined,
      CLOUDWATCH_WORKFLOW_QUANTILES: undefined,
      CLOUDWATCH_WORKFLOW_TERMINAL_JOBS: undefined,
    };
  }

  /** Metric names published with a Workflow dimension, and the Status values of Jobs{Workflow,Status}. */
  async function perWorkflow(namespace: string): Promise<{ names: Set<string>; jobStatuses: Set<string> }> {
    const metrics = (await listMetrics(cw, namespace)).filter((m) =>
      (m.Dimensions ?? []).some((d) => d.Name === 'Workflow'),
    );
    const jobStatuses = metrics
      .filter((m) => m.MetricName === 'Jobs')
      .flatMap((m) => (m.Dimensions ?? []).filter((d) => d.Name === 'Status').map((d) => d.Value ?? ''));
    return { names: new Set(metrics.map((m) => m.MetricName ?? '')), jobStatuses: new Set(jobStatuses) };
  }

  afterEach(() => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    saved.clear();
    vi.resetModules();
  });

  it('publishes the snapshot, then the finished jobs once, from one pull per invocation', async () => {
    // Prepare: one job finished 2 h ago (history), two within the backfill hour
    const now = Date.now();
    const jobs = [
      finishedJob(1, now - 2 * 60 * MINUTE),
      finishedJob(2, now - 30 * MINUTE, 'FAILED', 7),
      finishedJob(3, now - 5 * MINUTE),
    ];
    api.setJobs(apiView(jobs, now));
    const namespace = 'Wiring/Lambda';
    const key = 'state/lambda.json';
    const handler = await coldStart(lambdaEnv(namespace, BUCKET, key));
    // The job list's requests (each finished job's details are one request more: lib/details/stage.ts).
    const listRequests = () => api.requests.filter((r) => r.path === '/api/v1/jobs/').length;
    const requestsBefore = listRequests();

    // Act
    const first = await capturingLogs(() => handler(scheduledEvent()));
    const later = finishedJob(4, Date.now() - 1_000, 'STOPPED', 3);
    api.setJobs(apiView([...jobs, later], Date.now()));
    const second = await capturingLogs(() => handler(scheduledEvent()));

    // Assess
    expect(listRequests() - requestsBefore).toBe(2);
    expect(first.result).toMatchObject({
      collectorUp: true,
      failed: 0,
      events: { outcome: 'published', firstRun: true, recordedUnpublished: 1, published: 2, failed: 0 },
    });
    expect(second.result).toMatchObject({
      events: { outcome: 'published', firstRun: false, newJobs: 1, published: 1 },
    });
    expect(first.logs.find((l) => l.message === 'cloudwatch publish')).toMatchObject({ events: { published: 2 } });
    const names = new Set((await listMetrics(cw, namespace)).map((m) => m.MetricName));
    expect([...names]).toEqual(
      expect.arrayContaining(['Jobs', 'CollectorUp', 'JobsFinished', 'JobRuntime', 'RecentJobRuntimeP95']),
    );
    // With the events on, the per-workflow metrics they make redundant are left out (lib/outputs/cloudwatch/settings.ts).
    const workflow = await perWorkflow(namespace);
    expect([...workflow.names].sort()).toEqual(['JobRuntime', 'Jobs', 'JobsFinished', 'OldestJobAge']);
    expect([...workflow.jobStatuses].sort()).toEqual(['IN_PROGRESS', 'SCHEDULED']);
    const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    const state = decodeState(await object.Body!.transformToString(), key);
    expect(state.seen.size).toBe(4);
    expect(state.lease).toBeUndefined();
  });

  it('without STATE_BUCKET: no events, said once per container', async () => {
    // Prepare
    api.setJobs(apiView([finishedJob(10, Date.now() - MINUTE)], Date.now()));
    const namespace = 'Wiring/Off';
    const handler = await coldStart(lambdaEnv(namespace, undefined));

    // Act
    const first = await capturingLogs(() => handler(scheduledEvent()));
    const second = await capturingLogs(() => handler(scheduledEvent()));

    // Assess
    expect(first.result).not.toHaveProperty('events');
    expect(second.result).not.toHaveProperty('events');
    const off = [...first.logs, ...second.logs].filter((l) => String(l.message).startsWith('finished-job events off'));
    expect(off).toHaveLength(1);
    const names = (await listMetrics(cw, namespace)).map((m) => m.MetricName);
    expect(names).toContain('Jobs');
    expect(names).not.toContain('JobsFinished');
    // Without the events, nothing replaces the per-workflow quantiles and terminal counts: they stay on.
    const workflow = await perWorkflow(namespace);
    expect(workflow.names).toContain('RecentJobRuntimeP95');
    expect(workflow.jobStatuses).toContain('COMPLETED');
  });

  it('publishes the per-workflow quantiles and terminal counts with the events when switched on', async () => {
    // Prepare
    api.setJobs(apiView([finishedJob(30, Date.now() - MINUTE)], Date.now()));
    const namespace = 'Wiring/SwitchedOn';
    const handler = await coldStart({
      ...lambdaEnv(namespace, BUCKET, 'state/switched-on.json'),
      CLOUDWATCH_WORKFLOW_QUANTILES: 'on',
      CLOUDWATCH_WORKFLOW_TERMINAL_JOBS: 'on',
    });

    // Act
    await capturingLogs(() => handler(scheduledEvent()));

    // Assess
    const workflow = await perWorkflow(namespace);
    expect(workflow.names).toContain('RecentJobRuntimeP95');
    expect(workflow.names).toContain('JobsFinished');
    expect([...workflow.jobStatuses].sort()).toEqual(['COMPLETED', 'FAILED', 'IN_PROGRESS', 'SCHEDULED', 'STOPPED']);
  });

  it('with an unreadable state: the snapshot is still published, then the invocation fails naming the object', async () => {
    // Prepare
    const key = 'state/corrupt.json';
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'not json' }));
    api.setJobs(apiView([finishedJob(20, Date.now() - MINUTE)], Date.now()));
    const namespace = 'Wiring/Corrupt';
    const handler = await coldStart(lambdaEnv(namespace, BUCKET, key));

    // Act
    const outcome = capturingLogs(() => handler(scheduledEvent()));

    // Assess
    await expect(outcome).rejects.toThrow(`s3://${BUCKET}/${key}: the finished-jobs state is unreadable`);
    const names = (await listMetrics(cw, namespace)).map((m) => m.MetricName);
    expect(names).toContain('Jobs');
    expect(names).not.toContain('JobsFinished');
  });

  it('refuses a bad events setting at once, naming the variable', async () => {
    // Prepare
    const handler = await coldStart({ ...lambdaEnv('Wiring/Config', BUCKET), EVENTS_RETENTION: '30d' });

    // Act
    const outcome = capturingLogs(() => handler(scheduledEvent()));

    // Assess
    await expect(outcome).rejects.toThrow('EVENTS_RETENTION: must be between 1h and 13d');
  });
});

describe('collect --sink cloudwatch --state <file>', () => {
  it('publishes the finished jobs once across runs, keeping the state in the file', async () => {
    // Prepare
    const t0 = Math.floor(Date.now() / MINUTE) * MINUTE - 30 * MINUTE;
    const jobs = [finishedJob(30, t0 - 10 * MINUTE), finishedJob(31, t0 + 5 * MINUTE, 'FAILED', 9)];
    const state = join(dir, 'cli-state.json');
    const env = {
      ...awsEnv(),
      UNSTRUCTURED_API_URL: api.url,
      UNSTRUCTURED_API_KEY: api.apiKey,
      CLOUDWATCH_NAMESPACE: 'Wiring/Cli',
    };
    const run = async (nowMs: number) => {
      api.setJobs(apiView(jobs, nowMs));
      const out = await runCli(
        ['collect', '--sink', 'cloudwatch', '--state', state, '--now', new Date(nowMs).toISOString()],
        env,
      );
      return { ...out, summary: JSON.parse(out.stdout) as { events?: Record<string, unknown> } };
    };

    // Act
    const first = await run(t0);
    const second = await run(t0 + 10 * MINUTE);
    const third = await run(t0 + 15 * MINUTE);

    // Assess
    expect([first.code, second.code, third.code]).toEqual([0, 0, 0]);
    expect(first.summary.events).toMatchObject({ outcome: 'published', firstRun: true, published: 1 });
    expect(second.summary.events).toMatchObject({ outcome: 'published', firstRun: false, newJobs: 1, published: 1 });
    expect(third.summary.events).toMatchObject({ outcome: 'nothing-new', published: 0 });
    expect(existsSync(state)).toBe(true);
    expect(readdirSync(dir).filter((f) => f.startsWith('cli-state') || f.startsWith('.cli-state'))).toEqual([
      'cli-state.json',
    ]);
  });

  it('refuses --state without --sink cloudwatch', async () => {
    // Act
    const { code, stderr } = await runCli(['collect', '--state', join(dir, 'x.json')], {
      UNSTRUCTURED_API_URL: api.url,
      UNSTRUCTURED_API_KEY: api.apiKey,
    });

    // Assess
    expect(code).toBe(2);
    expect(stderr).toContain('--state: only applies with --sink cloudwatch');
  });
});
