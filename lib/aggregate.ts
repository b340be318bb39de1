/**
 * Aggregation: validated jobs in, one plain Snapshot out. Pure and synchronous: no I/O, "now" passed in.
 */
import { FloatList } from './float-list.js';
import type { Job } from './job.js';
import { quantiles as exactQuantiles } from './percentile.js';
import {
  KNOWN_STATUSES,
  OTHER_WORKFLOW_ID,
  PENDING_STATUSES,
  SKIP_REASONS,
  TERMINAL_STATUSES,
  type GroupStats,
  type PendingStatus,
  type RecentRuntime,
  type RuntimeHistogram,
  type SkipReason,
  type Snapshot,
  type TerminalStatus,
  type WorkflowStats,
} from './snapshot.js';

/**
 * Bounds on label values the API controls. A misbehaving upstream sending thousands of distinct
 * statuses or job types must not explode the series count: past these, values are folded into OTHER_VALUE.
 */
export const MAX_UNKNOWN_STATUSES = 20;
export const MAX_UNKNOWN_JOB_TYPES = 20;
export const MAX_LABEL_VALUE_LENGTH = 64;
export const OTHER_VALUE = 'other';

export interface AggregateOptions {
  readonly nowMs: number;
  readonly runtimeWindowSeconds: number;
  readonly maxWorkflows: number;
  readonly histogramBuckets: readonly number[];
  readonly quantiles: readonly number[];
}

const TERMINAL_INDEX: Readonly<Record<string, number>> = { COMPLETED: 0, FAILED: 1, STOPPED: 2 };
const PENDING_INDEX: Readonly<Record<string, number>> = { SCHEDULED: 0, IN_PROGRESS: 1 };
const KNOWN_STATUS_SET: ReadonlySet<string> = new Set(KNOWN_STATUSES);

/** Mutable running totals of one group of jobs. */
class GroupAccumulator {
  /** jobType → status → count */
  readonly jobs = new Map<string, Map<string, number>>();
  /** Per terminal status (TERMINAL_INDEX): non-cumulative bucket counts (+Inf last), sum, count. */
  readonly buckets: Float64Array[];
  readonly runtimeSum = [0, 0, 0];
  readonly runtimeCount = [0, 0, 0];
  readonly recent = [new FloatList(), new FloatList(), new FloatList()];
  readonly recentSum = [0, 0, 0];
  readonly oldestCreatedMs = [Infinity, Infinity];
  readonly pending = [0, 0];
  total = 0;

  constructor(bucketCount: number) {
    this.buckets = [0, 1, 2].map(() => new Float64Array(bucketCount + 1));
  }

  merge(other: GroupAccumulator): void {
    for (const [jobType, statuses] of other.jobs) {
      let mine = this.jobs.get(jobType);
      if (mine === undefined) this.jobs.set(jobType, (mine = new Map()));
      for (const [status, n] of statuses) mine.set(status, (mine.get(status) ?? 0) + n);
    }
    for (let t = 0; t < 3; t++) {
      const into = this.buckets[t] as Float64Array;
      const from = other.buckets[t] as Float64Array;
      for (let b = 0; b < into.length; b++) into[b] = (into[b] as number) + (from[b] as number);
      this.runtimeSum[t] = (this.runtimeSum[t] as number) + (other.runtimeSum[t] as number);
      this.runtimeCount[t] = (this.runtimeCount[t] as number) + (other.runtimeCount[t] as number);
      (this.recent[t] as FloatList).pushAll(other.recent[t] as FloatList);
      this.recentSum[t] = (this.recentSum[t] as number) + (other.recentSum[t] as number);
    }
    for (let p = 0; p < 2; p++) {
      this.oldestCreatedMs[p] = Math.min(this.oldestCreatedMs[p] as number, other.oldestCreatedMs[p] as number);
      this.pending[p] = (this.pending[p] as number) + (other.pending[p] as number);
    }
    this.total += other.total;
  }
}

