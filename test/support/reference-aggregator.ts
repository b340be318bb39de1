/**
 * The oracle of lib/aggregate/aggregator.ts: the Aggregator as it was before its per-workflow state became
 * compact (issue 15), kept unchanged but for its name, its imports, the snapshot field it has no use for
 * (workflowsUntracked, always 0) and the rules made since for every aggregator (names cut by
 * shownWorkflowName). It holds a full GroupAccumulator for every workflow until the snapshot, so it is simple
 * and its results are the reference; the compact one must give bit for bit the same snapshot whenever every
 * workflow is tracked (test/aggregate-compact.test.ts).
 */
import { keepHiddenClass } from '../../lib/common/keep-hidden-class.js';
import { FloatList } from '../../lib/aggregate/float-list.js';
import type { Job } from '../../lib/records/job.js';
import { selectQuantiles as exactQuantiles } from '../../lib/aggregate/percentile.js';
import { IdSet } from '../../lib/aggregate/id-set.js';
import type { ScannedJob } from '../../lib/records/scanner.js';
import type {
  GroupStats,
  RecentRuntime,
  RuntimeHistogram,
  Snapshot,
  WorkflowStats,
} from '../../lib/aggregate/snapshot.js';
import {
  KNOWN_JOB_TYPES,
  DEFAULT_JOB_TYPE,
  KNOWN_STATUSES,
  OTHER_WORKFLOW_ID,
  PENDING_STATUSES,
  SKIP_REASONS,
  TERMINAL_STATUSES,
  type PendingStatus,
  type SkipReason,
  type TerminalStatus,
} from '../../lib/vocabulary.js';
import { compareCodeUnits, shownWorkflowName, wellFormed } from '../../lib/common/text.js';

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

/**
 * A plain object without a prototype: statuses and job types are the API's strings, and one named like an
 * Object.prototype member (`constructor`, `__proto__`, `toString`) must be an ordinary key, never an inherited value.
 */
function dict<T>(entries: Iterable<readonly [string, T]> = []): Record<string, T> {
  const out = Object.create(null) as Record<string, T>;
  for (const [key, value] of entries) out[key] = value;
  return out;
}

const TERMINAL_INDEX: Readonly<Record<string, number>> = dict([
  ['COMPLETED', 0],
  ['FAILED', 1],
  ['STOPPED', 2],
]);
const PENDING_INDEX: Readonly<Record<string, number>> = dict([
  ['SCHEDULED', 0],
  ['IN_PROGRESS', 1],
]);
const KNOWN_STATUS_SET: ReadonlySet<string> = new Set(KNOWN_STATUSES);
const KNOWN_JOB_TYPE_SET: ReadonlySet<string> = new Set(KNOWN_JOB_TYPES);

/** Room for status labels: 5 known + MAX_UNKNOWN_STATUSES + OTHER_VALUE. */
const STATUS_SLOTS = 32;
/** Raw statuses / job types whose label is remembered (beyond, the label is worked out each time). */
const MAX_CACHED_LABELS = 4096;

/** What a status label means for counting, worked out once per distinct raw status. */
interface StatusInfo {
  /** Index of the label (LabelTable of statuses); < STATUS_SLOTS. */
  readonly index: number;
  /** TERMINAL_INDEX of the label, or -1. */
  readonly terminal: number;
  /** PENDING_INDEX of the label, or -1. */
  readonly pending: number;
}

/** Label strings ↔ small indexes, Aggregator-wide (so groups can be merged by index). */
class LabelTable {
  readonly labels: string[] = [];
  readonly #index = new Map<string, number>();

  indexOf(label: string): number {
    let i = this.#index.get(label);
    if (i === undefined) this.#index.set(label, (i = this.labels.push(label) - 1));
    return i;
  }
}

