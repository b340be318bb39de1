/**
 * Helpers for the finished-job events tests: a simulated job history (what the API lists at any "now"), a
 * CloudWatch client wrapper that records every PutMetricData request CloudWatch (moto) accepted, and a reader
 * that turns those requests back into counts and runtime multisets.
 */
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import type {
  CloudWatchClient,
  MetricDatum,
  PutMetricDataCommand,
  PutMetricDataCommandInput,
} from '@aws-sdk/client-cloudwatch';
import type { CloudWatchClientLike } from '../../lib/outputs/cloudwatch/publisher.js';
import type { TerminalStatus } from '../../lib/vocabulary.js';
import { FAKE_CREDENTIALS, MOTO_REGION } from './moto.js';

export const MINUTE = 60_000;
export const HOUR = 3_600_000;

/** A job as it will have been: created at `createdAtMs`, running until `finishedAtMs`, then `status`. */
export interface SimJob {
  readonly id: string;
  readonly workflow: { readonly id: string; readonly name: string };
  readonly status: TerminalStatus;
  readonly createdAtMs: number;
  readonly runtimeSeconds: number;
  /** createdAtMs + runtime. */
  readonly finishedAtMs: number;
  /** The API sends an unusable runtime for this job once it finished (so it is never an event). */
  readonly badRuntime?: 'garbage' | 'null';
}

/** A lower-case canonical UUID from a number (distinct numbers, distinct ids). */
export function uuid(n: number, prefix = 'e7'): string {
  const hex = n.toString(16).padStart(12, '0');
  return `${prefix}0c1a52-7b1e-4c1d-9a3e-${hex}`;
}

function runtimeText(seconds: number): string {
  return `PT${seconds}S`;
}

/** What the API lists at `nowMs`: jobs created by then; running (no runtime) until they finish. */
export function apiView(jobs: readonly SimJob[], nowMs: number): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const j of jobs) {
    if (j.createdAtMs > nowMs) continue;
    const done = j.finishedAtMs <= nowMs;
    out.push({
      id: j.id,
      workflow_id: j.workflow.id,
      workflow_name: j.workflow.name,
      status: done ? j.status : 'IN_PROGRESS',
      created_at: new Date(j.createdAtMs).toISOString(),
      runtime: !done
        ? null
        : j.badRuntime === 'garbage'
          ? 'about a minute'
          : j.badRuntime === 'null'
            ? null
            : runtimeText(j.runtimeSeconds),
      job_type: 'ephemeral',
    });
  }
  return out;
}

/** The jobs that are events by `nowMs`: finished by then, with a valid runtime. */
export function finishedBy(jobs: readonly SimJob[], nowMs: number, fromMs = -Infinity): SimJob[] {
  return jobs.filter((j) => j.badRuntime === undefined && j.finishedAtMs <= nowMs && j.finishedAtMs >= fromMs);
}

// ---------------------------------------------------------------------------------------------------------
// Recording what CloudWatch accepted

export interface Recorder {
  /** Every PutMetricData request that succeeded, in order. */
  readonly accepted: PutMetricDataCommandInput[];
  /** Every PutMetricData request attempted (accepted or not). */
  readonly attempted: PutMetricDataCommandInput[];
  /** A client for one run; `fail(i)` true makes the run's i-th request (0-based) fail without reaching CloudWatch. */
  client(options?: {
    fail?: (index: number) => boolean;
    beforeSend?: (index: number) => Promise<void>;
  }): CloudWatchClientLike;
}

export function recorder(real: CloudWatchClient): Recorder {
  const accepted: PutMetricDataCommandInput[] = [];
  const attempted: PutMetricDataCommandInput[] = [];
  return {
    accepted,
    attempted,
    client(options = {}) {
      let calls = 0;
      return {
        async send(command: PutMetricDataCommand): Promise<unknown> {
          const index = calls++;
          attempted.push(command.input);
          await options.beforeSend?.(index);
          if (options.fail?.(index) === true) {
            const error = new Error('injected: CloudWatch unavailable') as Error & {
              $metadata: { httpStatusCode: number; attempts: number };
            };
            error.name = 'ServiceUnavailable';
            error.$metadata = { httpStatusCode: 503, attempts: 5 };
            throw error;
          }
          const out = await real.send(command);
          accepted.push(command.input);
          return out;
        },
      };
    },
  };
}

/** `Name=Value` pairs of a datum, sorted, as one string. */
export function dims(d: MetricDatum): string {
  return (d.Dimensions ?? [])
    .map((x) => `${x.Name}=${x.Value}`)
    .sort()
    .join(',');
}

export interface Received {
  /** Sum of JobsFinished by Status (all timestamps). */
  readonly finishedByStatus: Map<string, number>;
  /** Sum of JobsFinished by `Workflow|Status`. */
  readonly finishedByWorkflowStatus: Map<string, number>;
  /** JobsFinished by `Status@ISO minute`, zeros left out. */
  readonly finishedByStatusMinute: Map<string, number>;
  /** Every runtime of JobRuntime{Status} (Values × Counts), sorted, by Status. */
  readonly runtimesByStatus: Map<string, number[]>;
  /** Every runtime of JobRuntime{Workflow, Status}, sorted, by `Workflow|Status`. */
  readonly runtimesByWorkflowStatus: Map<string, number[]>;
  /** Every datum, for limit checks. */
  readonly datums: MetricDatum[];
}

