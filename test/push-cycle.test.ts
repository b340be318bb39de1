/**
 * The push cycle (lib/outputs/push.ts) with a toy output added the way docs/architecture.md says: a factory that
 * returns a PushOutput, put in the list after the run's real outputs. The toy must see the jobs of the one pull,
 * be published after the outputs before it, and be reported by both reports (the CLI's and the Lambda's).
 */
import type { PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { describe, expect, it } from 'vitest';
import { Aggregator } from '../lib/aggregate/aggregator.js';
import type { Collection } from '../lib/collection.js';
import type { CollectOptions } from '../lib/collector.js';
import { loadConfig } from '../lib/config.js';
import { Logger } from '../lib/log.js';
import type { CloudWatchClientLike } from '../lib/outputs/cloudwatch/publisher.js';
import { pushOutputs } from '../lib/outputs/push-outputs.js';
import { independent } from '../lib/outputs/push-independent.js';
import { reportToLog, reportToTerminal, runPushCycle, type PushOutput, type PushReport } from '../lib/outputs/push.js';
import type { Job } from '../lib/records/job.js';
import { loadEventsConfig } from '../lib/events/config.js';
import { SeenIds } from '../lib/events/seen-ids.js';
import { decodeState, emptyState, encodeState } from '../lib/events/state.js';
import { MemoryStateStore, type StateStore } from '../lib/events/store.js';
import { job } from './support/jobs.js';

/** What happened, in order, across the outputs and the pull. */
type Trace = string[];

/** A toy output in one piece: counts the jobs it sees, and reports them (or a problem, when told to). */
function toyOutput(trace: Trace, options: { fail?: boolean } = {}): PushOutput {
  const seen: string[] = [];
  return {
    name: 'toy',
    onJob: (j: Job) => seen.push(j.id),
    async publish(collection: Collection): Promise<PushReport> {
      trace.push(`toy publish (${collection.ok ? 'up' : 'down'}, ${seen.length} jobs)`);
      const summary = { toy: { jobs: seen.length } };
      if (!options.fail) return { summary };
      return {
        summary,
        problem: {
          message: 'toy: the toy sink said no',
          log: { message: 'toy publish failed', fields: { toyJobs: seen.length } },
          error: new Error('toy refused'),
        },
      };
    },
  };
}

/** A CloudWatch client that accepts everything, in memory. */
function acceptingClient(trace: Trace): () => Promise<CloudWatchClientLike> {
  const client: CloudWatchClientLike = {
    async send(command: PutMetricDataCommand) {
      trace.push(`cloudwatch PutMetricData (${command.input.MetricData?.length} datums)`);
      return {};
    },
  };
  return async () => client;
}

/** A pull of `jobs` (relative to now, so the datums are inside CloudWatch's timestamp window), fed to onJob. */
function fakeCollect(jobs: readonly Job[], trace: Trace): (options: CollectOptions) => Promise<Collection> {
  return async (options) => {
    const nowMs = options.nowMs ?? Date.now();
    trace.push('pull');
    const config = loadConfig({});
    const aggregator = new Aggregator({
      nowMs,
      runtimeWindowSeconds: config.runtimeWindowSeconds,
      maxWorkflows: config.maxWorkflows,
      histogramBuckets: config.histogramBuckets,
      quantiles: config.quantiles,
    });
    for (const j of jobs) {
      aggregator.add(j);
      options.onJob?.(j);
    }
    const snapshot = aggregator.snapshot();
    aggregator.release();
    return { ok: true, snapshot, durationSeconds: 0.25, finishedAtMs: nowMs };
  };
}

function terminal(): {
  io: { stdout: (t: string) => void; stderr: (t: string) => void };
  out: string[];
  err: string[];
} {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { stdout: (t) => out.push(t), stderr: (t) => err.push(t) }, out, err };
}

function logLines(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  return { logger: new Logger({ write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) }), lines };
}

