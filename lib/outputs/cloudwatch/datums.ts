/**
 * CloudWatch rendering: a Collection in, PutMetricData datums out. Pure: no SDK at run time (the SDK is only
 * imported for its types), no clock (every datum carries the collection's own timestamp).
 *
 * The metric names and dimension names below are a public contract (alarms and dashboards use them):
 * see docs/cloudwatch.md.
 */
import type { Dimension, MetricDatum, StandardUnit } from '@aws-sdk/client-cloudwatch';
import type { Collection } from '../../collection.js';
import type { GroupStats, Snapshot } from '../../aggregate/snapshot.js';
import { KNOWN_STATUSES, OTHER_WORKFLOW_ID, PENDING_STATUSES, TERMINAL_STATUSES } from '../../vocabulary.js';
import {
  ASCII_PRINTABLE,
  DIMENSION_NAME_FORBIDDEN_PREFIX,
  DIMENSION_NAME_LENGTH,
  DIMENSION_VALUE_LENGTH,
  MAX_DIMENSIONS_PER_DATUM,
  MAX_VALUES_PER_DATUM,
  METRIC_NAME_LENGTH,
  NAMESPACE_LENGTH,
  NAMESPACE_RESERVED_PREFIX,
  STANDARD_UNITS,
  STORAGE_RESOLUTIONS,
  TIMESTAMP_WINDOW_MS,
  VALUE_RANGE,
} from './limits.js';
import { compareCodeUnits, cutText, MAX_WORKFLOW_NAME_CHARS } from '../../common/text.js';
import { scheduleDatums } from './schedule-datums.js';

export const METRIC_NAMES = {
  jobs: 'Jobs',
  oldestJobAge: 'OldestJobAge',
  collectorUp: 'CollectorUp',
  jobsFetched: 'JobsFetched',
  recordsSkipped: 'RecordsSkipped',
  collectionDuration: 'CollectionDuration',
} as const;

/** Exact runtime quantiles over the runtime window, and the metric each is published as. */
export const RUNTIME_QUANTILE_METRICS = [
  { quantile: 0.5, metricName: 'RecentJobRuntimeP50' },
  { quantile: 0.9, metricName: 'RecentJobRuntimeP90' },
  { quantile: 0.95, metricName: 'RecentJobRuntimeP95' },
  { quantile: 0.99, metricName: 'RecentJobRuntimeP99' },
  { quantile: 1, metricName: 'RecentJobRuntimeMax' },
] as const;

export const DIMENSION_NAMES = { status: 'Status', workflow: 'Workflow' } as const;

/** Workflow dimension value of the entry folding every workflow past MAX_WORKFLOWS. */
export const OTHER_WORKFLOW_DIMENSION_VALUE = 'Other';

/**
 * Workflow names longer than this are cut (with "...") in the Workflow dimension; the id keeps it unique. The
 * rule every output shares (lib/common/text.ts), re-exported where CloudWatch's contract is documented.
 */
export { MAX_WORKFLOW_NAME_CHARS };
/** Workflow ids longer than this or not plain, and statuses longer than this or not clean, are shortened and tagged with a hash. */
export const MAX_ID_CHARS = 128;

/** Standard resolution: the exporter runs every few minutes, 1-second storage would only cost more. */
export const STORAGE_RESOLUTION = 60;

const ELLIPSIS = '...';
const REPLACEMENT = '?';

export interface RenderDatumsOptions {
  /** Quantiles to publish (the configured QUANTILES); default: every quantile the snapshot holds. */
  readonly quantiles?: readonly number[];
  /**
   * Runtime quantiles per workflow too (`RecentJobRuntime*{Workflow,Status}`), not only over all workflows;
   * default true. Off, a workflow costs 3·Q custom metrics less (settings.ts: CLOUDWATCH_WORKFLOW_QUANTILES).
   */
  readonly workflowRuntimeQuantiles?: boolean;
  /**
   * `Jobs{Workflow,Status}` for the terminal statuses (COMPLETED, STOPPED, FAILED) too, not only the pending
   * ones and unknown ones; default true. Off, a workflow costs 3 custom metrics less
   * (settings.ts: CLOUDWATCH_WORKFLOW_TERMINAL_JOBS).
   */
  readonly workflowTerminalJobs?: boolean;
}

