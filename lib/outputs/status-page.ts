/**
 * The landing page at `/`: the current collection as one small, self-contained HTML page (inline CSS, no
 * script, no external asset, a strict Content-Security-Policy). Its content comes from the view model
 * (view.ts), which the terminal table shares.
 *
 * Every text that comes from the API (workflow names and ids, statuses, error messages) goes through
 * escapeHtml: a workflow named `</script><script>alert(1)</script>` is shown as text.
 */
import { detailsSections } from './details-html.js';
import type { Collection, CollectionFailure, CollectionSuccess } from '../collection.js';
import type { Snapshot } from '../aggregate/snapshot.js';
import { scheduleView, type ScheduleRow, type When } from './schedule-view.js';
import { PENDING_STATUSES, SKIP_REASONS } from '../vocabulary.js';
import {
  foldedWorkflows,
  groupRows,
  humanDuration,
  isKnownStatus,
  quantileLabel,
  RUNTIME_STATUSES,
  statusColumns,
  totalJobs,
  totalSkipped,
  utcTimestamp,
  type GroupRow,
} from './view.js';

/** How often the browser reloads the page (seconds). */
export const REFRESH_SECONDS = 30;

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const CSS = `
:root{color-scheme:light dark;--fg:#1d2330;--muted:#6b7385;--bg:#fff;--line:#e3e6ee;--head:#f5f6fa;--ok:#1a7f37;--bad:#c62828;--badbg:#fde8e8;--warn:#9a6700;--warnbg:#fff4d6}
@media (prefers-color-scheme:dark){:root{--fg:#e6e8ee;--muted:#9aa3b5;--bg:#14171f;--line:#2b303c;--head:#1c202a;--ok:#4ac26b;--bad:#ff6b6b;--badbg:#3a1d20;--warn:#d4a72c;--warnbg:#3a2f12}}
*{box-sizing:border-box}
body{margin:0 auto;max-width:1200px;padding:1.25rem 1.5rem 2rem;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
h1{font-size:1.35rem;margin:0}
h2{font-size:1.05rem;margin:1.75rem 0 .5rem}
header{display:flex;align-items:center;gap:.75rem;flex-wrap:wrap}
.badge{display:inline-block;padding:.1rem .6rem;border-radius:1rem;font-weight:700;font-size:.85rem;color:#fff;letter-spacing:.04em}
.badge.up{background:var(--ok)}.badge.down{background:var(--bad)}
.muted,.id,.zero{color:var(--muted)}
dl.facts{display:grid;grid-template-columns:repeat(auto-fill,minmax(11rem,1fr));gap:.5rem 1.5rem;margin:1rem 0 0}
dl.facts div{min-width:0}dl.facts dt{color:var(--muted);font-size:.8rem}dl.facts dd{margin:0;font-weight:600;overflow-wrap:anywhere}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{padding:.3rem .6rem;border-bottom:1px solid var(--line);text-align:right;vertical-align:top;white-space:nowrap}
th{background:var(--head);font-weight:600;font-size:.8rem}
th:first-child,td:first-child{text-align:left}
td.wf{white-space:normal}
.name{max-width:26rem;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.id{font:.75rem ui-monospace,SFMono-Regular,Menlo,monospace}
tfoot td{font-weight:700;border-top:2px solid var(--line)}
td.failed{color:var(--bad);background:var(--badbg);font-weight:700}
th.unknown{font-style:italic}
td.warn{color:var(--warn);font-weight:600}
.error{border-left:4px solid var(--bad);background:var(--badbg);padding:.6rem .9rem;margin:1rem 0;white-space:pre-wrap;overflow-wrap:anywhere}
.error code{font-weight:700}
.demo{border-left:4px solid var(--warn);background:var(--warnbg);padding:.6rem .9rem;margin:1rem 0}
.scroll{overflow-x:auto}
footer{margin-top:2rem;color:var(--muted);font-size:.85rem}
a{color:inherit}
`;

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="${REFRESH_SECONDS}">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body>
${body}
<footer><a href="metrics">metrics</a> · <a href="healthz">healthz</a> · this page reloads every ${REFRESH_SECONDS} s</footer>
</body>
</html>
`;
}

function fact(label: string, value: string): string {
  return `<div><dt>${escapeHtml(label)}</dt><dd>${escapeHtml(value)}</dd></div>`;
}

function count(n: number, extraClass = ''): string {
  const cls = [n === 0 ? 'zero' : '', extraClass].filter(Boolean).join(' ');
  return `<td${cls ? ` class="${cls}"` : ''}>${n}</td>`;
}

function workflowCell(row: GroupRow): string {
  if (row.kind === 'total') return `<td class="wf">${escapeHtml(row.name)}</td>`;
  const name = escapeHtml(row.name);
  const id = row.kind === 'workflow' ? `<div class="id">${escapeHtml(row.id)}</div>` : '';
  return `<td class="wf"><div class="name" title="${name}">${name}</div>${id}</td>`;
}

function tableHtml(head: string, rows: GroupRow[], cells: (row: GroupRow) => string): string {
  const body = rows.filter((r) => r.kind !== 'total');
  const total = rows.find((r) => r.kind === 'total');
  const tr = (r: GroupRow) => `<tr>${workflowCell(r)}${cells(r)}</tr>`;
  return `<div class="scroll"><table>
