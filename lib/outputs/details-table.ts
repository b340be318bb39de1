/**
 * The terminal table's job outcomes per workflow (lib/outputs/details-view.ts), and the failed documents' count.
 * Texts go through terminalSafe (no control sequences reach the terminal).
 */
import type { Snapshot } from '../aggregate/snapshot.js';
import type { JobDetailsReport } from '../details/stage.js';
import { outcomeColumns, outcomeRows } from './details-view.js';
import { fitWidth, ID_WIDTH, layout, NAME_WIDTH, terminalSafe, type Column } from './table.js';
import { humanDuration } from './view.js';

export function detailsTable(s: Snapshot, d: JobDetailsReport): string[] {
  const statuses = outcomeColumns(d);
  const columns: Column[] = [
    { header: 'WORKFLOW', align: 'left', width: NAME_WIDTH },
    { header: 'ID', align: 'left', width: ID_WIDTH },
    ...statuses.map((st): Column => ({ header: fitWidth(terminalSafe(st), 21), align: 'right' })),
    { header: 'FILES FAILED', align: 'right' },
  ];
  const body: Array<string[] | null> = [];
  for (const r of outcomeRows(s, d)) {
    if (r.kind === 'total') body.push(null);
    body.push([
      terminalSafe(r.name),
      r.kind === 'workflow' ? fitWidth(terminalSafe(r.id), ID_WIDTH) : '',
      ...statuses.map((st) => String(r.outcomes.byStatus[st] ?? 0)),
      String(r.filesFailed),
    ]);
  }
  const documents = d.failedDocumentsHidden
    ? 'hidden (FAILED_DOCUMENTS=hide)'
    : `${d.failedDocuments.length} most recent in --format json`;
  return [
    `OUTCOMES OF JOBS FINISHED IN THE LAST ${humanDuration(s.runtimeWindowSeconds).toUpperCase()} (job details: ${d.known} known, ${d.pending} pending, ${d.errors} request errors)`,
    ...layout(columns, body),
    `FAILED DOCUMENTS  ${documents}`,
  ];
}
