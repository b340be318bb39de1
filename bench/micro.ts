/**
 * Micro-benchmarks: aggregation alone, duration parsing, exact percentiles, rendering. Each returns its
 * figure and the baseline it is compared with, measured in the same process.
 */
import { Aggregator, type AggregateOptions } from '../lib/aggregate/aggregator.js';
import { renderDatums } from '../lib/outputs/cloudwatch/datums.js';
import type { Collection } from '../lib/collection.js';
import { DEFAULT_HISTOGRAM_BUCKETS, DEFAULT_QUANTILES } from '../lib/config.js';
import { parseIsoDuration, parseIsoDurationBytes } from '../lib/records/duration.js';
import type { Job } from '../lib/records/job.js';
import { JsonArrayStream } from '../lib/pull/json-stream.js';
import { quantiles, selectQuantiles } from '../lib/aggregate/percentile.js';
import { JobRecordScanner, type ScannedJob } from '../lib/records/scanner.js';
import { toJob } from '../lib/records/to-job.js';
import { uuidFromString } from '../lib/records/uuid.js';
import { renderPrometheus } from '../lib/outputs/prometheus/render.js';
import { buildMetrics } from '../test/support/prom-client-oracle.js';
import { SKIP_REASONS, type SkipReason } from '../lib/vocabulary.js';
import { SeenIds } from '../lib/events/seen-ids.js';
import { decodeState, encodeStateBytes } from '../lib/events/state.js';
import { pydanticDuration, Random, uuid } from './generate.js';

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * Settles the heap before a timed region: two full collections. After a large free (the ~500 MB of garbage a
 * JSON.parse of the input leaves), one collection still leaves work that lands in the next timed region: the
 * aggregation replay right after a parse took 407–433 ms with one collection and 302–311 ms with two, the
 * same as the replays after it (measured in one process on this VM kind).
 */
export function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  collect?.();
  collect?.();
}

/** Best-effort timing of `fn` (ms), median of `runs`. */
export function timeIt(runs: number, fn: () => void): number {
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    gc();
    const t = performance.now();
    fn();
    times.push(performance.now() - t);
  }
  return median(times);
}

const baseOptions = (nowMs: number): AggregateOptions => ({
  nowMs,
  runtimeWindowSeconds: 86_400,
  maxWorkflows: 50,
  histogramBuckets: [...DEFAULT_HISTOGRAM_BUCKETS],
  quantiles: [...DEFAULT_QUANTILES],
});

/**
 * The record a scanner hands to the aggregator, to be filled by hand (without the scanning); the name as a
 * string token's bytes (kind 1), like the scanner's.
 */
function scannedJob(scanner: JobRecordScanner): ScannedJob {
  const job = scanner.job;
  job.nameKind = 1;
  return job;
}

/** flags: 1 the token holds escapes, 2 it holds non-ASCII bytes (as the scanner marks them). */
function setName(job: ScannedJob, name: Buffer, flags: number): void {
  job.nameBytes = name; // the token with its quotes; the inside is [1, length - 1)
  job.nameStart = 1;
  job.nameEnd = name.length - 1;
  job.nameFlags = flags;
}

/** Records of a job list in columns, so replaying them into the aggregator measures the aggregator only. */
export interface Columns {
  readonly n: number;
  readonly reason: Int8Array;
  readonly ids: Int32Array;
  /** Index in `strings` of an id that is not a canonical UUID, -1 for a UUID (in `ids`). */
  readonly idString: Int32Array;
  readonly workflow: Int32Array;
  readonly name: Int32Array;
  readonly status: Int32Array;
  readonly jobType: Int32Array;
  readonly createdAt: Float64Array;
  readonly runtime: Float64Array;
  readonly runtimeInvalid: Uint8Array;
  readonly runtimeLongerThanAge: Uint8Array;
  readonly strings: string[];
}

