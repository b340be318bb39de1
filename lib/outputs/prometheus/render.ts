/**
 * Prometheus rendering: a Collection in, exposition text out. Built fresh for every render: a workflow that
 * disappears from the list stops being exported.
 *
 * The text is written directly, byte for byte what prom-client's Registry produced for these metrics (its
 * escaping, number formatting, ordering and OpenMetrics framing; checked against prom-client in
 * test/fast-path.test.ts against the oracle in test/support/prom-client-oracle.ts). Runtime code never
 * imports prom-client: the /metrics Lambda bundle stays small and its cold start short, and writing lines
 * directly renders 10k workflows (≈10^6 series) without a label object per sample.
 */
import { keepHiddenClass } from '../../common/keep-hidden-class.js';
import { collectSoon } from '../../pull/gc-nudge.js';
import type { Collection } from '../../collection.js';
import type { Snapshot } from '../../aggregate/snapshot.js';
import { PENDING_STATUSES, SKIP_REASONS, TERMINAL_STATUSES } from '../../vocabulary.js';
import { workflowRunRows } from '../../aggregate/workflow-health.js';
import { WORKFLOW_SKIP_REASONS } from '../../records/workflow.js';
import { WORKFLOW_HELP, WORKFLOW_METRICS } from './workflow-metrics.js';
import type { JobDetailsReport } from '../../details/stage.js';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

type MetricType = 'gauge' | 'histogram' | 'summary';

export interface RenderOptions {
  readonly version: string;
  /** Simulated jobs from the embedded demo: labels build_info `demo="true"` so nobody alerts on them. */
  readonly demo?: boolean;
  readonly openMetrics?: boolean;
  /** Largest exposition written (MAX_EXPOSITION_BYTES; smaller in tests). */
  readonly maxBytes?: number;
}

/**
 * Largest exposition rendered, in bytes. Past it the render is abandoned and /metrics reads `unstructured_up 0`
 * with `kind="exposition_too_large"`: a failed pull's form, never a 500. With the defaults a workflow is about
 * 90 series, 13 KB with a short name and 28 KB with a 200-character one (test/reliability-serve.test.ts), so
 * 1 GiB is 37,000–79,000 workflows, far past what Prometheus ingests at each scrape; and a 1 GiB exposition
 * already takes 1.25 GiB of arena (plus its chunks while it grows).
 * Node 20's largest Buffer (4 GiB) was the only limit before: five workflows with 12 MB names made the
 * arena's allocation throw (a 500).
 */
export const MAX_EXPOSITION_BYTES = 1024 ** 3;

/** `unstructured_collect_error` kind of a render abandoned at MAX_EXPOSITION_BYTES. */
export const EXPOSITION_TOO_LARGE = 'exposition_too_large';

/**
 * The exposition: `bytes` is what goes on the wire, `body` decodes it (once) for callers that want text.
 * `release()` hands the memory back for the next render once the bytes have been sent; a caller that never
 * calls it only loses the reuse. Neither `bytes` nor `body` may be read after `release()`.
 */
export interface Rendered {
  readonly contentType: string;
  readonly bytes: Buffer;
  readonly body: string;
  release(): void;
}

class RenderedExposition implements Rendered {
  #bytes: Buffer | undefined;
  #text: string | undefined;
  #arena: Buffer | undefined;

  constructor(
    readonly contentType: string,
    written: { bytes: Buffer; arena: Buffer },
  ) {
    this.#bytes = written.bytes;
    this.#arena = written.arena;
  }

