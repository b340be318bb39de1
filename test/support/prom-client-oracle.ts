/**
 * The oracle of the Prometheus renderer: the same metrics as prom-client-shaped objects, for prom-client's
 * Registry to render (the exporter's first implementation). test/fast-path.test.ts and the benchmark compare
 * the renderer's bytes with the Registry's; lib/outputs/prometheus/render.ts must write exactly what it writes.
 *
 * This module does not import prom-client itself (the benchmark loads it only where it measures it): callers
 * register the metrics with `registry.registerMetric`.
 */
import type { Collection } from '../../lib/collection.js';
import type { Snapshot } from '../../lib/aggregate/snapshot.js';
import type { JobDetailsReport } from '../../lib/details/stage.js';
import { PENDING_STATUSES, SKIP_REASONS, TERMINAL_STATUSES } from '../../lib/vocabulary.js';
import { workflowRunRows } from '../../lib/aggregate/workflow-health.js';
import { WORKFLOW_HELP, WORKFLOW_METRICS } from '../../lib/outputs/prometheus/workflow-metrics.js';
import { WORKFLOW_SKIP_REASONS } from '../../lib/records/workflow.js';

type MetricType = 'gauge' | 'histogram' | 'summary';
type Labels = Record<string, string | number>;
interface Sample {
  readonly labels: Labels;
  readonly value: number;
  /** Set for histogram/summary parts (`_bucket`, `_sum`, `_count`). */
  readonly metricName?: string;
}

/**
 * A metric whose samples are already known: the shape prom-client's Registry renders
 * (`get()` → {name, help, type, values}). Lighter than prom-client's Gauge/Histogram, which
 * would re-observe every value we have already aggregated.
 */
export class FixedMetric {
  readonly values: Sample[] = [];
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: MetricType,
  ) {}

  add(labels: Labels, value: number, suffix?: string): this {
    this.values.push(suffix === undefined ? { labels, value } : { labels, value, metricName: this.name + suffix });
    return this;
  }

  get(): { name: string; help: string; type: MetricType; values: Sample[]; aggregator: 'omit' } {
    return { name: this.name, help: this.help, type: this.type, values: this.values, aggregator: 'omit' };
  }
}

export function buildMetrics(collection: Collection, version: string): FixedMetric[] {
  const up = new FixedMetric(
    'unstructured_up',
    'Whether the last pull of the Unstructured job list succeeded (1) or failed (0).',
    'gauge',
  );
  const duration = new FixedMetric(
    'unstructured_scrape_duration_seconds',
    'Time the last pull and aggregation of the job list took.',
    'gauge',
  );
  const collectedAt = new FixedMetric(
    'unstructured_collection_timestamp_seconds',
    'When the exported collection finished (Unix time); scrapes within the cache TTL share one collection.',
    'gauge',
  );
  const buildInfo = new FixedMetric('unstructured_exporter_build_info', 'Exporter version; always 1.', 'gauge');
  up.add({}, collection.ok ? 1 : 0);
  duration.add({}, collection.durationSeconds);
  collectedAt.add({}, collection.finishedAtMs / 1000);
  buildInfo.add({ version }, 1);
  const self = [up, duration, collectedAt, buildInfo];
  if (!collection.ok) {
    const error = new FixedMetric(
      'unstructured_collect_error',
      'Set to 1, labelled with the kind of failure, when the last pull failed.',
      'gauge',
    ).add({ kind: collection.errorKind }, 1);
    // No job series at all: zeros here would read as "no failed jobs".
    return [...self, error];
  }
  const details = collection.details === undefined ? [] : detailsMetrics(collection.snapshot, collection.details);
  return [...self, ...snapshotMetrics(collection.snapshot), ...details];
}