/** Reads job list bodies (through the real stream + scanner, runtimes judged at `nowMs`) into columns. */
export function toColumns(bodies: readonly Buffer[], n: number, nowMs: number): Columns {
  const strings: string[] = [];
  const index = new Map<string, number>();
  const intern = (s: string) => {
    let i = index.get(s);
    if (i === undefined) index.set(s, (i = strings.push(s) - 1));
    return i;
  };
  const c: Columns = {
    n,
    reason: new Int8Array(n),
    ids: new Int32Array(4 * n),
    idString: new Int32Array(n).fill(-1),
    workflow: new Int32Array(n),
    name: new Int32Array(n),
    status: new Int32Array(n),
    jobType: new Int32Array(n),
    createdAt: new Float64Array(n),
    runtime: new Float64Array(n),
    runtimeInvalid: new Uint8Array(n),
    runtimeLongerThanAge: new Uint8Array(n),
    strings,
  };
  let i = 0;
  const words = new Int32Array(4);
  const put = (job: Job | SkipReason) => {
    if (typeof job === 'string') c.reason[i] = 1 + SKIP_REASONS.indexOf(job);
    else {
      if (uuidFromString(job.id, words)) c.ids.set(words, 4 * i);
      else c.idString[i] = intern(job.id);
      c.workflow[i] = intern(job.workflowId);
      c.name[i] = intern(job.workflowName);
      c.status[i] = intern(job.status);
      c.jobType[i] = intern(job.jobType);
      c.createdAt[i] = job.createdAtMs;
      c.runtime[i] = job.runtimeSeconds ?? Number.NaN;
      c.runtimeInvalid[i] = job.runtimeInvalid ? 1 : 0;
      c.runtimeLongerThanAge[i] = job.runtimeLongerThanAge ? 1 : 0;
    }
    i++;
  };
  const scanner = new JobRecordScanner((job: ScannedJob) => put(job.reason ?? job.toJob()), nowMs);
  for (const body of bodies) {
    const stream = new JsonArrayStream((raw) => put(toJob(raw, nowMs)), { objectScanner: scanner });
    stream.write(body);
    stream.end();
  }
  if (i !== n) throw new Error(`expected ${n} records, read ${i}`);
  return c;
}

/** Aggregation alone: the columns replayed into a fresh Aggregator, then the snapshot. */
export function aggregationMs(c: Columns, nowMs: number, runs: number): number {
  // Names as the JSON string tokens they came from (the scanner decodes a name only when it is shown).
  const names = c.strings.map((s) => Buffer.from(JSON.stringify(s), 'utf8'));
  const flags = c.strings.map((s) => (JSON.stringify(s).includes('\\') ? 1 : 0) | (/[^\x00-\x7f]/.test(s) ? 2 : 0));
  return timeIt(runs, () => {
    const agg = new Aggregator(baseOptions(nowMs));
    const scanner = new JobRecordScanner(() => undefined, nowMs);
    const j = scannedJob(scanner);
    const s = c.strings;
    for (let i = 0; i < c.n; i++) {
      const reason = c.reason[i] as number;
      if (reason !== 0) {
        agg.skip(SKIP_REASONS[reason - 1] as SkipReason);
        continue;
      }
      const idString = c.idString[i] as number;
      j.idString = idString < 0 ? undefined : s[idString];
      j.id0 = c.ids[4 * i] as number;
      j.id1 = c.ids[4 * i + 1] as number;
      j.id2 = c.ids[4 * i + 2] as number;
      j.id3 = c.ids[4 * i + 3] as number;
      j.workflowId = s[c.workflow[i] as number] as string;
      const name = c.name[i] as number;
      setName(j, names[name] as Buffer, flags[name] as number);
      j.status = s[c.status[i] as number] as string;
      j.jobType = s[c.jobType[i] as number] as string;
      j.createdAtMs = c.createdAt[i] as number;
      j.runtime = c.runtime[i] as number;
      j.runtimeInvalid = c.runtimeInvalid[i] === 1;
      j.runtimeLongerThanAge = c.runtimeLongerThanAge[i] === 1;
      agg.addScanned(j as unknown as ScannedJob);
    }
    agg.snapshot();
    agg.release(); // as collect() does: the next run's id set reuses this one's memory
    scanner.release();
  });
}

/** ns per runtime string: parseIsoDuration (strings) and parseIsoDurationBytes (bytes in place). */
export function durationNs(): { stringNs: number; bytesNs: number; count: number } {
  const r = new Random(7);
  const texts: string[] = [];
  for (let i = 0; i < 1_000_000; i++) {
    const roll = r.next();
    if (roll < 0.01)
      texts.push(r.pick(['PT0S', 'P1Y35D', 'P2W3D', 'PT1.5H', 'PT1,5S', '-PT5S', 'P1DT2H', 'two minutes']));
    else texts.push(pydanticDuration(Math.exp(1 + 4 * r.next()) * (roll < 0.5 ? 1 : 1.000123)));
  }
  const bytes = Buffer.from(texts.join(''), 'latin1');
  const ends = new Int32Array(texts.length);
  let at = 0;
  texts.forEach((t, i) => (ends[i] = at += t.length));
  let sink = 0;
  const stringMs = timeIt(5, () => {
    for (let i = 0; i < texts.length; i++) sink += parseIsoDuration(texts[i] as string) || 0;
  });
  const bytesMs = timeIt(5, () => {
    let start = 0;
    for (let i = 0; i < ends.length; i++) {
      sink += parseIsoDurationBytes(bytes, start, ends[i] as number) || 0;
      start = ends[i] as number;
    }
  });
  if (sink === 42) console.log('');
  return { stringNs: (stringMs * 1e6) / texts.length, bytesNs: (bytesMs * 1e6) / texts.length, count: texts.length };
}