/** Mutable running totals of one group of jobs. */
class GroupAccumulator {
  /**
   * Job counts by job type and status, flat: counts[slot * STATUS_SLOTS + status label index], one slot per
   * job type label counted in this group (label indexes are the Aggregator's, see LabelTable).
   */
  counts = new Float64Array(STATUS_SLOTS);
  /** Job type label index → slot in `counts` (undefined: none counted here). */
  readonly slotOf: (number | undefined)[] = [];
  /** Slot → job type label index. */
  readonly slotJobType: number[] = [];
  /** Per terminal status (TERMINAL_INDEX): non-cumulative bucket counts (+Inf last), sum, count. */
  readonly buckets: Float64Array[];
  // Typed arrays, not [0, 0, 0]: a JS array changes its elements kind (small integers → doubles) at the first
  // fractional sum, and each new group doing so again deoptimised the counting code (seen in --trace-deopt).
  readonly runtimeSum = new Float64Array(3);
  readonly runtimeCount = new Float64Array(3);
  readonly recent = [new FloatList(), new FloatList(), new FloatList()];
  readonly recentSum = new Float64Array(3);
  readonly oldestCreatedMs = new Float64Array([Infinity, Infinity]);
  readonly pending = new Float64Array(2);
  total = 0;

  constructor(bucketCount: number) {
    this.buckets = [0, 1, 2].map(() => new Float64Array(bucketCount + 1));
  }

  /** The slot of a job type label, made on first use. */
  slot(jobType: number): number {
    const known = this.slotOf[jobType];
    if (known !== undefined) return known;
    const slot = this.slotJobType.push(jobType) - 1;
    this.slotOf[jobType] = slot;
    if ((slot + 1) * STATUS_SLOTS > this.counts.length) {
      const grown = new Float64Array(this.counts.length * 2);
      grown.set(this.counts);
      this.counts = grown;
    }
    return slot;
  }

  /** Drops the runtimes kept for quantiles (see Aggregator.release). */
  clearRecent(): void {
    for (const list of this.recent) list.clear();
  }

  merge(other: GroupAccumulator): void {
    other.slotJobType.forEach((jobType, from) => {
      const into = this.slot(jobType) * STATUS_SLOTS;
      const at = from * STATUS_SLOTS;
      for (let k = 0; k < STATUS_SLOTS; k++)
        this.counts[into + k] = (this.counts[into + k] as number) + (other.counts[at + k] as number);
    });
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

/** Where a workflow name is read from, only when it is shown (a Job, or a ScannedJob's lazy getter). */
interface Named {
  readonly workflowName: string;
}

interface WorkflowAccumulator {
  readonly id: string;
  name: string;
  nameCreatedMs: number;
  readonly group: GroupAccumulator;
  /** Issue 17: created_at of the newest job; latest end of a COMPLETED job with a runtime (undefined: none). */
  lastRunMs: number | undefined;
  lastSuccessMs: number | undefined;
}

export class ReferenceAggregator {
  readonly #options: AggregateOptions;
  readonly #windowStartMs: number;
  readonly #workflows = new Map<string, WorkflowAccumulator>();
  readonly #ids = new IdSet();
  readonly #unknownStatuses = new Set<string>();
  readonly #unknownJobTypes = new Set<string>();
  readonly #statusLabels = new LabelTable();
  readonly #jobTypeLabels = new LabelTable();
  /** Raw status → StatusInfo of its label (#statusLabel is stable for a given raw value). */
  readonly #statusInfo = new Map<string, StatusInfo>();
  /** Raw job type → label index. */
  readonly #jobTypeIndex = new Map<string, number>();
  /** The last raw status and job type seen, and what they mapped to (most jobs repeat them). */
  #lastStatus: string | undefined = undefined;
  #lastStatusInfo: StatusInfo = { index: 0, terminal: -1, pending: -1 };
  #lastJobType: string | undefined = undefined;
  #lastJobTypeIndex = 0;
  readonly #skipped: Record<SkipReason, number> = Object.fromEntries(SKIP_REASONS.map((r) => [r, 0])) as Record<
    SkipReason,
    number
  >;
  #fetched = 0;
  #runtimeUnparsable = 0;
  #runtimeLongerThanAge = 0;
  #released = false;

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
    if (!this.#ids.addId(job.id)) {
      this.#skipped.duplicate_id++;
      return;
    }
    this.#count(
      job,
      job.workflowId,
      job.createdAtMs,
      job.status,
      job.jobType,
      job.runtimeSeconds ?? Number.NaN,
      job.runtimeInvalid,
      job.runtimeLongerThanAge,
    );
  }