/** The runtime quantile metric names published for these configured quantiles (only 0.5, 0.9, 0.95, 0.99, 1 have one). */
export function quantileMetricNames(quantiles: readonly number[]): string[] {
  return RUNTIME_QUANTILE_METRICS.filter((m) => quantiles.some((q) => sameQuantile(q, m.quantile))).map(
    (m) => m.metricName,
  );
}

// ---------------------------------------------------------------------------------------------------------
// Rendering

export function renderDatums(collection: Collection, options: RenderDatumsOptions = {}): MetricDatum[] {
  if (!collection.ok) {
    // No job metric at all: zeros would read as "no jobs", a missing series reads as "no data".
    const at = new Date(collection.finishedAtMs);
    return [
      datum(METRIC_NAMES.collectorUp, 'None', 0, [], at),
      datum(METRIC_NAMES.collectionDuration, 'Seconds', collection.durationSeconds, [], at),
    ];
  }
  const s = collection.snapshot;
  const at = new Date(s.generatedAt);
  const skipped = Object.values(s.recordsSkipped).reduce((sum, n) => sum + n, 0);
  const out: MetricDatum[] = [
    datum(METRIC_NAMES.collectorUp, 'None', 1, [], at),
    datum(METRIC_NAMES.jobsFetched, 'Count', s.jobsFetched, [], at),
    datum(METRIC_NAMES.recordsSkipped, 'Count', skipped, [], at),
    datum(METRIC_NAMES.collectionDuration, 'Seconds', collection.durationSeconds, [], at),
  ];
  const quantileMetrics = selectQuantileMetrics(s, options.quantiles ?? s.quantiles);
  groupDatums(out, s.total, [], { quantileMetrics, terminalJobs: true }, at);
  const perWorkflow: GroupSelection = {
    quantileMetrics: options.workflowRuntimeQuantiles === false ? [] : quantileMetrics,
    terminalJobs: options.workflowTerminalJobs !== false,
  };
  for (const wf of s.workflows) {
    const workflow: Dimension = { Name: DIMENSION_NAMES.workflow, Value: workflowDimensionValue(wf.id, wf.name) };
    groupDatums(out, wf, [workflow], perWorkflow, at);
  }
  scheduleDatums(out, s, at);
  return out;
}

interface SelectedQuantile {
  readonly metricName: string;
  /** Index into `recent[status].quantiles` (parallel to snapshot.quantiles). */
  readonly index: number;
}

function selectQuantileMetrics(s: Snapshot, wanted: readonly number[]): SelectedQuantile[] {
  const selected: SelectedQuantile[] = [];
  for (const m of RUNTIME_QUANTILE_METRICS) {
    if (!wanted.some((q) => sameQuantile(q, m.quantile))) continue;
    const index = s.quantiles.findIndex((q) => sameQuantile(q, m.quantile));
    if (index >= 0) selected.push({ metricName: m.metricName, index });
  }
  return selected;
}

function sameQuantile(a: number, b: number): boolean {
  return Math.abs(a - b) < 1e-9;
}

/** What a group publishes beyond its pending-status counts and ages. */
interface GroupSelection {
  readonly quantileMetrics: readonly SelectedQuantile[];
  /** Jobs for COMPLETED, STOPPED and FAILED (the pending and unknown statuses are always published). */
  readonly terminalJobs: boolean;
}

const TERMINAL: ReadonlySet<string> = new Set(TERMINAL_STATUSES);

function groupDatums(
  out: MetricDatum[],
  g: GroupStats,
  base: readonly Dimension[],
  selection: GroupSelection,
  at: Date,
): void {
  // One Dimensions array per status of the group, shared by that status's datums (10k workflows make
  // ~200k datums: an array and an object less for most of them).
  const dimensions = new Map<string, Dimension[]>();
  const withStatus = (status: string): Dimension[] => {
    let dims = dimensions.get(status);
    if (dims === undefined) dimensions.set(status, (dims = [...base, { Name: DIMENSION_NAMES.status, Value: status }]));
    return dims;
  };
  for (const [status, n] of jobCountsByStatusValue(g.byStatus)) {
    if (!selection.terminalJobs && TERMINAL.has(status)) continue;
    out.push(datum(METRIC_NAMES.jobs, 'Count', n, withStatus(status), at));
  }
  for (const status of PENDING_STATUSES) {
    out.push(datum(METRIC_NAMES.oldestJobAge, 'Seconds', g.oldestAgeSeconds[status], withStatus(status), at));
  }
  for (const status of TERMINAL_STATUSES) {
    const recent = g.recent[status];
    // There is no percentile of nothing: publish no data point rather than a fake 0.
    if (recent.count === 0) continue;
    for (const m of selection.quantileMetrics) {
      const value = recent.quantiles[m.index];
      if (value !== undefined) out.push(datum(m.metricName, 'Seconds', value, withStatus(status), at));
    }
  }
}