<thead><tr>${head}</tr></thead>
<tbody>
${body.map(tr).join('\n')}
</tbody>${total ? `\n<tfoot>${tr(total)}</tfoot>` : ''}
</table></div>`;
}

function jobsSection(s: Snapshot, rows: GroupRow[]): string {
  const columns = statusColumns(s);
  const head = [
    '<th>Workflow</th>',
    ...columns.map((c) =>
      isKnownStatus(c)
        ? `<th>${escapeHtml(c)}</th>`
        : `<th class="unknown" title="status not documented by the API">${escapeHtml(c)}</th>`,
    ),
    '<th>Total</th>',
  ].join('');
  const table = tableHtml(head, rows, (r) =>
    [
      ...columns.map((c) =>
        count(r.stats.byStatus[c] ?? 0, c === 'FAILED' && (r.stats.byStatus[c] ?? 0) > 0 ? 'failed' : ''),
      ),
      count(totalJobs(r.stats)),
    ].join(''),
  );
  return `<section id="jobs"><h2>Jobs by status</h2>\n${table}</section>`;
}

function pendingSection(rows: GroupRow[]): string {
  const head = [
    '<th>Workflow</th>',
    ...PENDING_STATUSES.flatMap((p) => [`<th>${p}</th>`, `<th>oldest ${p}</th>`]),
  ].join('');
  const table = tableHtml(head, rows, (r) =>
    PENDING_STATUSES.map((p) => {
      const n = r.stats.pending[p];
      return `${count(n)}<td${n === 0 ? ' class="zero"' : ''}>${n === 0 ? '—' : escapeHtml(humanDuration(r.stats.oldestAgeSeconds[p]))}</td>`;
    }).join(''),
  );
  return `<section id="pending"><h2>Waiting and running</h2>\n${table}</section>`;
}

function runtimeSection(s: Snapshot, rows: GroupRow[]): string {
  const head = [
    '<th>Workflow</th>',
    '<th>Status</th>',
    '<th>Jobs</th>',
    ...s.quantiles.map((q) => `<th>${escapeHtml(quantileLabel(q))}</th>`),
  ].join('');
  const lines: string[] = [];
  const total = rows.find((r) => r.kind === 'total');
  for (const r of rows) {
    RUNTIME_STATUSES.forEach((status, i) => {
      const recent = r.stats.recent[status];
      const first = i === 0 ? workflowCell(r) : '<td></td>';
      const values = s.quantiles.map(
        (_, qi) =>
          `<td${recent.count === 0 ? ' class="zero"' : ''}>${escapeHtml(humanDuration(recent.quantiles[qi]))}</td>`,
      );
      const cls = status === 'FAILED' && recent.count > 0 ? 'failed' : '';
      lines.push(`<tr>${first}<td>${status}</td>${count(recent.count, cls)}${values.join('')}</tr>`);
    });
  }
  const bodyLines = lines.slice(0, lines.length - RUNTIME_STATUSES.length);
  const footLines = total ? lines.slice(lines.length - RUNTIME_STATUSES.length) : [];
  return `<section id="runtime"><h2>Runtime of jobs finished in the last ${escapeHtml(humanDuration(s.runtimeWindowSeconds))} <span class="muted">(exact percentiles)</span></h2>
<div class="scroll"><table>
<thead><tr>${head}</tr></thead>
<tbody>
${bodyLines.join('\n')}
</tbody>
<tfoot>${footLines.join('\n')}</tfoot>
</table></div></section>`;
}

function recordsSection(s: Snapshot): string {
  const rows = SKIP_REASONS.map(
    (r) => `<tr><td>${r}</td>${count(s.recordsSkipped[r], s.recordsSkipped[r] > 0 ? 'warn' : '')}</tr>`,
  );
  rows.push(
    `<tr><td>runtime unparsable <span class="muted">(counted, left out of runtimes)</span></td>${count(s.runtimeUnparsable, s.runtimeUnparsable > 0 ? 'warn' : '')}</tr>`,
  );
  rows.push(
    `<tr><td>runtime longer than the job's age <span class="muted">(counted, left out of runtimes)</span></td>${count(s.runtimeLongerThanAge, s.runtimeLongerThanAge > 0 ? 'warn' : '')}</tr>`,
  );
  return `<section id="records"><h2>Records</h2>
<p class="muted">${s.jobsFetched} records fetched; ${totalSkipped(s)} skipped (left out of every count).</p>
<table style="width:auto"><thead><tr><th>Skipped: reason</th><th>Records</th></tr></thead><tbody>
${rows.join('\n')}
</tbody></table></section>`;
}