/**
 * Exact percentiles of 10^6 runtimes spread Zipf-wise over 200 workflows, all inside the window: the time of
 * snapshot() (per-workflow, folded and total quantiles, by selection), against sorting the same arrays.
 */
export function percentileMs(nowMs: number): { snapshotMs: number; sortMs: number; selectMs: number } {
  const r = new Random(11);
  const workflows = 200;
  const ids = Array.from({ length: workflows }, () => uuid(r));
  const cumulative: number[] = [];
  let sum = 0;
  for (let w = 0; w < workflows; w++) cumulative.push((sum += 1 / (w + 1)));
  const statuses = ['COMPLETED', 'COMPLETED', 'COMPLETED', 'FAILED', 'STOPPED'];
  const n = 1_000_000;
  const wf = new Int32Array(n);
  const st = new Int32Array(n);
  const rt = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const x = r.next() * sum;
    let w = 0;
    while ((cumulative[w] as number) < x) w++;
    wf[i] = w;
    st[i] = r.int(statuses.length);
    rt[i] = Math.round(Math.exp(2 + 2 * r.normal()) * 1e6) / 1e6;
  }
  const options = { ...baseOptions(nowMs), runtimeWindowSeconds: 10 * 365 * 86_400 };
  const snapshotTimes: number[] = [];
  for (let rep = 0; rep < 5; rep++) {
    const agg = new Aggregator(options);
    const scanner = new JobRecordScanner(() => undefined, nowMs);
    const j = scannedJob(scanner);
    j.nameKind = 0; // the name is the id
    for (let i = 0; i < n; i++) {
      j.id0 = i;
      j.id1 = 0x4000;
      j.id2 = -0x80000000;
      j.id3 = rep;
      j.workflowId = ids[wf[i] as number] as string;
      j.status = statuses[st[i] as number] as string;
      j.jobType = 'ephemeral';
      j.createdAtMs = nowMs - 3_600_000;
      j.runtime = rt[i] as number;
      agg.addScanned(j as unknown as ScannedJob);
    }
    gc();
    const t = performance.now();
    agg.snapshot();
    snapshotTimes.push(performance.now() - t);
    agg.release();
    scanner.release();
  }
  // The arrays snapshot() takes quantiles of: per workflow and status, the total per status, the folded rest.
  const groups: number[][] = [];
  const key = (w: number, s: number) => w * 3 + s;
  for (let g = 0; g < (workflows + 2) * 3; g++) groups.push([]);
  const statusIndex = (s: number) => (statuses[s] === 'COMPLETED' ? 0 : statuses[s] === 'FAILED' ? 1 : 2);
  for (let i = 0; i < n; i++) {
    const s = statusIndex(st[i] as number);
    (groups[key(wf[i] as number, s)] as number[]).push(rt[i] as number);
    (groups[key(workflows, s)] as number[]).push(rt[i] as number);
    if ((wf[i] as number) >= 50) (groups[key(workflows + 1, s)] as number[]).push(rt[i] as number);
  }
  const arrays = groups.map((g) => Float64Array.from(g));
  const qs = [...DEFAULT_QUANTILES];
  const sortMs = timeIt(5, () => {
    for (const a of arrays) quantiles(a.slice(), qs);
  });
  const selectMs = timeIt(5, () => {
    for (const a of arrays) selectQuantiles(a.slice(), qs);
  });
  return { snapshotMs: median(snapshotTimes), sortMs, selectMs };
}

const HOSTILE = ['Quote " back\\slash\nnew line', '数据 🚀 pipeline', 'Café — Zürich', 'x"} 1\n# HELP fake'];