describe('the push cycle with a toy output', () => {
  it('gives the toy the jobs of the one pull, publishes it after CloudWatch, and reports it on the terminal', async () => {
    // Prepare
    const nowMs = Date.now();
    const trace: Trace = [];
    const jobs = [
      job({ createdAtMs: nowMs - 120_000, runtimeSeconds: 30 }),
      job({ createdAtMs: nowMs - 60_000, status: 'IN_PROGRESS', runtimeSeconds: undefined }),
    ];
    const { logger } = logLines();
    const outputs = [
      ...pushOutputs({ config: loadConfig({}), nowMs, logger, cloudWatchClient: acceptingClient(trace) }),
      toyOutput(trace),
    ];
    const { io, out, err } = terminal();

    // Act
    const run = await runPushCycle({ collect: fakeCollect(jobs, trace), nowMs, outputs });
    const ok = reportToTerminal(run, io);

    // Assess
    expect(trace[0]).toBe('pull');
    expect(trace.filter((t) => t === 'pull')).toHaveLength(1);
    expect(trace.at(-1)).toBe('toy publish (up, 2 jobs)');
    expect(trace.slice(1, -1).every((t) => t.startsWith('cloudwatch PutMetricData'))).toBe(true);
    expect(ok).toBe(true);
    expect(err).toEqual([]);
    const line = JSON.parse(out.join('')) as Record<string, unknown>;
    expect(Object.keys(line)).toEqual([
      'namespace',
      'collectorUp',
      'datums',
      'requests',
      'published',
      'failed',
      'invalid',
      'toy',
    ]);
    expect(line).toMatchObject({
      namespace: 'Unstructured/Jobs',
      collectorUp: true,
      failed: 0,
      invalid: 0,
      toy: { jobs: 2 },
    });
  });

  it('tells a toy problem after the outputs before it published: exit status on the terminal, an error line and the error in the Lambda', async () => {
    // Prepare
    const nowMs = Date.now();
    const trace: Trace = [];
    const jobs = [job({ createdAtMs: nowMs - 120_000, runtimeSeconds: 30 })];
    const { logger, lines } = logLines();
    const outputs = [
      ...pushOutputs({ config: loadConfig({}), nowMs, logger, cloudWatchClient: acceptingClient(trace) }),
      toyOutput(trace, { fail: true }),
    ];
    const run = await runPushCycle({ collect: fakeCollect(jobs, trace), nowMs, outputs });
    const { io, err } = terminal();

    // Act
    const ok = reportToTerminal(run, io);
    const scheduled = () => reportToLog(run, logger, { message: 'cloudwatch publish', fields: { event: 'e-1' } });

    // Assess
    expect(ok).toBe(false);
    expect(err).toEqual(['error: toy: the toy sink said no\n']);
    expect(scheduled).toThrow('toy refused');
    expect(lines.map((l) => [l.level, l.message])).toEqual([
      ['info', 'cloudwatch publish'],
      ['error', 'toy publish failed'],
    ]);
    expect(lines[0]).toMatchObject({ event: 'e-1', collectorUp: true, collectionSeconds: 0.25, toy: { jobs: 1 } });
    expect(lines[0]).not.toHaveProperty('errorKind');
    expect(lines[1]).toMatchObject({ event: 'e-1', toyJobs: 1 });
  });

  it('publishes a failed pull too, and the CLI names what the sink published for it', async () => {
    // Prepare
    const nowMs = Date.now();
    const trace: Trace = [];
    const failed: Collection = {
      ok: false,
      errorKind: 'unauthorized',
      errorMessage: 'HTTP 401: bad key',
      durationSeconds: 0.5,
      finishedAtMs: nowMs,
    };
    const outputs = [
      ...pushOutputs({
        config: loadConfig({}),
        nowMs,
        logger: logLines().logger,
        cloudWatchClient: acceptingClient(trace),
      }),
      toyOutput(trace),
    ];
    const { io, out, err } = terminal();

    // Act
    const run = await runPushCycle({ collect: async () => failed, nowMs, outputs });
    const ok = reportToTerminal(run, io);

    // Assess
    expect(ok).toBe(false);
    expect(trace).toEqual(['cloudwatch PutMetricData (2 datums)', 'toy publish (down, 0 jobs)']);
    expect(err).toEqual(['error: collection failed (unauthorized): HTTP 401: bad key; published CollectorUp 0\n']);
    expect(JSON.parse(out.join(''))).toEqual({
      namespace: 'Unstructured/Jobs',
      collectorUp: false,
      datums: 2,
      requests: 1,
      published: 2,
      failed: 0,
      invalid: 0,
      toy: { jobs: 0 },
    });
  });

  it('lets the finished-job events read their state before the pull: the jobs it has seen are not kept, the new one is published', async () => {
    // Prepare: a state that has seen `seen-1`; the pull lists it and `new-1`
    const nowMs = Date.now();
    const trace: Trace = [];
    const at = { createdAtMs: nowMs - 120_000, runtimeSeconds: 30 };
    const inner = new MemoryStateStore('memory');
    const seen = new SeenIds();
    seen.add('seen-1', nowMs - 90_000);
    await inner.write(encodeState({ ...emptyState(nowMs - 600_000), seen }), undefined);
    const store: StateStore = {
      description: inner.description,
      read: () => {
        trace.push('state read');
        return inner.read();
      },
      write: (content, version) => {
        trace.push('state write');
        return inner.write(content, version);
      },
    };
    const config = loadConfig({});
    const events = { config: loadEventsConfig({}), store };
    const outputs = pushOutputs({
      config,
      nowMs,
      logger: logLines().logger,
      cloudWatchClient: acceptingClient(trace),
      events,
    });
    const { io, out } = terminal();

    // Act
    const run = await runPushCycle({
      collect: fakeCollect([job({ id: 'seen-1', ...at }), job({ id: 'new-1', ...at })], trace),
      nowMs,
      outputs,
    });
    const ok = reportToTerminal(run, io);

    // Assess
    expect(ok).toBe(true);
    expect(trace.slice(0, 2)).toEqual(['state read', 'pull']);
    expect(trace.filter((t) => t === 'state read')).toHaveLength(1);
    expect(JSON.parse(out.join('')).events).toMatchObject({ outcome: 'published', newJobs: 1, published: 1, seen: 2 });
    const stored = decodeState((await inner.read())!.bytes, 'after');
    expect(stored.seen.has('new-1')).toBe(true);
  });

  it('keeps an independent output (remote write on) preparing before the pull and seeing its jobs, its throw a problem', async () => {
    // Prepare: a toy that prepares, sees jobs and throws on publish, wrapped as the scheduled run wraps it
    const trace: Trace = [];
    const toy: PushOutput = {
      name: 'toy',
      prepare: async () => {
        trace.push('toy prepare');
        return {};
      },
      onJob: (j) => trace.push(`toy saw ${j.id}`),
      publish: async () => {
        throw new Error('toy refused');
      },
    };

    // Act
    const run = await runPushCycle({ collect: fakeCollect([job({ id: 'j-1' })], trace), outputs: [independent(toy)] });

    // Assess
    expect(trace).toEqual(['toy prepare', 'pull', 'toy saw j-1']);
    expect(run.reports[0]?.problem?.message).toBe('toy failed: Error: toy refused');
  });
});
