/**
 * Aggregation: validated jobs in, one plain Snapshot out. Pure and synchronous: no I/O, "now" passed in.
 *
 * Memory per workflow. Only MAX_WORKFLOWS workflows are exported, the busiest, but which ones is known only
 * once the stream has ended, and a pull may name any number of workflows. So a workflow starts COLD: a row of
 * a few numbers (its id, name, job count) and its jobs in a shared log (job-log.ts, 14 bytes a job). Once it
 * has `promoteAtJobs` jobs it turns HOT: a full GroupAccumulator (group.ts: histograms, the window's runtimes,
 * counts by job type), its logged jobs replayed into it in order, so that every sum comes out bit for bit as
 * if it had been hot from its first job. At the snapshot, a cold workflow is replayed the same way. The
 * results are exactly those of full state per workflow (test/support/reference-aggregator.ts, that state, is
 * the oracle of test/aggregate-compact.test.ts); a workflow costs ~100 bytes + its id and name + 14 bytes a
 * job while cold, ~1 KB once hot, and hot ones are at most one per `promoteAtJobs` jobs.
 *
 * At most `maxTrackedWorkflows` workflows get a row. A workflow first seen after that many others is folded
 * on arrival: its jobs are counted in the folded rest (and the total) as they come, and its id is kept only as
 * a 128-bit hash (14 bytes, as job ids are) to count distinct workflows. Every count stays exact — the
 * exported workflows', the rest's, the total's — except which workflows are exported: the busiest among the
 * tracked ones, so a workflow first seen after the limit is never exported, however busy.
 */
import { keepHiddenClass } from '../common/keep-hidden-class.js';
import { murmur3x86x128 } from '../common/murmur3.js';
import { compareCodeUnits, shownWorkflowName, wellFormed } from '../common/text.js';
import type { Job } from '../records/job.js';
import type { ScannedJob } from '../records/scanner.js';
import {
  DEFAULT_JOB_TYPE,
  KNOWN_JOB_TYPES,
  KNOWN_STATUSES,
  OTHER_WORKFLOW_ID,
  PENDING_STATUSES,
  SKIP_REASONS,
  TERMINAL_STATUSES,
  type PendingStatus,
  type SkipReason,
  type TerminalStatus,
} from '../vocabulary.js';
import type { FloatList } from './float-list.js';
import { GroupAccumulator, STATUS_SLOTS } from './group.js';
import { IdSet } from './id-set.js';
import { JobLog, type Chains } from './job-log.js';
import { selectQuantiles as exactQuantiles } from './percentile.js';
import type { GroupStats, RecentRuntime, RuntimeHistogram, Snapshot, WorkflowStats } from './snapshot.js';
import type { WorkflowRuns } from './workflow-health.js';

/**
 * Bounds on label values the API controls. A misbehaving upstream sending thousands of distinct
 * statuses or job types must not explode the series count: past these, values are folded into OTHER_VALUE.
 */
export const MAX_UNKNOWN_STATUSES = 20;
export const MAX_UNKNOWN_JOB_TYPES = 20;
export const MAX_LABEL_VALUE_LENGTH = 64;
export const OTHER_VALUE = 'other';

/**
 * Workflows tracked one by one (see the top of the file): MAX_WORKFLOWS' largest value (config.ts), so any
 * workflow that can be exported is tracked in an account of up to this many workflows. At ~100 bytes a cold
 * workflow, plus its id (at most 256 characters) and name (at most 200), the rows cost at most ~100 MB.
 */
export const MAX_TRACKED_WORKFLOWS = 100_000;
/**
 * Jobs after which a workflow turns hot. A hot group costs ~1 KB (17 buckets), 32 logged jobs 448 bytes:
 * hot groups are thus at most ~32 bytes a job, and most jobs of a busy account are counted on the fast path.
 */
