/**
 * Validation of one record of `GET /api/v1/workflows/` (WorkflowInformation, shared/reference/
 * unstructured-jobs-api.md, "Workflows") into a bounded Workflow, or the reason it was left out. Only what the
 * schedule health needs is kept: never `workflow_nodes` (their `settings` may hold configuration), sources or
 * destinations. Every kept string is bounded here, whatever the API sends.
 */
import { shownWorkflowName, wellFormed } from '../common/text.js';
import { parseRfc3339 } from './rfc3339.js';
import { isId } from './to-job.js';

/** Why a workflow record was left out (the `reason` label of unstructured_workflow_records_skipped). */
export const WORKFLOW_SKIP_REASONS = [
  'not_an_object',
  'invalid_id',
  'invalid_created_at',
  'duplicate_id',
  'too_large',
  'over_limit',
] as const;
export type WorkflowSkipReason = (typeof WORKFLOW_SKIP_REASONS)[number];

/** Every skip reason at 0. */
export function noWorkflowSkips(): Record<WorkflowSkipReason, number> {
  return Object.fromEntries(WORKFLOW_SKIP_REASONS.map((r) => [r, 0])) as Record<WorkflowSkipReason, number>;
}

/**
 * Cron entries kept per workflow. The API gives a workflow one predefined schedule (one entry); a schedule
 * with more than this is refused as a whole (its workflow is still listed) rather than judged on a part.
 */
export const MAX_CRON_ENTRIES = 16;
/**
 * Longest cron expression parsed. The predefined ones are 9–13 characters; with seconds, ranges and lists a
 * real one stays far below this, and longer text is not given to the parser at all.
 */
export const MAX_CRON_CHARS = 256;
/** Longest `status` / `workflow_type` kept as sent (labels fold longer ones, lib/aggregate/workflow-health.ts). */
export const MAX_WORKFLOW_WORD_CHARS = 64;

export interface Workflow {
  /** Well-formed (lone surrogates replaced), as the aggregation keys workflows. */
  readonly id: string;
  /** The authoritative name, bounded (shownWorkflowName); the id when the record has none. */
  readonly name: string;
  /** `status` as sent (well-formed, cut to MAX_WORKFLOW_WORD_CHARS + 1); undefined when absent or not a string. */
  readonly status: string | undefined;
  /** `workflow_type` as sent (bounded like `status`); undefined when null or absent. */
  readonly workflowType: string | undefined;
  readonly createdAtMs: number;
  /** undefined when null, absent or not a date-time. */
  readonly updatedAtMs: number | undefined;
  /** The cron expressions (well-formed, each cut to MAX_CRON_CHARS + 1); empty for no schedule. */
  readonly cronEntries: readonly string[];
  /** Why the schedule cannot be judged, when its shape is wrong (not the cron text: that is schedule.ts's). */
  readonly scheduleProblem: string | undefined;
}

/** A record of the workflows response → Workflow, or why it is left out. */
export function toWorkflow(raw: unknown): Workflow | WorkflowSkipReason {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return 'not_an_object';
  const record = raw as Record<string, unknown>;
  const id = record.id;
  if (!isId(id)) return 'invalid_id';
  const createdAt = record.created_at;
  const createdAtMs = typeof createdAt === 'string' ? parseRfc3339(createdAt) : Number.NaN;
  if (Number.isNaN(createdAtMs)) return 'invalid_created_at';
  const updatedAt = record.updated_at;
  const updatedAtMs = typeof updatedAt === 'string' ? parseRfc3339(updatedAt) : Number.NaN;
  const name = record.name;
  const { cronEntries, scheduleProblem } = scheduleOf(record.schedule);
  return {
    id: wellFormed(id),
    name: shownWorkflowName(typeof name === 'string' ? name : id),
    status: word(record.status),
    workflowType: word(record.workflow_type),
    createdAtMs,
    updatedAtMs: Number.isNaN(updatedAtMs) ? undefined : updatedAtMs,
    cronEntries,
    scheduleProblem,
  };
}

/** A short free-text field, bounded: one character over the limit is enough to tell it is too long. */
function word(value: unknown): string | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  return bounded(value, MAX_WORKFLOW_WORD_CHARS);
}

/** At most `max` + 1 UTF-16 units, well-formed: a longer text stays longer than `max`, so it is still told apart. */
function bounded(text: string, max: number): string {
  return wellFormed(text.length > max ? text.slice(0, max + 1) : text);
}

/** `{"crontab_entries": [{"cron_expression": str}]}`, null or absent (no schedule), or a shape that is wrong. */
function scheduleOf(schedule: unknown): { cronEntries: string[]; scheduleProblem: string | undefined } {
  if (schedule === undefined || schedule === null) return { cronEntries: [], scheduleProblem: undefined };
  if (typeof schedule !== 'object' || Array.isArray(schedule))
    return { cronEntries: [], scheduleProblem: 'schedule is not an object' };
  const entries = (schedule as Record<string, unknown>).crontab_entries;
  if (entries === undefined || entries === null) return { cronEntries: [], scheduleProblem: undefined };
  if (!Array.isArray(entries)) return { cronEntries: [], scheduleProblem: 'crontab_entries is not an array' };
  const cronEntries: string[] = [];
  let scheduleProblem: string | undefined;
  for (const entry of entries.slice(0, MAX_CRON_ENTRIES)) {
    const expression =
      typeof entry === 'object' && entry !== null ? (entry as Record<string, unknown>).cron_expression : undefined;
    if (typeof expression !== 'string') {
      scheduleProblem ??= 'a crontab entry has no cron_expression string';
      continue;
    }
    if (expression.length > MAX_CRON_CHARS)
      scheduleProblem ??= `a cron expression longer than ${MAX_CRON_CHARS} characters`;
    cronEntries.push(bounded(expression, MAX_CRON_CHARS));
  }
  if (entries.length > MAX_CRON_ENTRIES)
    scheduleProblem ??= `more than ${MAX_CRON_ENTRIES} crontab entries (${entries.length})`;
  return { cronEntries, scheduleProblem };
}
