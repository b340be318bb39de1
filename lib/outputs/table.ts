/**
 * `collect --format table`: the status page's content as a plain-text table for a terminal. Fixed-width
 * columns, names cut to fit with an ellipsis, no colour. Text from the API is made inert: control and
 * format characters (newlines, ESC sequences, bidi overrides) never reach the terminal.
 */
import { detailsTable } from './details-table.js';
import type { Collection, CollectionFailure, CollectionSuccess } from '../collection.js';
import type { Snapshot } from '../aggregate/snapshot.js';
import { PENDING_STATUSES } from '../vocabulary.js';
import { scheduleView } from './schedule-view.js';
import {
  foldedWorkflows,
  groupRows,
  humanDuration,
  quantileLabel,
  RUNTIME_STATUSES,
  skippedReasons,
  statusColumns,
  totalJobs,
  totalSkipped,
  utcTimestamp,
  type GroupRow,
} from './view.js';

/** Display width of the workflow column, and of the shortened id next to it. */
export const NAME_WIDTH = 32;
export const ID_WIDTH = 9;
const ELLIPSIS = '…';
const GAP = '  ';

export interface TableOptions {
  readonly version?: string;
  /** Simulated jobs from the embedded demo: says so on the first line. */
  readonly demo?: boolean;
}

export function renderTable(collection: Collection, options: TableOptions = {}): string {
  return collection.ok ? upTable(collection, options) : downTable(collection, options);
}

// ---------------------------------------------------------------------------------------------------------
// Text that is safe and measurable in a terminal

/**
 * Text from the API made inert for a terminal: whitespace controls (newline, tab …) become a space, other
 * control and format characters (ESC, DEL, C1, zero-width and bidi controls) become `?`.
 */
export function terminalSafe(text: string): string {
  return text.replace(/[\t\n\v\f\r\u0085\u2028\u2029]/g, ' ').replace(/[\p{Cc}\p{Cf}]/gu, '?');
}

/** Columns a code point takes in a monospace terminal: 0 for combining marks, 2 for East Asian wide and emoji. */
function codePointWidth(cp: number): number {
  if (cp === 0x200d || (cp >= 0x300 && cp <= 0x36f) || (cp >= 0xfe00 && cp <= 0xfe0f)) return 0;
  if (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0x303e) ||
    (cp >= 0x3041 && cp <= 0x33ff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0xa000 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1f64f) ||
    (cp >= 0x1f900 && cp <= 0x1f9ff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  ) {
    return 2;
  }
  return /\p{M}/u.test(String.fromCodePoint(cp)) ? 0 : 1;
}

export function displayWidth(text: string): number {
  let width = 0;
  for (const ch of text) width += codePointWidth(ch.codePointAt(0) as number);
  return width;
}

/** Cut to at most `width` columns, ending with `…` when cut. */
export function fitWidth(text: string, width: number): string {
  if (displayWidth(text) <= width) return text;
  let out = '';
  let used = 0;
  for (const ch of text) {
    const w = codePointWidth(ch.codePointAt(0) as number);
    if (used + w > width - 1) break;
    out += ch;
    used += w;
  }
  return `${out}${ELLIPSIS}`;
}

function padEnd(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - displayWidth(text)));
}

function padStart(text: string, width: number): string {
  return ' '.repeat(Math.max(0, width - displayWidth(text))) + text;
}

// ---------------------------------------------------------------------------------------------------------
// Tables

export interface Column {
  readonly header: string;
  readonly align: 'left' | 'right';
  /** Fixed width; by default the widest of header and cells. */
  readonly width?: number;
}

/** Lays out rows under headers; a row of `null` is a separator line. */
export function layout(columns: readonly Column[], rows: ReadonlyArray<readonly string[] | null>): string[] {
  const widths = columns.map(
    (c, i) =>
      c.width ?? Math.max(displayWidth(c.header), ...rows.map((r) => (r === null ? 0 : displayWidth(r[i] ?? '')))),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => {
        const column = columns[i] as Column;
        const width = widths[i] as number;
        const fitted = fitWidth(cell, width);
        return column.align === 'left' ? padEnd(fitted, width) : padStart(fitted, width);
      })
      .join(GAP)
      .trimEnd();
  const total = widths.reduce((sum, w) => sum + w, 0) + GAP.length * (widths.length - 1);
  return [line(columns.map((c) => c.header)), ...rows.map((r) => (r === null ? '-'.repeat(total) : line(r)))];
}

const WORKFLOW_COLUMNS: readonly Column[] = [
  { header: 'WORKFLOW', align: 'left', width: NAME_WIDTH },
  { header: 'ID', align: 'left', width: ID_WIDTH },
];

function workflowCells(row: GroupRow): [string, string] {
  return [terminalSafe(row.name), row.kind === 'workflow' ? fitWidth(terminalSafe(row.id), ID_WIDTH) : ''];
}

/** Workflow rows, then a separator and the total row. */
function withTotal<T>(rows: readonly GroupRow[], cells: (row: GroupRow) => T[]): Array<T[] | null> {
  const out: Array<T[] | null> = [];
  for (const row of rows) {
    if (row.kind === 'total') out.push(null);
    out.push(cells(row));
  }
  return out;
}

function jobsTable(s: Snapshot, rows: readonly GroupRow[]): string[] {
  const statuses = statusColumns(s);
  const columns: Column[] = [
    ...WORKFLOW_COLUMNS,
    ...statuses.map((st): Column => ({ header: fitWidth(terminalSafe(st), 16), align: 'right' })),
    { header: 'TOTAL', align: 'right' },
  ];
  return layout(
    columns,
    withTotal(rows, (r) => [
      ...workflowCells(r),
      ...statuses.map((st) => String(r.stats.byStatus[st] ?? 0)),
      String(totalJobs(r.stats)),
    ]),
  );
}