  get bytes(): Buffer {
    if (this.#bytes === undefined)
      throw new Error('exposition read after release(): its memory belongs to the next render');
    return this.#bytes;
  }

  get body(): string {
    return (this.#text ??= this.bytes.toString('utf8'));
  }

  release(): void {
    if (this.#bytes === undefined) return;
    const used = this.#bytes.length;
    const arena = this.#arena as Buffer;
    this.#bytes = undefined;
    this.#arena = undefined; // a dropped arena must not stay reachable from here
    OutputArena.give(arena, used);
  }
}

export async function renderPrometheus(collection: Collection, options: RenderOptions): Promise<Rendered> {
  const openMetrics = options.openMetrics === true;
  const contentType = openMetrics ? OPENMETRICS_CONTENT_TYPE : PROMETHEUS_CONTENT_TYPE;
  const demo = options.demo === true;
  const maxBytes = options.maxBytes ?? MAX_EXPOSITION_BYTES;
  let written: { bytes: Buffer; arena: Buffer };
  try {
    written = writeExposition(collection, options.version, demo, openMetrics, maxBytes);
  } catch (error) {
    if (!(error instanceof ExpositionTooLargeError)) throw error;
    // The failed-pull form says what happened; the collection itself stays as it is (the status page shows it).
    const tooLarge: Collection = {
      ok: false,
      errorKind: EXPOSITION_TOO_LARGE,
      errorMessage: error.message,
      durationSeconds: collection.durationSeconds,
      finishedAtMs: collection.finishedAtMs,
    };
    written = writeExposition(tooLarge, options.version, demo, openMetrics, Number.POSITIVE_INFINITY);
  }
  return new RenderedExposition(contentType, written);
}

/** The exposition would pass `maxBytes` (MAX_EXPOSITION_BYTES). */
export class ExpositionTooLargeError extends Error {
  override readonly name = 'ExpositionTooLargeError';
  constructor(readonly maxBytes: number) {
    super(`the exposition would exceed ${maxBytes} bytes; lower MAX_WORKFLOWS, HISTOGRAM_BUCKETS or QUANTILES`);
  }
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

/** The first output chunk when no arena is free; later chunks double, up to the size written so far. */
const FIRST_CHUNK_BYTES = 256 * 1024;
const ZERO = 0x30;

/**
 * An arena is kept for the next render only while it is at most this many times the exposition just written in
 * it: an exporter renders about the same size at every scrape, so an arena much larger than the last exposition
 * is what an unusual render left behind (a burst of workflows, a huge upstream answer), and keeping it would
 * hold that memory for good (RSS stayed ~420 MB after one such render).
 */
const ARENA_KEEP_RATIO = 2;

/**
 * A dropped arena this large is followed by a full collection (collectSoon): by then it lives in V8's old
 * generation, which the next full collection alone frees, and a process that renders ordinary expositions again
 * allocates too little to run one soon (RSS stayed 300 MB, 130 MB over the ordinary, after an 85 MB render).
 */
const COLLECT_DROPPED_ARENA_BYTES = 32 * 1024 * 1024;

/**
 * Output memory kept from one render to the next. On a VM the first write to a fresh page costs far more than
 * the write itself (docs/performance.md, "Rendering writes bytes, into reused memory"), and an exporter renders
 * an exposition of about the same size at every scrape: it writes into the previous one's memory. One arena,
 * the largest released that fits the exposition written in it (ARENA_KEEP_RATIO); a render that finds none
 * (first, or concurrent) allocates its own.
 */
export const OutputArena = {
  free: undefined as Buffer | undefined,
  take(): Buffer | undefined {
    const arena = this.free;
    this.free = undefined;
    return arena;
  },
  /** `used`: bytes of the exposition written in `arena`. */
  give(arena: Buffer, used: number): void {
    if (arena.length > Math.max(FIRST_CHUNK_BYTES, ARENA_KEEP_RATIO * used)) {
      if (arena.length >= COLLECT_DROPPED_ARENA_BYTES) collectSoon(); // dropped: the GC frees it, soon
      return;
    }
    if (this.free === undefined || this.free.length < arena.length) this.free = arena;
  },
  /** Bytes kept for the next render (for tests and the memory figures). */
  keptBytes(): number {
    return this.free?.length ?? 0;
  },
};

/** Typed-array copies between plain Uint8Arrays: Buffer#set takes a much slower path (docs/performance.md). */
const view = (buf: Buffer): Uint8Array => new Uint8Array(buf.buffer, buf.byteOffset, buf.length);

const EMPTY_BUFFER = Buffer.alloc(0);

/**
 * The exposition as UTF-8 bytes. A 10k-workflow exposition is ~10^6 lines and ~150 MB: built as one string it
 * is a rope of millions of pieces that V8 must flatten and the HTTP layer must encode again. Here each label
 * set (workflow and status) is encoded once and every line is a few copies into the arena.
 */
class Exposition {
  readonly #chunks: Buffer[] = [];
  #written = 0;
  #buf: Buffer;
  #u8: Uint8Array;
  #at = 0;
  /** Bytes of #buf this render may fill: its length, or less where MAX_EXPOSITION_BYTES ends inside it. */
  #room: number;
  #first = true;
  readonly #separator: string;

  constructor(
    readonly openMetrics: boolean,
    readonly maxBytes: number,
  ) {
    this.#separator = openMetrics ? '\n' : '\n\n';
    this.#buf = OutputArena.take() ?? Buffer.allocUnsafe(Math.min(FIRST_CHUNK_BYTES, maxBytes));
    this.#u8 = view(this.#buf);
    this.#room = Math.min(this.#buf.length, maxBytes);
  }

  family(name: string, help: string, type: MetricType): this {
    const escaped = escapeText(name);
    this.#text(`${this.#first ? '' : this.#separator}# HELP ${escaped} ${escapeText(help)}\n# TYPE ${escaped} ${type}`);
    this.#first = false;
    return this;
  }

  /** One sample; `labels` is the already escaped `{…}` part ('' for none). */
  sample(name: string, labels: string, value: number): this {
    this.#text(`\n${name}${labels} `);
    this.#value(value);
    return this;
  }

  /**
   * One sample from parts encoded once and reused: `name` is `\n<metric name>`, `base` the `{…` labels of a
   * workflow, `middle` the labels every workflow shares (`,status="…"`), `tail` the rest up to and including the
   * space before the value.
   */
  encodedSample(name: Uint8Array, base: Uint8Array, middle: Uint8Array, tail: Uint8Array, value: number): void {
    this.#reserve(name.length + base.length + middle.length + tail.length + 32);
    const u8 = this.#u8;
    let at = this.#at;
    u8.set(name, at);
    at += name.length;
    u8.set(base, at);
    at += base.length;
    u8.set(middle, at);
    at += middle.length;
    u8.set(tail, at);
    this.#at = at + tail.length;
    this.#value(value);
  }

  /**
   * The whole exposition, and the arena it lives in (to give back once it is sent). The writer is emptied and
   * kept (keepHiddenClass) for its hidden class.
   */
  finish(): { bytes: Buffer; arena: Buffer } {
    this.#text(this.openMetrics ? '\n# EOF\n' : '\n');
    let written: { bytes: Buffer; arena: Buffer };
    if (this.#chunks.length === 0) written = { bytes: this.#buf.subarray(0, this.#at), arena: this.#buf };
    else {
      // Outgrew the arena: one buffer with room to spare becomes the next render's arena.
      const size = this.#written + this.#at;
      const arena = Buffer.allocUnsafe(Math.ceil(size * 1.25));
      let at = 0;
      for (const chunk of [...this.#chunks, this.#buf.subarray(0, this.#at)]) at += chunk.copy(arena, at);
      written = { bytes: arena.subarray(0, size), arena };
    }
    this.#empty();
    keepHiddenClass(this);
    return written;
  }

  /** Drops what was written (a render past MAX_EXPOSITION_BYTES): its memory goes to the GC, not to the arena. */
  abandon(): void {
    this.#empty();
  }

  #empty(): void {
    this.#chunks.length = 0;
    this.#buf = EMPTY_BUFFER;
    this.#u8 = view(EMPTY_BUFFER);
    this.#at = 0;
    this.#room = 0;
  }

  #reserve(bytes: number): void {
    if (this.#at + bytes <= this.#room) return;
    this.#chunks.push(this.#buf.subarray(0, this.#at));
    this.#written += this.#at;
    const left = this.maxBytes - this.#written;
    if (bytes > left) throw new ExpositionTooLargeError(this.maxBytes);
    this.#buf = Buffer.allocUnsafe(Math.min(Math.max(FIRST_CHUNK_BYTES, bytes, this.#written), left));
    this.#u8 = view(this.#buf);
    this.#room = this.#buf.length;
    this.#at = 0;
  }

  #text(text: string): void {
    this.#reserve(3 * text.length); // UTF-8 takes at most 3 bytes per UTF-16 unit
    this.#at += this.#buf.write(text, this.#at, 'utf8');
  }

  /** formatValue's text, written without a string for the common case (a small non-negative integer). */
  #value(value: number): void {
    if (value >= 0 && value <= 0x7fffffff && Math.floor(value) === value) {
      this.#reserve(11);
      let digits = 1;
      for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) digits++;
      let at = this.#at + digits;
      this.#at = at;
      let rest = value;
      do {
        this.#u8[--at] = ZERO + (rest % 10);
        rest = Math.floor(rest / 10);
      } while (rest > 0);
      return;
    }
    this.#text(formatValue(value));
  }
}

const utf8 = (text: string): Uint8Array => view(Buffer.from(text, 'utf8'));
/** A metric name as the start of a line. */
const lineStart = (name: string): Uint8Array => utf8(`\n${escapeText(name)}`);
const CLOSE = utf8('} ');

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
  longerThanAge:
    'Jobs counted whose runtime ends more than 5 minutes after now (created_at + runtime): impossible, kept out of runtime statistics.',
  seen: 'Distinct workflows in the job list, before the MAX_WORKFLOWS cap.',
  folded: 'Workflows folded into workflow_id="other" by the MAX_WORKFLOWS cap.',
  window: 'Length of the window of unstructured_job_runtime_recent_seconds (RUNTIME_WINDOW).',
  jobs: 'Jobs in the list by workflow, job type and status; every known status is present (0 where none).',
  runtime:
    'Runtime of every finished (COMPLETED, FAILED, STOPPED) job in the list; only grows, so rate() and histogram_quantile() work on it.',
  recent:
    'Exact runtime quantiles of jobs that finished inside the runtime window (linear interpolation between closest ranks).',
  oldest: 'Age of the oldest job in SCHEDULED or IN_PROGRESS (now - created_at); 0 when there is none.',
  ...WORKFLOW_HELP,
} as const;

/** Throws ExpositionTooLargeError (having dropped what it wrote) past `maxBytes`. */
function writeExposition(
  collection: Collection,
  version: string,
  demo: boolean,
  openMetrics: boolean,
  maxBytes: number,
): { bytes: Buffer; arena: Buffer } {
  const out = new Exposition(openMetrics, maxBytes);
  try {
    writeAll(out, collection, version, demo);
    return out.finish();
  } catch (error) {
    out.abandon();
    throw error;
  }
}

function writeAll(out: Exposition, collection: Collection, version: string, demo: boolean): void {
  out.family('unstructured_up', HELP.up, 'gauge').sample('unstructured_up', '', collection.ok ? 1 : 0);
  out
    .family('unstructured_scrape_duration_seconds', HELP.duration, 'gauge')
    .sample('unstructured_scrape_duration_seconds', '', collection.durationSeconds);
  out
    .family('unstructured_collection_timestamp_seconds', HELP.collectedAt, 'gauge')
    .sample('unstructured_collection_timestamp_seconds', '', collection.finishedAtMs / 1000);
  out
    .family('unstructured_exporter_build_info', HELP.buildInfo, 'gauge')
    .sample('unstructured_exporter_build_info', `{version="${escapeLabel(version)}"${demo ? ',demo="true"' : ''}}`, 1);
  if (!collection.ok) {
    out
      .family('unstructured_collect_error', HELP.error, 'gauge')
      .sample('unstructured_collect_error', `{kind="${escapeLabel(collection.errorKind)}"}`, 1);
    return;
  }
  writeSnapshot(out, collection.snapshot);
  if (collection.details !== undefined) writeJobDetails(out, collection.snapshot, collection.details);
}

function writeSnapshot(out: Exposition, s: Snapshot): void {
  out.family('unstructured_jobs_fetched', HELP.fetched, 'gauge').sample('unstructured_jobs_fetched', '', s.jobsFetched);
  out.family('unstructured_job_records_skipped', HELP.skipped, 'gauge');
  for (const reason of SKIP_REASONS)
    out.sample('unstructured_job_records_skipped', `{reason="${escapeLabel(reason)}"}`, s.recordsSkipped[reason]);
  out
    .family('unstructured_job_runtime_unparsable', HELP.unparsable, 'gauge')
    .sample('unstructured_job_runtime_unparsable', '', s.runtimeUnparsable);
  out
    .family('unstructured_job_runtime_longer_than_age', HELP.longerThanAge, 'gauge')
    .sample('unstructured_job_runtime_longer_than_age', '', s.runtimeLongerThanAge);
  out.family('unstructured_workflows', HELP.seen, 'gauge').sample('unstructured_workflows', '', s.workflowsSeen);
  out
    .family('unstructured_workflows_folded', HELP.folded, 'gauge')
    .sample('unstructured_workflows_folded', '', s.workflows.find((w) => w.id === 'other')?.workflowCount ?? 0);
  out
    .family('unstructured_job_runtime_window_seconds', HELP.window, 'gauge')
    .sample('unstructured_job_runtime_window_seconds', '', s.runtimeWindowSeconds);

  // The escaped `{workflow_id="…",workflow_name="…"` of each workflow, encoded once.
  const bases = s.workflows.map((wf) =>
    utf8(`{workflow_id="${escapeLabel(wf.id)}",workflow_name="${escapeLabel(wf.name)}"`),
  );
  const statusParts = (statuses: readonly string[]) => statuses.map((status) => utf8(`,status="${status}"`));
  const terminal = statusParts(TERMINAL_STATUSES);
  /** Each workflow and finished status, with their encoded label parts (histogram and summary lines). */
  const perTerminal = (
    lines: (
      wf: Snapshot['workflows'][number],
      base: Uint8Array,
      status: (typeof TERMINAL_STATUSES)[number],
      middle: Uint8Array,
    ) => void,
  ) =>
    s.workflows.forEach((wf, w) =>
      TERMINAL_STATUSES.forEach((status, t) => lines(wf, bases[w] as Uint8Array, status, terminal[t] as Uint8Array)),
    );

  out.family('unstructured_jobs', HELP.jobs, 'gauge');
  const jobs = lineStart('unstructured_jobs');
  const jobTypeParts = new Map<string, Uint8Array>();
  const statusTails = new Map<string, Uint8Array>();
  const cached = (cache: Map<string, Uint8Array>, key: string, make: (key: string) => string): Uint8Array => {
    let bytes = cache.get(key);
    if (bytes === undefined) cache.set(key, (bytes = utf8(make(key))));
    return bytes;
  };
  s.workflows.forEach((wf, w) => {
    const base = bases[w] as Uint8Array;
    for (const [jobType, statuses] of Object.entries(wf.jobs)) {
      const middle = cached(jobTypeParts, jobType, (t) => `,job_type="${escapeLabel(t)}",status="`);
      for (const [status, n] of Object.entries(statuses))
        out.encodedSample(
          jobs,
          base,
          middle,
          cached(statusTails, status, (st) => `${escapeLabel(st)}"} `),
          n,
        );
    }
  });

  const les = [...s.histogramBuckets.map((b) => utf8(`,le="${escapeLabel(String(b))}"} `)), utf8(',le="+Inf"} ')];
  const bucket = lineStart('unstructured_job_runtime_seconds_bucket');
  const sum = lineStart('unstructured_job_runtime_seconds_sum');
  const count = lineStart('unstructured_job_runtime_seconds_count');
  out.family('unstructured_job_runtime_seconds', HELP.runtime, 'histogram');
  perTerminal((wf, base, status, middle) => {
    const h = wf.runtime[status];
    let cumulative = 0;
    h.bucketCounts.forEach((n, i) => {
      cumulative += n;
      out.encodedSample(bucket, base, middle, les[i] ?? (les[les.length - 1] as Uint8Array), cumulative);
    });
    out.encodedSample(sum, base, middle, CLOSE, h.sum);
    out.encodedSample(count, base, middle, CLOSE, h.count);
  });

  const quantileTails = s.quantiles.map((q) => utf8(`,quantile="${q}"} `));
  const recent = lineStart('unstructured_job_runtime_recent_seconds');
  const recentSum = lineStart('unstructured_job_runtime_recent_seconds_sum');
  const recentCount = lineStart('unstructured_job_runtime_recent_seconds_count');
  out.family('unstructured_job_runtime_recent_seconds', HELP.recent, 'summary');
  perTerminal((wf, base, status, middle) => {
    const r = wf.recent[status];
    quantileTails.forEach((q, i) => out.encodedSample(recent, base, middle, q, r.quantiles[i] ?? Number.NaN));
    out.encodedSample(recentSum, base, middle, CLOSE, r.sum);
    out.encodedSample(recentCount, base, middle, CLOSE, r.count);
  });

  const oldest = lineStart('unstructured_job_oldest_age_seconds');
  const pending = statusParts(PENDING_STATUSES);
  out.family('unstructured_job_oldest_age_seconds', HELP.oldest, 'gauge');
  s.workflows.forEach((wf, w) => {
    PENDING_STATUSES.forEach((status, p) =>
      out.encodedSample(oldest, bases[w] as Uint8Array, pending[p] as Uint8Array, CLOSE, wf.oldestAgeSeconds[status]),
    );
  });

  writeWorkflowHealth(out, s);
}

/** Issue 17: last run and success per workflow, then the workflows API's inventory and schedule health. */
function writeWorkflowHealth(out: Exposition, s: Snapshot): void {
  const rows = workflowRunRows(s);
  const workflowLabels = (w: { readonly id: string; readonly name: string }) =>
    `{workflow_id="${escapeLabel(w.id)}",workflow_name="${escapeLabel(w.name)}"}`;
  const name = WORKFLOW_METRICS;
  out.family(name.lastRun, HELP.lastRun, 'gauge');
  for (const r of rows) out.sample(name.lastRun, workflowLabels(r), r.lastRunMs / 1000);
  out.family(name.lastSuccess, HELP.lastSuccess, 'gauge');
  for (const r of rows)
    if (r.lastSuccessMs !== undefined) out.sample(name.lastSuccess, workflowLabels(r), r.lastSuccessMs / 1000);
  const inventory = s.workflowInventory;
  if (inventory === undefined) return; // WORKFLOWS_API=off
  out.family(name.up, HELP.workflowsUp, 'gauge').sample(name.up, '', inventory.ok ? 1 : 0);
  if (!inventory.ok) return;
  out.family(name.skipped, HELP.workflowSkipped, 'gauge');
  for (const reason of WORKFLOW_SKIP_REASONS)
    out.sample(name.skipped, `{reason="${reason}"}`, inventory.recordsSkipped[reason]);
  out.family(name.invalid, HELP.scheduleInvalid, 'gauge').sample(name.invalid, '', inventory.scheduleInvalid);
  out.family(name.info, HELP.info, 'gauge');
  for (const w of inventory.workflows)
    out.sample(
      name.info,
      `{workflow_id="${escapeLabel(w.id)}",workflow_name="${escapeLabel(w.name)}",state="${escapeLabel(w.state)}",workflow_type="${escapeLabel(w.workflowType)}",schedule="${escapeLabel(w.schedule)}"}`,
      1,
    );
  out.family(name.missed, HELP.missed, 'gauge');
  for (const w of inventory.workflows)
    if (w.missed !== undefined) out.sample(name.missed, workflowLabels(w), w.missed ? 1 : 0);
  out.family(name.nextRun, HELP.nextRun, 'gauge');
  for (const w of inventory.workflows)
    if (w.nextRunMs !== undefined) out.sample(name.nextRun, workflowLabels(w), w.nextRunMs / 1000);
  out.family(name.expectedRun, HELP.expectedRun, 'gauge');
  for (const w of inventory.workflows)
    if (w.expectedRunMs !== undefined) out.sample(name.expectedRun, workflowLabels(w), w.expectedRunMs / 1000);
}

const DETAILS_HELP = {
  outcomes:
    'Jobs finished inside the runtime window whose details are known, by processing_status (COMPLETED_WITH_ERRORS: listed as COMPLETED); the four terminal values present (0 where none).',
  nodeFiles:
    'Files that succeeded or failed at each node type and subtype, summed over the details of the jobs finished inside the runtime window.',
  pending: 'Jobs finished inside the runtime window whose details are not known yet (request budget, errors).',
  errors: 'Job details or failed-files requests that failed in this collection (job metrics are unaffected).',
} as const;

/** The details families (lib/details/stage.ts), parallel to the snapshot's workflows. */
function writeJobDetails(out: Exposition, s: Snapshot, d: JobDetailsReport): void {
  const bases = s.workflows.map((wf) => `{workflow_id="${escapeLabel(wf.id)}",workflow_name="${escapeLabel(wf.name)}"`);
  out.family('unstructured_job_outcomes', DETAILS_HELP.outcomes, 'gauge');
  d.workflows.forEach((o, w) => {
    for (const [status, n] of Object.entries(o.byStatus))
      out.sample('unstructured_job_outcomes', `${bases[w]},processing_status="${escapeLabel(status)}"}`, n);
  });
  out.family('unstructured_job_node_files', DETAILS_HELP.nodeFiles, 'gauge');
  d.workflows.forEach((o, w) => {
    for (const n of o.nodes) {
      const labels = `${bases[w]},node_type="${escapeLabel(n.nodeType)}",node_subtype="${escapeLabel(n.nodeSubtype)}"`;
      out.sample('unstructured_job_node_files', `${labels},outcome="success"}`, n.success);
      out.sample('unstructured_job_node_files', `${labels},outcome="failure"}`, n.failure);
    }
  });
  out
    .family('unstructured_job_details_pending', DETAILS_HELP.pending, 'gauge')
    .sample('unstructured_job_details_pending', '', d.pending);
  out
    .family('unstructured_job_details_errors', DETAILS_HELP.errors, 'gauge')
    .sample('unstructured_job_details_errors', '', d.errors);
}
