/**
 * The snapshot: the one plain object that flows from aggregation to every renderer
 * (Prometheus text, CloudWatch datums, status page, JSON). It is the contract between
 * the core and its sinks: renderers read it, never the raw records.
 */
import type { PendingStatus, SkipReason, TerminalStatus } from '../vocabulary.js';
import type { WorkflowInventory } from './workflow-health.js';

/** Fixed-bucket histogram over runtimes in seconds (buckets are the snapshot's `histogramBuckets`). */
export interface RuntimeHistogram {
  /** Non-cumulative count per bucket; one more entry than `histogramBuckets` (the +Inf bucket). */
  readonly bucketCounts: number[];
  readonly count: number;
  readonly sum: number;
}

/** Exact statistics over the jobs that finished inside the runtime window. */
export interface RecentRuntime {
  readonly count: number;
  readonly sum: number;
  /** Parallel to the snapshot's `quantiles`; empty when `count` is 0 (there is no percentile of nothing). */
  readonly quantiles: number[];
}

/** What is known about one group of jobs: one workflow, the folded rest, or all of them. */
export interface GroupStats {
  /** jobs[jobType][status] = count. Every job type seen has every known status (0 where none). */
  readonly jobs: Record<string, Record<string, number>>;
  /** Job count per status over all job types; every known status present. */
  readonly byStatus: Record<string, number>;
  /** Over every terminal job in the list with a valid runtime, by terminal status (all three present). */
  readonly runtime: Record<TerminalStatus, RuntimeHistogram>;
  /** Over terminal jobs finished inside the window, by terminal status (all three present). */
  readonly recent: Record<TerminalStatus, RecentRuntime>;
  /** now − created_at of the oldest job in that status, seconds; 0 when there is none. */
  readonly oldestAgeSeconds: Record<PendingStatus, number>;
  /** How many jobs are in that pending status (so 0 age can be told from "none"). */
  readonly pending: Record<PendingStatus, number>;
}

export interface WorkflowStats extends GroupStats {
  /** The workflow's id, or OTHER_WORKFLOW_ID for the folded rest. */
  readonly id: string;
  /** The name on the workflow's most recently created job ("other" for the folded rest). */
  readonly name: string;
  /** How many workflows this entry stands for (1, or the number folded). */
  readonly workflowCount: number;
  /** created_at of its newest job, epoch ms; undefined for the folded rest or when it has none. */
  readonly lastRunMs?: number | undefined;
  /** Latest created_at + runtime of its COMPLETED jobs with a valid runtime, epoch ms; undefined when none. */
  readonly lastSuccessMs?: number | undefined;
}

export interface Snapshot {
  /** "now" of this collection, ISO 8601 UTC. */
  readonly generatedAt: string;
  readonly runtimeWindowSeconds: number;
  /** Quantiles of `recent`, e.g. [0.5, 0.9, 0.95, 0.99, 1]. */
  readonly quantiles: readonly number[];
  /** Upper bounds (seconds) of the runtime histogram buckets, ascending, without +Inf. */
  readonly histogramBuckets: readonly number[];
  /** Records in the response (valid or not). */
  readonly jobsFetched: number;
  /** Records left out, by reason; every reason present. */
  readonly recordsSkipped: Record<SkipReason, number>;
  /** Jobs kept in the counts whose runtime was present but unparsable or negative. */
  readonly runtimeUnparsable: number;
  /**
   * Jobs kept in the counts whose runtime was a valid duration ending more than MAX_CLOCK_SKEW_MS after "now"
   * (created_at + runtime later than now: records/runtime-bound.ts), kept out of runtime statistics.
   */
  readonly runtimeLongerThanAge: number;
  /** Distinct workflows seen, before the cap. */
  readonly workflowsSeen: number;
  /**
   * Of those, the ones first seen after MAX_TRACKED_WORKFLOWS others (lib/aggregate/aggregator.ts): folded on
   * arrival, so never exported, whatever their number of jobs. 0 in any account of up to that many workflows.
   */
  readonly workflowsUntracked: number;
  /** Totals over every counted job (not capped). */
  readonly total: GroupStats;
  /** The capped workflows, most jobs first, then the folded rest (id OTHER_WORKFLOW_ID) if any. */
  readonly workflows: WorkflowStats[];
  /**
   * The workflows API's list and each workflow's schedule health (lib/aggregate/workflow-health.ts), or why the
   * request failed; undefined when WORKFLOWS_API=off. Its failure never changes anything else in the snapshot.
   */
  readonly workflowInventory?: WorkflowInventory | undefined;
}