export const PROMOTE_AT_JOBS = 32;
export interface AggregateOptions {
  readonly nowMs: number;
  readonly runtimeWindowSeconds: number;
  readonly maxWorkflows: number;
  readonly histogramBuckets: readonly number[];
  readonly quantiles: readonly number[];
  /** Default MAX_TRACKED_WORKFLOWS; never below maxWorkflows. Tests use small values. */
  readonly maxTrackedWorkflows?: number;
  /** Default PROMOTE_AT_JOBS (≥ 1). Tests use small values. */
  readonly promoteAtJobs?: number;
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
const COMPLETED = 0;
const PENDING_INDEX: Readonly<Record<string, number>> = dict([
  ['SCHEDULED', 0],
  ['IN_PROGRESS', 1],
]);
const KNOWN_STATUS_SET: ReadonlySet<string> = new Set(KNOWN_STATUSES);
const KNOWN_JOB_TYPE_SET: ReadonlySet<string> = new Set(KNOWN_JOB_TYPES);

/**
 * Raw statuses / job types whose label is remembered (beyond, the label is worked out each time), and the
 * longest raw value remembered: a longer one is OTHER_VALUE anyway, and must not be kept.
 */
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

/** Where a workflow name is read from, only when it is shown (a Job, or a ScannedJob's lazy getter). */
interface Named {
  readonly workflowName: string;
}

/** The per-workflow rows, struct of arrays (see the top of the file). */
class Rows implements Chains {
  count = 0;
  readonly index = new Map<string, number>();
  readonly ids: string[] = [];
  readonly names: string[] = [];
  /** Hot workflows' groups; undefined while cold. */
  readonly groups: (GroupAccumulator | undefined)[] = [];
  /** created_at of the job the name is from; Infinity: the name is the workflows API's (declareWorkflows). */
  nameCreatedMs = new Float64Array(256);
  /** created_at of the newest job (-Infinity: none). */
  lastRunMs = new Float64Array(256);
  /** Latest created_at + runtime of a COMPLETED job with a valid runtime (-Infinity: none). */
  lastSuccessMs = new Float64Array(256);
  /** Jobs of a cold workflow (a hot one counts in its group). */
  jobs = new Int32Array(256);
  head = new Int32Array(256);
  tail = new Int32Array(256);

  /** A new row for a workflow id (shown form) and the name of its first job. */
  add(id: string, name: string, createdAtMs: number): number {
    const row = this.count++;
    if (row === this.jobs.length) this.#grow();
    this.index.set(id, row);
    this.ids.push(id);
    this.names.push(name);
    this.groups.push(undefined);
    this.nameCreatedMs[row] = createdAtMs;
    this.lastRunMs[row] = Number.NEGATIVE_INFINITY;
    this.lastSuccessMs[row] = Number.NEGATIVE_INFINITY;
    this.head[row] = -1;
    this.tail[row] = -1;
    return row;
  }

  #grow(): void {
    const grow = <T extends Float64Array | Int32Array>(a: T, make: (n: number) => T): T => {
      const b = make(a.length * 2);
      b.set(a);
      return b;
    };
    this.nameCreatedMs = grow(this.nameCreatedMs, (n) => new Float64Array(n));
    this.lastRunMs = grow(this.lastRunMs, (n) => new Float64Array(n));
    this.lastSuccessMs = grow(this.lastSuccessMs, (n) => new Float64Array(n));
    this.jobs = grow(this.jobs, (n) => new Int32Array(n));
    this.head = grow(this.head, (n) => new Int32Array(n));
    this.tail = grow(this.tail, (n) => new Int32Array(n));
  }
}

