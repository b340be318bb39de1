/**
 * moto (Python) as a local CloudWatch for tests: started as a plain process on a free loopback port, stopped by
 * its own pid. Plus real SDK clients pointed at it and small read-back helpers.
 *
 * moto's known gaps (see /work/shared/reference/toolchain-and-test-peers.md and moto/cloudwatch/models.py):
 * - it cannot read gzipped bodies: clients here set `disableRequestCompression: true`;
 * - it answers 500 to percentile statistics (p90 …): read Sum / Maximum / SampleCount only;
 * - it validates nothing (limits are the exporter's own job: validateDatum);
 * - GetMetricStatistics matches a *subset* of the dimensions (Jobs{Status=FAILED} also returns every
 *   Jobs{Workflow=…,Status=FAILED} datum), unlike CloudWatch's exact match;
 * - GetMetricData with dimensions matches them exactly but ignores the namespace.
 * `exactStatistics` works around the last two: exact dimension match (GetMetricData), with a namespace check
 * through ListMetrics; reset moto between tests (`reset()`) so no other namespace shares a dimension set.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  CloudWatchClient,
  GetMetricDataCommand,
  GetMetricStatisticsCommand,
  ListMetricsCommand,
  type Datapoint,
  type Dimension,
  type Metric,
} from '@aws-sdk/client-cloudwatch';
import { CLIENT_RETRY } from '../../lib/outputs/cloudwatch/publisher.js';
import { freePort } from './ports.js';

export const MOTO_REGION = 'us-east-1';
export const FAKE_CREDENTIALS = {
  accessKeyId: 'AKIAMOTOTESTFAKE0000',
  secretAccessKey: 'moto-fake-secret-key',
} as const;

const READY_DEADLINE_MS = 15_000;
const KILL_AFTER_MS = 5_000;

export interface RunningMoto {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  readonly port: number;
  /** Forgets every metric (POST /moto-api/reset). */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

/** True when `moto_server` is on PATH. */
function motoInstalled(): boolean {
  const probe = spawnSync('sh', ['-c', 'command -v moto_server'], { encoding: 'utf8' });
  return probe.status === 0 && probe.stdout.trim() !== '';
}

