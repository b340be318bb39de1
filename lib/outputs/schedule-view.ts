/**
 * The workflow inventory (issue 17) as the status page and the terminal table show it: one row per listed
 * workflow, the ones that missed their run first, with its state, schedule, last run, last success, next run and
 * a marker. Text is the snapshot's (bounded); each output escapes it its own way.
 */
import type { Snapshot } from '../aggregate/snapshot.js';
import type { WorkflowHealth } from '../aggregate/workflow-health.js';
import { humanDuration, utcTimestamp } from './view.js';

/** What a row's marker says: MISSED (its last expected run has no job), ok, invalid schedule, or not judged. */
export type ScheduleMark = 'MISSED' | 'ok' | 'invalid' | '';

/** An instant for people: `2026-11-29 11:00:00 UTC` and `1h 7m ago` / `in 52m 30s`, or `—` and ''. */
export interface When {
  readonly utc: string;
  readonly relative: string;
}

export interface ScheduleRow {
  readonly id: string;
  readonly name: string;
  readonly state: string;
  readonly schedule: string;
  /** `2026-11-29 11:00:00 UTC (1h 7m ago)` (whenText), and its two parts. */
  readonly lastRun: string;
  readonly lastSuccess: string;
  readonly nextRun: string;
  readonly lastRunWhen: When;
  readonly lastSuccessWhen: When;
  readonly nextRunWhen: When;
  readonly mark: ScheduleMark;
  /** Why the schedule could not be judged, when it could not. */
  readonly problem: string | undefined;
}

export type ScheduleView =
  /** WORKFLOWS_API=off, or nothing listed and nothing skipped: no section at all. */
  | { readonly status: 'off' }
  | { readonly status: 'failed'; readonly errorKind: string; readonly errorMessage: string }
  | {
      readonly status: 'ok';
      readonly rows: ScheduleRow[];
      readonly missed: number;
      readonly scheduleInvalid: number;
      readonly recordsSkipped: number;
    };

export function when(ms: number | undefined, nowMs: number): When {
  if (ms === undefined) return { utc: '—', relative: '' };
  const seconds = (nowMs - ms) / 1000;
  return {
    utc: utcTimestamp(ms),
    relative: seconds >= 0 ? `${humanDuration(seconds)} ago` : `in ${humanDuration(-seconds)}`,
  };
}

/** `2026-11-29 11:00:00 UTC (1h 7m ago)`, `… (in 52m 30s)`, or `—`. */
export function whenText(ms: number | undefined, nowMs: number): string {
  const w = when(ms, nowMs);
  return w.relative === '' ? w.utc : `${w.utc} (${w.relative})`;
}

function markOf(w: WorkflowHealth): ScheduleMark {
  if (w.scheduleProblem !== undefined) return 'invalid';
  if (w.missed === undefined) return '';
  return w.missed ? 'MISSED' : 'ok';
}

export function scheduleView(s: Snapshot): ScheduleView {
  const inventory = s.workflowInventory;
  if (inventory === undefined) return { status: 'off' };
  if (!inventory.ok) return { status: 'failed', errorKind: inventory.errorKind, errorMessage: inventory.errorMessage };
  const recordsSkipped = Object.values(inventory.recordsSkipped).reduce((a, b) => a + b, 0);
  if (inventory.workflows.length === 0 && recordsSkipped === 0) return { status: 'off' };
  const nowMs = Date.parse(s.generatedAt);
  const rows = inventory.workflows.map(
    (w): ScheduleRow => ({
      id: w.id,
      name: w.name,
      state: w.state,
      schedule: w.schedule,
      lastRun: whenText(w.lastRunMs, nowMs),
      lastSuccess: whenText(w.lastSuccessMs, nowMs),
      nextRun: whenText(w.nextRunMs, nowMs),
      lastRunWhen: when(w.lastRunMs, nowMs),
      lastSuccessWhen: when(w.lastSuccessMs, nowMs),
      nextRunWhen: when(w.nextRunMs, nowMs),
      mark: markOf(w),
      problem: w.scheduleProblem,
    }),
  );
  // Missed first, then invalid schedules, then the rest; in the API's order within each (a stable sort).
  const rank: Record<ScheduleMark, number> = { MISSED: 0, invalid: 1, ok: 2, '': 3 };
  rows.sort((a, b) => rank[a.mark] - rank[b.mark]);
  return {
    status: 'ok',
    rows,
    missed: rows.filter((r) => r.mark === 'MISSED').length,
    scheduleInvalid: inventory.scheduleInvalid,
    recordsSkipped,
  };
}
