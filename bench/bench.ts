/**
 * `npm run bench`: the exporter's speed and memory at 10^5 and 10^6 jobs, each figure printed beside the
 * baseline measured in the same run and the target it must meet.
 *
 * Roles (one bundle, dist/bench.mjs):
 *   (none)                  the benchmark: starts the server child, measures, prints the table
 *   --serve <jobs> <wf>     the fake API (bench/server.ts), in its own process
 *   --collect <apiUrl>      one collection + rendering in a fresh process; prints its peak RSS
 *   --peer <apiUrl>         the straightforward exporter (bench/peer.ts), likewise
 *   --bound <apiUrl>        one collection of a body that never ends, stopped by MAX_RESPONSE_BYTES (its
 *                           default); prints how it ended and its peak RSS
 *
 * Environment: BENCH_QUICK=1 skips the straightforward exporter's 1M run with a big heap (~3 GB, ~20 s);
 * BENCH_JOBS overrides 1,000,000 (the 100k figure stays 100,000).
 */
import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderDatums } from '../lib/outputs/cloudwatch/datums.js';
import type { Collection } from '../lib/collection.js';
import { collect } from '../lib/collector.js';
import { loadConfig, type Config } from '../lib/config.js';
import { Logger } from '../lib/log.js';
import { renderPrometheus } from '../lib/outputs/prometheus/render.js';
import { SecretSource } from '../lib/secrets.js';
import { aggregationMs, durationNs, gc, median, percentileMs, renderMs, stateMs, toColumns } from './micro.js';
import { remoteWriteCost } from './remote-write.js';
import { straightforwardCollect } from './peer.js';
import { detailsBench } from './details.js';
import { BENCH_API_KEY, BENCH_NOW_MS, serve, type ServerReady } from './server.js';

const SELF = fileURLToPath(import.meta.url);
const ROOT = path.resolve(path.dirname(SELF), '..');

/**
 * The job list's pipeline. Job details are off here: their requests (one per finished job, budgeted) have rows of
 * their own (bench/details.ts), and 200 round trips to this server's 404 would be measured as the list's time.
 */
function benchConfig(apiUrl: string): Config {
  return loadConfig({
    UNSTRUCTURED_API_URL: apiUrl,
    UNSTRUCTURED_API_KEY: BENCH_API_KEY,
    PULL_DEADLINE: '900s',
    REQUEST_TIMEOUT: '120s',
    JOB_DETAILS: 'off',
  });
}

interface Outcome {
  readonly ms: number;
  readonly jobsFetched: number;
  readonly promBytes: number;
  readonly datums: number;
}

/** One whole collection the way the exporter does it, then both renderings. */
async function collectAndRender(apiUrl: string): Promise<Outcome> {
  const config = benchConfig(apiUrl);
  const started = performance.now();
  const collection: Collection = await collect(
    {
      config,
      apiKey: new SecretSource({ variable: 'UNSTRUCTURED_API_KEY', direct: BENCH_API_KEY, param: undefined }),
      logger: new Logger({ level: 'error', write: () => undefined }),
    },
    { nowMs: BENCH_NOW_MS },
  );
  if (!collection.ok) throw new Error(`collection failed: ${collection.errorKind}: ${collection.errorMessage}`);
  const prom = await renderPrometheus(collection, { version: '0.1.0' });
  const datums = renderDatums(collection);
  return {
    ms: performance.now() - started,
    jobsFetched: collection.snapshot.jobsFetched,
    promBytes: prom.body.length,
    datums: datums.length,
  };
}

async function peerAndRender(apiUrl: string): Promise<Outcome> {
  const started = performance.now();
  const collection = await straightforwardCollect(benchConfig(apiUrl), BENCH_API_KEY, BENCH_NOW_MS);
  const prom = await renderPrometheus(collection, { version: '0.1.0' });
  const datums = renderDatums(collection);
  if (!collection.ok) throw new Error('peer failed');
  return {
    ms: performance.now() - started,
    jobsFetched: collection.snapshot.jobsFetched,
    promBytes: prom.body.length,
    datums: datums.length,
  };
}

/** Peak RSS of this process image in KiB (VmHWM: unlike ru_maxrss, not inherited from the parent). */
function vmHwmKb(): number | undefined {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    return match === null ? undefined : Number(match[1]);
  } catch {
    return undefined;
  }
}

