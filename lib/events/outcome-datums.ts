/**
 * Outcome events (a finished job's details, first known: lib/details/stage.ts) → CloudWatch datums, in
 * self-contained units like the finished-job events' (datums.ts):
 * - `FilesFailed` (Count): the sum of the failure counts of the jobs' node_stats;
 * - `JobsCompletedWithErrors` (Count): jobs whose processing_status is COMPLETED_WITH_ERRORS;
 * each with no dimension (the account total) and with `Workflow`, timestamped at the minute the jobs finished.
 * A unit is the events of one minute (at most MAX_OUTCOMES_PER_UNIT) with every datum carrying them: each event
 * is in exactly four datums of its unit, so it is published entirely or not at all.
 */
import type { Dimension } from '@aws-sdk/client-cloudwatch';
import { compareCodeUnits } from '../common/text.js';
import { datum, DIMENSION_NAMES } from '../outputs/cloudwatch/datums.js';
import { eventTimestampMs, type EventUnit } from './datums.js';
import type { OutcomeEvent } from './state.js';

export const OUTCOME_METRIC_NAMES = {
  filesFailed: 'FilesFailed',
  jobsCompletedWithErrors: 'JobsCompletedWithErrors',
} as const;

/**
 * Events per unit: worst case every event of its own workflow, 2 + 2 × 400 datums of ≤ ~500 bytes (a 331-character
 * Workflow value): far under a request's 1 MB and 1000 datums (packUnits packs whole units).
 */
export const MAX_OUTCOMES_PER_UNIT = 400;

function renderUnit(events: readonly OutcomeEvent[], at: Date): EventUnit {
  const sum = (list: readonly OutcomeEvent[]) => list.reduce((n, e) => n + e.filesFailed, 0);
  const withErrors = (list: readonly OutcomeEvent[]) => list.filter((e) => e.completedWithErrors).length;
  const datums = [
    datum(OUTCOME_METRIC_NAMES.filesFailed, 'Count', sum(events), [], at),
    datum(OUTCOME_METRIC_NAMES.jobsCompletedWithErrors, 'Count', withErrors(events), [], at),
  ];
  const byWorkflow = new Map<string, OutcomeEvent[]>();
  for (const e of events) {
    let list = byWorkflow.get(e.workflow);
    if (list === undefined) byWorkflow.set(e.workflow, (list = []));
    list.push(e);
  }
  for (const [workflow, list] of [...byWorkflow].sort((a, b) => compareCodeUnits(a[0], b[0]))) {
    const dims: Dimension[] = [{ Name: DIMENSION_NAMES.workflow, Value: workflow }];
    datums.push(datum(OUTCOME_METRIC_NAMES.filesFailed, 'Count', sum(list), dims, at));
    datums.push(datum(OUTCOME_METRIC_NAMES.jobsCompletedWithErrors, 'Count', withErrors(list), dims, at));
  }
  return { events: [], outcomes: events, datums };
}

/** The units publishing `events`, by minute, then workflow and id inside a minute (deterministic content). */
export function renderOutcomeUnits(events: readonly OutcomeEvent[], nowMs: number): EventUnit[] {
  const groups = new Map<number, OutcomeEvent[]>();
  for (const e of events) {
    const at = eventTimestampMs(e.finishedAtMs, nowMs);
    let list = groups.get(at);
    if (list === undefined) groups.set(at, (list = []));
    list.push(e);
  }
  const units: EventUnit[] = [];
  for (const [at, list] of [...groups].sort((a, b) => a[0] - b[0])) {
    list.sort((a, b) => compareCodeUnits(a.workflow, b.workflow) || compareCodeUnits(a.id, b.id));
    for (let i = 0; i < list.length; i += MAX_OUTCOMES_PER_UNIT)
      units.push(renderUnit(list.slice(i, i + MAX_OUTCOMES_PER_UNIT), new Date(at)));
  }
  return units;
}
