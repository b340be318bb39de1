/**
 * The view model the status page (status-page.ts) and the terminal table (table.ts) share: which rows and
 * columns there are, and how figures are written for people. Both show the same content from it.
 */
import type { GroupStats, Snapshot } from '../aggregate/snapshot.js';
import { compareCodeUnits } from '../common/text.js';
import { KNOWN_STATUSES, OTHER_WORKFLOW_ID, SKIP_REASONS, type TerminalStatus } from '../vocabulary.js';

/** Terminal statuses whose runtime percentiles are shown. */
export const RUNTIME_STATUSES: readonly TerminalStatus[] = ['COMPLETED', 'FAILED'];

/** One row of the per-workflow tables: a workflow, the folded rest, or the total over all of them. */
export interface GroupRow {
  readonly kind: 'workflow' | 'other' | 'total';
  readonly name: string;
  /** The workflow id; empty for the total row. */
  readonly id: string;
  /** Workflows this row stands for (folded rest: the number folded). */
  readonly workflowCount: number;
  readonly stats: GroupStats;
}

/** The workflows in snapshot order (busiest first, folded rest last), then the total. */
export function groupRows(s: Snapshot): GroupRow[] {
  const rows: GroupRow[] = s.workflows.map((wf) => ({
    kind: wf.id === OTHER_WORKFLOW_ID ? 'other' : 'workflow',
    name: wf.id === OTHER_WORKFLOW_ID ? `other (${wf.workflowCount} workflows folded)` : wf.name,
    id: wf.id,
    workflowCount: wf.workflowCount,
    stats: wf,
  }));
  rows.push({ kind: 'total', name: 'All workflows', id: '', workflowCount: s.workflowsSeen, stats: s.total });
  return rows;
}

/** Status columns: the five known statuses in lifecycle order, then any unknown status seen (sorted). */
export function statusColumns(s: Snapshot): string[] {
  const known: ReadonlySet<string> = new Set(KNOWN_STATUSES);
  const unknown = new Set<string>();
  for (const status of Object.keys(s.total.byStatus)) if (!known.has(status)) unknown.add(status);
  for (const wf of s.workflows)
    for (const status of Object.keys(wf.byStatus)) if (!known.has(status)) unknown.add(status);
  return [...KNOWN_STATUSES, ...[...unknown].sort(compareCodeUnits)];
}

export function isKnownStatus(status: string): boolean {
  return (KNOWN_STATUSES as readonly string[]).includes(status);
}

export function totalJobs(g: GroupStats): number {
  return Object.values(g.byStatus).reduce((sum, n) => sum + n, 0);
}

/** `p50`, `p95`, `p99.9`; 1 is `max`, 0 is `min`. */
export function quantileLabel(q: number): string {
  if (q === 1) return 'max';
  if (q === 0) return 'min';
  return `p${Number((q * 100).toFixed(4))}`;
}

/**
 * A duration for people: `0s`, `0.5s`, `2.35s`, `45s`, `2m 30s`, `5m`, `1h 30m`, `2h`, `1d`, `2d 3h`; `—` when there is none
 * (undefined or NaN). Two units at most, the second left out when 0. Seconds below 10 keep up to two decimals
 * (sub-second runtimes are common).
 */
export function humanDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '—';
  if (seconds < 0) return `-${humanDuration(-seconds)}`;
  if (seconds < 10) return `${Number(seconds.toFixed(2))}s`;
  const total = Math.round(seconds);
  if (total < 60) return `${total}s`;
  const days = Math.floor(total / 86_400);
  const hours = Math.floor((total % 86_400) / 3_600);
  const minutes = Math.floor((total % 3_600) / 60);
  const secs = total % 60;
  const two = (a: number, unitA: string, b: number, unitB: string) =>
    b === 0 ? `${a}${unitA}` : `${a}${unitA} ${b}${unitB}`;
  if (days > 0) return two(days, 'd', hours, 'h');
  if (hours > 0) return two(hours, 'h', minutes, 'm');
  return two(minutes, 'm', secs, 's');
}

/** `2026-11-29 12:00:00 UTC` */
export function utcTimestamp(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** Skipped records by reason, only the reasons that occurred. */
export function skippedReasons(s: Snapshot): Array<[string, number]> {
  return SKIP_REASONS.filter((r) => s.recordsSkipped[r] > 0).map((r) => [r, s.recordsSkipped[r]]);
}

export function totalSkipped(s: Snapshot): number {
  return SKIP_REASONS.reduce((sum, r) => sum + s.recordsSkipped[r], 0);
}

/** Workflows folded into the `other` row by the MAX_WORKFLOWS cap (0 when none). */
export function foldedWorkflows(s: Snapshot): number {
  return s.workflows.find((w) => w.id === OTHER_WORKFLOW_ID)?.workflowCount ?? 0;
}
