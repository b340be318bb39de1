/**
 * Finished-job events → CloudWatch datums, in self-contained units.
 *
 * Metrics (a public contract, docs/events.md):
 * - `JobsFinished` (Count) by `Status`, and by `Workflow` + `Status`;
 * - `JobRuntime` (Seconds) as `Values`/`Counts` (the raw runtimes, ≤ 150 distinct values a datum) by `Status`,
 *   and by `Workflow` + `Status`;
 * each timestamped at the minute the jobs finished. CloudWatch's own statistics (Sum, pNN, TM90 …) over any
 * period are then exact.
 *
 * A *unit* is a set of events (same minute, same status, at most MAX_EVENTS_PER_UNIT) with every datum that
 * carries them: each event is in exactly four datums of its unit, and in no other unit. Units are packed whole
 * into requests, and PutMetricData accepts or refuses a request as a whole, so an event is either fully
 * published or not at all: a failed request's events can be retried without double-counting any datum.
 */
import type { Dimension, MetricDatum } from '@aws-sdk/client-cloudwatch';
import {
  cloudWatchValue,
  datum,
  DIMENSION_NAMES,
  STORAGE_RESOLUTION,
  statusDimensionValue,
  validateDatum,
} from '../outputs/cloudwatch/datums.js';
import {
  MAX_DATUMS_PER_REQUEST,
  MAX_VALUES_PER_DATUM,
  SAFE_REQUEST_BYTES,
  TIMESTAMP_WINDOW_MS,
} from '../outputs/cloudwatch/limits.js';
import { envelopeBytes, estimateDatumBytes } from '../outputs/cloudwatch/publisher.js';
import { TERMINAL_STATUSES, type TerminalStatus } from '../vocabulary.js';
import type { FinishedEvent, OutcomeEvent } from './state.js';
import { compareCodeUnits } from '../common/text.js';

export const EVENT_METRIC_NAMES = { jobsFinished: 'JobsFinished', jobRuntime: 'JobRuntime' } as const;

/**
 * Events per unit. Worst case (every event of its own workflow, every runtime distinct) a unit of 400 renders
 * 1 + ⌈400/150⌉ = 4 datums by Status and 2 × 400 by Workflow + Status: 804 datums of ≤ ~600 bytes each (a
 * 331-character Workflow value, one runtime) plus 3 × 150 values, far under 1 MB: it always fits one request.
 */
export const MAX_EVENTS_PER_UNIT = 400;

const MINUTE_MS = 60_000;

export interface EventUnit {
  /** The events this unit publishes (empty for the zeros unit). */
  readonly events: readonly FinishedEvent[];
  /** The outcome events this unit publishes (outcome-datums.ts), if any. */
  readonly outcomes?: readonly OutcomeEvent[];
  readonly datums: MetricDatum[];
}

/**
 * The data point time of an event: its finish time rounded down to the minute, clamped into what CloudWatch
 * accepts: not after the run's own minute (a job "finishing" ahead of our clock), not older than 2 weeks less
 * an hour (unreachable with EVENTS_RETENTION ≤ 13 d; a guard).
 */
export function eventTimestampMs(finishedAtMs: number, nowMs: number): number {
  const minute = Math.floor(finishedAtMs / MINUTE_MS) * MINUTE_MS;
  const latest = Math.floor(nowMs / MINUTE_MS) * MINUTE_MS;
  const earliest = Math.ceil((nowMs - TIMESTAMP_WINDOW_MS.past + 3_600_000) / MINUTE_MS) * MINUTE_MS;
  return Math.min(latest, Math.max(earliest, minute));
}

