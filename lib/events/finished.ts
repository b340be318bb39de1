/**
 * The finished jobs of one pull, gathered from the collector's `onJob` hook (the same pass over the stream as
 * the snapshot: no second pull), and the Workflow dimension they are published under.
 */
import { workflowDimensionValue, OTHER_WORKFLOW_DIMENSION_VALUE } from '../outputs/cloudwatch/datums.js';
import type { Job } from '../records/job.js';
import type { Snapshot } from '../aggregate/snapshot.js';
import { TERMINAL_STATUSES, type TerminalStatus } from '../vocabulary.js';
import { wellFormed } from '../common/text.js';
import { finishesByNow } from '../records/runtime-bound.js';
import { isStateRuntime, isStateTime } from './state.js';

/** A terminal job with a valid runtime, as seen in the list. */
export interface FinishedJob {
  readonly id: string;
  /** As the aggregation keys it (lone surrogates replaced), so it matches `snapshot.workflows[].id`. */
  readonly workflowId: string;
  readonly status: TerminalStatus;
  readonly runtimeSeconds: number;
  /** created_at + runtime, epoch ms (rounded to the millisecond). */
  readonly finishedAtMs: number;
}

const TERMINAL: ReadonlySet<string> = new Set(TERMINAL_STATUSES);

export interface FinishedJobsOptions {
  /** "now" of the run, epoch ms: the same as the collection's. */
  readonly nowMs: number;
  /** EVENTS_RETENTION: jobs that finished before now − retention are left out (never published). */
  readonly retentionSeconds: number;
}

/** Collects the finished jobs of one pull. Pass `add` as the collector's `onJob`. */
export class FinishedJobs {
  readonly nowMs: number;
  /** now − retention: jobs that finished before this are not events any more. */
  readonly horizonMs: number;
  readonly #jobs = new Map<string, FinishedJob>();
  /** Terminal jobs left out: finished before the horizon. */
  beyondHorizon = 0;
  /**
   * Terminal jobs without a valid runtime: none, unparsable, or longer than the job's age (no finish time: not
   * an event until they have one).
   */
  withoutRuntime = 0;
  /** Second sightings of an id already gathered (the first one counts, as in the aggregation). */
  duplicates = 0;

  constructor(options: FinishedJobsOptions) {
    this.nowMs = options.nowMs;
    this.horizonMs = options.nowMs - options.retentionSeconds * 1000;
  }

  readonly add = (job: Job): void => {
    if (!TERMINAL.has(job.status)) return;
    const runtime = job.runtimeSeconds;
    // The records layer has already left out a runtime longer than the job's age (runtime-bound.ts); judged again
    // here, with the state's own judges (state.ts), so that every event admitted can be stored and read back
    // whatever made the Job.
    if (!isStateRuntime(runtime) || !finishesByNow(job.createdAtMs, runtime, this.nowMs)) {
      this.withoutRuntime++;
      return;
    }
    const finishedAtMs = Math.round(job.createdAtMs + runtime * 1000);
    if (finishedAtMs < this.horizonMs) {
      this.beyondHorizon++;
      return;
    }
    if (!isStateTime(finishedAtMs)) {
      this.withoutRuntime++; // a "now" before 1970 or past the year 246,953: only a broken clock gets here
      return;
    }
    if (this.#jobs.has(job.id)) {
      this.duplicates++;
      return;
    }
    this.#jobs.set(job.id, {
      id: job.id,
      workflowId: wellFormed(job.workflowId),
      status: job.status as TerminalStatus,
      runtimeSeconds: runtime,
      finishedAtMs,
    });
  };

  get size(): number {
    return this.#jobs.size;
  }

  jobs(): IterableIterator<FinishedJob> {
    return this.#jobs.values();
  }
}

/**
 * Workflow id → Workflow dimension value, folded exactly like the snapshot's: the workflows the snapshot kept
 * (MAX_WORKFLOWS busiest, ids in `snapshot.workflows`) under their own `<name> (<id>)` value (with the newest
 * name, as the snapshot shows it), every other one under `Other`.
 */
export function workflowFolding(snapshot: Snapshot): (workflowId: string) => string {
  const kept = new Map<string, string>();
  // The folded rest has id OTHER_WORKFLOW_ID, and workflowDimensionValue gives it `Other` (as it does a real
  // workflow whose id is literally "other": the snapshot shows that one as `Other` too).
  for (const wf of snapshot.workflows) kept.set(wf.id, workflowDimensionValue(wf.id, wf.name));
  return (workflowId) => kept.get(workflowId) ?? OTHER_WORKFLOW_DIMENSION_VALUE;
}
