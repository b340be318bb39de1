/**
 * The workflow inventory of a collection: each workflow the workflows API lists, with its labels bounded, its
 * last run and last success from the job list, and its schedule judged (schedule.ts). What every output reads
 * (Snapshot.workflowInventory); built once per collection, after the job list was aggregated.
 */
import { cutText, wellFormed } from '../common/text.js';
import type { Workflow, WorkflowSkipReason } from '../records/workflow.js';
import { fireTimes, missedRun, type ScheduleSettings } from './schedule.js';
import type { Snapshot } from './snapshot.js';

export const KNOWN_WORKFLOW_STATES = ['active', 'inactive'] as const;
export const KNOWN_WORKFLOW_TYPES = ['basic', 'advanced', 'platinum', 'custom'] as const;
/** Label of an absent schedule or workflow_type; of an absent status it is UNKNOWN_STATE. */
export const NONE_LABEL = 'none';
export const UNKNOWN_STATE = 'unknown';
/** Label of a schedule whose shape was wrong and held no cron text. */
export const INVALID_SCHEDULE_LABEL = 'invalid';
/** Unknown states and workflow types past this many distinct values (or longer than the limit) are OTHER_LABEL. */
export const MAX_UNKNOWN_WORKFLOW_WORDS = 20;
export const MAX_WORKFLOW_WORD_LABEL_CHARS = 64;
export const OTHER_LABEL = 'other';
/** Each cron entry in the `schedule` label is cut to this (the whole label: at most 16 of them). */
export const MAX_CRON_LABEL_CHARS = 64;
/**
 * Distinct cron expressions judged per collection; a schedule with one more is not judged (scheduleProblem). An
 * expression costs croner 0.2–0.7 ms, one that never fires (`0 0 31 2 *`) ~6 ms as it searches years ahead and back
 * (measured, docs/performance.md): 500 bound the work to ~3 s whatever a list holds (10,000 workflows of 16 such
 * entries would be ~16 minutes). Accounts use the API's ten predefined schedules; each is judged once.
 */
export const MAX_DISTINCT_CRON_EXPRESSIONS = 500;

/** Last run and last success of a workflow, from the job list (Aggregator.runsOf). */
export interface WorkflowRuns {
  /** created_at of its newest job; undefined when it has none. */
  readonly lastRunMs: number | undefined;
  /** Latest created_at + runtime of its COMPLETED jobs with a valid runtime; undefined when none. */
  readonly lastSuccessMs: number | undefined;
}

export interface WorkflowHealth {
  readonly id: string;
  readonly name: string;
  /** Labels, bounded (see the constants above). */
  readonly state: string;
  readonly workflowType: string;
  readonly schedule: string;
  /** `status` is `active` (any case). */
  readonly active: boolean;
  readonly createdAtMs: number;
  readonly updatedAtMs: number | undefined;
  /** Undefined when the job list could not tell (the workflow was folded on arrival, see aggregator.ts). */
  readonly lastRunMs: number | undefined;
  readonly lastSuccessMs: number | undefined;
  /** Why its schedule could not be judged (shape, cron text, zone); undefined when it was, or there is none. */
  readonly scheduleProblem: string | undefined;
  /** Latest fire time at or before now − SCHEDULE_GRACE (active with a valid schedule only). */
  readonly expectedRunMs: number | undefined;
  /** Next fire time after now (active with a valid schedule only). */
  readonly nextRunMs: number | undefined;
  /** Whether the expected run is missing; undefined unless active with a valid schedule and its runs known. */
  readonly missed: boolean | undefined;
}

export interface WorkflowInventorySuccess {
  readonly ok: true;
  /** In the API's order. */
  readonly workflows: WorkflowHealth[];
  /** Records of the response left out, by reason; every reason present. */
  readonly recordsSkipped: Record<WorkflowSkipReason, number>;
  /** Listed workflows whose schedule could not be judged (scheduleProblem set). */
  readonly scheduleInvalid: number;
}

export interface WorkflowInventoryFailure {
  readonly ok: false;
  /** A PULL_ERROR_KINDS value, or 'internal'. */
  readonly errorKind: string;
  /** One line, free of secrets. */
  readonly errorMessage: string;
}

export type WorkflowInventory = WorkflowInventorySuccess | WorkflowInventoryFailure;

/** Bounds a free-text word to a label: known values as they are, up to MAX_UNKNOWN_WORKFLOW_WORDS others. */
class WordLabels {
  readonly #known: ReadonlySet<string>;
  readonly #unknown = new Set<string>();

  constructor(known: readonly string[]) {
    this.#known = new Set(known);
  }