/** Runtimes as Values/Counts datums: distinct values ascending, ≤ MAX_VALUES_PER_DATUM a datum. */
function runtimeDatums(dimensions: Dimension[], at: Date, runtimes: readonly number[]): MetricDatum[] {
  const counts = new Map<number, number>();
  for (const r of runtimes) {
    const v = cloudWatchValue(r);
    counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  const entries = [...counts].sort((a, b) => a[0] - b[0]);
  const out: MetricDatum[] = [];
  for (let i = 0; i < entries.length; i += MAX_VALUES_PER_DATUM) {
    const chunk = entries.slice(i, i + MAX_VALUES_PER_DATUM);
    out.push({
      MetricName: EVENT_METRIC_NAMES.jobRuntime,
      Dimensions: dimensions,
      Timestamp: at,
      Values: chunk.map(([v]) => v),
      Counts: chunk.map(([, n]) => n),
      Unit: 'Seconds',
      StorageResolution: STORAGE_RESOLUTION,
    });
  }
  return out;
}

const STATUS_ORDER: Readonly<Record<string, number>> = Object.fromEntries(TERMINAL_STATUSES.map((s, i) => [s, i]));

function renderUnit(events: readonly FinishedEvent[], status: TerminalStatus, at: Date): EventUnit {
  const statusDim: Dimension = { Name: DIMENSION_NAMES.status, Value: statusDimensionValue(status) };
  const datums: MetricDatum[] = [
    datum(EVENT_METRIC_NAMES.jobsFinished, 'Count', events.length, [statusDim], at),
    ...runtimeDatums(
      [statusDim],
      at,
      events.map((e) => e.runtimeSeconds),
    ),
  ];
  const byWorkflow = new Map<string, number[]>();
  for (const e of events) {
    let runtimes = byWorkflow.get(e.workflow);
    if (runtimes === undefined) byWorkflow.set(e.workflow, (runtimes = []));
    runtimes.push(e.runtimeSeconds);
  }
  for (const [workflow, runtimes] of [...byWorkflow].sort((a, b) => compareCodeUnits(a[0], b[0]))) {
    const dims: Dimension[] = [{ Name: DIMENSION_NAMES.workflow, Value: workflow }, statusDim];
    datums.push(datum(EVENT_METRIC_NAMES.jobsFinished, 'Count', runtimes.length, dims, at));
    datums.push(...runtimeDatums(dims, at, runtimes));
  }
  return { events, datums };
}

/**
 * The units publishing `events`, by minute then status (COMPLETED, FAILED, STOPPED), then — when `zeros` — one
 * unit with `JobsFinished{Status}` = 0 at the run's minute for each terminal status no event has (a series with
 * no data cannot be told from a broken exporter).
 */
export function renderEventUnits(
  events: readonly FinishedEvent[],
  options: { readonly nowMs: number; readonly zeros?: boolean },
): EventUnit[] {
  const groups = new Map<string, { at: number; status: TerminalStatus; events: FinishedEvent[] }>();
  for (const e of events) {
    const at = eventTimestampMs(e.finishedAtMs, options.nowMs);
    const key = `${at} ${e.status}`;
    let group = groups.get(key);
    if (group === undefined) groups.set(key, (group = { at, status: e.status, events: [] }));
    group.events.push(e);
  }
  const ordered = [...groups.values()].sort(
    (a, b) => a.at - b.at || (STATUS_ORDER[a.status] ?? 0) - (STATUS_ORDER[b.status] ?? 0),
  );
  const units: EventUnit[] = [];
  for (const g of ordered) {
    // Deterministic content: by workflow, then runtime, then id.
    g.events.sort(
      (a, b) =>
        compareCodeUnits(a.workflow, b.workflow) || a.runtimeSeconds - b.runtimeSeconds || compareCodeUnits(a.id, b.id),
    );
    for (let i = 0; i < g.events.length; i += MAX_EVENTS_PER_UNIT) {
      units.push(renderUnit(g.events.slice(i, i + MAX_EVENTS_PER_UNIT), g.status, new Date(g.at)));
    }
  }
  if (options.zeros ?? true) {
    const present = new Set(events.map((e) => e.status));
    const at = new Date(Math.floor(options.nowMs / MINUTE_MS) * MINUTE_MS);
    const zeros = TERMINAL_STATUSES.filter((s) => !present.has(s)).map((s) =>
      datum(
        EVENT_METRIC_NAMES.jobsFinished,
        'Count',
        0,
        [{ Name: DIMENSION_NAMES.status, Value: statusDimensionValue(s) }],
        at,
      ),
    );
    if (zeros.length > 0) units.push({ events: [], datums: zeros });
  }
  return units;
}

/** Every limit a unit's datums break (validateDatum), as `<metric>: <reason>`; empty when CloudWatch takes them all. */
export function unitProblems(unit: EventUnit, nowMs: number): string[] {
  const out: string[] = [];
  for (const d of unit.datums) {
    const problems = validateDatum(d, nowMs);
    if (problems.length > 0) out.push(`${d.MetricName ?? '?'}: ${problems.join('; ')}`);
  }
  return out;
}

/**
 * Whole units into requests: each request at most MAX_DATUMS_PER_REQUEST datums and SAFE_REQUEST_BYTES of
 * estimated body (the publisher's own estimate, so publishDatums sends each batch as exactly one request).
 */
export function packUnits(units: readonly EventUnit[], namespace: string): EventUnit[][] {
  const base = envelopeBytes(namespace);
  const batches: EventUnit[][] = [];
  let current: EventUnit[] = [];
  let datums = 0;
  let bytes = base;
  for (const unit of units) {
    const unitBytes = unit.datums.reduce((sum, d) => sum + estimateDatumBytes(d), 0);
    if (
      current.length > 0 &&
      (datums + unit.datums.length > MAX_DATUMS_PER_REQUEST || bytes + unitBytes > SAFE_REQUEST_BYTES)
    ) {
      batches.push(current);
      current = [];
      datums = 0;
      bytes = base;
    }
    current.push(unit);
    datums += unit.datums.length;
    bytes += unitBytes;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
