/**
 * The landing page at `/`: the current collection as one small, self-contained HTML page (inline CSS, no
 * script, no external asset, a strict Content-Security-Policy), and the view helpers `lib/table.ts` shares
 * so that the terminal table shows the same content.
 *
 * Every text that comes from the API (workflow names and ids, statuses, error messages) goes through
 * escapeHtml: a workflow named `</script><script>alert(1)</script>` is shown as text.
 */
import type { Collection, CollectionFailure, CollectionSuccess } from './collection.js';
import {
  KNOWN_STATUSES,
  OTHER_WORKFLOW_ID,
  PENDING_STATUSES,
  SKIP_REASONS,
  type GroupStats,
  type Snapshot,
  type TerminalStatus,
} from './snapshot.js';

/** How often the browser reloads the page (seconds). */
export const REFRESH_SECONDS = 30;

/** Terminal statuses whose runtime percentiles are shown. */
export const RUNTIME_STATUSES: readonly TerminalStatus[] = ['COMPLETED', 'FAILED'];

// ---------------------------------------------------------------------------------------------------------
// View helpers shared with lib/table.ts

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
  for (const wf of s.workflows) for (const status of Object.keys(wf.byStatus)) if (!known.has(status)) unknown.add(status);
  return [...KNOWN_STATUSES, ...[...unknown].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))];
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
  const two = (a: number, unitA: string, b: number, unitB: string) => (b === 0 ? `${a}${unitA}` : `${a}${unitA} ${b}${unitB}`);
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

// ---------------------------------------------------------------------------------------------------------
// HTML

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
    ...columns.map((c) => (isKnownStatus(c) ? `<th>${escapeHtml(c)}</th>` : `<th class="unknown" title="status not documented by the API">${escapeHtml(c)}</th>`)),
    '<th>Total</th>',
  ].join('');
  const table = tableHtml(head, rows, (r) =>
    [...columns.map((c) => count(r.stats.byStatus[c] ?? 0, c === 'FAILED' && (r.stats.byStatus[c] ?? 0) > 0 ? 'failed' : '')), count(totalJobs(r.stats))].join(''),
  );
  return `<section id="jobs"><h2>Jobs by status</h2>\n${table}</section>`;
}

function pendingSection(rows: GroupRow[]): string {
  const head = ['<th>Workflow</th>', ...PENDING_STATUSES.flatMap((p) => [`<th>${p}</th>`, `<th>oldest ${p}</th>`])].join('');
  const table = tableHtml(head, rows, (r) =>
    PENDING_STATUSES.map((p) => {
      const n = r.stats.pending[p];
      return `${count(n)}<td${n === 0 ? ' class="zero"' : ''}>${n === 0 ? '—' : escapeHtml(humanDuration(r.stats.oldestAgeSeconds[p]))}</td>`;
    }).join(''),
  );
  return `<section id="pending"><h2>Waiting and running</h2>\n${table}</section>`;
}

function runtimeSection(s: Snapshot, rows: GroupRow[]): string {
  const head = ['<th>Workflow</th>', '<th>Status</th>', '<th>Jobs</th>', ...s.quantiles.map((q) => `<th>${escapeHtml(quantileLabel(q))}</th>`)].join('');
  const lines: string[] = [];
  const total = rows.find((r) => r.kind === 'total');
  for (const r of rows) {
    RUNTIME_STATUSES.forEach((status, i) => {
      const recent = r.stats.recent[status];
      const first = i === 0 ? workflowCell(r) : '<td></td>';
      const values = s.quantiles.map((_, qi) => `<td${recent.count === 0 ? ' class="zero"' : ''}>${escapeHtml(humanDuration(recent.quantiles[qi]))}</td>`);
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
  const rows = SKIP_REASONS.map((r) => `<tr><td>${r}</td>${count(s.recordsSkipped[r], s.recordsSkipped[r] > 0 ? 'warn' : '')}</tr>`);
  rows.push(`<tr><td>runtime unparsable <span class="muted">(counted, left out of runtimes)</span></td>${count(s.runtimeUnparsable, s.runtimeUnparsable > 0 ? 'warn' : '')}</tr>`);
  return `<section id="records"><h2>Records</h2>
<p class="muted">${s.jobsFetched} records fetched; ${totalSkipped(s)} skipped (left out of every count).</p>
<table style="width:auto"><thead><tr><th>Skipped: reason</th><th>Records</th></tr></thead><tbody>
${rows.join('\n')}
</tbody></table></section>`;
}

function upPage(c: CollectionSuccess, version: string, demo: boolean): string {
  const s = c.snapshot;
  const rows = groupRows(s);
  const folded = s.workflows.find((w) => w.id === OTHER_WORKFLOW_ID)?.workflowCount ?? 0;
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
${recordsSection(s)}`;
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

const DEMO_BANNER = `<p class="demo" role="alert"><strong>DEMO</strong> — simulated jobs from the embedded demo API, not your account. Set <code>UNSTRUCTURED_API_KEY</code> to watch your own jobs.</p>
`;

export function renderStatusPage(collection: Collection, options: { version: string; demo?: boolean }): string {
  const demo = options.demo === true;
  return collection.ok ? upPage(collection, options.version, demo) : downPage(collection, options.version, demo);
}
