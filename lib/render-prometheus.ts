/**
 * Prometheus rendering: a Collection in, exposition text out. Built fresh for every render: a workflow that
 * disappears from the list stops being exported.
 *
 * The text is written directly, byte for byte what prom-client's Registry produced for these metrics (its
 * escaping, number formatting, ordering and OpenMetrics framing; checked against prom-client in
 * test/fast-path.test.ts). Not importing prom-client keeps the /metrics Lambda bundle small and its cold
 * start short, and writing lines directly renders 10k workflows (≈10^6 series) without a label object per
 * sample. `buildMetrics` still gives the same metrics as prom-client-shaped objects.
 */
import type { Collection } from './collection.js';
import { PENDING_STATUSES, SKIP_REASONS, TERMINAL_STATUSES, type Snapshot } from './snapshot.js';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

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
class FixedMetric {
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

export interface RenderOptions {
  readonly version: string;
  readonly openMetrics?: boolean;
}

export interface Rendered {
  readonly contentType: string;
  readonly body: string;
}

export async function renderPrometheus(collection: Collection, options: RenderOptions): Promise<Rendered> {
  const openMetrics = options.openMetrics === true;
  const contentType = openMetrics ? OPENMETRICS_CONTENT_TYPE : PROMETHEUS_CONTENT_TYPE;
  return { contentType, body: writeExposition(collection, options.version, openMetrics) };
}

// ---------------------------------------------------------------------------------------------------------
// Direct writer. Each metric family is one block: `# HELP`, `# TYPE`, then its samples, one per line.
// Prometheus text separates blocks with a blank line and ends with a newline; OpenMetrics separates them
// with a newline and ends with `# EOF`. (prom-client's framing, which the golden file pins.)

/** prom-client's escapeString: backslash and newline (metric names, HELP text). */
function escapeText(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** prom-client's escapeLabelValue: escapeText, then double quotes. */
function escapeLabel(value: string): string {
  return escapeText(value).replace(/"/g, '\\"');
}

/** prom-client's getValueAsString. */
function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'Nan';
  if (!Number.isFinite(value)) return value < 0 ? '-Inf' : '+Inf';
  return `${value}`;
}

/**
 * The exposition as one growing string: V8 keeps the `+=` pieces as a rope and copies them once, when the
 * text is first read (Buffer.from in the HTTP layer). Blocks are separated as prom-client joined them.
 */
class Exposition {
  #text = '';
  #first = true;
  readonly #separator: string;

  constructor(readonly openMetrics: boolean) {
    this.#separator = openMetrics ? '\n' : '\n\n';
  }

  family(name: string, help: string, type: MetricType): this {
    const escaped = escapeText(name);
    this.#text += `${this.#first ? '' : this.#separator}# HELP ${escaped} ${escapeText(help)}\n# TYPE ${escaped} ${type}`;
    this.#first = false;
    return this;
  }

  /** One sample; `labels` is the already escaped `{…}` part ('' for none). */
  sample(name: string, labels: string, value: number): this {
    this.#text += `\n${name}${labels} ${formatValue(value)}`;
    return this;
  }

  text(): string {
    return this.openMetrics ? `${this.#text}\n# EOF\n` : `${this.#text}\n`;
  }
}

const HELP = {
  up: 'Whether the last pull of the Unstructured job list succeeded (1) or failed (0).',
  duration: 'Time the last pull and aggregation of the job list took.',
  collectedAt: 'When the exported collection finished (Unix time); scrapes within the cache TTL share one collection.',
  buildInfo: 'Exporter version; always 1.',
  error: 'Set to 1, labelled with the kind of failure, when the last pull failed.',
  fetched: 'Job records in the last API response, valid or not.',
  skipped: 'Job records left out of every count in the last response, by reason.',
  unparsable:
    'Jobs counted whose runtime was present but not a valid non-negative ISO 8601 duration (kept out of runtime statistics).',
  seen: 'Distinct workflows in the job list, before the MAX_WORKFLOWS cap.',
  folded: 'Workflows folded into workflow_id="other" by the MAX_WORKFLOWS cap.',
  window: 'Length of the window of unstructured_job_runtime_recent_seconds (RUNTIME_WINDOW).',
  jobs: 'Jobs in the list by workflow, job type and status; every known status is present (0 where none).',
  runtime:
    'Runtime of every finished (COMPLETED, FAILED, STOPPED) job in the list; only grows, so rate() and histogram_quantile() work on it.',
  recent: 'Exact runtime quantiles of jobs that finished inside the runtime window (linear interpolation between closest ranks).',
  oldest: 'Age of the oldest job in SCHEDULED or IN_PROGRESS (now - created_at); 0 when there is none.',
} as const;

function writeExposition(collection: Collection, version: string, openMetrics: boolean): string {
  const out = new Exposition(openMetrics);
  out.family('unstructured_up', HELP.up, 'gauge').sample('unstructured_up', '', collection.ok ? 1 : 0);
  out.family('unstructured_scrape_duration_seconds', HELP.duration, 'gauge').sample('unstructured_scrape_duration_seconds', '', collection.durationSeconds);
  out
    .family('unstructured_collection_timestamp_seconds', HELP.collectedAt, 'gauge')
    .sample('unstructured_collection_timestamp_seconds', '', collection.finishedAtMs / 1000);
  out.family('unstructured_exporter_build_info', HELP.buildInfo, 'gauge').sample('unstructured_exporter_build_info', `{version="${escapeLabel(version)}"}`, 1);
  if (!collection.ok) {
    out.family('unstructured_collect_error', HELP.error, 'gauge').sample('unstructured_collect_error', `{kind="${escapeLabel(collection.errorKind)}"}`, 1);
    return out.text();
  }
  writeSnapshot(out, collection.snapshot);
  return out.text();
}

function writeSnapshot(out: Exposition, s: Snapshot): void {
  out.family('unstructured_jobs_fetched', HELP.fetched, 'gauge').sample('unstructured_jobs_fetched', '', s.jobsFetched);
  out.family('unstructured_job_records_skipped', HELP.skipped, 'gauge');
  for (const reason of SKIP_REASONS) out.sample('unstructured_job_records_skipped', `{reason="${escapeLabel(reason)}"}`, s.recordsSkipped[reason]);
  out.family('unstructured_job_runtime_unparsable', HELP.unparsable, 'gauge').sample('unstructured_job_runtime_unparsable', '', s.runtimeUnparsable);
  out.family('unstructured_workflows', HELP.seen, 'gauge').sample('unstructured_workflows', '', s.workflowsSeen);
  out
    .family('unstructured_workflows_folded', HELP.folded, 'gauge')
    .sample('unstructured_workflows_folded', '', s.workflows.find((w) => w.id === 'other')?.workflowCount ?? 0);
  out.family('unstructured_job_runtime_window_seconds', HELP.window, 'gauge').sample('unstructured_job_runtime_window_seconds', '', s.runtimeWindowSeconds);

  // The escaped `workflow_id="…",workflow_name="…"` of each workflow, made once.
  const bases = s.workflows.map((wf) => `workflow_id="${escapeLabel(wf.id)}",workflow_name="${escapeLabel(wf.name)}"`);

  out.family('unstructured_jobs', HELP.jobs, 'gauge');
  s.workflows.forEach((wf, w) => {
    for (const [jobType, statuses] of Object.entries(wf.jobs)) {
      const prefix = `{${bases[w] as string},job_type="${escapeLabel(jobType)}",status="`;
      for (const [status, n] of Object.entries(statuses)) out.sample('unstructured_jobs', `${prefix}${escapeLabel(status)}"}`, n);
    }
  });

  const les = [...s.histogramBuckets.map((b) => `le="${escapeLabel(String(b))}"}`), 'le="+Inf"}'];
  out.family('unstructured_job_runtime_seconds', HELP.runtime, 'histogram');
  s.workflows.forEach((wf, w) => {
    for (const status of TERMINAL_STATUSES) {
      const labels = `{${bases[w] as string},status="${status}"`;
      const h = wf.runtime[status];
      let cumulative = 0;
      h.bucketCounts.forEach((n, i) => {
        cumulative += n;
        out.sample('unstructured_job_runtime_seconds_bucket', `${labels},${les[i] ?? 'le="+Inf"}'}`, cumulative);
      });
      out.sample('unstructured_job_runtime_seconds_sum', `${labels}}`, h.sum).sample('unstructured_job_runtime_seconds_count', `${labels}}`, h.count);
    }
  });

  const quantileLabels = s.quantiles.map((q) => `quantile="${q}"}`);
  out.family('unstructured_job_runtime_recent_seconds', HELP.recent, 'summary');
  s.workflows.forEach((wf, w) => {
    for (const status of TERMINAL_STATUSES) {
      const labels = `{${bases[w] as string},status="${status}"`;
      const r = wf.recent[status];
      quantileLabels.forEach((q, i) => out.sample('unstructured_job_runtime_recent_seconds', `${labels},${q}`, r.quantiles[i] ?? Number.NaN));
      out.sample('unstructured_job_runtime_recent_seconds_sum', `${labels}}`, r.sum).sample('unstructured_job_runtime_recent_seconds_count', `${labels}}`, r.count);
    }
  });

  out.family('unstructured_job_oldest_age_seconds', HELP.oldest, 'gauge');
  s.workflows.forEach((wf, w) => {
    for (const status of PENDING_STATUSES) out.sample('unstructured_job_oldest_age_seconds', `{${bases[w] as string},status="${status}"}`, wf.oldestAgeSeconds[status]);
  });
}

export function buildMetrics(collection: Collection, version: string): FixedMetric[] {
  const up = new FixedMetric('unstructured_up', 'Whether the last pull of the Unstructured job list succeeded (1) or failed (0).', 'gauge');
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
  return [...self, ...snapshotMetrics(collection.snapshot)];
}

function snapshotMetrics(s: Snapshot): FixedMetric[] {
  const fetched = new FixedMetric('unstructured_jobs_fetched', 'Job records in the last API response, valid or not.', 'gauge').add(
    {},
    s.jobsFetched,
  );
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
  const seen = new FixedMetric('unstructured_workflows', 'Distinct workflows in the job list, before the MAX_WORKFLOWS cap.', 'gauge').add(
    {},
    s.workflowsSeen,
  );
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
  return [fetched, skipped, unparsable, seen, folded, window, jobs, runtime, recent, oldest];
}
