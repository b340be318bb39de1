/**
 * The status page's job outcomes and failed documents (lib/outputs/details-view.ts), as HTML sections. Every
 * text from the API is escaped (escapeHtml); FAILED_DOCUMENTS=hide shows counts only.
 */
import type { Snapshot } from '../aggregate/snapshot.js';
import type { JobDetailsReport } from '../details/stage.js';
import { failedDocumentRows, outcomeColumns, outcomeRows, type OutcomeRow } from './details-view.js';
import { escapeHtml } from './status-page.js';
import { humanDuration, utcTimestamp } from './view.js';

function cell(n: number, cls = ''): string {
  const classes = [n === 0 ? 'zero' : '', n > 0 ? cls : ''].filter(Boolean).join(' ');
  return `<td${classes ? ` class="${classes}"` : ''}>${n}</td>`;
}

function who(r: OutcomeRow): string {
  if (r.kind === 'total') return `<td class="wf">${escapeHtml(r.name)}</td>`;
  const name = escapeHtml(r.name);
  const id = r.kind === 'workflow' ? `<div class="id">${escapeHtml(r.id)}</div>` : '';
  return `<td class="wf"><div class="name" title="${name}">${name}</div>${id}</td>`;
}

function ratio(r: OutcomeRow): string {
  const all = r.filesSucceeded + r.filesFailed;
  return all === 0 ? '—' : `${((100 * r.filesSucceeded) / all).toFixed(1)}%`;
}

/** The outcomes table and the failed documents (or their count when hidden). */
export function detailsSections(s: Snapshot, d: JobDetailsReport): string {
  const columns = outcomeColumns(d);
  const rows = outcomeRows(s, d);
  const tr = (r: OutcomeRow) =>
    `<tr>${who(r)}${columns.map((c) => cell(r.outcomes.byStatus[c] ?? 0, c === 'SUCCESS' ? '' : 'failed')).join('')}${cell(r.filesFailed, 'failed')}<td>${ratio(r)}</td></tr>`;
  const body = rows.filter((r) => r.kind !== 'total');
  const total = rows.find((r) => r.kind === 'total') as OutcomeRow;
  const outcomes = `<section id="outcomes"><h2>Outcomes of jobs finished in the last ${escapeHtml(humanDuration(s.runtimeWindowSeconds))} <span class="muted">(job details)</span></h2>
<p class="muted">${d.known} jobs with details known, ${d.pending} pending, ${d.unavailable} without details (404); ${d.errors} of ${d.requests} details requests failed in this collection.</p>
<div class="scroll"><table>
<thead><tr><th>Workflow</th>${columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}<th>Files failed</th><th>File success</th></tr></thead>
<tbody>
${body.map(tr).join('\n')}
</tbody>
<tfoot>${tr(total)}</tfoot>
</table></div></section>`;
  if (d.failedDocumentsHidden) {
    return `${outcomes}
<section id="failed-documents"><h2>Failed documents</h2>
<p class="muted">${total.filesFailed} files failed; their names and errors are hidden (FAILED_DOCUMENTS=hide).</p></section>`;
  }
  const docs = failedDocumentRows(s, d);
  const lines = docs.map(
    (f) =>
      `<tr><td class="wf"><div class="name">${escapeHtml(f.workflowName)}</div></td><td class="id">${escapeHtml(f.jobId)}</td><td>${escapeHtml(utcTimestamp(Date.parse(f.finishedAt)))}</td><td>${escapeHtml(f.node)}</td><td>${escapeHtml(f.document)}</td><td>${escapeHtml(f.error)}</td></tr>`,
  );
  return `${outcomes}
<section id="failed-documents"><h2>Failed documents <span class="muted">(the ${docs.length} most recent)</span></h2>
${
  docs.length === 0
    ? '<p class="muted">No failed document in the window.</p>'
    : `<div class="scroll"><table>
<thead><tr><th>Workflow</th><th>Job</th><th>Finished</th><th>Node</th><th>Document</th><th>Error</th></tr></thead>
<tbody>
${lines.join('\n')}
</tbody></table></div>`
}</section>`;
}