/**
 * Job counts keyed by Status dimension value: every known status first (0 where absent), then the unknown
 * ones in code-unit order. Two raw statuses that sanitise to one value (only possible past a hash collision)
 * are summed, so no two datums ever share a dimension set.
 */
function jobCountsByStatusValue(byStatus: Readonly<Record<string, number>>): Map<string, number> {
  const counts = new Map<string, number>(KNOWN_STATUSES.map((s) => [s, byStatus[s] ?? 0]));
  const known: ReadonlySet<string> = new Set(KNOWN_STATUSES);
  const unknown = Object.keys(byStatus)
    .filter((s) => !known.has(s))
    .sort(compareCodeUnits);
  for (const raw of unknown) {
    const value = statusDimensionValue(raw);
    counts.set(value, (counts.get(value) ?? 0) + (byStatus[raw] ?? 0));
  }
  return counts;
}

/** One datum at standard resolution; a value too small for CloudWatch is 0 (cloudWatchValue). */
export function datum(name: string, unit: StandardUnit, value: number, dimensions: Dimension[], at: Date): MetricDatum {
  return {
    MetricName: name,
    Dimensions: dimensions,
    Timestamp: at,
    Value: cloudWatchValue(value),
    Unit: unit,
    StorageResolution: STORAGE_RESOLUTION,
  };
}

/** Magnitudes CloudWatch cannot store (below ~8.5e-109) are 0 for every purpose here. */
export function cloudWatchValue(value: number): number {
  return value !== 0 && Math.abs(value) < VALUE_RANGE.minMagnitude ? 0 : value;
}

// ---------------------------------------------------------------------------------------------------------
// Dimension values

/**
 * Text made safe for a CloudWatch dimension value, as readable as possible:
 * - Unicode compatibility decomposition (NFKD) with combining marks dropped: "Café" → "Cafe", "ﬁ" → "fi";
 * - every whitespace character (newline, tab, no-break space …) becomes a space;
 * - other control and format characters (C0, DEL, C1, zero-width joiners, bidi marks) are removed;
 * - each run of remaining non-ASCII characters (CJK, emoji …) becomes one "?";
 * - runs of spaces collapse to one, and the ends are trimmed.
 * The result may be empty: callers decide what stands in for a blank.
 */
export function sanitiseDimensionText(raw: string): string {
  return raw
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .replace(/[\s\p{Zs}\p{Zl}\p{Zp}]/gu, ' ')
    .replace(/[\p{Cc}\p{Cf}]/gu, '')
    .replace(/[^\x20-\x7e]+/gu, REPLACEMENT)
    .replace(/ {2,}/g, ' ')
    .trim();
}

/** cutText with an ASCII mark: dimension values are ASCII (sanitised), where code points are characters. */
function truncate(text: string, max: number): string {
  return cutText(text, max, ELLIPSIS);
}

/** 32-bit FNV-1a over UTF-16 code units, 8 hex digits: a short stable tag for text sanitising altered. */
export function shortHash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/** The text as is when it is already a clean dimension value of at most `max` chars; else cleaned + `#hash`. */
function exactOrTagged(raw: string, max: number): string {
  const clean = sanitiseDimensionText(raw);
  if (clean === raw && raw.length <= max) return raw;
  const tag = `#${shortHash(raw)}`;
  const kept = truncate(clean, max - tag.length - 1);
  return kept === '' ? tag : `${kept} ${tag}`;
}

/** Status dimension value: the API's status as is when it is clean ASCII, else sanitised and hash-tagged. */
export function statusDimensionValue(status: string): string {
  return exactOrTagged(status, MAX_ID_CHARS);
}