function snapshotMetrics(s: Snapshot): FixedMetric[] {
  const fetched = new FixedMetric(
    'unstructured_jobs_fetched',
    'Job records in the last API response, valid or not.',
    'gauge',
  ).add({}, s.jobsFetched);
  const skipped = new FixedMetric(
    'unstructured_job_records_skipped',
    'Job records left out of every count in the last response, by reason.',
    'gauge',
  );
  for (const reason of SKIP_REASONS) skipped.add({ reason }, s.recordsSkipped[reason]);
  const unparsable = new FixedMetric(
    'unstructured_job_runtime_unparsable',
    'Jobs counted whose runtime was present but not a valid non-negative ISO 8601 duration (kept out of runtime statistics).',
    'gauge',
  ).add({}, s.runtimeUnparsable);
  const longerThanAge = new FixedMetric(
    'unstructured_job_runtime_longer_than_age',
    'Jobs counted whose runtime ends more than 5 minutes after now (created_at + runtime): impossible, kept out of runtime statistics.',
    'gauge',
  ).add({}, s.runtimeLongerThanAge);
  const seen = new FixedMetric(
    'unstructured_workflows',
    'Distinct workflows in the job list, before the MAX_WORKFLOWS cap.',
    'gauge',
  ).add({}, s.workflowsSeen);
  const folded = new FixedMetric(
    'unstructured_workflows_folded',
    'Workflows folded into workflow_id="other" by the MAX_WORKFLOWS cap.',
    'gauge',
  ).add({}, s.workflows.find((w) => w.id === 'other')?.workflowCount ?? 0);
  const window = new FixedMetric(
    'unstructured_job_runtime_window_seconds',
    'Length of the window of unstructured_job_runtime_recent_seconds (RUNTIME_WINDOW).',
    'gauge',
  ).add({}, s.runtimeWindowSeconds);

  const jobs = new FixedMetric(
    'unstructured_jobs',
    'Jobs in the list by workflow, job type and status; every known status is present (0 where none).',
    'gauge',
  );
  const runtime = new FixedMetric(
    'unstructured_job_runtime_seconds',
    'Runtime of every finished (COMPLETED, FAILED, STOPPED) job in the list; only grows, so rate() and histogram_quantile() work on it.',
    'histogram',
  );
  const recent = new FixedMetric(
    'unstructured_job_runtime_recent_seconds',
    'Exact runtime quantiles of jobs that finished inside the runtime window (linear interpolation between closest ranks).',
    'summary',
  );
  const oldest = new FixedMetric(
    'unstructured_job_oldest_age_seconds',
    'Age of the oldest job in SCHEDULED or IN_PROGRESS (now - created_at); 0 when there is none.',
    'gauge',
  );
  const bounds = s.histogramBuckets.map(String);
  for (const wf of s.workflows) {
    const base = { workflow_id: wf.id, workflow_name: wf.name };
    for (const [jobType, statuses] of Object.entries(wf.jobs)) {
      for (const [status, n] of Object.entries(statuses)) jobs.add({ ...base, job_type: jobType, status }, n);
    }
    for (const status of TERMINAL_STATUSES) {
      const labels = { ...base, status };
      const h = wf.runtime[status];
      let cumulative = 0;
      h.bucketCounts.forEach((n, i) => {
        cumulative += n;
        runtime.add({ ...labels, le: bounds[i] ?? '+Inf' }, cumulative, '_bucket');
      });
      runtime.add(labels, h.sum, '_sum').add(labels, h.count, '_count');
      const r = wf.recent[status];
      s.quantiles.forEach((q, i) => recent.add({ ...labels, quantile: q }, r.quantiles[i] ?? Number.NaN));
      recent.add(labels, r.sum, '_sum').add(labels, r.count, '_count');
    }
    for (const status of PENDING_STATUSES) oldest.add({ ...base, status }, wf.oldestAgeSeconds[status]);
  }
  return [
    fetched,
    skipped,
    unparsable,
    longerThanAge,
    seen,
    folded,
    window,
    jobs,
    runtime,
    recent,
    oldest,
    ...workflowHealthMetrics(s),
  ];
}