  /**
   * add() for a record read by JobRecordScanner (the byte-level fast path): the same counting, without a
   * Job object. The caller has checked `job.reason` is undefined.
   */
  addScanned(job: ScannedJob): void {
    this.#fetched++;
    // An id the scanner decoded from escapes may still be a canonical UUID: addId files it with the others.
    const fresh =
      job.idString === undefined
        ? this.#ids.addUuid(job.id0, job.id1, job.id2, job.id3)
        : this.#ids.addId(job.idString);
    if (!fresh) {
      this.#skipped.duplicate_id++;
      return;
    }
    this.#count(
      job,
      job.workflowId,
      job.createdAtMs,
      job.status,
      job.jobType,
      job.runtime,
      job.runtimeInvalid,
      job.runtimeLongerThanAge,
    );
  }

  /**
   * Counts a first sighting. The fields come as values (one shape of call for both kinds of record);
   * `named.workflowName` is read only when it is shown (new or newer job); `runtime` is in seconds, NaN for
   * none.
   */
  #count(
    named: Named,
    workflowId: string,
    createdAtMs: number,
    rawStatus: string,
    rawJobType: string,
    runtime: number,
    runtimeInvalid: boolean,
    runtimeLongerThanAge: boolean,
  ): void {
    let wf = this.#workflows.get(workflowId);
    if (wf === undefined) wf = this.#newWorkflow(named, workflowId, createdAtMs);
    else if (createdAtMs > wf.nameCreatedMs) this.#rename(wf, named, createdAtMs);
    const group = wf.group;
    const status = this.#statusInfoOf(rawStatus);
    if (wf.lastRunMs === undefined || createdAtMs > wf.lastRunMs) wf.lastRunMs = createdAtMs;
    // biome-ignore lint/suspicious/noSelfCompare: the NaN test (NaN: no runtime)
    if (status.terminal === 0 && runtime === runtime) {
      const endMs = createdAtMs + runtime * 1000;
      if (wf.lastSuccessMs === undefined || endMs > wf.lastSuccessMs) wf.lastSuccessMs = endMs;
    }
    const jobType = this.#jobTypeIndexOf(rawJobType);
    group.total++;
    const at = group.slot(jobType) * STATUS_SLOTS + status.index;
    group.counts[at] = (group.counts[at] as number) + 1;

    if (runtimeInvalid) this.#runtimeUnparsable++;
    if (runtimeLongerThanAge) this.#runtimeLongerThanAge++;

    const t = status.terminal;
    // biome-ignore lint/suspicious/noSelfCompare: `runtime === runtime` is the counting loop's NaN test (NaN: no runtime)
    if (t >= 0 && runtime === runtime) {
      const buckets = group.buckets[t] as Float64Array;
      const b = bucketIndex(this.#options.histogramBuckets, runtime);
      buckets[b] = (buckets[b] as number) + 1;
      group.runtimeSum[t] = (group.runtimeSum[t] as number) + runtime;
      group.runtimeCount[t] = (group.runtimeCount[t] as number) + 1;
      if (createdAtMs + runtime * 1000 >= this.#windowStartMs) {
        (group.recent[t] as FloatList).push(runtime);
        group.recentSum[t] = (group.recentSum[t] as number) + runtime;
      }
    }
    const p = status.pending;
    if (p >= 0) {
      group.pending[p] = (group.pending[p] as number) + 1;
      if (createdAtMs < (group.oldestCreatedMs[p] as number)) group.oldestCreatedMs[p] = createdAtMs;
    }
  }

  /** The accumulator of a workflow id not found as given: found as shown (see wellFormed), or made. */
  #newWorkflow(named: Named, rawId: string, createdAtMs: number): WorkflowAccumulator {
    const id = wellFormed(rawId);
    let wf = this.#workflows.get(id);
    if (wf === undefined) {
      wf = {
        id,
        name: shownWorkflowName(named.workflowName),
        nameCreatedMs: createdAtMs,
        group: new GroupAccumulator(this.#options.histogramBuckets.length),
        lastRunMs: undefined,
        lastSuccessMs: undefined,
      };
      this.#workflows.set(id, wf);
    } else if (createdAtMs > wf.nameCreatedMs) this.#rename(wf, named, createdAtMs);
    return wf;
  }

  /** Issue 17: the workflows API's list, after the jobs: its names win, a workflow with no job gets zeros. */
  declareWorkflows(workflows: readonly { readonly id: string; readonly name: string }[]): void {
    for (const { id, name } of workflows) {
      const wf = this.#workflows.get(id);
      if (wf !== undefined) {
        wf.name = name;
        wf.nameCreatedMs = Number.POSITIVE_INFINITY;
      } else
        this.#workflows.set(id, {
          id,
          name,
          nameCreatedMs: Number.POSITIVE_INFINITY,
          group: new GroupAccumulator(this.#options.histogramBuckets.length),
          lastRunMs: undefined,
          lastSuccessMs: undefined,
        });
    }
  }

  runsOf(id: string): { lastRunMs: number | undefined; lastSuccessMs: number | undefined } | undefined {
    const wf = this.#workflows.get(id);
    return wf === undefined ? undefined : { lastRunMs: wf.lastRunMs, lastSuccessMs: wf.lastSuccessMs };
  }

  /** A renamed workflow shows its newest name. */
  #rename(wf: WorkflowAccumulator, named: Named, createdAtMs: number): void {
    wf.name = shownWorkflowName(named.workflowName);
    wf.nameCreatedMs = createdAtMs;
  }

  #statusInfoOf(raw: string): StatusInfo {
    if (raw === this.#lastStatus) return this.#lastStatusInfo;
    const info = this.#statusInfoLookup(raw);
    this.#lastStatus = raw;
    this.#lastStatusInfo = info;
    return info;
  }

  #statusInfoLookup(raw: string): StatusInfo {
    const cached = this.#statusInfo.get(raw);
    if (cached !== undefined) return cached;
    const label = this.#statusLabel(raw);
    const info: StatusInfo = {
      index: this.#statusLabels.indexOf(label),
      terminal: TERMINAL_INDEX[label] ?? -1,
      pending: PENDING_INDEX[label] ?? -1,
    };
    if (this.#statusInfo.size < MAX_CACHED_LABELS) this.#statusInfo.set(raw, info);
    return info;
  }

  #jobTypeIndexOf(raw: string): number {
    if (raw === this.#lastJobType) return this.#lastJobTypeIndex;
    const index = this.#jobTypeIndexLookup(raw);
    this.#lastJobType = raw;
    this.#lastJobTypeIndex = index;
    return index;
  }

  #jobTypeIndexLookup(raw: string): number {
    const cached = this.#jobTypeIndex.get(raw);
    if (cached !== undefined) return cached;
    const index = this.#jobTypeLabels.indexOf(this.#jobTypeLabel(raw));
    if (this.#jobTypeIndex.size < MAX_CACHED_LABELS) this.#jobTypeIndex.set(raw, index);
    return index;
  }

  #statusLabel(status: string): string {
    if (KNOWN_STATUS_SET.has(status) || this.#unknownStatuses.has(status)) return status;
    const shown = wellFormed(status);
    if (shown !== status) return this.#statusLabel(shown);
    if (status.length > MAX_LABEL_VALUE_LENGTH || this.#unknownStatuses.size >= MAX_UNKNOWN_STATUSES)
      return OTHER_VALUE;
    this.#unknownStatuses.add(status);
    return status;
  }

  #jobTypeLabel(jobType: string): string {
    // The documented job types are never folded: junk job types must not take their place.
    if (KNOWN_JOB_TYPE_SET.has(jobType) || this.#unknownJobTypes.has(jobType)) return jobType;
    const shown = wellFormed(jobType);
    if (shown !== jobType) return this.#jobTypeLabel(shown);
    if (jobType.length > MAX_LABEL_VALUE_LENGTH || this.#unknownJobTypes.size >= MAX_UNKNOWN_JOB_TYPES)
      return OTHER_VALUE;
    this.#unknownJobTypes.add(jobType);
    return jobType;
  }

  /**
   * Ends this Aggregator once its snapshot is taken: the id set's memory goes to the next Aggregator (see
   * IdSet.release), the per-workflow data is dropped, and add() and snapshot() throw from then on. The emptied
   * object and one of its groups are kept (keepHiddenClass) for the hidden classes of Aggregator,
   * GroupAccumulator and FloatList.
   */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#ids.release();
    const kept = this.#workflows.values().next().value;
    kept?.group.clearRecent();
    this.#workflows.clear();
    if (kept === undefined) keepHiddenClass(this);
    else keepHiddenClass(this, kept);
  }

  /** Issue 17: a workflow with no job (listed only) shows zeros under the default job type. */
  #zeroJobs(stats: GroupStats): GroupStats {
    if (Object.keys(stats.jobs).length > 0) return stats;
    const zeros = dict<number>(KNOWN_STATUSES.map((s) => [s, 0] as const));
    return { ...stats, jobs: dict([[DEFAULT_JOB_TYPE, zeros]]) };
  }

  snapshot(): Snapshot {
    if (this.#released) throw new Error('ReferenceAggregator.snapshot() after release()');
    const o = this.#options;
    const ranked = [...this.#workflows.values()].sort(
      (a, b) => b.group.total - a.group.total || compareCodeUnits(a.id, b.id),
    );
    let kept = ranked.slice(0, o.maxWorkflows);
    let folded = ranked.slice(o.maxWorkflows);
    if (folded.length > 0 && kept.some((wf) => wf.id === OTHER_WORKFLOW_ID)) {
      // A workflow whose id is literally "other" cannot stand beside the folded rest (the same id: duplicate
      // series and CloudWatch datums): it joins the rest, and the next busiest takes its place.
      const real = ranked.filter((wf) => wf.id !== OTHER_WORKFLOW_ID);
      kept = real.slice(0, o.maxWorkflows);
      folded = [...real.slice(o.maxWorkflows), ...ranked.filter((wf) => wf.id === OTHER_WORKFLOW_ID)];
    }
    const total = new GroupAccumulator(o.histogramBuckets.length);
    for (const wf of ranked) total.merge(wf.group);

    const workflows: WorkflowStats[] = kept.map((wf) => ({
      id: wf.id,
      name: wf.name,
      workflowCount: 1,
      ...this.#zeroJobs(this.#stats(wf.group)),
      lastRunMs: wf.lastRunMs,
      lastSuccessMs: wf.lastSuccessMs,
    }));
    if (folded.length > 0) {
      const rest = new GroupAccumulator(o.histogramBuckets.length);
      for (const wf of folded) rest.merge(wf.group);
      workflows.push({
        id: OTHER_WORKFLOW_ID,
        name: OTHER_WORKFLOW_ID,
        workflowCount: folded.length,
        ...this.#stats(rest),
      });
    }
    return {
      generatedAt: new Date(o.nowMs).toISOString(),
      runtimeWindowSeconds: o.runtimeWindowSeconds,
      quantiles: [...o.quantiles],
      histogramBuckets: [...o.histogramBuckets],
      jobsFetched: this.#fetched,
      recordsSkipped: { ...this.#skipped },
      runtimeUnparsable: this.#runtimeUnparsable,
      runtimeLongerThanAge: this.#runtimeLongerThanAge,
      workflowsSeen: [...this.#workflows.values()].filter((wf) => wf.group.total > 0).length,
      workflowsUntracked: 0,
      total: this.#stats(total),
      workflows,
    };
  }

  #stats(g: GroupAccumulator): GroupStats {
    const jobs = dict<Record<string, number>>();
    const byStatus = dict<number>(KNOWN_STATUSES.map((s) => [s, 0] as const));
    const jobTypeLabels = this.#jobTypeLabels.labels;
    const statusLabels = this.#statusLabels.labels;
    const slots = g.slotJobType.map((jobType, slot) => ({ jobType: jobTypeLabels[jobType] as string, slot }));
    for (const { jobType, slot } of slots.sort((a, b) => compareCodeUnits(a.jobType, b.jobType))) {
      const counts = dict<number>(KNOWN_STATUSES.map((s) => [s, 0] as const));
      const statuses: { status: string; n: number }[] = [];
      for (let k = 0; k < statusLabels.length; k++) {
        const n = g.counts[slot * STATUS_SLOTS + k] as number;
        if (n > 0) statuses.push({ status: statusLabels[k] as string, n });
      }
      for (const { status, n } of statuses.sort((a, b) => compareCodeUnits(a.status, b.status))) {
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