/**
 * Characters a workflow id keeps as is in the Workflow dimension (UUIDs qualify). Without space, "(", ")" and
 * "#", the id is always the text inside the last parentheses of `<name> (<id>)`, whatever the name holds, and a
 * hash-tagged id (which always holds one "#") never equals an id kept as is.
 */
const PLAIN_ID = /^[A-Za-z0-9_.:-]+$/;
const NOT_PLAIN_ID_CHARS = /[^A-Za-z0-9_.:-]+/g;

/** The id as is when it is plain (PLAIN_ID, ≤ MAX_ID_CHARS); else its plain characters + `#<hash of the raw id>`. */
function workflowIdText(id: string): string {
  if (id.length <= MAX_ID_CHARS && PLAIN_ID.test(id)) return id;
  const tag = `#${shortHash(id)}`;
  const plain = sanitiseDimensionText(id)
    .replace(NOT_PLAIN_ID_CHARS, '_')
    .replace(/^_+|_+$/g, '');
  return `${plain.slice(0, MAX_ID_CHARS - tag.length)}${tag}`;
}

/**
 * Workflow dimension value: `<name> (<id>)`, readable and unique per workflow id.
 * - the name is sanitised (sanitiseDimensionText) and cut to MAX_WORKFLOW_NAME_CHARS with "...";
 * - a blank name (after sanitising) gives the id alone;
 * - the id is kept as is when it is plain (letters, digits, `_ . : -`, at most MAX_ID_CHARS; UUIDs are); any
 *   other id keeps its plain characters (others become "_"), cut to fit, and is tagged `#<8 hex>` with a hash
 *   of the raw id, so two ids never merge (short of a 32-bit hash collision between two non-plain ids);
 * - the folded rest (id "other") is `Other`; a real workflow named "Other" is `Other (<id>)`, and a workflow
 *   whose id is literally "Other" with a blank name is `(Other)`, so neither collides with the folded entry.
 * Two workflows sharing a name differ by id. Always 1–331 printable ASCII characters, never blank.
 */
export function workflowDimensionValue(id: string, name: string): string {
  if (id === OTHER_WORKFLOW_ID) return OTHER_WORKFLOW_DIMENSION_VALUE;
  const idPart = workflowIdText(id);
  const namePart = truncate(sanitiseDimensionText(name), MAX_WORKFLOW_NAME_CHARS);
  if (namePart !== '') return `${namePart} (${idPart})`;
  return idPart === OTHER_WORKFLOW_DIMENSION_VALUE ? `(${idPart})` : idPart;
}

// ---------------------------------------------------------------------------------------------------------
// Validation against PutMetricData's limits (limits.ts)

const UNITS: ReadonlySet<string> = new Set(STANDARD_UNITS);
const RESOLUTIONS: ReadonlySet<number> = new Set(STORAGE_RESOLUTIONS);

function textViolations(what: string, text: string | undefined, length: { min: number; max: number }): string[] {
  if (text === undefined) return [`${what} is missing`];
  const out: string[] = [];
  if (text.length < length.min || text.length > length.max) {
    out.push(`${what} has ${text.length} characters (allowed ${length.min}–${length.max})`);
  }
  if (!ASCII_PRINTABLE.test(text)) out.push(`${what} has non-ASCII or control characters`);
  else if (text.trim() === '' && text.length > 0) out.push(`${what} is blank`);
  return out;
}

function valueViolations(what: string, v: number): string[] {
  if (typeof v !== 'number' || !Number.isFinite(v)) return [`${what} is ${String(v)} (must be a finite number)`];
  const magnitude = Math.abs(v);
  if (v !== 0 && (magnitude < VALUE_RANGE.minMagnitude || magnitude > VALUE_RANGE.maxMagnitude)) {
    return [
      `${what} ${v} is outside CloudWatch's range (magnitude ${VALUE_RANGE.minMagnitude}–${VALUE_RANGE.maxMagnitude}, or 0)`,
    ];
  }
  return [];
}

/**
 * Every way the datum breaks a PutMetricData limit, one message each; empty when CloudWatch would accept it.
 * `nowMs` is the clock the timestamp window is measured from.
 */