  label(word: string): string {
    if (this.#known.has(word) || this.#unknown.has(word)) return word;
    if (word.length > MAX_WORKFLOW_WORD_LABEL_CHARS || this.#unknown.size >= MAX_UNKNOWN_WORKFLOW_WORDS)
      return OTHER_LABEL;
    this.#unknown.add(word);
    return word;
  }
}

/** The `schedule` label: the cron entries joined with `;` (each cut), `none`, or `invalid`. */
export function scheduleLabel(workflow: Workflow): string {
  if (workflow.cronEntries.length === 0)
    return workflow.scheduleProblem === undefined ? NONE_LABEL : INVALID_SCHEDULE_LABEL;
  return workflow.cronEntries.map((entry) => wellFormed(cutText(entry, MAX_CRON_LABEL_CHARS))).join(';');
}

/**
 * The inventory of a successful workflows request. `runsOf` gives a workflow's runs from the job list, or
 * undefined when the list could not tell.
 */
export function workflowInventory(
  workflows: readonly Workflow[],
  recordsSkipped: Record<WorkflowSkipReason, number>,
  runsOf: (id: string) => WorkflowRuns | undefined,
  nowMs: number,
  settings: ScheduleSettings,
): WorkflowInventorySuccess {
  // Fire times depend only on the expression here (now, grace and zone are the collection's): each is judged once.
  const judged = new Map<string, ReturnType<typeof fireTimes>>();
  const timesOf = (entry: string) => {
    let times = judged.get(entry);
    if (times === undefined) {
      times =
        judged.size < MAX_DISTINCT_CRON_EXPRESSIONS
          ? fireTimes([entry], nowMs, settings)
          : { problem: `not judged: more than ${MAX_DISTINCT_CRON_EXPRESSIONS} distinct cron expressions in the list` };
      if (judged.size < MAX_DISTINCT_CRON_EXPRESSIONS) judged.set(entry, times);
    }
    return times;
  };
  const states = new WordLabels(KNOWN_WORKFLOW_STATES);
  const types = new WordLabels(KNOWN_WORKFLOW_TYPES);
  let scheduleInvalid = 0;
  const out = workflows.map((w): WorkflowHealth => {
    const runs = runsOf(w.id);
    const active = w.status !== undefined && w.status.toLowerCase() === 'active';
    let scheduleProblem = w.scheduleProblem;
    let expectedRunMs: number | undefined;
    let nextRunMs: number | undefined;
    let missed: boolean | undefined;
    if (scheduleProblem === undefined && w.cronEntries.length > 0) {
      const times = combined(w.cronEntries.map(timesOf));
      if ('problem' in times) scheduleProblem = times.problem;
      else if (active) {
        expectedRunMs = times.expectedMs;
        nextRunMs = times.nextMs;
        if (runs !== undefined) missed = missedRun(expectedRunMs, w.createdAtMs, w.updatedAtMs, runs.lastRunMs);
      }
    }
    if (scheduleProblem !== undefined) scheduleInvalid++;
    return {
      id: w.id,
      name: w.name,
      state: w.status === undefined ? UNKNOWN_STATE : states.label(w.status),
      workflowType: w.workflowType === undefined ? NONE_LABEL : types.label(w.workflowType),
      schedule: scheduleLabel(w),
      active,
      createdAtMs: w.createdAtMs,
      updatedAtMs: w.updatedAtMs,
      lastRunMs: runs?.lastRunMs,
      lastSuccessMs: runs?.lastSuccessMs,
      scheduleProblem,
      expectedRunMs,
      nextRunMs,
      missed,
    };
  });
  return { ok: true, workflows: out, recordsSkipped: { ...recordsSkipped }, scheduleInvalid };
}

/** One workflow's last run and last success as the outputs show them. */
export interface WorkflowRunRow {
  readonly id: string;
  readonly name: string;
  readonly lastRunMs: number;
  readonly lastSuccessMs: number | undefined;
}

/**
 * The workflows whose last run every output shows: the exported ones with a job (not the folded rest), then the
 * listed ones (workflows API) with a job that are not exported. Works with the workflows API off (the first part).
 */
export function workflowRunRows(s: Snapshot): WorkflowRunRow[] {
  const rows: WorkflowRunRow[] = [];
  const shown = new Set<string>();
  for (const wf of s.workflows) {
    if (wf.lastRunMs === undefined) continue;
    rows.push({ id: wf.id, name: wf.name, lastRunMs: wf.lastRunMs, lastSuccessMs: wf.lastSuccessMs });
    shown.add(wf.id);
  }
  const inventory = s.workflowInventory;
  if (inventory?.ok === true) {
    for (const w of inventory.workflows) {
      if (w.lastRunMs === undefined || shown.has(w.id)) continue;
      rows.push({ id: w.id, name: w.name, lastRunMs: w.lastRunMs, lastSuccessMs: w.lastSuccessMs });
    }
  }
  return rows;
}

/**
 * The fire times of a schedule from those of its entries (each judged alone): the latest expected, the earliest
 * next, or the first entry's problem (numbered as in the schedule).
 */
function combined(entries: readonly ReturnType<typeof fireTimes>[]): ReturnType<typeof fireTimes> {
  let expectedMs: number | undefined;
  let nextMs: number | undefined;
  for (const [i, times] of entries.entries()) {
    if ('problem' in times) return { problem: times.problem.replace(/^cron entry 1: /, `cron entry ${i + 1}: `) };
    if (times.expectedMs !== undefined && (expectedMs === undefined || times.expectedMs > expectedMs))
      expectedMs = times.expectedMs;
    if (times.nextMs !== undefined && (nextMs === undefined || times.nextMs < nextMs)) nextMs = times.nextMs;
  }
  return { expectedMs, nextMs };
}
