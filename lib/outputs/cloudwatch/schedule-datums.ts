/**
 * CloudWatch datums of schedule health (issue 17), in the same snapshot as `Jobs`: ScheduleMissed (Count: 0 or 1
 * per active workflow with a valid schedule, dimension Workflow; and with no dimension the number of those
 * missing their last run) and SecondsSinceLastSuccess (Seconds, dimension Workflow, for the same workflows when
 * they have a success). Only those workflows: an alarm needs them, and every other workflow would be two more
 * custom metrics a month (cost.ts). Nothing when WORKFLOWS_API=off or the workflows request failed: a missing
 * series reads as "no data", a 0 would read as "nothing missed".
 */
import type { MetricDatum } from '@aws-sdk/client-cloudwatch';
import type { Snapshot } from '../../aggregate/snapshot.js';
import type { WorkflowHealth } from '../../aggregate/workflow-health.js';
import { DIMENSION_NAMES, datum, workflowDimensionValue } from './datums.js';

export const SCHEDULE_METRIC_NAMES = {
  scheduleMissed: 'ScheduleMissed',
  secondsSinceLastSuccess: 'SecondsSinceLastSuccess',
} as const;

/** The workflows with schedule datums: those whose schedule was judged. */
export function judgedWorkflows(s: Snapshot): WorkflowHealth[] {
  const inventory = s.workflowInventory;
  return inventory?.ok === true ? inventory.workflows.filter((w) => w.missed !== undefined) : [];
}

export function scheduleDatums(out: MetricDatum[], s: Snapshot, at: Date): void {
  const inventory = s.workflowInventory;
  if (inventory?.ok !== true) return;
  const judged = judgedWorkflows(s);
  const nowMs = Date.parse(s.generatedAt);
  // Two listed workflows may share a dimension value only past a 32-bit hash collision of odd ids; keep the first.
  const seen = new Set<string>();
  let missing = 0;
  for (const w of judged) {
    if (w.missed === true) missing++;
    const value = workflowDimensionValue(w.id, w.name);
    if (seen.has(value)) continue;
    seen.add(value);
    const dims = [{ Name: DIMENSION_NAMES.workflow, Value: value }];
    out.push(datum(SCHEDULE_METRIC_NAMES.scheduleMissed, 'Count', w.missed === true ? 1 : 0, dims, at));
    if (w.lastSuccessMs !== undefined) {
      const seconds = Math.max(0, (nowMs - w.lastSuccessMs) / 1000);
      out.push(datum(SCHEDULE_METRIC_NAMES.secondsSinceLastSuccess, 'Seconds', seconds, dims, at));
    }
  }
  out.push(datum(SCHEDULE_METRIC_NAMES.scheduleMissed, 'Count', missing, [], at));
}