/** Issue 17: the workflow inventory and schedule health families, in the renderer's order. */
function workflowHealthMetrics(s: Snapshot): FixedMetric[] {
  const name = WORKFLOW_METRICS;
  const help = WORKFLOW_HELP;
  const rows = workflowRunRows(s);
  const lastRun = new FixedMetric(name.lastRun, help.lastRun, 'gauge');
  const lastSuccess = new FixedMetric(name.lastSuccess, help.lastSuccess, 'gauge');
  for (const r of rows) {
    const labels = { workflow_id: r.id, workflow_name: r.name };
    lastRun.add(labels, r.lastRunMs / 1000);
    if (r.lastSuccessMs !== undefined) lastSuccess.add(labels, r.lastSuccessMs / 1000);
  }
  const inventory = s.workflowInventory;
  if (inventory === undefined) return [lastRun, lastSuccess];
  const up = new FixedMetric(name.up, help.workflowsUp, 'gauge').add({}, inventory.ok ? 1 : 0);
  if (!inventory.ok) return [lastRun, lastSuccess, up];
  const skipped = new FixedMetric(name.skipped, help.workflowSkipped, 'gauge');
  for (const reason of WORKFLOW_SKIP_REASONS) skipped.add({ reason }, inventory.recordsSkipped[reason]);
  const invalid = new FixedMetric(name.invalid, help.scheduleInvalid, 'gauge').add({}, inventory.scheduleInvalid);
  const info = new FixedMetric(name.info, help.info, 'gauge');
  const missed = new FixedMetric(name.missed, help.missed, 'gauge');
  const nextRun = new FixedMetric(name.nextRun, help.nextRun, 'gauge');
  const expectedRun = new FixedMetric(name.expectedRun, help.expectedRun, 'gauge');
  for (const w of inventory.workflows) {
    const labels = { workflow_id: w.id, workflow_name: w.name };
    info.add({ ...labels, state: w.state, workflow_type: w.workflowType, schedule: w.schedule }, 1);
    if (w.missed !== undefined) missed.add(labels, w.missed ? 1 : 0);
    if (w.nextRunMs !== undefined) nextRun.add(labels, w.nextRunMs / 1000);
    if (w.expectedRunMs !== undefined) expectedRun.add(labels, w.expectedRunMs / 1000);
  }
  return [lastRun, lastSuccess, up, skipped, invalid, info, missed, nextRun, expectedRun];
}

/** The job details families (issue 16), parallel to the snapshot's workflows. */
function detailsMetrics(s: Snapshot, d: JobDetailsReport): FixedMetric[] {
  const outcomes = new FixedMetric(
    'unstructured_job_outcomes',
    'Jobs finished inside the runtime window whose details are known, by processing_status (COMPLETED_WITH_ERRORS: listed as COMPLETED); the four terminal values present (0 where none).',
    'gauge',
  );
  const files = new FixedMetric(
    'unstructured_job_node_files',
    'Files that succeeded or failed at each node type and subtype, summed over the details of the jobs finished inside the runtime window.',
    'gauge',
  );
  s.workflows.forEach((wf, i) => {
    const base = { workflow_id: wf.id, workflow_name: wf.name };
    const o = d.workflows[i];
    if (o === undefined) return;
    for (const [status, n] of Object.entries(o.byStatus)) outcomes.add({ ...base, processing_status: status }, n);
    for (const n of o.nodes) {
      const labels = { ...base, node_type: n.nodeType, node_subtype: n.nodeSubtype };
      files.add({ ...labels, outcome: 'success' }, n.success).add({ ...labels, outcome: 'failure' }, n.failure);
    }
  });
  const pending = new FixedMetric(
    'unstructured_job_details_pending',
    'Jobs finished inside the runtime window whose details are not known yet (request budget, errors).',
    'gauge',
  ).add({}, d.pending);
  const errors = new FixedMetric(
    'unstructured_job_details_errors',
    'Job details or failed-files requests that failed in this collection (job metrics are unaffected).',
    'gauge',
  ).add({}, d.errors);
  return [outcomes, files, pending, errors];
}