/** The --bound role: a collection that must end with `too_large` at MAX_RESPONSE_BYTES, and what it cost. */
async function boundRole(apiUrl: string): Promise<void> {
  const idleRssKb = process.resourceUsage().maxRSS;
  const config = loadConfig({
    UNSTRUCTURED_API_URL: apiUrl,
    UNSTRUCTURED_API_KEY: BENCH_API_KEY,
    PULL_DEADLINE: '900s',
    REQUEST_TIMEOUT: '120s',
  });
  const started = performance.now();
  const collection = await collect(
    {
      config,
      apiKey: new SecretSource({ variable: 'UNSTRUCTURED_API_KEY', direct: BENCH_API_KEY, param: undefined }),
      logger: new Logger({ level: 'error', write: () => undefined }),
    },
    { nowMs: BENCH_NOW_MS },
  );
  const ms = performance.now() - started;
  const kind = collection.ok ? 'ok' : collection.errorKind;
  process.stdout.write(
    `${JSON.stringify({ kind, ms, maxResponseBytes: config.maxResponseBytes, idleRssKb, maxRssKb: process.resourceUsage().maxRSS, vmHwmKb: vmHwmKb() })}\n`,
  );
}

/** Child roles: one measured run, one JSON line on stdout. */
async function childRole(kind: '--collect' | '--peer', apiUrl: string): Promise<void> {
  const idleRssKb = process.resourceUsage().maxRSS;
  const outcome = kind === '--collect' ? await collectAndRender(apiUrl) : await peerAndRender(apiUrl);
  process.stdout.write(
    `${JSON.stringify({ ...outcome, idleRssKb, maxRssKb: process.resourceUsage().maxRSS, vmHwmKb: vmHwmKb() })}\n`,
  );
}

/**
 * The launcher: a small process forked first thing, which spawns the measured children. ru_maxrss (what
 * process.resourceUsage().maxRSS reads) survives fork + exec, so a child spawned by the benchmark itself
 * (holding 460 MB of baseline input) would start with the benchmark's peak; spawned by the launcher, it
 * starts from the launcher's ~50 MB, below any child's own figure.
 */
function launcherRole(): void {
  process.on('message', (message) => {
    const { id, role, apiUrl, nodeFlags } = message as {
      id: number;
      role: string;
      apiUrl: string;
      nodeFlags: string[];
    };
    void spawnMeasured(role, apiUrl, nodeFlags).then((result) => process.send?.({ id, result }));
  });
  process.on('disconnect', () => process.exit(0));
}

interface ChildResult {
  readonly ok: boolean;
  /** --bound: how the collection ended ('ok' or the error kind), and the cap it ran with. */
  readonly kind?: string;
  readonly maxResponseBytes?: number;
  readonly ms?: number;
  readonly jobsFetched?: number;
  readonly maxRssKb?: number;
  readonly idleRssKb?: number;
  readonly vmHwmKb?: number;
  readonly why?: string;
}

let launcher: ChildProcess | undefined;
let launched = 0;
const waiting = new Map<number, (result: ChildResult) => void>();

function startLauncher(): void {
  launcher = fork(SELF, ['--launcher'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  launcher.on('message', (m) => {
    const { id, result } = m as { id: number; result: ChildResult };
    waiting.get(id)?.(result);
    waiting.delete(id);
  });
}

function runChild(role: string, apiUrl: string, nodeFlags: readonly string[]): Promise<ChildResult> {
  if (launcher === undefined) return spawnMeasured(role, apiUrl, nodeFlags);
  const id = ++launched;
  return new Promise((resolve) => {
    waiting.set(id, resolve);
    launcher?.send({ id, role, apiUrl, nodeFlags });
  });
}

function spawnMeasured(role: string, apiUrl: string, nodeFlags: readonly string[]): Promise<ChildResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...nodeFlags, SELF, role, apiUrl], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    child.on('close', (code, signal) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code === 0 && line.startsWith('{')) resolve({ ok: true, ...(JSON.parse(line) as object) });
      else {
        const oom = /heap out of memory|Allocation failed|Invalid string length|Cannot create a string/i.exec(err)?.[0];
        resolve({
          ok: false,
          why: oom ?? `exit ${code ?? signal}: ${err.split('\n').filter(Boolean).slice(-1)[0] ?? ''}`,
        });
      }
    });
  });
}

