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
import { uuidToString } from '../records/uuid.js';
import { grown, INITIAL_ENTRIES, keyOf, KeyTable } from './key-table.js';
import { finishHour, type SeenIds } from './seen-ids.js';
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

const TERMINAL_INDEX: ReadonlyMap<string, number> = new Map(TERMINAL_STATUSES.map((s, i) => [s, i]));

export interface FinishedJobsOptions {
  /** "now" of the run, epoch ms: the same as the collection's. */
  readonly nowMs: number;
  /** EVENTS_RETENTION: jobs that finished before now − retention are left out (never published). */
  readonly retentionSeconds: number;
}

/**
 * Collects the finished jobs of one pull. Pass `add` as the collector's `onJob`.
 *
 * A pull may list every job of the retention (70k finished jobs a day for 7 days is 500k), and nearly all of
 * them are in the state already: they are kept in columns, not objects — the id as its 128-bit key
 * (key-table.ts; the string itself only for an id that is not a UUID), status, runtime, finish time and workflow
 * (an index into the workflow ids seen) — about 50 bytes a job. `job(e)` makes the object of one when needed.
 */
export class FinishedJobs {
  readonly nowMs: number;
  /** now − retention: jobs that finished before this are not events any more. */
  readonly horizonMs: number;
  /** Terminal jobs left out: finished before the horizon. */
  beyondHorizon = 0;
  /**
   * Terminal jobs without a valid runtime: none, unparsable, or longer than the job's age (no finish time: not
   * an event until they have one).
   */
  withoutRuntime = 0;
  /** Second sightings of an id already gathered (the first one counts, as in the aggregation). */
  duplicates = 0;
  /** Jobs left out because the state has seen them (see exclude). */
  known = 0;
  /** Jobs recorded as seen instead of gathered (see recordBefore). */
  recorded = 0;

  #keys = new KeyTable();
  #status = new Uint8Array(INITIAL_ENTRIES);
  #runtime = new Float64Array(INITIAL_ENTRIES);
  #finishedAt = new Float64Array(INITIAL_ENTRIES);
  #workflow = new Int32Array(INITIAL_ENTRIES);
  readonly #workflowIds: string[] = [];
  readonly #workflowIndex = new Map<string, number>();
  /** Entry → id, for the ids that are not canonical UUIDs (a UUID is rebuilt from its key). */
  #otherIds = new Map<number, string>();
  readonly #words = new Int32Array(4);
  #exclude: SeenIds | undefined;
  #recording: { readonly beforeMs: number; readonly seen: SeenIds } | undefined;

  constructor(options: FinishedJobsOptions) {
    this.nowMs = options.nowMs;
    this.horizonMs = options.nowMs - options.retentionSeconds * 1000;
  }

  readonly add = (job: Job): void => {
    const status = TERMINAL_INDEX.get(job.status);
    if (status === undefined) return;
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
    const w = this.#words;
    const exact = keyOf(job.id, w);
    if (this.#exclude?.hasKey(w[0]!, w[1]!, w[2]!, w[3]!)) {
      this.known++;
      return;
    }
    const recording = this.#recording;
    if (recording !== undefined) {
      // The first sighting of an id decides, as without recording: gathered, or recorded.
      if (finishedAtMs < recording.beforeMs && this.#keys.find(w[0]!, w[1]!, w[2]!, w[3]!) < 0) {
        if (recording.seen.addKey(w[0]!, w[1]!, w[2]!, w[3]!, finishHour(finishedAtMs))) this.recorded++;
        else this.duplicates++;
        return;
      }
      if (recording.seen.hasKey(w[0]!, w[1]!, w[2]!, w[3]!)) {
        this.duplicates++;
        return;
      }
    }
    const e = this.#keys.add(w[0]!, w[1]!, w[2]!, w[3]!);
    if (e < 0) {
      this.duplicates++;
      return;
    }
    if (e === this.#status.length) {
      this.#status = grown(this.#status, e + 1, (n) => new Uint8Array(n));
      this.#runtime = grown(this.#runtime, e + 1, (n) => new Float64Array(n));
      this.#finishedAt = grown(this.#finishedAt, e + 1, (n) => new Float64Array(n));
      this.#workflow = grown(this.#workflow, e + 1, (n) => new Int32Array(n));
    }
    this.#status[e] = status;
    this.#runtime[e] = runtime;
    this.#finishedAt[e] = finishedAtMs;
    this.#workflow[e] = this.#workflowNumber(wellFormed(job.workflowId));
    if (!exact) this.#otherIds.set(e, job.id);
  };

  get size(): number {
    return this.#keys.size;
  }

  /**
   * From now on, leaves out the jobs `seen` holds: the state's seen ids, read before the pull (events/output.ts),
   * so that a pull listing 500k jobs the state has published keeps none of them (~35 MB of columns otherwise).
   * They are never events again (publishFinishedJobs skips every seen id); `seen` is only read.
   */
  exclude(seen: SeenIds): void {
    this.#exclude = seen;
  }

  /**
   * From now on, records a job that finished before `beforeMs` in `seen` (its key and finish hour) instead of
   * gathering it: the first run's rule (EVENTS_BACKFILL: older jobs are recorded, not published), applied during
   * the pull, so that a first pull of 500k jobs is not held as columns beside the state it makes. `seen` is then
   * the first state's set (recordedSeen).
   */
  recordBefore(beforeMs: number, seen: SeenIds): void {
    this.#recording = { beforeMs, seen };
  }

  /** The set recordBefore fills, if it was called. */
  get recordedSeen(): SeenIds | undefined {
    return this.#recording?.seen;
  }

  /** Word `w` (0 most significant) of job `e`'s key (key-table.ts), e in [0, size). */
  keyWord(e: number, w: number): number {
    return this.#keys.word(e, w);
  }

  /** Job `e`, e in [0, size), in the order first seen. */
  job(e: number): FinishedJob {
    const k = this.#keys;
    return {
      id: this.#otherIds.get(e) ?? uuidToString(k.word(e, 0), k.word(e, 1), k.word(e, 2), k.word(e, 3)),
      workflowId: this.#workflowIds[this.#workflow[e]!]!,
      status: TERMINAL_STATUSES[this.#status[e]!]!,
      runtimeSeconds: this.#runtime[e]!,
      finishedAtMs: this.#finishedAt[e]!,
    };
  }

  *jobs(): IterableIterator<FinishedJob> {
    for (let e = 0; e < this.size; e++) yield this.job(e);
  }

  /**
   * Forgets the jobs gathered (as new after), so that their columns (~35 MB for a pull of 500k finished jobs)
   * are not held while the state is written: publishFinishedJobs calls it once it has taken the new ones out.
   */
  release(): void {
    this.#keys = new KeyTable();
    this.#status = new Uint8Array(INITIAL_ENTRIES);
    this.#runtime = new Float64Array(INITIAL_ENTRIES);
    this.#finishedAt = new Float64Array(INITIAL_ENTRIES);
    this.#workflow = new Int32Array(INITIAL_ENTRIES);
    this.#otherIds = new Map();
  }

  #workflowNumber(workflowId: string): number {
    let n = this.#workflowIndex.get(workflowId);
    if (n === undefined) this.#workflowIndex.set(workflowId, (n = this.#workflowIds.push(workflowId) - 1));
    return n;
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
