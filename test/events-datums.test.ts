/**
 * Finished-job events → datums (pure): Values/Counts splitting, minute timestamps and clamping, zeros, units
 * that fit one request, the workflow folding, the job filter, and the EVENTS_* configuration.
 */
import { describe, expect, it } from 'vitest';
import { planRequests } from '../lib/outputs/cloudwatch/publisher.js';
import { validateDatum } from '../lib/outputs/cloudwatch/datums.js';
import { Aggregator } from '../lib/aggregate/aggregator.js';
import { ConfigError } from '../lib/config.js';
import {
  DEFAULT_BACKFILL_SECONDS,
  DEFAULT_RETENTION_SECONDS,
  DEFAULT_STATE_KEY,
  loadEventsConfig,
} from '../lib/events/config.js';
import { eventTimestampMs, MAX_EVENTS_PER_UNIT, packUnits, renderEventUnits } from '../lib/events/datums.js';
import { FinishedJobs, workflowFolding } from '../lib/events/finished.js';
import { SeenIds } from '../lib/events/seen-ids.js';
import type { FinishedEvent } from '../lib/events/state.js';
import { job, NOW_MS } from './support/jobs.js';

const MINUTE = 60_000;

function event(i: number, overrides: Partial<FinishedEvent> = {}): FinishedEvent {
  return {
    id: `job-${i}`,
    status: 'COMPLETED',
    workflow: 'Ingest (wf-a)',
    runtimeSeconds: i,
    finishedAtMs: NOW_MS - 10 * MINUTE,
    ...overrides,
  };
}

const runtimesOf = (values: readonly number[] | undefined, counts: readonly number[] | undefined): number[] =>
  (values ?? []).flatMap((v, i) => Array.from({ length: counts?.[i] ?? 1 }, () => v));

describe('renderEventUnits', () => {
  it('publishes runtimes as Values/Counts, at most 150 distinct values a datum, every runtime once', () => {
    // Prepare: 400 jobs, 320 distinct runtimes (80 of them twice)
    const events = Array.from({ length: 400 }, (_, i) => event(i, { runtimeSeconds: i % 320 }));

    // Act
    const [unit] = renderEventUnits(events, { nowMs: NOW_MS, zeros: false });

    // Assess
    const byStatus = unit!.datums.filter((d) => d.MetricName === 'JobRuntime' && d.Dimensions?.length === 1);
    expect(byStatus.map((d) => d.Values?.length)).toEqual([150, 150, 20]);
    const all = byStatus.flatMap((d) => runtimesOf(d.Values, d.Counts)).sort((a, b) => a - b);
    expect(all).toEqual(events.map((e) => e.runtimeSeconds).sort((a, b) => a - b));
    expect(unit!.datums.find((d) => d.MetricName === 'JobsFinished' && d.Dimensions?.length === 1)?.Value).toBe(400);
    for (const d of unit!.datums) expect(validateDatum(d, NOW_MS)).toEqual([]);
  });

  it('timestamps each group at its finish minute, by Status and by Workflow + Status', () => {
    // Prepare
    const events = [
      event(1, { finishedAtMs: NOW_MS - 5 * MINUTE + 59_999, status: 'FAILED', workflow: 'A (1)' }),
      event(2, { finishedAtMs: NOW_MS - 5 * MINUTE, status: 'FAILED', workflow: 'Other' }),
      event(3, { finishedAtMs: NOW_MS - 4 * MINUTE, status: 'FAILED', workflow: 'A (1)' }),
    ];

    // Act
    const units = renderEventUnits(events, { nowMs: NOW_MS, zeros: false });

    // Assess
    const summary = units.flatMap((u) =>
      u.datums
        .filter((d) => d.MetricName === 'JobsFinished')
        .map((d) => `${d.Timestamp?.toISOString()} ${d.Dimensions?.map((x) => x.Value).join('/')} = ${d.Value}`),
    );
    expect(summary).toEqual([
      '2026-11-29T11:55:00.000Z FAILED = 2',
      '2026-11-29T11:55:00.000Z A (1)/FAILED = 1',
      '2026-11-29T11:55:00.000Z Other/FAILED = 1',
      '2026-11-29T11:56:00.000Z FAILED = 1',
      '2026-11-29T11:56:00.000Z A (1)/FAILED = 1',
    ]);
  });

  it('adds JobsFinished 0 at the run’s minute for each terminal status without an event', () => {
    // Act
    const none = renderEventUnits([], { nowMs: NOW_MS + 30_000 });
    const some = renderEventUnits([event(1, { status: 'STOPPED' })], { nowMs: NOW_MS });

    // Assess
    expect(none).toHaveLength(1);
    expect(none[0]!.datums.map((d) => `${d.Dimensions?.[0]?.Value}=${d.Value}@${d.Timestamp?.toISOString()}`)).toEqual([
      'COMPLETED=0@2026-11-29T12:00:00.000Z',
      'FAILED=0@2026-11-29T12:00:00.000Z',
      'STOPPED=0@2026-11-29T12:00:00.000Z',
    ]);
    expect(some.at(-1)!.events).toEqual([]);
    expect(some.at(-1)!.datums.map((d) => d.Dimensions?.[0]?.Value)).toEqual(['COMPLETED', 'FAILED']);
  });

  it('splits a big minute into units of at most 400 events, each fitting one request; packs units whole', () => {
    // Prepare: 2,000 jobs in one minute, each of its own workflow and runtime (the worst case)
    const events = Array.from({ length: 2_000 }, (_, i) =>
      event(i, { workflow: `Workflow ${'x'.repeat(180)} (${i})`, runtimeSeconds: i + 0.5 }),
    );

    // Act
    const units = renderEventUnits(events, { nowMs: NOW_MS, zeros: false });
    const batches = packUnits(units, 'Unstructured/Jobs');

    // Assess
    expect(units.map((u) => u.events.length)).toEqual([MAX_EVENTS_PER_UNIT, 400, 400, 400, 400]);
    for (const batch of batches) {
      expect(
        planRequests(
          batch.flatMap((u) => u.datums),
          'Unstructured/Jobs',
        ),
      ).toHaveLength(1);
    }
    expect(batches.flat()).toEqual(units);
    const counted = units
      .flatMap((u) => u.datums)
      .filter((d) => d.MetricName === 'JobsFinished' && d.Dimensions?.length === 1);
    expect(counted.reduce((n, d) => n + (d.Value ?? 0), 0)).toBe(2_000);
  });
});

