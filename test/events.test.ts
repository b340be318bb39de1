/**
 * Finished-job events end to end: the fake Unstructured API (an evolving job list, explicit "now" per run) →
 * the collector's single pass (onJob) → publishFinishedJobs → moto's CloudWatch, with the state in moto's S3.
 *
 * The exact check is on what CloudWatch accepted: every PutMetricData request that succeeded is recorded by a
 * wrapper around the real client, and the JobsFinished counts and JobRuntime multisets in them are compared
 * with the true ones (moto's GetMetricData is not exact enough for that; ListMetrics is the sanity check).
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowDimensionValue } from '../lib/outputs/cloudwatch/datums.js';
import { PublishError } from '../lib/outputs/cloudwatch/publisher.js';
import { FinishedJobs } from '../lib/events/finished.js';
import { assertFinishedJobsPublished, publishFinishedJobs, type FinishedJobsReport } from '../lib/events/run.js';
import { S3StateStore } from '../lib/events/s3-store.js';
import { decodeState, type FinishedEvent } from '../lib/events/state.js';
import type { StateStore } from '../lib/events/store.js';
import { createExporter, type Exporter } from '../lib/exporter.js';
import { Logger } from '../lib/log.js';
import type { TerminalStatus } from '../lib/vocabulary.js';
import { startFakeApi, type FakeApi } from './support/fake-api.js';
import {
  apiView,
  barrier,
  createBucket,
  entries,
  expected,
  finishedBy,
  HOUR,
  MINUTE,
  realNowMinute,
  received,
  recorder,
  s3ClientFor,
  total,
  uuid,
  type Recorder,
  type SimJob,
} from './support/finished-jobs.js';
import {
  cloudWatchClientFor,
  dimensionKey,
  exactStatistics,
  listMetrics,
  startMoto,
  type RunningMoto,
} from './support/moto.js';

const BUCKET = 'events-test-state';
const RETENTION_SECONDS = 7 * 86_400;
const BACKFILL_SECONDS = 3_600;
const DAY = 24 * HOUR;

/** MAX_WORKFLOWS is 2: a and b keep their own Workflow value, c and d fold into Other. */
const WF = {
  a: { id: uuid(0xa, 'aa'), name: 'Ingest invoices' },
  b: { id: uuid(0xb, 'bb'), name: 'Contracts "legal"' },
  c: { id: uuid(0xc, 'cc'), name: 'Reports' },
  d: { id: uuid(0xd, 'dd'), name: 'Tiny' },
} as const;
const KEPT = new Map<string, string>([WF.a, WF.b].map((w) => [w.id, workflowDimensionValue(w.id, w.name)]));
const workflowOf = (j: SimJob): string => KEPT.get(j.workflow.id) ?? 'Other';

/** Per 10 jobs: a 5, b 3, c 1, d 1 (a and b stay the two busiest at every run). */
const PATTERN = ['a', 'a', 'b', 'a', 'b', 'c', 'a', 'd', 'b', 'a'] as const;
const statusOf = (i: number): TerminalStatus => (i % 7 === 3 ? 'FAILED' : i % 11 === 5 ? 'STOPPED' : 'COMPLETED');
const runtimeOf = (i: number): number => 30 + ((i * 37) % 900) + (i % 2 === 1 ? 0.5 : 0);
/** Mostly canonical UUIDs; some legacy ids and upper-case UUIDs (kept as exact strings in the state). */
const idOf = (i: number): string => (i % 13 === 0 ? `legacy-job-${i}` : i % 17 === 0 ? uuid(i).toUpperCase() : uuid(i));

function simJob(i: number, finishedAtMs: number, extra: Partial<SimJob> = {}): SimJob {
  const runtimeSeconds = runtimeOf(i);
  return {
    id: idOf(i),
    workflow: WF[PATTERN[i % 10] as keyof typeof WF],
    status: statusOf(i),
    createdAtMs: finishedAtMs - runtimeSeconds * 1000,
    runtimeSeconds,
    finishedAtMs,
    ...extra,
  };
}

/**
 * Around the first run t0: 40 jobs finished 3 h – 63 min before (history: older than the backfill), 2 finished
 * 8 days before (beyond the retention), 10 within the backfill hour, `upcoming` finishing after t0 every 40 s,
 * and 2 terminal jobs whose runtime is unusable.
 */