interface WorkflowAccumulator {
  readonly id: string;
  name: string;
  nameCreatedMs: number;
  readonly group: GroupAccumulator;
}

export class Aggregator {
  readonly #options: AggregateOptions;
  readonly #windowStartMs: number;
  readonly #workflows = new Map<string, WorkflowAccumulator>();
  readonly #seenIds = new Set<string>();
  readonly #unknownStatuses = new Set<string>();
  readonly #unknownJobTypes = new Set<string>();
  readonly #skipped: Record<SkipReason, number> = Object.fromEntries(SKIP_REASONS.map((r) => [r, 0])) as Record<
    SkipReason,
    number
  >;
  #fetched = 0;
  #runtimeUnparsable = 0;

  constructor(options: AggregateOptions) {
    this.#options = options;
    this.#windowStartMs = options.nowMs - options.runtimeWindowSeconds * 1000;
  }

  /** Counts one record of the response that validation rejected. */
  skip(reason: SkipReason): void {
    this.#fetched++;
    this.#skipped[reason]++;
  }

  add(job: Job): void {
    this.#fetched++;
    if (this.#seenIds.has(job.id)) {
      this.#skipped.duplicate_id++;
      return;
    }
    this.#seenIds.add(job.id);

    let wf = this.#workflows.get(job.workflowId);
    if (wf === undefined) {
      wf = { id: job.workflowId, name: job.workflowName, nameCreatedMs: job.createdAtMs, group: new GroupAccumulator(this.#options.histogramBuckets.length) };
      this.#workflows.set(job.workflowId, wf);
    } else if (job.createdAtMs > wf.nameCreatedMs) {
      // A renamed workflow shows its newest name.
      wf.name = job.workflowName;
      wf.nameCreatedMs = job.createdAtMs;
    }
    const group = wf.group;
    const status = this.#statusLabel(job.status);
    const jobType = this.#jobTypeLabel(job.jobType);
    group.total++;
    let byStatus = group.jobs.get(jobType);
    if (byStatus === undefined) group.jobs.set(jobType, (byStatus = new Map()));
    byStatus.set(status, (byStatus.get(status) ?? 0) + 1);

    if (job.runtimeInvalid) this.#runtimeUnparsable++;

    const t = TERMINAL_INDEX[status];
    if (t !== undefined && job.runtimeSeconds !== undefined) {
      const runtime = job.runtimeSeconds;
      const buckets = group.buckets[t] as Float64Array;
      const b = bucketIndex(this.#options.histogramBuckets, runtime);
      buckets[b] = (buckets[b] as number) + 1;
      group.runtimeSum[t] = (group.runtimeSum[t] as number) + runtime;
      group.runtimeCount[t] = (group.runtimeCount[t] as number) + 1;
      if (job.createdAtMs + runtime * 1000 >= this.#windowStartMs) {
        (group.recent[t] as FloatList).push(runtime);
        group.recentSum[t] = (group.recentSum[t] as number) + runtime;
      }
    }
    const p = PENDING_INDEX[status];
    if (p !== undefined) {
      group.pending[p] = (group.pending[p] as number) + 1;
      if (job.createdAtMs < (group.oldestCreatedMs[p] as number)) group.oldestCreatedMs[p] = job.createdAtMs;
    }
  }

  #statusLabel(status: string): string {
    if (KNOWN_STATUS_SET.has(status) || this.#unknownStatuses.has(status)) return status;
    if (status.length > MAX_LABEL_VALUE_LENGTH || this.#unknownStatuses.size >= MAX_UNKNOWN_STATUSES) return OTHER_VALUE;
    this.#unknownStatuses.add(status);
    return status;
  }

  #jobTypeLabel(jobType: string): string {
    if (this.#unknownJobTypes.has(jobType)) return jobType;
    if (jobType.length > MAX_LABEL_VALUE_LENGTH || this.#unknownJobTypes.size >= MAX_UNKNOWN_JOB_TYPES) return OTHER_VALUE;
    this.#unknownJobTypes.add(jobType);
    return jobType;
  }

  snapshot(): Snapshot {
    const o = this.#options;
    const ranked = [...this.#workflows.values()].sort((a, b) => b.group.total - a.group.total || compare(a.id, b.id));
    const kept = ranked.slice(0, o.maxWorkflows);
    const folded = ranked.slice(o.maxWorkflows);
    const total = new GroupAccumulator(o.histogramBuckets.length);
    for (const wf of ranked) total.merge(wf.group);

    const workflows: WorkflowStats[] = kept.map((wf) => ({ id: wf.id, name: wf.name, workflowCount: 1, ...this.#stats(wf.group) }));
    if (folded.length > 0) {
      const rest = new GroupAccumulator(o.histogramBuckets.length);
      for (const wf of folded) rest.merge(wf.group);
      workflows.push({ id: OTHER_WORKFLOW_ID, name: OTHER_WORKFLOW_ID, workflowCount: folded.length, ...this.#stats(rest) });
    }
    return {
      generatedAt: new Date(o.nowMs).toISOString(),
      runtimeWindowSeconds: o.runtimeWindowSeconds,
      quantiles: [...o.quantiles],
      histogramBuckets: [...o.histogramBuckets],
      jobsFetched: this.#fetched,
      recordsSkipped: { ...this.#skipped },
      runtimeUnparsable: this.#runtimeUnparsable,
      workflowsSeen: this.#workflows.size,
      total: this.#stats(total),
      workflows,
    };
  }

  #stats(g: GroupAccumulator): GroupStats {
    const jobs: Record<string, Record<string, number>> = {};
    const byStatus: Record<string, number> = Object.fromEntries(KNOWN_STATUSES.map((s) => [s, 0]));
    for (const jobType of [...g.jobs.keys()].sort(compare)) {
      const counts: Record<string, number> = Object.fromEntries(KNOWN_STATUSES.map((s) => [s, 0]));
      const statuses = g.jobs.get(jobType) as Map<string, number>;
      for (const status of [...statuses.keys()].sort(compare)) {
        const n = statuses.get(status) as number;
        counts[status] = n;
        byStatus[status] = (byStatus[status] ?? 0) + n;
      }
      jobs[jobType] = counts;
    }
    const runtime = {} as Record<TerminalStatus, RuntimeHistogram>;
    const recent = {} as Record<TerminalStatus, RecentRuntime>;
    for (const status of TERMINAL_STATUSES) {
      const t = TERMINAL_INDEX[status] as number;
      runtime[status] = {
        bucketCounts: Array.from(g.buckets[t] as Float64Array),
        count: g.runtimeCount[t] as number,
        sum: g.runtimeSum[t] as number,
      };
      const values = (g.recent[t] as FloatList).view();
      recent[status] = {
        count: values.length,
        sum: g.recentSum[t] as number,
        quantiles: exactQuantiles(values, this.#options.quantiles),
      };
    }
    const oldestAgeSeconds = {} as Record<PendingStatus, number>;
    const pending = {} as Record<PendingStatus, number>;
    for (const status of PENDING_STATUSES) {
      const p = PENDING_INDEX[status] as number;
      const oldest = g.oldestCreatedMs[p] as number;
      pending[status] = g.pending[p] as number;
      // A job "created in the future" (clock skew) has waited 0 s, not a negative time.
      oldestAgeSeconds[status] = oldest === Infinity ? 0 : Math.max(0, (this.#options.nowMs - oldest) / 1000);
    }
    return { jobs, byStatus, runtime, recent, oldestAgeSeconds, pending };
  }
}

/** Index of the first bucket whose upper bound is ≥ value (Prometheus `le` semantics); bounds.length for +Inf. */
export function bucketIndex(bounds: readonly number[], value: number): number {
  let lo = 0;
  let hi = bounds.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((bounds[mid] as number) >= value) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