export function validateDatum(d: MetricDatum, nowMs: number = Date.now()): string[] {
  const out = textViolations('MetricName', d.MetricName, METRIC_NAME_LENGTH);
  const dims = d.Dimensions ?? [];
  if (dims.length > MAX_DIMENSIONS_PER_DATUM) {
    out.push(`${dims.length} dimensions (at most ${MAX_DIMENSIONS_PER_DATUM})`);
  }
  const names = new Set<string>();
  dims.forEach((dim, i) => {
    const label = `Dimensions[${i}]`;
    out.push(...textViolations(`${label}.Name`, dim.Name, DIMENSION_NAME_LENGTH));
    if (dim.Name?.startsWith(DIMENSION_NAME_FORBIDDEN_PREFIX)) out.push(`${label}.Name starts with ":"`);
    out.push(...textViolations(`${label}.Value (${dim.Name ?? '?'})`, dim.Value, DIMENSION_VALUE_LENGTH));
    if (dim.Name !== undefined) {
      if (names.has(dim.Name)) out.push(`${label}.Name ${JSON.stringify(dim.Name)} repeats`);
      names.add(dim.Name);
    }
  });

  const forms = [d.Value !== undefined, d.Values !== undefined, d.StatisticValues !== undefined].filter(Boolean).length;
  if (forms !== 1) out.push(`exactly one of Value, Values, StatisticValues must be set (found ${forms})`);
  if (d.Value !== undefined) out.push(...valueViolations('Value', d.Value));
  if (d.Values !== undefined) {
    if (d.Values.length === 0) out.push('Values is empty');
    if (new Set(d.Values).size > MAX_VALUES_PER_DATUM) {
      out.push(`Values has ${new Set(d.Values).size} distinct values (at most ${MAX_VALUES_PER_DATUM})`);
    }
    d.Values.forEach((v, i) => out.push(...valueViolations(`Values[${i}]`, v)));
  }
  if (d.Counts !== undefined) {
    if (d.Values === undefined) out.push('Counts without Values');
    else if (d.Counts.length !== d.Values.length) {
      out.push(`Counts has ${d.Counts.length} entries, Values ${d.Values.length} (must be the same)`);
    }
    d.Counts.forEach((c, i) => {
      out.push(...valueViolations(`Counts[${i}]`, c));
      if (c < 0) out.push(`Counts[${i}] is negative`);
    });
  }
  if (d.StatisticValues !== undefined) {
    const sv = d.StatisticValues;
    for (const key of ['SampleCount', 'Sum', 'Minimum', 'Maximum'] as const) {
      const v = sv[key];
      if (v === undefined) out.push(`StatisticValues.${key} is missing`);
      else out.push(...valueViolations(`StatisticValues.${key}`, v));
    }
  }

  if (d.Unit !== undefined && !UNITS.has(d.Unit)) out.push(`Unit ${JSON.stringify(d.Unit)} is not a CloudWatch unit`);
  if (d.StorageResolution !== undefined && !RESOLUTIONS.has(d.StorageResolution)) {
    out.push(`StorageResolution ${d.StorageResolution} (must be ${STORAGE_RESOLUTIONS.join(' or ')})`);
  }
  if (d.Timestamp !== undefined) {
    const t = d.Timestamp.getTime();
    if (!Number.isFinite(t)) out.push('Timestamp is an invalid date');
    else if (t < nowMs - TIMESTAMP_WINDOW_MS.past)
      out.push(`Timestamp ${d.Timestamp.toISOString()} is more than 2 weeks old`);
    else if (t > nowMs + TIMESTAMP_WINDOW_MS.future)
      out.push(`Timestamp ${d.Timestamp.toISOString()} is more than 2 hours ahead`);
  }
  return out;
}

/** Every way a namespace breaks CloudWatch's rules; empty when it is fine. */
export function validateNamespace(namespace: string): string[] {
  const out = textViolations('Namespace', namespace, NAMESPACE_LENGTH);
  if (namespace.startsWith(NAMESPACE_RESERVED_PREFIX))
    out.push(`Namespace starts with "${NAMESPACE_RESERVED_PREFIX}" (reserved for AWS)`);
  return out;
}

/** Dimensions as a plain record (for reports and logs). */
export function dimensionRecord(d: MetricDatum): Record<string, string> {
  const out: Record<string, string> = {};
  for (const dim of d.Dimensions ?? []) out[dim.Name ?? ''] = dim.Value ?? '';
  return out;
}