function world(t0: number, upcoming = 60, start = 0): { jobs: SimJob[]; history: SimJob[] } {
  const history = Array.from({ length: 40 }, (_, k) => simJob(start + k, t0 - 3 * HOUR + k * 3 * MINUTE));
  const ancient = [simJob(start + 40, t0 - 8 * DAY), simJob(start + 41, t0 - 8 * DAY + MINUTE)];
  const backfilled = Array.from({ length: 10 }, (_, k) => simJob(start + 42 + k, t0 - 55 * MINUTE + k * 5 * MINUTE));
  const later = Array.from({ length: upcoming }, (_, k) => simJob(start + 52 + k, t0 + 20_000 + k * 40_000));
  const bad = [
    simJob(start + 52 + upcoming, t0 + 7 * MINUTE, { badRuntime: 'garbage' }),
    simJob(start + 53 + upcoming, t0 + 7 * MINUTE, { badRuntime: 'null' }),
  ];
  return { jobs: [...history, ...ancient, ...backfilled, ...later, ...bad], history };
}

let moto: RunningMoto;
let api: FakeApi;
let cw: CloudWatchClient;
let s3: S3Client;
let exporter: Exporter;

beforeAll(async () => {
  [moto, api] = await Promise.all([startMoto(), startFakeApi()]);
  cw = cloudWatchClientFor(moto.endpoint);
  s3 = s3ClientFor(moto.endpoint);
  await createBucket(s3, BUCKET);
  exporter = createExporter({
    env: { UNSTRUCTURED_API_URL: api.url, UNSTRUCTURED_API_KEY: api.apiKey, MAX_WORKFLOWS: '2' },
    logger: new Logger({ level: 'error', write: () => undefined }),
  });
}, 30_000);

afterAll(async () => {
  await api?.close();
  await moto?.stop();
});

interface RunOptions {
  readonly nowMs: number;
  readonly store: StateStore;
  readonly namespace: string;
  readonly client: ReturnType<Recorder['client']>;
  readonly beforeCommit?: (published: readonly FinishedEvent[]) => void | Promise<void>;
  readonly concurrency?: number;
}

/** One scheduled run's events step: one pull (snapshot + onJob), then publishFinishedJobs. */
async function runOnce(o: RunOptions): Promise<FinishedJobsReport> {
  const finished = new FinishedJobs({ nowMs: o.nowMs, retentionSeconds: RETENTION_SECONDS });
  const collection = await exporter.collectNow({ nowMs: o.nowMs, onJob: finished.add });
  if (!collection.ok) throw new Error(`collection failed: ${collection.errorMessage}`);
  return publishFinishedJobs(finished, collection, {
    store: o.store,
    namespace: o.namespace,
    backfillSeconds: BACKFILL_SECONDS,
    client: o.client,
    ...(o.beforeCommit !== undefined && { beforeCommit: o.beforeCommit }),
    ...(o.concurrency !== undefined && { concurrency: o.concurrency }),
  });
}

function storeFor(key: string): S3StateStore {
  return new S3StateStore({ bucket: BUCKET, key, client: s3 });
}

async function storedState(key: string) {
  const out = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return decodeState(await out.Body!.transformToString(), key);
}

/** Asserts that the accepted requests carry exactly `jobs` (a multiset: a job listed twice counts twice). */
function expectExactly(rec: Recorder, namespace: string, jobs: readonly SimJob[]): void {
  const got = received(rec.accepted, namespace);
  const want = expected(jobs, workflowOf);
  const nonZero = (m: Map<string, number>) => new Map([...m].filter(([, n]) => n !== 0));
  expect(entries(nonZero(got.finishedByStatus))).toEqual(entries(want.finishedByStatus));
  expect(entries(got.runtimesByStatus)).toEqual(entries(want.runtimesByStatus));
  expect(entries(nonZero(got.finishedByWorkflowStatus))).toEqual(entries(want.finishedByWorkflowStatus));
  expect(entries(got.runtimesByWorkflowStatus)).toEqual(entries(want.runtimesByWorkflowStatus));
  expect(entries(got.finishedByStatusMinute)).toEqual(entries(want.finishedByStatusMinute));
  expect(total(got.finishedByStatus)).toBe(jobs.length);
  for (const d of got.datums) {
    expect(d.Values?.length ?? 0).toBeLessThanOrEqual(150);
    expect(d.Counts?.length).toBe(d.Values?.length);
  }
}

