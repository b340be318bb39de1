/**
 * The view model of job outcomes (lib/details/stage.ts) that the status page, the terminal table and
 * `collect --format json` share: outcome rows parallel to the workflow rows of view.ts, and the failed documents
 * with the workflow they belong to. Texts are the API's (bounded in lib/details/records.ts): each output escapes.
 */
import type { Snapshot } from '../aggregate/snapshot.js';
import type { CollectionSuccess } from '../collection.js';
import type { JobDetailsReport, Outcomes } from '../details/stage.js';
import { OTHER_WORKFLOW_ID, TERMINAL_PROCESSING_STATUSES } from '../vocabulary.js';

/** Outcome columns: the four terminal processing statuses, then any other seen (sorted). */
export function outcomeColumns(d: JobDetailsReport): string[] {
  const known: ReadonlySet<string> = new Set(TERMINAL_PROCESSING_STATUSES);
  const extra = new Set<string>();
  for (const status of Object.keys(d.total.byStatus)) if (!known.has(status)) extra.add(status);
  return [...TERMINAL_PROCESSING_STATUSES, ...[...extra].sort()];
}

export interface OutcomeRow {
  readonly kind: 'workflow' | 'other' | 'total';
  readonly name: string;
  readonly id: string;
  readonly outcomes: Outcomes;
  readonly filesSucceeded: number;
  readonly filesFailed: number;
}

function files(o: Outcomes): { filesSucceeded: number; filesFailed: number } {
  let filesSucceeded = 0;
  let filesFailed = 0;
  for (const n of o.nodes) {
    filesSucceeded += n.success;
    filesFailed += n.failure;
  }
  return { filesSucceeded, filesFailed };
}

/** The workflows in snapshot order, then the total. */
export function outcomeRows(s: Snapshot, d: JobDetailsReport): OutcomeRow[] {
  const rows: OutcomeRow[] = s.workflows.map((wf, i) => {
    const outcomes = d.workflows[i] as Outcomes;
    const other = wf.id === OTHER_WORKFLOW_ID;
    return {
      kind: other ? 'other' : 'workflow',
      name: other ? `other (${wf.workflowCount} workflows folded)` : wf.name,
      id: wf.id,
      outcomes,
      ...files(outcomes),
    };
  });
  rows.push({ kind: 'total', name: 'All workflows', id: '', outcomes: d.total, ...files(d.total) });
  return rows;
}

export interface FailedDocumentRow {
  readonly workflowName: string;
  readonly workflowId: string;
  readonly jobId: string;
  readonly finishedAt: string;
  readonly node: string;
  readonly document: string;
  readonly error: string;
}

/** The failed documents, newest first, with the name the snapshot shows for their workflow. */
export function failedDocumentRows(s: Snapshot, d: JobDetailsReport): FailedDocumentRow[] {
  const names = new Map(s.workflows.map((wf) => [wf.id, wf.name]));
  return d.failedDocuments.map((f) => ({
    workflowName: names.get(f.workflowId) ?? OTHER_WORKFLOW_ID,
    workflowId: f.workflowId,
    jobId: f.jobId,
    finishedAt: new Date(f.finishedAtMs).toISOString(),
    node: f.node,
    document: f.document,
    error: f.error,
  }));
}

/** What `collect --format json` adds under `details`: the outcomes and the failed documents (no per-job list). */
export function detailsJson(c: CollectionSuccess): Record<string, unknown> | undefined {
  const d = c.details;
  if (d === undefined) return undefined;
  return {
    known: d.known,
    pending: d.pending,
    unavailable: d.unavailable,
    publishedEarlier: d.publishedEarlier,
    requests: d.requests,
    errors: d.errors,
    workflows: c.snapshot.workflows.map((wf, i) => ({ id: wf.id, name: wf.name, ...d.workflows[i] })),
    total: d.total,
    failedDocumentsHidden: d.failedDocumentsHidden,
    failedDocuments: failedDocumentRows(c.snapshot, d),
  };
}