function pendingTable(rows: readonly GroupRow[]): string[] {
  const columns: Column[] = [
    ...WORKFLOW_COLUMNS,
    ...PENDING_STATUSES.flatMap((p): Column[] => [
      { header: p, align: 'right' },
      { header: 'OLDEST', align: 'right' },
    ]),
  ];
  return layout(
    columns,
    withTotal(rows, (r) => [
      ...workflowCells(r),
      ...PENDING_STATUSES.flatMap((p) => [
        String(r.stats.pending[p]),
        r.stats.pending[p] === 0 ? '-' : humanDuration(r.stats.oldestAgeSeconds[p]),
      ]),
    ]),
  );
}

function runtimeTable(s: Snapshot, rows: readonly GroupRow[]): string[] {
  const columns: Column[] = [
    ...WORKFLOW_COLUMNS,
    { header: 'STATUS', align: 'left' },
    { header: 'JOBS', align: 'right' },
    ...s.quantiles.map((q): Column => ({ header: quantileLabel(q).toUpperCase(), align: 'right' })),
  ];
  const body: Array<string[] | null> = [];
  for (const r of rows) {
    if (r.kind === 'total') body.push(null);
    RUNTIME_STATUSES.forEach((status, i) => {
      const recent = r.stats.recent[status];
      const who = i === 0 ? workflowCells(r) : ['', ''];
      body.push([
        ...who,
        status,
        String(recent.count),
        ...s.quantiles.map((_, qi) => (recent.count === 0 ? '-' : humanDuration(recent.quantiles[qi]))),
      ]);
    });
  }
  return layout(columns, body);
}

function heading(options: TableOptions): string {
  return `unstructured-jobs-exporter${options.version ? ` ${options.version}` : ''}${options.demo ? '  DEMO (simulated jobs, not your account)' : ''}`;
}

function upTable(c: CollectionSuccess, options: TableOptions): string {
  const s = c.snapshot;
  const rows = groupRows(s);
  const folded = foldedWorkflows(s);
  const skipped = skippedReasons(s);
  const lines = [
    `${heading(options)}  UP  collected ${utcTimestamp(Date.parse(s.generatedAt))} in ${humanDuration(c.durationSeconds)}`,
    `${totalJobs(s.total)} jobs counted, ${s.jobsFetched} records fetched, ${s.workflowsSeen} workflows${folded > 0 ? ` (${folded} folded into other)` : ''}`,
    '',
    'JOBS BY STATUS',
    ...jobsTable(s, rows),
    '',
    'WAITING AND RUNNING',
    ...pendingTable(rows),
    '',
    `RUNTIME OF JOBS FINISHED IN THE LAST ${humanDuration(s.runtimeWindowSeconds).toUpperCase()} (exact percentiles)`,
    ...runtimeTable(s, rows),
    '',
    ...schedulesTable(s),
    `RECORDS  skipped ${totalSkipped(s)}${skipped.length ? ` (${skipped.map(([r, n]) => `${r} ${n}`).join(', ')})` : ''}, runtime unparsable ${s.runtimeUnparsable}, longer than age ${s.runtimeLongerThanAge}`,
    ...(c.details === undefined ? [] : ['', ...detailsTable(s, c.details)]),
  ];
  return `${lines.join('\n')}\n`;
}

/** Issue 17: each listed workflow's schedule health (nothing with WORKFLOWS_API=off), then a blank line. */
function schedulesTable(s: Snapshot): string[] {
  const view = scheduleView(s);
  if (view.status === 'off') return [];
  if (view.status === 'failed')
    return [
      `SCHEDULES  workflow list not read (${terminalSafe(view.errorKind)}): ${terminalSafe(view.errorMessage)}`,
      '',
    ];
  const columns: Column[] = [
    ...WORKFLOW_COLUMNS,
    { header: 'HEALTH', align: 'left' },
    { header: 'STATE', align: 'left' },
    { header: 'SCHEDULE', align: 'left', width: 24 },
    { header: 'LAST RUN', align: 'left' },
    { header: 'LAST SUCCESS', align: 'left' },
    { header: 'NEXT RUN', align: 'left' },
  ];
  const rows = view.rows.map((r) => [
    terminalSafe(r.name),
    fitWidth(terminalSafe(r.id), ID_WIDTH),
    r.mark === 'MISSED' ? '!! MISSED' : r.mark === 'invalid' ? 'invalid schedule' : r.mark === 'ok' ? 'ok' : '-',
    terminalSafe(r.state),
    terminalSafe(r.schedule),
    r.lastRun,
    r.lastSuccess,
    r.nextRun,
  ]);
  return [
    `SCHEDULES  ${view.rows.length} workflows listed, ${view.missed} missed their last expected run, ${view.scheduleInvalid} schedules unreadable, ${view.recordsSkipped} records skipped`,
    ...layout(columns, rows),
    '',
  ];
}

function downTable(c: CollectionFailure, options: TableOptions): string {
  return [
    `${heading(options)}  DOWN  pull failed ${utcTimestamp(c.finishedAtMs)} after ${humanDuration(c.durationSeconds)}`,
    `error (${terminalSafe(c.errorKind)}): ${terminalSafe(c.errorMessage)}`,
    'No job figures while the pull fails.',
    '',
  ].join('\n');
}