export class Aggregator {
  readonly #options: AggregateOptions;
  readonly #windowStartMs: number;
  readonly #maxTracked: number;
  readonly #promoteAt: number;
  readonly #bucketCount: number;
  #rows = new Rows();
  #log = new JobLog();
  readonly #ids = new IdSet();
  /** Workflows folded on arrival: their distinct ids (as hashes), their jobs. */
  #untrackedIds: IdSet | undefined = undefined;
  #untrackedGroup: GroupAccumulator | undefined = undefined;
  readonly #hash = new Int32Array(4);
  readonly #unknownStatuses = new Set<string>();
  readonly #unknownJobTypes = new Set<string>();
  readonly #statusLabels = new LabelTable();
  readonly #jobTypeLabels = new LabelTable();
  /** Per status label index: its TERMINAL_INDEX and PENDING_INDEX, or -1 (to replay logged jobs). */
  readonly #labelTerminal = new Int8Array(STATUS_SLOTS).fill(-1);
  readonly #labelPending = new Int8Array(STATUS_SLOTS).fill(-1);
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
    this.#maxTracked = Math.max(options.maxTrackedWorkflows ?? MAX_TRACKED_WORKFLOWS, options.maxWorkflows);
    this.#promoteAt = Math.max(1, options.promoteAtJobs ?? PROMOTE_AT_JOBS);
    this.#bucketCount = options.histogramBuckets.length;
  }

  /** Counts one record of the response that validation rejected. */
  skip(reason: SkipReason): void {
    this.#fetched++;
    this.#skipped[reason]++;
  }

  /** Counts a valid job; false when its id was seen before (a duplicate, counted as skipped). */
  add(job: Job): boolean {
    this.#fetched++;
    if (!this.#ids.addId(job.id)) {
      this.#skipped.duplicate_id++;
      return false;
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
    return true;
  }

  /**
   * add() for a record read by JobRecordScanner (the byte-level fast path): the same counting, without a
   * Job object. The caller has checked `job.reason` is undefined.
   */
  addScanned(job: ScannedJob): boolean {
    this.#fetched++;
    // An id the scanner decoded from escapes may still be a canonical UUID: addId files it with the others.
    const fresh =
      job.idString === undefined
        ? this.#ids.addUuid(job.id0, job.id1, job.id2, job.id3)
        : this.#ids.addId(job.idString);
    if (!fresh) {
      this.#skipped.duplicate_id++;
      return false;
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
    return true;
  }

  /**
   * Counts a first sighting. The fields come as values (one shape of call for both kinds of record);
   * `named.workflowName` is read only when it is shown (new or newer job); `runtime` is in seconds, NaN for
   * none (the records layer has left out a runtime that is invalid or longer than the job's age, and says so in
   * the two flags).
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
    const rows = this.#rows;
    let row = rows.index.get(workflowId);
    if (row === undefined) row = this.#newRow(named, workflowId, createdAtMs);
    else if (createdAtMs > (rows.nameCreatedMs[row] as number)) this.#rename(row, named, createdAtMs);
    const status = this.#statusInfoOf(rawStatus);
    const jobType = this.#jobTypeIndexOf(rawJobType);
    if (runtimeInvalid) this.#runtimeUnparsable++;
    if (runtimeLongerThanAge) this.#runtimeLongerThanAge++;

    const t = status.terminal;
    const value = t >= 0 ? runtime : createdAtMs;
    // biome-ignore lint/suspicious/noSelfCompare: `runtime === runtime` is the counting loop's NaN test (NaN: no runtime)
    const timed = t >= 0 && runtime === runtime;
    const recent = timed && createdAtMs + runtime * 1000 >= this.#windowStartMs;
    if (row >= 0) {
      // Maxima, so the order of the jobs does not matter: kept per row, outside the job log and the groups.
      if (createdAtMs > (rows.lastRunMs[row] as number)) rows.lastRunMs[row] = createdAtMs;
      const endMs = createdAtMs + runtime * 1000;
      if (t === COMPLETED && timed && endMs > (rows.lastSuccessMs[row] as number)) rows.lastSuccessMs[row] = endMs;
    }
    const group = row >= 0 ? rows.groups[row] : this.#untrackedGroup;
    if (group !== undefined) {
      group.count(
        status.index,
        t,
        status.pending,
        jobType,
        value,
        timed ? bucketIndex(this.#options.histogramBuckets, runtime) : 0,
        recent,
      );
      return;
    }
    this.#log.append(rows, row, status.index, jobType, recent, value);
    if (++rows.jobs[row]! >= this.#promoteAt) this.#promote(row);
  }

  /**
   * The row of a workflow id not found as given: found as shown (see wellFormed), or made; -1 when the
   * workflow is not tracked (folded on arrival, see the top of the file).
   */
  #newRow(named: Named, rawId: string, createdAtMs: number): number {
    const id = wellFormed(rawId);
    const rows = this.#rows;
    const row = rows.index.get(id);
    if (row !== undefined) {
      if (createdAtMs > (rows.nameCreatedMs[row] as number)) this.#rename(row, named, createdAtMs);
      return row;
    }
    if (rows.count < this.#maxTracked) return rows.add(id, shownWorkflowName(named.workflowName), createdAtMs);
    this.#untrackedGroup ??= new GroupAccumulator(this.#bucketCount);
    this.#untrackedIds ??= new IdSet();
    const h = this.#hash;
    murmur3x86x128(id, h);
    this.#untrackedIds.addUuid(h[0]!, h[1]!, h[2]!, h[3]!);
    return -1;
  }

  /**
   * The workflows the workflows API lists (ids in shown form, names bounded), once the job list is counted: each
   * shows that name from now on (the API's is authoritative, a job's is a copy), and one with no job gets a row
   * of zeros, ranked last. Rows are added only while fewer than the tracked limit exist, so never beside a
   * workflow folded on arrival (that happens only past the limit).
   */
  declareWorkflows(workflows: readonly { readonly id: string; readonly name: string }[]): void {
    if (this.#released) throw new Error('Aggregator.declareWorkflows() after release()');
    const rows = this.#rows;
    for (const { id, name } of workflows) {
      const row = rows.index.get(id);
      if (row !== undefined) {
        rows.names[row] = name;
        rows.nameCreatedMs[row] = Number.POSITIVE_INFINITY;
      } else if (rows.count < this.#maxTracked) rows.add(id, name, Number.POSITIVE_INFINITY);
    }
  }

  /**
   * Last run and last success of a workflow (id in shown form) from the jobs counted; undefined when the
   * aggregation cannot tell (a workflow with no row: folded on arrival, or never seen nor declared).
   */
  runsOf(id: string): WorkflowRuns | undefined {
    if (this.#released) throw new Error('Aggregator.runsOf() after release()');
    const row = this.#rows.index.get(id);
    return row === undefined ? undefined : this.#runs(row);
  }

  #runs(row: number): WorkflowRuns {
    const run = this.#rows.lastRunMs[row] as number;
    const success = this.#rows.lastSuccessMs[row] as number;
    return {
      lastRunMs: run === Number.NEGATIVE_INFINITY ? undefined : run,
      lastSuccessMs: success === Number.NEGATIVE_INFINITY ? undefined : success,
    };
  }

  /** A renamed workflow shows its newest name. */
  #rename(row: number, named: Named, createdAtMs: number): void {
    this.#rows.names[row] = shownWorkflowName(named.workflowName);
    this.#rows.nameCreatedMs[row] = createdAtMs;
  }

  /** A cold workflow turns hot: its logged jobs are counted into a new group, in order, and the log entries freed. */
  #promote(row: number): void {
    const group = this.#replay(row, new GroupAccumulator(this.#bucketCount));
    this.#log.free(this.#rows, row);
    this.#rows.groups[row] = group;
  }

  /** Counts the logged jobs of a cold row into `group` (as #count would have), and returns it. */
  #replay(row: number, group: GroupAccumulator): GroupAccumulator {
    const bounds = this.#options.histogramBuckets;
    const terminal = this.#labelTerminal;
    const pending = this.#labelPending;
    this.#log.replay(this.#rows, row, (status, jobType, recent, value) => {
      const t = terminal[status]!;
      // biome-ignore lint/suspicious/noSelfCompare: the NaN test (NaN: no runtime)
      const bucket = t >= 0 && value === value ? bucketIndex(bounds, value) : 0;
      group.count(status, t, pending[status]!, jobType, value, bucket, recent);
    });
    return group;
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
    this.#labelTerminal[info.index] = info.terminal;
    this.#labelPending[info.index] = info.pending;
    if (this.#statusInfo.size < MAX_CACHED_LABELS && raw.length <= MAX_LABEL_VALUE_LENGTH)
      this.#statusInfo.set(raw, info);
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
    if (this.#jobTypeIndex.size < MAX_CACHED_LABELS && raw.length <= MAX_LABEL_VALUE_LENGTH)
      this.#jobTypeIndex.set(raw, index);
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
    this.#untrackedIds?.release();
    this.#ids.release(); // last: its memory, the larger, is the one handed on
    const kept = this.#rows.groups.find((group) => group !== undefined) ?? this.#untrackedGroup;
    kept?.clearRecent();
    this.#rows = new Rows();
    this.#log = new JobLog();
    this.#untrackedGroup = undefined;
    if (kept === undefined) keepHiddenClass(this);
    else keepHiddenClass(this, kept);
  }

  snapshot(): Snapshot {
    if (this.#released) throw new Error('Aggregator.snapshot() after release()');
    const o = this.#options;
    const rows = this.#rows;
    const ids = rows.ids;
    const totals = new Float64Array(rows.count);
    for (let row = 0; row < rows.count; row++) totals[row] = rows.groups[row]?.total ?? (rows.jobs[row] as number);
    const ranked = Array.from({ length: rows.count }, (_, row) => row).sort(
      (a, b) => (totals[b] as number) - (totals[a] as number) || compareCodeUnits(ids[a] as string, ids[b] as string),
    );
    const untracked = this.#untrackedGroup;
    const untrackedCount = this.#untrackedIds?.size ?? 0;
    let kept = ranked.slice(0, o.maxWorkflows);
    let folded = ranked.slice(o.maxWorkflows);
    const hasRest = folded.length > 0 || untracked !== undefined;
    if (hasRest && kept.some((row) => ids[row] === OTHER_WORKFLOW_ID)) {
      // A workflow whose id is literally "other" cannot stand beside the folded rest (the same id: duplicate
      // series and CloudWatch datums): it joins the rest, and the next busiest takes its place.
      const real = ranked.filter((row) => ids[row] !== OTHER_WORKFLOW_ID);
      kept = real.slice(0, o.maxWorkflows);
      folded = [...real.slice(o.maxWorkflows), ...ranked.filter((row) => ids[row] === OTHER_WORKFLOW_ID)];
    }
    // Cold rows are replayed into one scratch group, merged, and replayed again when needed: sums are added in
    // the same order as with a group per workflow (each workflow's own sums first, then workflow by workflow).
    const bucketCount = this.#bucketCount;
    const scratch = new GroupAccumulator(bucketCount);
    const groupOf = (row: number): GroupAccumulator => {
      const group = rows.groups[row];
      if (group !== undefined) return group;
      scratch.reset();
      return this.#replay(row, scratch);
    };
    const keptGroups = kept.map((row) => rows.groups[row] ?? this.#replay(row, new GroupAccumulator(bucketCount)));
    // The window's runtimes of the total and the rest are not copied into each (that took up to three times
    // their memory): one array per terminal status holds the rest's, then the exported ones'. The rest's
    // quantiles are selected in its part, then the total's in the whole (selection only reorders).
    const total = new GroupAccumulator(bucketCount);
    const recentCount = [0, 0, 0];
    const countRecent = (g: GroupAccumulator) =>
      g.recent.forEach((list, t) => (recentCount[t] = (recentCount[t] as number) + list.length));
    for (const row of ranked) {
      const group = groupOf(row);
      total.merge(group, false);
      countRecent(group);
    }
    if (untracked !== undefined) {
      total.merge(untracked, false);
      countRecent(untracked);
    }
    const recent = recentCount.map((n) => new Float64Array(n));
    const filled = [0, 0, 0];
    const gather = (g: GroupAccumulator) =>
      g.recent.forEach((list, t) => {
        (recent[t] as Float64Array).set(list.view(), filled[t]);
        filled[t] = (filled[t] as number) + list.length;
      });
    const rest = new GroupAccumulator(bucketCount);
    for (const row of folded) {
      const group = groupOf(row);
      rest.merge(group, false);
      gather(group);
    }
    if (untracked !== undefined) {
      rest.merge(untracked, false);
      gather(untracked);
    }
    const restRecent = recent.map((values, t) => values.subarray(0, filled[t]));
    keptGroups.forEach(gather);

    const workflows: WorkflowStats[] = kept.map((row, i) => ({
      id: ids[row] as string,
      name: rows.names[row] as string,
      workflowCount: 1,
      ...withZeroJobs(this.#stats(keptGroups[i] as GroupAccumulator)),
      ...this.#runs(row),
    }));
    if (hasRest)
      workflows.push({
        id: OTHER_WORKFLOW_ID,
        name: OTHER_WORKFLOW_ID,
        workflowCount: folded.length + untrackedCount,
        ...this.#stats(rest, restRecent),
      });
    const totalStats = this.#stats(total, recent);
    return {
      generatedAt: new Date(o.nowMs).toISOString(),
      runtimeWindowSeconds: o.runtimeWindowSeconds,
      quantiles: [...o.quantiles],
      histogramBuckets: [...o.histogramBuckets],
      jobsFetched: this.#fetched,
      recordsSkipped: { ...this.#skipped },
      runtimeUnparsable: this.#runtimeUnparsable,
      runtimeLongerThanAge: this.#runtimeLongerThanAge,
      // Rows of listed workflows with no job (declareWorkflows) are not workflows seen in the job list.
      workflowsSeen: totals.reduce((n, jobs) => (jobs > 0 ? n + 1 : n), 0) + untrackedCount,
      workflowsUntracked: untrackedCount,
      total: totalStats,
      workflows,
    };
  }

  /** The stats of a group; its window runtimes from `recentValues` when given (reordered by the selection). */
  #stats(g: GroupAccumulator, recentValues?: readonly Float64Array[]): GroupStats {
    const jobs = dict<Record<string, number>>();
    const byStatus = dict<number>(KNOWN_STATUSES.map((s) => [s, 0] as const));
    const jobTypeLabels = this.#jobTypeLabels.labels;
    const statusLabels = this.#statusLabels.labels;
    const slots = g.slotJobType.map((jobType, slot) => ({ jobType: jobTypeLabels[jobType] as string, slot }));
    for (const { jobType, slot } of slots.sort((a, b) => compareCodeUnits(a.jobType, b.jobType))) {
      const counts = dict<number>(KNOWN_STATUSES.map((s) => [s, 0] as const));
      const statuses: { status: string; n: number }[] = [];
      for (let k = 0; k < statusLabels.length; k++) {
        const n = g.jobs(slot, k);
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
      runtime[status] = { bucketCounts: g.buckets(t), count: g.runtimeCount(t), sum: g.runtimeSum(t) };
      const values = recentValues?.[t] ?? (g.recent[t] as FloatList).view();
      recent[status] = {
        count: values.length,
        sum: g.recentSum(t),
        quantiles: exactQuantiles(values, this.#options.quantiles),
      };
    }
    const oldestAgeSeconds = {} as Record<PendingStatus, number>;
    const pending = {} as Record<PendingStatus, number>;
    for (const status of PENDING_STATUSES) {
      const p = PENDING_INDEX[status] as number;
      const oldest = g.oldestCreatedMs(p);
      pending[status] = g.pending(p);
      // A job "created in the future" (clock skew) has waited 0 s, not a negative time.
      oldestAgeSeconds[status] = oldest === Infinity ? 0 : Math.max(0, (this.#options.nowMs - oldest) / 1000);
    }
    return { jobs, byStatus, runtime, recent, oldestAgeSeconds, pending };
  }
}

/**
 * The stats of a workflow with no job (listed by the workflows API only) show it in `jobs` with zeros, under the
 * default job type, so that it still has an `unstructured_jobs` series.
 */
function withZeroJobs(stats: GroupStats): GroupStats {
  if (Object.keys(stats.jobs).length > 0) return stats;
  const jobs = dict<Record<string, number>>([[DEFAULT_JOB_TYPE, dict(KNOWN_STATUSES.map((s) => [s, 0] as const))]]);
  return { ...stats, jobs };
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