/** The run with the median peak RSS (a failed run, if any, so that it is reported). */
function medianRun(runs: readonly ChildResult[]): ChildResult {
  const failed = runs.find((r) => !r.ok);
  if (failed !== undefined) return failed;
  return [...runs].sort((a, b) => (a.maxRssKb as number) - (b.maxRssKb as number))[runs.length >> 1] as ChildResult;
}

function startServer(jobs: number, workflows: number): Promise<{ child: ChildProcess; ready: ServerReady }> {
  return new Promise((resolve, reject) => {
    const child = fork(SELF, ['--serve', String(jobs), String(workflows)], {
      execArgv: ['--max-old-space-size=8192'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    child.once('message', (m) => resolve({ child, ready: (m as { ready: ServerReady }).ready }));
    child.once('exit', (code) => reject(new Error(`server exited (${code})`)));
  });
}

function fetchBuffer(url: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks)));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

/** JSON.parse of each body (decoded beforehand, not timed), summed. */
function jsonParseMs(bodies: readonly Buffer[]): number {
  let total = 0;
  for (const body of bodies) {
    let text: string | undefined = body.toString('utf8');
    gc();
    const t = performance.now();
    const value = JSON.parse(text) as unknown[];
    total += performance.now() - t;
    if (!Array.isArray(value)) throw new Error('not an array');
    text = undefined;
  }
  return total;
}

// ---------------------------------------------------------------------------------------------------------
// Cold start

interface ColdStart {
  readonly bytes: number;
  readonly eagerBytes: number;
  readonly awsSdkBytes: number;
  readonly importMs: number;
  readonly emptyImportMs: number;
  readonly metricsEagerSdk: string[];
  readonly collectEagerSdk: string[];
}

interface Metafile {
  inputs: Record<string, { imports: { path: string; kind: string }[] }>;
  outputs: Record<string, { bytes: number; inputs: Record<string, { bytesInOutput: number }> }>;
}

/** Inputs reachable from the entry by static imports only (what runs at import). */
function eagerInputs(meta: Metafile, entry: string): Set<string> {
  const seen = new Set<string>([entry]);
  const stack = [entry];
  while (stack.length > 0) {
    const at = stack.pop() as string;
    for (const imp of meta.inputs[at]?.imports ?? []) {
      if (imp.kind === 'dynamic-import' || !(imp.path in meta.inputs) || seen.has(imp.path)) continue;
      seen.add(imp.path);
      stack.push(imp.path);
    }
  }
  return seen;
}

async function coldStart(): Promise<ColdStart> {
  const { build } = await import('esbuild');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'uje-bench-'));
  try {
    // As `npx esbuild functions/metrics.ts --bundle --minify --platform=node --format=esm`.
    const bundle = async (entry: string, out: string) =>
      (
        await build({
          absWorkingDir: ROOT,
          entryPoints: [entry],
          bundle: true,
          minify: true,
          platform: 'node',
          format: 'esm',
          outfile: path.join(dir, out),
          metafile: true,
          logLevel: 'silent',
        })
      ).metafile as unknown as Metafile;
    const metricsMeta = await bundle('functions/metrics.ts', 'metrics.mjs');
    const collectMeta = await bundle('functions/collect.ts', 'collect.mjs');
    const output = Object.values(metricsMeta.outputs)[0] as Metafile['outputs'][string];
    const eager = eagerInputs(metricsMeta, 'functions/metrics.ts');
    let eagerBytes = 0;
    let awsSdkBytes = 0;
    for (const [input, info] of Object.entries(output.inputs)) {
      if (eager.has(input)) eagerBytes += info.bytesInOutput;
      if (/node_modules\/(@aws-sdk|@smithy|@aws-crypto|bowser|fast-xml-parser|strnum|tslib|uuid)\//.test(input))
        awsSdkBytes += info.bytesInOutput;
    }
    const sdk = (meta: Metafile, entry: string) => [...eagerInputs(meta, entry)].filter((p) => p.includes('@aws-sdk/'));

    // Import time, measured inside a fresh process around the import itself: the spawn and Node's own start
    // vary by ±25 ms from one process to the next on these machines, which would drown a 20 ms figure. An empty
    // module imported the same way is the baseline (Node's ESM loader starting up); the figure compared with
    // the target is the whole import, loader start included, so it is what `node -e 0` does not do.
    const empty = path.join(dir, 'empty.mjs');
    writeFileSync(empty, '\n');
    const importMs = (file: string): number => {
      const code = `const t = performance.now(); import(${JSON.stringify(file)}).then(() => console.log(performance.now() - t))`;
      const run = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8' });
      if (run.status !== 0) throw new Error(`${path.basename(file)} does not import: ${run.stderr}`);
      return Number(run.stdout);
    };
    const emptyTimes: number[] = [];
    const bundleTimes: number[] = [];
    for (let i = 0; i < 21; i++) {
      emptyTimes.push(importMs(empty));
      bundleTimes.push(importMs(path.join(dir, 'metrics.mjs')));
    }
    return {
      bytes: statSync(path.join(dir, 'metrics.mjs')).size,
      eagerBytes,
      awsSdkBytes,
      importMs: median(bundleTimes),
      emptyImportMs: median(emptyTimes),
      metricsEagerSdk: sdk(metricsMeta, 'functions/metrics.ts'),
      collectEagerSdk: sdk(collectMeta, 'functions/collect.ts'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------
// The table

interface Row {
  readonly figure: string;
  readonly measured: string;
  readonly baseline: string;
  readonly ratio: string;
  readonly target: string;
  readonly pass: boolean | undefined;
}

const rows: Row[] = [];
const ms = (v: number) => `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ms`;
const mb = (kb: number) => `${(kb / 1024).toFixed(1)} MB`;

function row(
  figure: string,
  measured: string,
  baseline: string,
  ratio: string,
  target: string,
  pass: boolean | undefined,
): void {
  rows.push({ figure, measured, baseline, ratio, target, pass });
  console.error(
    `  ${figure}: ${measured} (baseline ${baseline}, ${ratio}) target ${target} → ${pass === undefined ? 'info' : pass ? 'PASS' : 'FAIL'}`,
  );
}

/**
 * A time against its baseline. With paired samples (measured[i] next to baseline[i]), the ratio is the median
 * of the pairs' ratios: a change of the machine's load between pairs then cancels out.
 */
function ratioRow(
  figure: string,
  measured: readonly number[],
  baseline: readonly number[],
  baselineName: string,
  max: number,
): void {
  const measuredMs = median(measured);
  const baselineMs = median(baseline);
  const ratio =
    measured.length === baseline.length
      ? median(measured.map((m, i) => m / (baseline[i] as number)))
      : measuredMs / baselineMs;
  row(figure, ms(measuredMs), `${ms(baselineMs)} ${baselineName}`, `${ratio.toFixed(2)}×`, `≤ ${max}×`, ratio <= max);
}

function printTable(): string {
  const head = ['figure', 'measured', 'baseline', 'ratio', 'target', 'result'];
  const body = rows.map((r) => [
    r.figure,
    r.measured,
    r.baseline,
    r.ratio,
    r.target,
    r.pass === undefined ? '—' : r.pass ? 'PASS' : 'FAIL',
  ]);
  const lines = [head, ...body];
  const widths = head.map((_, c) => Math.max(...lines.map((l) => (l[c] as string).length)));
  const fmt = (l: string[]) => `| ${l.map((cell, c) => cell.padEnd(widths[c] as number)).join(' | ')} |`;
  return [fmt(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(fmt)].join('\n');
}

/** One remote-write push of 20 and of 10k workflows (bench/remote-write.ts), and the collect bundle it adds to. */
async function remoteWriteRows(): Promise<void> {
  for (const [workflows, runs, targetMs] of [
    [20, 15, 100],
    [10_000, 3, 10_000],
  ] as const) {
    const c = await remoteWriteCost(workflows, BENCH_NOW_MS, runs);
    row(
      `remote write push, ${workflows} workflows (${c.series} series, ${c.requests} requests)`,
      ms(c.pushMs),
      `render ${ms(c.renderMs)}, read ${ms(c.readMs)}, protobuf ${ms(c.encodeMs)}, snappy ${ms(c.compressMs)}`,
      `${(c.protobufBytes / 1e6).toFixed(2)} → ${(c.snappyBytes / 1e6).toFixed(2)} MB`,
      `≤ ${targetMs >= 1000 ? `${targetMs / 1000} s` : `${targetMs} ms`}`,
      c.pushMs <= targetMs,
    );
  }
  const cold = await collectBundle();
  row(
    'collect handler bundle (esbuild --minify): remote write / its SigV4',
    `${(cold.bytes / 1024).toFixed(0)} KB`,
    `${(cold.remoteWriteBytes / 1024).toFixed(0)} KB remote write`,
    `${(cold.sigv4Bytes / 1024).toFixed(0)} KB SigV4 (lazy)`,
    '(reference)',
    undefined,
  );
}

/** The collect function's bundle, and what remote write and its SigV4 packages take of it. */
async function collectBundle(): Promise<{ bytes: number; remoteWriteBytes: number; sigv4Bytes: number }> {
  const { build } = await import('esbuild');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'uje-bench-'));
  try {
    const meta = (
      await build({
        absWorkingDir: ROOT,
        entryPoints: ['functions/collect.ts'],
        bundle: true,
        minify: true,
        platform: 'node',
        format: 'esm',
        outfile: path.join(dir, 'collect.mjs'),
        metafile: true,
        logLevel: 'silent',
      })
    ).metafile as unknown as Metafile;
    const output = Object.values(meta.outputs)[0] as Metafile['outputs'][string];
    let remoteWriteBytes = 0;
    let sigv4Bytes = 0;
    for (const [input, info] of Object.entries(output.inputs)) {
      if (/lib\/outputs\/remote-write\/|node_modules\/(@bufbuild|snappyjs)\//.test(input))
        remoteWriteBytes += info.bytesInOutput;
      if (/node_modules\/(@smithy\/(signature-v4|hash-node)|@aws-sdk\/credential-provider)/.test(input))
        sigv4Bytes += info.bytesInOutput;
    }
    return { bytes: statSync(path.join(dir, 'collect.mjs')).size, remoteWriteBytes, sigv4Bytes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  startLauncher();
  const bigJobs = Number(process.env.BENCH_JOBS ?? 1_000_000);
  const smallJobs = Math.min(100_000, bigJobs);
  const quick = process.env.BENCH_QUICK === '1';
  const cpus = os.cpus();
  console.error(
    `node ${process.version}, ${cpus.length} × ${cpus[0]?.model ?? '?'}, ${(os.totalmem() / 1024 ** 3).toFixed(0)} GiB`,
  );
  console.error(`generating ${bigJobs} jobs (200 workflows, Zipf) in the server child …`);
  const { child: server, ready } = await startServer(bigJobs, 200);
  console.error(
    `  ${(ready.bytes / 1e6).toFixed(0)} MB of JSON (${(ready.bytes / ready.jobs).toFixed(0)} bytes a job), gzip ${(ready.gzipBytes / 1e6).toFixed(0)} MB; generated in ${(ready.generateMs / 1000).toFixed(1)} s, gzipped in ${(ready.gzipMs / 1000).toFixed(1)} s`,
  );
  const base = `http://127.0.0.1:${ready.port}`;
  const api = (count: number, encoding: 'identity' | 'gzip') => `${base}/j/${count}/${encoding}`;
  try {
    // The baseline's input: the same bytes, as arrays of 100k jobs (one string of 460 MB would be near V8's
    // string limit, and the slices parse no slower than one piece would).
    const sliceJobs = 100_000;
    const slices: Buffer[] = [];
    for (let from = 0; from < bigJobs; from += sliceJobs)
      slices.push(await fetchBuffer(`${base}/slice/${from}/${Math.min(bigJobs, from + sliceJobs)}`));
    const small = slices[0] as Buffer;

    // Time: interleaved repetitions, medians.
    console.error('end to end (in this process), against JSON.parse of the same bytes …');
    const t = {
      parseBig: [] as number[],
      parseSmall: [] as number[],
      big: [] as number[],
      small: [] as number[],
      gzip: [] as number[],
      peerSmall: [] as number[],
    };
    await collectAndRender(api(smallJobs, 'identity')); // warm-up (JIT, keep-alive socket)
    for (let rep = 0; rep < 5; rep++) {
      gc();
      t.parseBig.push(jsonParseMs(slices));
      for (let k = 0; k < 2; k++) {
        t.parseSmall.push(jsonParseMs([small]));
        gc();
        t.small.push((await collectAndRender(api(smallJobs, 'identity'))).ms);
      }
      gc();
      const big = await collectAndRender(api(bigJobs, 'identity'));
      if (big.jobsFetched !== bigJobs) throw new Error(`expected ${bigJobs} records, got ${big.jobsFetched}`);
      t.big.push(big.ms);
      gc();
      t.gzip.push((await collectAndRender(api(bigJobs, 'gzip'))).ms);
      console.error(
        `  rep ${rep + 1}: parse ${ms(t.parseBig.at(-1) as number)}, 1M ${ms(big.ms)}, gzip ${ms(t.gzip.at(-1) as number)}, 100k ${ms(t.small.at(-1) as number)} (parse ${ms(t.parseSmall.at(-1) as number)})`,
      );
    }
    // The straightforward exporter afterwards (its code must not share the JIT's attention with ours above).
    for (let rep = 0; rep < 5; rep++) {
      gc();
      t.peerSmall.push((await peerAndRender(api(smallJobs, 'identity'))).ms);
    }
    const label = `${bigJobs / 1e6}M`;
    ratioRow(`end to end ${label} jobs`, t.big, t.parseBig, 'JSON.parse', 1.25);
    ratioRow('end to end 100k jobs', t.small, t.parseSmall, 'JSON.parse', 2);
    ratioRow(`end to end ${label} jobs, gzip`, t.gzip, t.parseBig, 'JSON.parse', 1.8);
    row(
      'straightforward exporter, 100k (time)',
      ms(median(t.peerSmall)),
      `${ms(median(t.small))} ours`,
      `${(median(t.peerSmall) / median(t.small)).toFixed(2)}× ours`,
      '(reference)',
      undefined,
    );

    // Memory: fresh processes. The two sizes the difference is taken of alternate three times and each
    // figure is the median run (a single process varies by a few MB with the timing of its collections).
    console.error('peak RSS, one fresh process per collection …');
    const smallRuns: ChildResult[] = [];
    const bigRuns: ChildResult[] = [];
    for (let rep = 0; rep < 3; rep++) {
      smallRuns.push(await runChild('--collect', api(smallJobs, 'identity'), ['--max-old-space-size=64']));
      bigRuns.push(await runChild('--collect', api(bigJobs, 'identity'), ['--max-old-space-size=64']));
    }
    console.error(
      `  100k: ${smallRuns.map((r) => mb(r.maxRssKb ?? 0)).join(', ')}; ${label}: ${bigRuns.map((r) => mb(r.maxRssKb ?? 0)).join(', ')}`,
    );
    const smallRun = medianRun(smallRuns);
    const bigRun = medianRun(bigRuns);
    const gzipRun = await runChild('--collect', api(bigJobs, 'gzip'), ['--max-old-space-size=64']);
    const smallDefault = await runChild('--collect', api(smallJobs, 'identity'), []);
    const peerSmall = await runChild('--peer', api(smallJobs, 'identity'), []);
    const peerBig64 = await runChild('--peer', api(bigJobs, 'identity'), ['--max-old-space-size=64']);
    const peerBig = quick
      ? undefined
      : await runChild('--peer', api(bigJobs, 'identity'), ['--max-old-space-size=16384']);
    // The memory bound: a body that never ends, of the records that cost the most memory per byte.
    console.error('memory bound: a body that never ends, stopped by MAX_RESPONSE_BYTES …');
    const bound = await runChild('--bound', `${base}/endless`, []);
    if (!smallRun.ok || !bigRun.ok || !gzipRun.ok)
      throw new Error(`a measured child failed: ${smallRun.why ?? bigRun.why ?? gzipRun.why}`);
    for (const [name, r] of [
      ['100k', smallRun],
      [label, bigRun],
      [`${label} gzip`, gzipRun],
      ['100k default heap', smallDefault],
      ['peer 100k', peerSmall],
    ] as const) {
      console.error(
        `  ${name}: maxRSS ${mb(r.maxRssKb ?? 0)} (VmHWM ${mb(r.vmHwmKb ?? 0)}, idle ${mb(r.idleRssKb ?? 0)}), ${ms(r.ms ?? 0)}`,
      );
    }
    const bigRss = bigRun.maxRssKb as number;
    const smallRss = smallRun.maxRssKb as number;
    row(
      `peak RSS ${label} (--max-old-space-size=64)`,
      mb(bigRss),
      `${mb(bigRun.idleRssKb as number)} idle`,
      '',
      '≤ 128 MB',
      bigRss <= 128 * 1024,
    );
    row(
      `peak RSS ${label} − 100k (both 64 MB heap)`,
      mb(bigRss - smallRss),
      `${mb(smallRss)} at 100k`,
      '',
      '≤ 16 MB',
      bigRss - smallRss <= 16 * 1024,
    );
    row(
      `peak RSS ${label}, gzip (64 MB heap)`,
      mb(gzipRun.maxRssKb as number),
      '',
      '',
      '≤ 128 MB',
      (gzipRun.maxRssKb as number) <= 128 * 1024,
    );
    row(`completes under --max-old-space-size=64 (${label})`, bigRun.ok ? 'yes' : 'no', '', '', 'yes', bigRun.ok);
    row(
      'peak RSS 100k, default heap (for reference)',
      mb(smallDefault.maxRssKb as number),
      '',
      '',
      '(reference)',
      undefined,
    );
    row(
      'straightforward exporter, 100k (peak RSS)',
      mb(peerSmall.maxRssKb as number),
      `${mb(smallRss)} ours`,
      `${((peerSmall.maxRssKb as number) / smallRss).toFixed(1)}× ours`,
      '(reference)',
      undefined,
    );
    row(
      `straightforward exporter, ${label}, 64 MB heap`,
      peerBig64.ok ? `ok, ${mb(peerBig64.maxRssKb as number)}` : `fails: ${peerBig64.why ?? ''}`,
      '',
      '',
      '(reference)',
      undefined,
    );
    if (peerBig !== undefined) {
      row(
        `straightforward exporter, ${label}, 16 GB heap`,
        peerBig.ok ? `${mb(peerBig.maxRssKb as number)}, ${ms(peerBig.ms as number)}` : `fails: ${peerBig.why ?? ''}`,
        `${mb(bigRss)} ours`,
        peerBig.ok ? `${((peerBig.maxRssKb as number) / bigRss).toFixed(0)}× ours` : '',
        '(reference)',
        undefined,
      );
    }

    const boundRss = bound.vmHwmKb ?? bound.maxRssKb ?? 0;
    row(
      `memory bound: MAX_RESPONSE_BYTES (${((bound.maxResponseBytes ?? 0) / 1024 ** 3).toFixed(0)} GiB) of 117-byte records, each a new id and workflow`,
      bound.ok ? mb(boundRss) : `fails: ${bound.why ?? ''}`,
      bound.ok ? `${bound.kind} after ${ms(bound.ms ?? 0)}` : '',
      '',
      '≤ 512 MB, too_large',
      bound.ok && bound.kind === 'too_large' && boundRss <= 512 * 1024,
    );

    // Micro-benchmarks.
    console.error('aggregation, durations, percentiles, rendering …');
    const columns = toColumns(slices, bigJobs, BENCH_NOW_MS);
    // Interleaved with the baseline again, so a change in the machine's load hits both alike.
    const aggTimes: number[] = [];
    const parseAgain: number[] = [];
    for (let rep = 0; rep < 5; rep++) {
      parseAgain.push(jsonParseMs(slices));
      aggTimes.push(aggregationMs(columns, BENCH_NOW_MS, 1));
    }
    slices.length = 0;
    ratioRow(`aggregation alone, ${label} jobs (replayed records → snapshot)`, aggTimes, parseAgain, 'JSON.parse', 0.1);
    const durations = durationNs();
    row(
      'duration parsing (string)',
      `${durations.stringNs.toFixed(1)} ns`,
      `${durations.bytesNs.toFixed(1)} ns from bytes`,
      '',
      '≤ 100 ns',
      durations.stringNs <= 100,
    );
    const pct = percentileMs(BENCH_NOW_MS);
    row(
      'exact percentiles, 1M runtimes, 200 workflows (snapshot)',
      ms(pct.snapshotMs),
      `${ms(pct.sortMs)} sort (${ms(pct.selectMs)} select)`,
      '',
      '≤ 150 ms',
      pct.snapshotMs <= 150,
    );
    const r200 = await renderMs(200, BENCH_NOW_MS, 15);
    row(
      'render 200 workflows (Prometheus + datums)',
      ms(r200.ms),
      `${ms(r200.promClientMs)} prom-client`,
      `${(r200.ms / r200.promClientMs).toFixed(2)}×`,
      '≤ 20 ms',
      r200.ms <= 20,
    );
    const r10k = await renderMs(10_000, BENCH_NOW_MS, 3);
    row(
      `render 10k workflows (${(r10k.lines / 1e6).toFixed(2)}M lines, ${(r10k.datums / 1e3).toFixed(0)}k datums)`,
      ms(r10k.ms),
      `${ms(r10k.promClientMs)} prom-client`,
      `${(r10k.ms / r10k.promClientMs).toFixed(2)}×`,
      '≤ 1000 ms',
      r10k.ms <= 1000,
    );
    row(
      '  first render (fresh output memory), 200 / 10k workflows',
      `${ms(r200.firstMs)} / ${ms(r10k.firstMs)}`,
      '',
      '',
      '(reference: a cold process)',
      undefined,
    );
    const st = stateMs(1_000_000, BENCH_NOW_MS, 5);
    row(
      `finished-jobs state of 1M ids (${(st.bytes / 1e6).toFixed(1)} MB): decode / encode`,
      `${ms(st.decodeMs)} (${ms(st.decodeCpuMs)} CPU) / ${ms(st.encodeMs)}`,
      `${ms(st.parseMs)} JSON.parse`,
      `${(st.decodeMs / st.parseMs).toFixed(1)}×`,
      '≤ 1000 ms decode',
      st.decodeMs <= 1000,
    );
    await detailsRows();
  } finally {
    server.send('stop');
    server.kill();
    launcher?.disconnect();
  }

  console.error('remote write …');
  await remoteWriteRows();

  console.error('cold start …');
  const cold = await coldStart();
  row(
    '/metrics handler bundle (esbuild --minify, one file)',
    `${(cold.bytes / 1024).toFixed(0)} KB`,
    `${(cold.eagerBytes / 1024).toFixed(0)} KB run at import`,
    `${(cold.awsSdkBytes / 1024).toFixed(0)} KB AWS SDK`,
    '≤ 160 KB',
    cold.bytes <= 160 * 1024,
  );
  row(
    'importing the /metrics bundle (fresh process, loader start included)',
    ms(cold.importMs),
    `${ms(cold.emptyImportMs)} an empty module`,
    '',
    '≤ 25 ms',
    cold.importMs <= 25,
  );
  row(
    'AWS SDK off the import path (metrics, collect)',
    cold.metricsEagerSdk.length + cold.collectEagerSdk.length === 0
      ? 'yes'
      : `no: ${[...cold.metricsEagerSdk, ...cold.collectEagerSdk].join(', ')}`,
    '',
    '',
    'yes',
    cold.metricsEagerSdk.length + cold.collectEagerSdk.length === 0,
  );

  const table = printTable();
  console.log(`\n${table}\n`);
  const failed = rows.filter((r) => r.pass === false).length;
  console.log(failed === 0 ? 'every target met' : `${failed} target(s) missed`);
}

/** The extra cost of job details (bench/details.ts), for 10k jobs finished inside the window. */
async function detailsRows(): Promise<void> {
  console.error('job details, 10k finished jobs …');
  const d = await detailsBench(BENCH_NOW_MS);
  row(
    `job details, first collection: ${d.requests} requests for ${d.jobs / 1000}k finished jobs (loopback, concurrency 4)`,
    ms(d.firstMs),
    `${((d.firstMs * 1000) / d.requests).toFixed(0)} µs a request`,
    '',
    '(reference: plus the API round trips)',
    undefined,
  );
  row(
    `job details, later collections (${d.jobs / 1000}k remembered, no request)`,
    ms(d.laterMs),
    '',
    '',
    '≤ 50 ms',
    d.laterMs <= 50,
  );
  row(
    `job details: heap kept after the first collection (${d.jobs / 1000}k jobs)`,
    `${d.bytesPerJob.toFixed(0)} B a job`,
    `${mb((d.bytesPerJob * 50_000) / 1024)} at MAX_REMEMBERED_DETAILS`,
    '',
    '≤ 1 KB a job (50 MB at the bound)',
    d.bytesPerJob <= 1024,
  );
  row(
    'job details, DETAILS_MAX_REQUESTS=200: collections to catch up with 10k',
    String(d.catchUpCollections),
    '',
    '',
    '(reference)',
    undefined,
  );
}

const [role, ...args] = process.argv.slice(2);
if (role === '--serve') await serve(Number(args[0]), Number(args[1]));
else if (role === '--collect' || role === '--peer') await childRole(role, args[0] as string);
else if (role === '--bound') await boundRole(args[0] as string);
else if (role === '--launcher') launcherRole();
else if (role === '--remote-write' || role === '--details') {
  // Only the remote-write rows (bench/remote-write.ts) or the job-details rows.
  await (role === '--details' ? detailsRows() : remoteWriteRows());
  console.log(`\n${printTable()}\n`);
  process.exit(0);
} else {
  await main();
  process.exit(0);
}