function upPage(c: CollectionSuccess, version: string, demo: boolean): string {
  const s = c.snapshot;
  const rows = groupRows(s);
  const folded = foldedWorkflows(s);
  const body = `<header><h1>unstructured-jobs-exporter</h1><span class="badge up">UP</span><span class="muted">last pull succeeded</span></header>
${demo ? DEMO_BANNER : ''}<dl class="facts">
${fact('Collected at', utcTimestamp(Date.parse(s.generatedAt)))}
${fact('Pull took', humanDuration(c.durationSeconds))}
${fact('Jobs counted', String(totalJobs(s.total)))}
${fact('Records fetched', String(s.jobsFetched))}
${fact('Workflows', folded > 0 ? `${s.workflowsSeen} (${folded} folded into other)` : String(s.workflowsSeen))}
${fact('Runtime window', humanDuration(s.runtimeWindowSeconds))}
${fact('Version', version)}
</dl>
${jobsSection(s, rows)}
${pendingSection(rows)}
${runtimeSection(s, rows)}
${schedulesSection(s)}${recordsSection(s)}${c.details === undefined ? '' : `\n${detailsSections(s, c.details)}`}`;
  return page(`UP · unstructured-jobs-exporter`, body);
}

function downPage(c: CollectionFailure, version: string, demo: boolean): string {
  const body = `<header><h1>unstructured-jobs-exporter</h1><span class="badge down">DOWN</span><span class="muted">the last pull of the job list failed</span></header>
${demo ? DEMO_BANNER : ''}<p class="error"><code>${escapeHtml(c.errorKind)}</code>: ${escapeHtml(c.errorMessage)}</p>
<dl class="facts">
${fact('Failed at', utcTimestamp(c.finishedAtMs))}
${fact('Pull took', humanDuration(c.durationSeconds))}
${fact('Error kind', c.errorKind)}
${fact('Version', version)}
</dl>
<p class="muted">No job figures are shown while the pull fails: <code>/metrics</code> exports <code>unstructured_up 0</code> and no job series, never zeros that look like data.</p>`;
  return page(`DOWN · unstructured-jobs-exporter`, body);
}

/** Issue 17: each listed workflow's schedule health; nothing with WORKFLOWS_API=off. */
function schedulesSection(s: Snapshot): string {
  const view = scheduleView(s);
  if (view.status === 'off') return '';
  if (view.status === 'failed')
    return `<section id="schedules"><h2>Schedules</h2>
<p class="error">The workflow list could not be read (<code>${escapeHtml(view.errorKind)}</code>): ${escapeHtml(view.errorMessage)}. Schedule health is not known; the job figures above are not affected.</p></section>
`;
  const head = ['Workflow', 'Health', 'State', 'Schedule', 'Last run', 'Last success', 'Next run']
    .map((h, i) => `<th${i > 0 ? ' style="text-align:left"' : ''}>${h}</th>`)
    .join('');
  const mark = (r: ScheduleRow) => {
    if (r.mark === 'MISSED') return '<td class="failed" style="text-align:left">MISSED</td>';
    if (r.mark === 'invalid')
      return `<td class="warn" style="text-align:left" title="${escapeHtml(r.problem ?? '')}">invalid schedule</td>`;
    return `<td style="text-align:left"${r.mark === '' ? ' class="zero"' : ''}>${r.mark === 'ok' ? 'ok' : '—'}</td>`;
  };
  const left = (text: string) => `<td style="text-align:left">${escapeHtml(text)}</td>`;
  // The relative time shown, the instant in UTC on hover.
  const at = (w: When) =>
    w.relative === ''
      ? '<td class="zero" style="text-align:left">—</td>'
      : `<td style="text-align:left" title="${escapeHtml(w.utc)}">${escapeHtml(w.relative)}</td>`;
  const lines = view.rows.map(
    (r) =>
      `<tr><td class="wf"><div class="name" title="${escapeHtml(r.name)}">${escapeHtml(r.name)}</div><div class="id">${escapeHtml(r.id)}</div></td>${mark(r)}${left(r.state)}${left(r.schedule)}${at(r.lastRunWhen)}${at(r.lastSuccessWhen)}${at(r.nextRunWhen)}</tr>`,
  );
  const summary = `${view.rows.length} workflows listed; ${view.missed} missed their last expected run; ${view.scheduleInvalid} with a schedule that could not be read; ${view.recordsSkipped} records skipped.`;
  return `<section id="schedules"><h2>Schedules</h2>
<p class="muted">${escapeHtml(summary)}</p>
<div class="scroll"><table>
<thead><tr>${head}</tr></thead>
<tbody>
${lines.join('\n')}
</tbody>
</table></div></section>
`;
}

const DEMO_BANNER = `<p class="demo" role="alert"><strong>DEMO</strong> — simulated jobs from the embedded demo API, not your account. Set <code>UNSTRUCTURED_API_KEY</code> to watch your own jobs.</p>
`;

export function renderStatusPage(collection: Collection, options: { version: string; demo?: boolean }): string {
  const demo = options.demo === true;
  return collection.ok ? upPage(collection, options.version, demo) : downPage(collection, options.version, demo);
}