describe('eventTimestampMs', () => {
  it('rounds down to the minute, and never goes past the run’s minute or beyond 2 weeks less an hour', () => {
    // Act / Assess
    expect(eventTimestampMs(NOW_MS - 90_500, NOW_MS)).toBe(NOW_MS - 2 * MINUTE);
    expect(eventTimestampMs(NOW_MS + 10 * MINUTE, NOW_MS + 30_000)).toBe(NOW_MS);
    expect(eventTimestampMs(NOW_MS - 20 * 86_400_000, NOW_MS)).toBe(NOW_MS - 14 * 86_400_000 + 3_600_000);
  });
});

describe('FinishedJobs and workflowFolding', () => {
  it('keeps terminal jobs with a runtime that finished within the retention, first sighting of an id only', () => {
    // Prepare
    const finished = new FinishedJobs({ nowMs: NOW_MS, retentionSeconds: 86_400 });
    const jobs = [
      job({ id: 'ok', status: 'FAILED', createdAtMs: NOW_MS - 3_600_000, runtimeSeconds: 1.25 }),
      job({ id: 'ok', status: 'COMPLETED' }), // the API listed it twice
      job({ id: 'running', status: 'IN_PROGRESS', runtimeSeconds: undefined }),
      job({ id: 'no-runtime', status: 'COMPLETED', runtimeSeconds: undefined, runtimeInvalid: true }),
      job({ id: 'too-old', status: 'COMPLETED', createdAtMs: NOW_MS - 2 * 86_400_000 }),
      job({ id: 'unknown-status', status: 'active' }),
    ];

    // Act
    for (const j of jobs) finished.add(j);

    // Assess
    expect([...finished.jobs()]).toEqual([
      {
        id: 'ok',
        workflowId: 'wf-a',
        status: 'FAILED',
        runtimeSeconds: 1.25,
        finishedAtMs: NOW_MS - 3_600_000 + 1_250,
      },
    ]);
    expect({
      duplicates: finished.duplicates,
      withoutRuntime: finished.withoutRuntime,
      beyondHorizon: finished.beyondHorizon,
    }).toEqual({
      duplicates: 1,
      withoutRuntime: 1,
      beyondHorizon: 1,
    });
  });

  it('leaves out the jobs a state has seen once told to (exclude), and forgets what it gathered on release', () => {
    // Prepare: the state has seen `seen-1` and the non-UUID `seen-x`; the pull lists them beside two new jobs
    const finished = new FinishedJobs({ nowMs: NOW_MS, retentionSeconds: 86_400 });
    const state = new SeenIds();
    const seenUuid = '7c0c1a52-7b1e-4c1d-9a3e-000000000001';
    state.add(seenUuid, NOW_MS - 3_600_000);
    state.add('seen-x', NOW_MS - 3_600_000);
    const at = { createdAtMs: NOW_MS - 3_600_000, runtimeSeconds: 2 };
    const before = job({ id: seenUuid, ...at }); // gathered before exclude: kept (publishFinishedJobs skips it)

    // Act
    finished.add(before);
    finished.exclude(state);
    for (const id of [seenUuid, 'seen-x', 'new-1', '9d0c1a52-7b1e-4c1d-9a3e-000000000002'])
      finished.add(job({ id, ...at }));
    const gathered = [...finished.jobs()].map((j) => j.id);
    finished.release();
    const afterRelease = finished.size;
    finished.add(job({ id: 'new-2', ...at }));

    // Assess
    expect(gathered).toEqual([seenUuid, 'new-1', '9d0c1a52-7b1e-4c1d-9a3e-000000000002']);
    expect({ known: finished.known, duplicates: finished.duplicates }).toEqual({ known: 2, duplicates: 0 });
    expect(afterRelease).toBe(0);
    expect([...finished.jobs()].map((j) => j.id)).toEqual(['new-2']);
  });

  it('records the jobs older than the backfill as seen once told to (recordBefore), the first sighting of an id deciding', () => {
    // Prepare: a first run; `old-*` finished 3 h ago, `new-*` 10 min ago; two ids listed once old, once new
    const finished = new FinishedJobs({ nowMs: NOW_MS, retentionSeconds: 86_400 });
    const seen = new SeenIds();
    const old = { createdAtMs: NOW_MS - 3 * 3_600_000, runtimeSeconds: 2 };
    const recent = { createdAtMs: NOW_MS - 600_000, runtimeSeconds: 2 };
    finished.recordBefore(NOW_MS - 3_600_000, seen);

    // Act
    for (const j of [
      job({ id: 'old-1', ...old }),
      job({ id: 'new-1', ...recent }),
      job({ id: 'old-1', ...recent }), // recorded first: stays recorded
      job({ id: 'new-1', ...old }), // gathered first: stays gathered
      job({ id: 'old-2', ...old }),
      job({ id: 'old-2', ...old }),
    ])
      finished.add(j);

    // Assess
    expect([...finished.jobs()].map((j) => j.id)).toEqual(['new-1']);
    expect(finished.recordedSeen).toBe(seen);
    expect([seen.has('old-1'), seen.has('old-2'), seen.has('new-1')]).toEqual([true, true, false]);
    expect(seen.hours()).toEqual([Math.floor((NOW_MS - 3 * 3_600_000 + 2_000) / 3_600_000)]);
    expect({ recorded: finished.recorded, duplicates: finished.duplicates }).toEqual({ recorded: 2, duplicates: 3 });
  });

  it('folds exactly the workflows the snapshot folded into Other', () => {
    // Prepare: MAX_WORKFLOWS 2; busy (3 jobs) and mid (2) are kept, quiet (1) folds
    const aggregator = new Aggregator({
      nowMs: NOW_MS,
      runtimeWindowSeconds: 86_400,
      maxWorkflows: 2,
      histogramBuckets: [1],
      quantiles: [0.5],
    });
    const spec: Array<[string, string, number]> = [
      ['busy', 'Busy one', 3],
      ['mid', 'Mid', 2],
      ['quiet', 'Quiet', 1],
    ];
    for (const [id, name, count] of spec)
      for (let i = 0; i < count; i++) aggregator.add(job({ workflowId: id, workflowName: name }));

    // Act
    const fold = workflowFolding(aggregator.snapshot());

    // Assess
    expect(['busy', 'mid', 'quiet', 'never-seen'].map(fold)).toEqual([
      'Busy one (busy)',
      'Mid (mid)',
      'Other',
      'Other',
    ]);
  });
});