describe('finished-job events over a sequence of runs', () => {
  it('publishes every finished job exactly once, at its finish minute, with the snapshot’s workflow folding', async () => {
    // Prepare
    const namespace = 'Events/Sequence';
    const key = 'state/sequence.json';
    const rec = recorder(cw);
    const t0 = realNowMinute(60 * MINUTE);
    const { jobs, history } = world(t0);
    const runs = Array.from({ length: 9 }, (_, k) => t0 + k * 5 * MINUTE);
    const reports: FinishedJobsReport[] = [];

    // Act
    for (const nowMs of runs) {
      const view = apiView(jobs, nowMs);
      api.setJobs([...view, ...view.slice(-3)]); // the API lists a few jobs twice
      reports.push(await runOnce({ nowMs, store: storeFor(key), namespace, client: rec.client() }));
    }

    // Assess
    const last = runs.at(-1) as number;
    const truth = finishedBy(jobs, last, t0 - BACKFILL_SECONDS * 1000);
    expect(truth).toHaveLength(70);
    expectExactly(rec, namespace, truth);
    expect(reports[0]).toMatchObject({
      outcome: 'published',
      firstRun: true,
      recordedUnpublished: history.length,
      published: 10 + 0,
    });
    expect(reports.slice(1).every((r) => !r.firstRun && r.recordedUnpublished === 0 && r.released === 0)).toBe(true);
    expect(reports.reduce((n, r) => n + r.published, 0)).toBe(truth.length);
    // The state: every job seen within the horizon (history + published), nothing pending, no lease.
    const state = await storedState(key);
    expect(state.seen.size).toBe(history.length + truth.length);
    expect(state.pending).toEqual([]);
    expect(state.lease).toBeUndefined();
    for (const j of truth) expect(state.seen.has(j.id)).toBe(true);
    // Sanity against moto itself: the series exist, and a plain Sum reads back the FAILED count.
    const listed = (await listMetrics(cw, namespace)).map((m) => `${m.MetricName}{${dimensionKey(m.Dimensions)}}`);
    expect(listed).toEqual(
      expect.arrayContaining([
        'JobsFinished{Status=COMPLETED}',
        'JobsFinished{Status=FAILED}',
        'JobsFinished{Status=STOPPED}',
        'JobRuntime{Status=COMPLETED}',
        `JobsFinished{Status=COMPLETED,Workflow=${KEPT.get(WF.a.id)}}`,
        'JobRuntime{Status=FAILED,Workflow=Other}',
      ]),
    );
    expect(listed.filter((m) => m.includes(WF.c.id) || m.includes(WF.d.id))).toEqual([]);
    const failed = await exactStatistics(cw, {
      namespace,
      metricName: 'JobsFinished',
      dimensions: { Status: 'FAILED' },
      startMs: t0 - 2 * HOUR,
      endMs: last + MINUTE,
    });
    expect(failed.sum).toBe(truth.filter((j) => j.status === 'FAILED').length);
  });

  it('forgets jobs older than the retention, and never publishes them', async () => {
    // Prepare: a first run 8 days ago, the next one now
    const namespace = 'Events/Retention';
    const key = 'state/retention.json';
    const rec = recorder(cw);
    const t0 = realNowMinute(8 * DAY + 60 * MINUTE);
    const { jobs } = world(t0, 10, 5_000);
    const t1 = t0 + 8 * DAY;
    const fresh = Array.from({ length: 5 }, (_, k) => simJob(6_000 + k, t1 - 30 * MINUTE + k * MINUTE));
    api.setJobs(apiView(jobs, t0));
    const first = await runOnce({ nowMs: t0, store: storeFor(key), namespace, client: rec.client() });
    const before = (await storedState(key)).seen.size;

    // Act: the old jobs are still listed, plus a few new ones
    api.setJobs(apiView([...jobs, ...fresh], t1));
    const second = await runOnce({ nowMs: t1, store: storeFor(key), namespace, client: rec.client() });

    // Assess
    expect(first).toMatchObject({ outcome: 'published', firstRun: true });
    expect(second).toMatchObject({ outcome: 'published', firstRun: false, newJobs: 5, published: 5, pruned: before });
    const state = await storedState(key);
    expect([...fresh.map((j) => j.id)].every((id) => state.seen.has(id))).toBe(true);
    expect(state.seen.size).toBe(5);
    // The 10 jobs that finished soon after the first run were first seen 8 days later: beyond the horizon, never published.
    const truth = [...finishedBy(jobs, t0, t0 - BACKFILL_SECONDS * 1000), ...fresh];
    expect(truth).toHaveLength(15);
    expectExactly(rec, namespace, truth);
  });

  it('releases the jobs of a failed PutMetricData request and publishes them with the next run, even once off the list', async () => {
    // Prepare: a burst of 540 jobs in one hour (3 statuses × 3 workflows every minute) → 2 requests
    const namespace = 'Events/Failure';
    const key = 'state/failure.json';
    const rec = recorder(cw);
    const t0 = realNowMinute(2 * HOUR);
    const statuses: TerminalStatus[] = ['COMPLETED', 'FAILED', 'STOPPED'];
    const early = [
      simJob(10_000, t0 - 30 * MINUTE),
      simJob(10_003, t0 - 20 * MINUTE),
      simJob(10_001, t0 - 10 * MINUTE),
    ];
    const burst: SimJob[] = [];
    for (let m = 0; m < 60; m++) {
      statuses.forEach((status, s) =>
        [WF.a, WF.b, WF.c].forEach((workflow, w) => {
          const i = 20_000 + m * 9 + s * 3 + w;
          // a runs longest: at the first run, a then b have the most jobs listed (in progress), so c alone folds into Other
          const runtimeSeconds = 5 + m + s * 100 + (2 - w) * 1000 + (i % 2) * 0.25;
          const finishedAtMs = t0 + m * MINUTE + (s * 3 + w + 1) * 5_000;
          burst.push({
            id: uuid(i),
            workflow,
            status,
            createdAtMs: finishedAtMs - runtimeSeconds * 1000,
            runtimeSeconds,
            finishedAtMs,
          });
        }),
      );
    }
    const all = [...early, ...burst];
    api.setJobs(apiView(all, t0));
    await runOnce({ nowMs: t0, store: storeFor(key), namespace, client: rec.client() });

    // Act: the first of the run's requests fails (after the SDK's retries), the others go through
    api.setJobs(apiView(all, t0 + 60 * MINUTE));
    const failing = await runOnce({
      nowMs: t0 + 60 * MINUTE,
      store: storeFor(key),
      namespace,
      client: rec.client({ fail: (i) => i === 0 }),
      concurrency: 1,
    });
    const afterFailure = await storedState(key);
    const pendingAfterFailure = afterFailure.pending;
    // The burst drops off the list before the next run: the released jobs come from the state
    api.setJobs(apiView(early, t0 + 65 * MINUTE));
    const next = await runOnce({ nowMs: t0 + 65 * MINUTE, store: storeFor(key), namespace, client: rec.client() });

    // Assess
    expect(failing.publish.requests).toBeGreaterThanOrEqual(2);
    expect(failing.publish.failedRequests).toBe(1);
    expect(failing.published).toBeGreaterThan(0);
    expect(failing.released).toBeGreaterThan(0);
    expect(failing.published + failing.released).toBe(burst.length);
    expect(() => assertFinishedJobsPublished(failing)).toThrow(PublishError);
    expect(pendingAfterFailure).toHaveLength(failing.released);
    expect(pendingAfterFailure.filter((e) => afterFailure.seen.has(e.id))).toEqual([]); // not published = not seen
    expect(afterFailure.lease).toBeUndefined();
    expect(next).toMatchObject({
      outcome: 'published',
      retried: failing.released,
      recovered: 0,
      newJobs: 0,
      published: failing.released,
      released: 0,
    });
    expectExactly(rec, namespace, [...early, ...burst]);
    expect((await storedState(key)).pending).toEqual([]);
    expect(rec.attempted.length).toBe(rec.accepted.length + 1);
  });

  it('impossible runtimes and a failed PutMetricData (issue 15): the state stays readable, and the next run publishes the FAILED job', async () => {
    // Prepare: jobs whose runtime ends long after now, beside ordinary ones; the first run's request fails
    const namespace = 'Events/Impossible';
    const key = 'state/impossible.json';
    const rec = recorder(cw);
    const t0 = realNowMinute(30 * MINUTE);
    const ordinary = [simJob(70_000, t0 - 20 * MINUTE), simJob(70_001, t0 - 10 * MINUTE)];
    const impossible = (n: number, runtime: string) => ({
      id: uuid(n),
      workflow_id: WF.a.id,
      workflow_name: WF.a.name,
      status: 'COMPLETED',
      created_at: new Date(t0 - 60 * MINUTE).toISOString(),
      runtime,
      job_type: 'ephemeral',
    });
    const poison = [
      impossible(70_010, 'P1100000000000Y'),
      impossible(70_011, 'P2739726Y9DT23H59M59.999999S'),
      impossible(70_012, 'P400D'),
    ];
    const failed = simJob(70_002, t0 + 2 * MINUTE, { status: 'FAILED' });

    // Act
    api.setJobs([...apiView(ordinary, t0), ...poison]);
    const failing = await runOnce({
      nowMs: t0,
      store: storeFor(key),
      namespace,
      client: rec.client({ fail: () => true }),
    });
    api.setJobs([...apiView([...ordinary, failed], t0 + 5 * MINUTE), ...poison]);
    const next = await runOnce({ nowMs: t0 + 5 * MINUTE, store: storeFor(key), namespace, client: rec.client() });
    const after = await runOnce({ nowMs: t0 + 10 * MINUTE, store: storeFor(key), namespace, client: rec.client() });

    // Assess
    expect(failing).toMatchObject({ outcome: 'published', newJobs: 2, published: 0, released: 2 });
    expect(next).toMatchObject({ outcome: 'published', retried: 2, newJobs: 1, published: 3, released: 0 });
    expect(after.outcome).toBe('nothing-new');
    expectExactly(rec, namespace, [...ordinary, failed]);
    const state = await storedState(key);
    expect(state.seen.size).toBe(3);
    expect(poison.some((p) => state.seen.has(p.id))).toBe(false);
  });

  it('a run that crashes after publishing and before committing: the batch is published again once its lease expired (duplicates, no gap)', async () => {
    // Prepare
    const namespace = 'Events/Crash';
    const key = 'state/crash.json';
    const rec = recorder(cw);
    const t0 = realNowMinute(60 * MINUTE);
    const { jobs } = world(t0, 30, 30_000);
    const at = (minutes: number) => t0 + minutes * MINUTE;
    const run = async (minutes: number, beforeCommit?: RunOptions['beforeCommit']) => {
      api.setJobs(apiView(jobs, at(minutes)));
      return runOnce({
        nowMs: at(minutes),
        store: storeFor(key),
        namespace,
        client: rec.client(),
        ...(beforeCommit && { beforeCommit }),
      });
    };
    await run(0);
    let crashed: readonly FinishedEvent[] = [];

    // Act
    const crash = run(5, (published) => {
      crashed = published;
      throw new Error('simulated crash between publish and commit');
    });
    await expect(crash).rejects.toThrow('simulated crash');
    const duringLease = await run(6); // 60 s later: the crashed run's lease (180 s) still holds
    const recovery = await run(10);
    await run(15);
    const after = await run(20);

    // Assess
    expect(crashed.length).toBeGreaterThan(0);
    expect(duringLease).toMatchObject({ outcome: 'busy', published: 0 });
    expect(recovery).toMatchObject({ outcome: 'published', recovered: crashed.length });
    expect(after.recovered).toBe(0);
    const truth = finishedBy(jobs, at(20), t0 - BACKFILL_SECONDS * 1000);
    const crashedIds = new Set(crashed.map((e) => e.id));
    const duplicates = truth.filter((j) => crashedIds.has(j.id));
    expect(duplicates).toHaveLength(crashed.length);
    // Exactly the truth plus the crashed batch once more: at-least-once, as documented
    expectExactly(rec, namespace, [...truth, ...duplicates]);
    const state = await storedState(key);
    expect(state.lease).toBeUndefined();
    expect(state.pending).toEqual([]);
  });
});