function add<K>(map: Map<K, number>, key: K, n: number): void {
  map.set(key, (map.get(key) ?? 0) + n);
}

function push(map: Map<string, number[]>, key: string, values: readonly number[]): void {
  let list = map.get(key);
  if (list === undefined) map.set(key, (list = []));
  list.push(...values);
}

/** What the requests carried, for the namespace's JobsFinished / JobRuntime. */
export function received(requests: readonly PutMetricDataCommandInput[], namespace: string): Received {
  const r: Received = {
    finishedByStatus: new Map(),
    finishedByWorkflowStatus: new Map(),
    finishedByStatusMinute: new Map(),
    runtimesByStatus: new Map(),
    runtimesByWorkflowStatus: new Map(),
    datums: [],
  };
  for (const request of requests) {
    if (request.Namespace !== namespace) continue;
    for (const d of request.MetricData ?? []) {
      if (d.MetricName !== 'JobsFinished' && d.MetricName !== 'JobRuntime') continue;
      r.datums.push(d);
      const dim = Object.fromEntries((d.Dimensions ?? []).map((x) => [x.Name ?? '', x.Value ?? '']));
      const status = dim.Status ?? '?';
      const wf = dim.Workflow;
      if (d.MetricName === 'JobsFinished') {
        const n = d.Value ?? NaN;
        if (wf === undefined) {
          add(r.finishedByStatus, status, n);
          if (n !== 0) add(r.finishedByStatusMinute, `${status}@${d.Timestamp?.toISOString()}`, n);
        } else add(r.finishedByWorkflowStatus, `${wf}|${status}`, n);
      } else {
        const values: number[] = [];
        (d.Values ?? []).forEach((v, i) => {
          for (let k = 0; k < (d.Counts?.[i] ?? 1); k++) values.push(v);
        });
        if (wf === undefined) push(r.runtimesByStatus, status, values);
        else push(r.runtimesByWorkflowStatus, `${wf}|${status}`, values);
      }
    }
  }
  for (const list of [...r.runtimesByStatus.values(), ...r.runtimesByWorkflowStatus.values()])
    list.sort((a, b) => a - b);
  return r;
}

/** The same summaries computed from the true jobs (`workflowOf` gives each job's Workflow dimension value). */
export function expected(jobs: readonly SimJob[], workflowOf: (j: SimJob) => string) {
  const finishedByStatus = new Map<string, number>();
  const finishedByWorkflowStatus = new Map<string, number>();
  const finishedByStatusMinute = new Map<string, number>();
  const runtimesByStatus = new Map<string, number[]>();
  const runtimesByWorkflowStatus = new Map<string, number[]>();
  for (const j of jobs) {
    add(finishedByStatus, j.status, 1);
    add(finishedByWorkflowStatus, `${workflowOf(j)}|${j.status}`, 1);
    add(
      finishedByStatusMinute,
      `${j.status}@${new Date(Math.floor(j.finishedAtMs / MINUTE) * MINUTE).toISOString()}`,
      1,
    );
    push(runtimesByStatus, j.status, [j.runtimeSeconds]);
    push(runtimesByWorkflowStatus, `${workflowOf(j)}|${j.status}`, [j.runtimeSeconds]);
  }
  for (const list of [...runtimesByStatus.values(), ...runtimesByWorkflowStatus.values()]) list.sort((a, b) => a - b);
  return {
    finishedByStatus,
    finishedByWorkflowStatus,
    finishedByStatusMinute,
    runtimesByStatus,
    runtimesByWorkflowStatus,
  };
}

/** Map → sorted entries (for toEqual with readable diffs). */
export function entries<V>(map: Map<string, V>): Array<[string, V]> {
  return [...map].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/** Sum of a map's numbers. */
export function total(map: Map<string, number>): number {
  return [...map.values()].reduce((a, b) => a + b, 0);
}

// ---------------------------------------------------------------------------------------------------------
// S3 in moto

export function s3ClientFor(endpoint: string): S3Client {
  return new S3Client({
    region: MOTO_REGION,
    endpoint,
    forcePathStyle: true,
    credentials: { ...FAKE_CREDENTIALS },
    maxAttempts: 3,
  });
}

export async function createBucket(s3: S3Client, bucket: string): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
}

/** "now" for a test: the real clock rounded down to the minute, minus `ago` (timestamps stay within CloudWatch's window). */
export function realNowMinute(agoMs = 0): number {
  return Math.floor(Date.now() / MINUTE) * MINUTE - agoMs;
}

/** Resolves when `n` parties have arrived (each call of the returned function is one arrival). */
export function barrier(n: number): () => Promise<void> {
  let arrived = 0;
  let release!: () => void;
  const all = new Promise<void>((resolve) => (release = resolve));
  return () => {
    arrived++;
    if (arrived >= n) release();
    return all;
  };
}