describe('loadEventsConfig', () => {
  it('defaults: events off, 7 days of retention, 1 hour of backfill', () => {
    // Act
    const config = loadEventsConfig({});

    // Assess
    expect(config).toEqual({
      stateBucket: undefined,
      stateKey: DEFAULT_STATE_KEY,
      retentionSeconds: DEFAULT_RETENTION_SECONDS,
      backfillSeconds: DEFAULT_BACKFILL_SECONDS,
    });
    expect(config).toMatchObject({
      stateKey: 'state/finished-jobs.json',
      retentionSeconds: 604_800,
      backfillSeconds: 3_600,
    });
  });

  it('reads every variable', () => {
    // Act
    const config = loadEventsConfig({
      STATE_BUCKET: 'my-exporter-state',
      STATE_KEY: 'prod/state.json',
      EVENTS_RETENTION: '3d',
      EVENTS_BACKFILL: '0',
    });

    // Assess
    expect(config).toEqual({
      stateBucket: 'my-exporter-state',
      stateKey: 'prod/state.json',
      retentionSeconds: 259_200,
      backfillSeconds: 0,
    });
  });

  it.each([
    [{ STATE_BUCKET: 'My_Bucket' }, 'STATE_BUCKET', 'not an S3 bucket name'],
    [{ STATE_KEY: '/state.json' }, 'STATE_KEY', 'must not start with "/"'],
    [{ EVENTS_RETENTION: 'a week' }, 'EVENTS_RETENTION', 'expected a duration'],
    [{ EVENTS_RETENTION: '20d' }, 'EVENTS_RETENTION', 'between 1h and 13d'],
    [{ EVENTS_RETENTION: '30m' }, 'EVENTS_RETENTION', 'between 1h and 13d'],
    [{ EVENTS_RETENTION: '2d', EVENTS_BACKFILL: '3d' }, 'EVENTS_BACKFILL', 'between 0 and 2d'],
  ])('%j → a ConfigError naming %s', (env, variable, message) => {
    // Act
    const load = () => loadEventsConfig(env);

    // Assess
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(`${variable}: `);
    expect(load).toThrow(message);
  });
});