/** Starts `moto_server -H 127.0.0.1 -p <free port>` and waits (≤ 15 s) until it answers HTTP. */
export async function startMoto(): Promise<RunningMoto> {
  if (!motoInstalled()) {
    throw new Error(
      'moto_server is not installed: the CloudWatch tests need it. Install it with `python3 -m pip install "moto[server]"` ' +
        '(scripts/test.sh does this on a fresh machine).',
    );
  }
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const keep = (d: Buffer) => {
    log = (log + d.toString()).slice(-10_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let spawnError: Error | undefined;
  child.once('error', (e) => {
    spawnError = e;
  });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });

  const stop = async (): Promise<void> => {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const killer = setTimeout(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }, KILL_AFTER_MS);
    await exited;
    clearTimeout(killer);
  };

  const deadline = Date.now() + READY_DEADLINE_MS;
  for (;;) {
    if (spawnError !== undefined) throw new Error(`moto_server could not start: ${spawnError.message}\n${log}`);
    if (child.exitCode !== null)
      throw new Error(`moto_server exited with ${child.exitCode} before it was ready:\n${log}`);
    try {
      const response = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(1_000) });
      await response.arrayBuffer();
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`moto_server not ready on ${endpoint} after ${READY_DEADLINE_MS} ms:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  const reset = async (): Promise<void> => {
    const response = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
    await response.arrayBuffer();
    if (!response.ok) throw new Error(`moto reset answered ${response.status}`);
  };
  return { endpoint, port, reset, stop };
}

/**
 * A real CloudWatchClient pointed at `endpoint`: region us-east-1, static fake credentials, no request
 * compression (moto cannot read gzip), and the publisher's retry settings.
 */
export function cloudWatchClientFor(endpoint: string): CloudWatchClient {
  return new CloudWatchClient({
    ...CLIENT_RETRY,
    region: MOTO_REGION,
    endpoint,
    credentials: { ...FAKE_CREDENTIALS },
    disableRequestCompression: true,
  });
}

/** Every metric of a namespace (all pages). */
export async function listMetrics(client: CloudWatchClient, namespace: string): Promise<Metric[]> {
  const out: Metric[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListMetricsCommand({ Namespace: namespace, NextToken: token }));
    out.push(...(page.Metrics ?? []));
    token = page.NextToken;
  } while (token !== undefined && token !== '');
  return out;
}

/** Every metric moto holds, whatever the namespace (all pages). */
export async function listAllMetrics(client: CloudWatchClient): Promise<Metric[]> {
  const out: Metric[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListMetricsCommand({ NextToken: token }));
    out.push(...(page.Metrics ?? []));
    token = page.NextToken;
  } while (token !== undefined && token !== '');
  return out;
}

/** `Name=Value` pairs, sorted: a dimension set as one comparable string. */
export function dimensionKey(dimensions: readonly Dimension[] | undefined): string {
  return (dimensions ?? [])
    .map((d) => `${d.Name ?? ''}=${d.Value ?? ''}`)
    .sort()
    .join(',');
}

export interface ReadWindow {
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: Record<string, string>;
  /** Data points at or after this time … */
  readonly startMs: number;
  /** … and before this one. */
  readonly endMs: number;
  /** Seconds; one period spanning the window gives one data point. Default: the window's length. */
  readonly periodSeconds?: number;
}

export interface ExactStatistics {
  readonly sum: number | undefined;
  readonly maximum: number | undefined;
  readonly sampleCount: number | undefined;
}

function toDimensions(record: Record<string, string>): Dimension[] {
  return Object.entries(record).map(([Name, Value]) => ({ Name, Value }));
}

function periodOf(w: ReadWindow): number {
  return w.periodSeconds ?? Math.max(60, Math.round((w.endMs - w.startMs) / 1000));
}

/** GetMetricStatistics (Sum, Maximum, SampleCount); note moto matches a subset of the dimensions. */
export async function getMetricStatistics(client: CloudWatchClient, w: ReadWindow): Promise<Datapoint[]> {
  const out = await client.send(
    new GetMetricStatisticsCommand({
      Namespace: w.namespace,
      MetricName: w.metricName,
      Dimensions: toDimensions(w.dimensions),
      StartTime: new Date(w.startMs),
      EndTime: new Date(w.endMs),
      Period: periodOf(w),
      Statistics: ['Sum', 'Maximum', 'SampleCount'],
    }),
  );
  return out.Datapoints ?? [];
}

/**
 * Sum, Maximum and SampleCount over the window of the metric with exactly these dimensions (GetMetricData).
 * Throws when the namespace holds no such metric (moto's GetMetricData ignores the namespace).
 */
export async function exactStatistics(client: CloudWatchClient, w: ReadWindow): Promise<ExactStatistics> {
  const wanted = dimensionKey(toDimensions(w.dimensions));
  const listed = await listMetrics(client, w.namespace);
  if (!listed.some((m) => m.MetricName === w.metricName && dimensionKey(m.Dimensions) === wanted)) {
    throw new Error(`no metric ${w.metricName}{${wanted}} in namespace ${w.namespace}`);
  }
  const metric = { Namespace: w.namespace, MetricName: w.metricName, Dimensions: toDimensions(w.dimensions) };
  const period = periodOf(w);
  const out = await client.send(
    new GetMetricDataCommand({
      StartTime: new Date(w.startMs),
      EndTime: new Date(w.endMs),
      MetricDataQueries: (['Sum', 'Maximum', 'SampleCount'] as const).map((stat, i) => ({
        Id: `q${i}`,
        MetricStat: { Metric: metric, Period: period, Stat: stat },
      })),
    }),
  );
  const total = (id: string, combine: (a: number, b: number) => number): number | undefined => {
    const values = out.MetricDataResults?.find((r) => r.Id === id)?.Values ?? [];
    return values.length === 0 ? undefined : values.reduce(combine);
  };
  return {
    sum: total('q0', (a, b) => a + b),
    maximum: total('q1', (a, b) => Math.max(a, b)),
    sampleCount: total('q2', (a, b) => a + b),
  };
}