describe('overlapping runs', () => {
  it('two runs that read the state at the same moment: one claim wins, the other publishes nothing', async () => {
    // Prepare: a store that lets both runs read before either writes (first on a new state, then on an existing one)
    const namespace = 'Events/Race';
    const key = 'state/race.json';
    const rec = recorder(cw);
    const t0 = realNowMinute(60 * MINUTE);
    const { jobs } = world(t0, 20, 40_000);
    const racing = (): { a: StateStore; b: StateStore } => {
      const arrive = barrier(2);
      const wrap = (inner: StateStore): StateStore => ({
        description: inner.description,
        read: async () => {
          const state = await inner.read();
          await arrive();
          return state;
        },
        write: (text, version) => inner.write(text, version),
      });
      return { a: wrap(storeFor(key)), b: wrap(storeFor(key)) };
    };
    const outcomes: string[][] = [];

    // Act
    for (const nowMs of [t0, t0 + 10 * MINUTE, t0 + 20 * MINUTE]) {
      api.setJobs(apiView(jobs, nowMs));
      const { a, b } = racing();
      const reports = await Promise.all([
        runOnce({ nowMs, store: a, namespace, client: rec.client() }),
        runOnce({ nowMs, store: b, namespace, client: rec.client() }),
      ]);
      outcomes.push(reports.map((r) => r.outcome).sort());
    }

    // Assess
    expect(outcomes).toEqual([
      ['conflict', 'published'],
      ['conflict', 'published'],
      ['conflict', 'published'],
    ]);
    expectExactly(rec, namespace, finishedBy(jobs, t0 + 20 * MINUTE, t0 - BACKFILL_SECONDS * 1000));
  });

  it('a run that starts while another is publishing sees its lease and publishes nothing', async () => {
    // Prepare
    const namespace = 'Events/Lease';
    const key = 'state/lease.json';
    const rec = recorder(cw);
    const t0 = realNowMinute(60 * MINUTE);
    const { jobs } = world(t0, 20, 50_000);
    api.setJobs(apiView(jobs, t0));
    await runOnce({ nowMs: t0, store: storeFor(key), namespace, client: rec.client() });
    const nowMs = t0 + 10 * MINUTE;
    api.setJobs(apiView(jobs, nowMs));
    let second: FinishedJobsReport | undefined;

    // Act: while the first run's request is on its way, a second run starts and finishes
    const first = await runOnce({
      nowMs,
      store: storeFor(key),
      namespace,
      client: rec.client({
        beforeSend: async (i) => {
          if (i === 0)
            second = await runOnce({ nowMs: nowMs + 1_000, store: storeFor(key), namespace, client: rec.client() });
        },
      }),
    });

    // Assess
    expect(second).toMatchObject({ outcome: 'busy', published: 0 });
    expect(first).toMatchObject({ outcome: 'published' });
    expect(first.published).toBeGreaterThan(0);
    expectExactly(rec, namespace, finishedBy(jobs, nowMs, t0 - BACKFILL_SECONDS * 1000));
  });

  it('runs started together, round after round: each job is published by exactly one of them', async () => {
    // Prepare
    const namespace = 'Events/Concurrent';
    const key = 'state/concurrent.json';
    const rec = recorder(cw);
    const t0 = realNowMinute(60 * MINUTE);
    const { jobs } = world(t0, 40, 60_000);
    const publishers: number[] = [];
    const outcomes: string[] = [];

    // Act
    for (let k = 0; k <= 5; k++) {
      const nowMs = t0 + k * 5 * MINUTE;
      api.setJobs(apiView(jobs, nowMs));
      const reports = await Promise.all(
        [0, 1, 2].map((n) =>
          runOnce({ nowMs: nowMs + n * 1_000, store: storeFor(key), namespace, client: rec.client() }),
        ),
      );
      publishers.push(reports.filter((r) => r.published > 0).length);
      outcomes.push(...reports.map((r) => r.outcome));
    }

    // Assess
    // New jobs finish in every round: exactly one run publishes them; the others lost the claim, found the
    // lease, or came after the commit
    expect(publishers).toEqual([1, 1, 1, 1, 1, 1]);
    expect(outcomes.filter((o) => !['published', 'conflict', 'busy', 'nothing-new'].includes(o))).toEqual([]);
    expectExactly(rec, namespace, finishedBy(jobs, t0 + 25 * MINUTE, t0 - BACKFILL_SECONDS * 1000));
  });
});