/** A successful collection of `workflows` workflows (2 job types each, every status, runtimes in and out of the window). */
export function collectionOf(workflows: number, nowMs: number): Collection {
  const r = new Random(workflows);
  const agg = new Aggregator({ ...baseOptions(nowMs), maxWorkflows: workflows });
  const statuses = ['COMPLETED', 'FAILED', 'STOPPED', 'SCHEDULED', 'IN_PROGRESS'];
  let n = 0;
  for (let w = 0; w < workflows; w++) {
    const id = uuid(r);
    const name = w % 10 === 0 ? `${HOSTILE[(w / 10) % HOSTILE.length]} #${w}` : `Workflow ${w} to s3`;
    for (const jobType of w % 2 === 0 ? ['ephemeral', 'scheduled'] : ['persistent', 'ephemeral']) {
      for (const status of statuses) {
        for (let k = 0; k < 2; k++) {
          agg.add({
            id: `job-${n++}`,
            workflowId: id,
            workflowName: name,
            status,
            jobType,
            createdAtMs: nowMs - r.int(2 * 86_400_000),
            runtimeSeconds: status === 'SCHEDULED' || status === 'IN_PROGRESS' ? undefined : Math.exp(1 + 5 * r.next()),
            runtimeInvalid: false,
            runtimeLongerThanAge: false,
          });
        }
      }
    }
  }
  return { ok: true, snapshot: agg.snapshot(), durationSeconds: 1.5, finishedAtMs: nowMs };
}

/**
 * Rendering (Prometheus text + CloudWatch datums) of `workflows` workflows, against prom-client's Registry.
 * The exposition is produced as the bytes the HTTP layer sends and released after use, as the server does, so
 * from the second run on it is written into the previous run's memory; `firstMs` is the first run (fresh memory).
 */
export async function renderMs(
  workflows: number,
  nowMs: number,
  runs: number,
): Promise<{ ms: number; firstMs: number; promClientMs: number; lines: number; datums: number }> {
  const collection = collectionOf(workflows, nowMs);
  const times: number[] = [];
  const baseline: number[] = [];
  let lines = 0;
  let datums = 0;
  for (let rep = 0; rep < runs; rep++) {
    gc();
    let t = performance.now();
    const rendered = await renderPrometheus(collection, { version: '0.1.0' });
    const bytes = rendered.bytes.length;
    datums = renderDatums(collection).length;
    times.push(performance.now() - t);
    const body = rendered.body;
    rendered.release();
    if (bytes === 0) throw new Error('empty exposition');
    lines = body.length === 0 ? 0 : body.split('\n').length;
    gc();
    // prom-client is loaded only here: the measured child processes must not carry it.
    const { Registry } = await import('prom-client');
    t = performance.now();
    const registry = new Registry();
    for (const metric of buildMetrics(collection, '0.1.0'))
      registry.registerMetric(metric as unknown as Parameters<typeof registry.registerMetric>[0]);
    const old = Buffer.from(await registry.metrics(), 'utf8'); // prom-client's text, as the bytes it was sent as
    renderDatums(collection);
    baseline.push(performance.now() - t);
    if (old.toString('utf8') !== body) throw new Error('the direct writer and prom-client disagree');
  }
  return { ms: median(times), firstMs: times[0] ?? Number.NaN, promClientMs: median(baseline), lines, datums };
}

/**
 * The finished-jobs state of `ids` remembered jobs (UUIDs finished over a week): the median time to decode it
 * and to encode it, beside JSON.parse of the same text (what any reading of it costs at least).
 */
export function stateMs(
  ids: number,
  nowMs: number,
  runs: number,
): { decodeMs: number; decodeCpuMs: number; encodeMs: number; parseMs: number; bytes: number } {
  const r = new Random(ids);
  const seen = new SeenIds(ids);
  for (let i = 0; i < ids; i++) seen.add(uuid(r), nowMs - Math.floor((i * 7 * 86_400_000) / ids));
  const state = { createdAtMs: nowMs, updatedAtMs: nowMs, seen, pending: [] };
  const bytes = encodeStateBytes(state);
  const text = bytes.toString('utf8');
  const cpu: number[] = [];
  const decodeMs = timeIt(runs, () => {
    const before = process.cpuUsage();
    decodeState(bytes, 'bench'); // from its bytes, as the stores read it
    const used = process.cpuUsage(before);
    cpu.push((used.user + used.system) / 1000);
  });
  return {
    decodeMs,
    decodeCpuMs: median(cpu),
    encodeMs: timeIt(runs, () => encodeStateBytes(state, bytes)),
    parseMs: timeIt(runs, () => JSON.parse(text)),
    bytes: bytes.length,
  };
}
