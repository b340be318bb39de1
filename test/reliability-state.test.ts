/**
 * Reliability, impossible runtimes and the finished-jobs state (issue 15, items 2, 3 and 5), each attack as it
 * was reproduced:
 * - a runtime longer than the job's age (400 days for a job created an hour ago) through the real exporter: the
 *   window's p99 and max stay the workflow's own, the job is counted in unstructured_job_runtime_longer_than_age;
 * - impossible runtimes (`P1100000000000Y`, pydantic's `timedelta.max`) and a failed PutMetricData, against moto's
 *   S3 and CloudWatch: from a new state, and from the states version 1 wrote and then refused for ever
 *   (test/golden/events-state/): the next run works and publishes the FAILED job added meanwhile;
 * - the memory of the state: 500k and 1M remembered ids decoded in a fresh `node --expose-gc` child (heap and
 *   buffers after a full GC, decode time), and a whole `collect --sink cloudwatch --state FILE` run of the CLI
 *   binary with 500k remembered ids and the job list that made them (peak RSS, against the same run without
 *   events).
 *
 * Figures go to test/.artifacts/reliability-state.json (scripts/reliability-report.mjs).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExporter } from '../lib/exporter.js';
import { FinishedJobs } from '../lib/events/finished.js';
import { publishFinishedJobs, type FinishedJobsReport } from '../lib/events/run.js';
import { S3StateStore } from '../lib/events/s3-store.js';
import { SeenIds } from '../lib/events/seen-ids.js';
import { decodeState, encodeState } from '../lib/events/state.js';
import { Logger } from '../lib/log.js';
import { clockEnv } from './support/clock.js';
import { parseExposition } from './support/exposition.js';
import { FAKE_API_KEY, startFakeApi, type FakeApi } from './support/fake-api.js';
import {
  createBucket,
  HOUR,
  MINUTE,
  realNowMinute,
  received,
  recorder,
  s3ClientFor,
  uuid,
} from './support/finished-jobs.js';
import { cloudWatchClientFor, FAKE_CREDENTIALS, MOTO_REGION, startMoto, type RunningMoto } from './support/moto.js';

const ROOT = new URL('..', import.meta.url).pathname;
const BIN = join(ROOT, 'bin/unstructured-jobs-exporter.mjs');
const BUCKET = 'reliability-state';
const DAY = 24 * HOUR;
/** Issue 15's targets. */
const MAX_BYTES_PER_ID = 64;
const MAX_COLLECT_RSS_MB = 160;
const REMEMBERED = 500_000;

const figures: Record<string, unknown> = {};

afterAll(() => {
  mkdirSync(new URL('./.artifacts/', import.meta.url), { recursive: true });
  writeFileSync(
    new URL('./.artifacts/reliability-state.json', import.meta.url),
    `${JSON.stringify({ generatedAt: new Date().toISOString(), ...figures }, null, 2)}\n`,
  );
});

let moto: RunningMoto;
let api: FakeApi;
let s3: S3Client;
let cw: CloudWatchClient;
let dir: string;

beforeAll(async () => {
  [moto, api] = await Promise.all([startMoto(), startFakeApi()]);
  s3 = s3ClientFor(moto.endpoint);
  cw = cloudWatchClientFor(moto.endpoint);
  await createBucket(s3, BUCKET);
  mkdirSync(join(ROOT, '.tmp'), { recursive: true });
  dir = mkdtempSync(join(ROOT, '.tmp', 'reliability-state-'));
}, 30_000);

afterAll(async () => {
  await api?.close();
  await moto?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

const WORKFLOW = { id: 'aa0c1a52-7b1e-4c1d-9a3e-00000000000a', name: 'Ingest invoices' };

function record(id: string, status: string, runtime: string | null, createdAtMs: number): Record<string, unknown> {
  return {
    id,
    workflow_id: WORKFLOW.id,
    workflow_name: WORKFLOW.name,
    status,
    created_at: new Date(createdAtMs).toISOString(),
    runtime,
    job_type: 'ephemeral',
  };
}

// ---------------------------------------------------------------------------------------------------------

describe('a runtime longer than the job’s age', () => {
  it('leaves the window’s p99 and max to the workflow’s real runtimes, and counts the job apart', async () => {
    // Prepare: 1,000 COMPLETED jobs of one workflow finished within the last day, runtimes 10 s … 11,000 s
    // (p99 ~10,900 s), and one created an hour ago that says it ran 400 days (P1Y35D: 34,560,000 s)
    const nowMs = realNowMinute();
    const jobs = Array.from({ length: 1_000 }, (_, i) => {
      const runtime = 10 + i * 11;
      return record(uuid(i, 'a1'), 'COMPLETED', `PT${runtime}S`, nowMs - (i % 20) * HOUR - runtime * 1000 - MINUTE);
    });
    const impossible = [
      record(uuid(1, 'bb'), 'COMPLETED', 'P1Y35D', nowMs - HOUR),
      record(uuid(2, 'bb'), 'COMPLETED', 'P1100000000000Y', nowMs - HOUR),
      record(uuid(3, 'bb'), 'FAILED', 'P2739726Y9DT23H59M59.999999S', nowMs - HOUR),
    ];
    api.setJobs([...jobs, ...impossible]);
    const exporter = createExporter({
      env: { UNSTRUCTURED_API_URL: api.url, UNSTRUCTURED_API_KEY: FAKE_API_KEY, RUNTIME_WINDOW: '24h' },
      logger: new Logger({ level: 'error', write: () => undefined }),
      now: () => nowMs,
    });

    // Act
    const response = await exporter.app.handle({ method: 'GET', path: '/metrics', headers: {} });
    const samples = parseExposition(response.body.toString('utf8'));
    const one = (name: string, labels: Record<string, string> = {}) =>
      samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    const completed = { workflow_id: WORKFLOW.id, status: 'COMPLETED' };

    // Assess
    const p99 = one('unstructured_job_runtime_recent_seconds', { ...completed, quantile: '0.99' }) as number;
    const max = one('unstructured_job_runtime_recent_seconds', { ...completed, quantile: '1' }) as number;
    figures.longerThanAge = {
      jobs: jobs.length,
      impossible: impossible.length,
      p99Seconds: p99,
      maxSeconds: max,
      gauge: one('unstructured_job_runtime_longer_than_age'),
      histogramCount: one('unstructured_job_runtime_seconds_count', completed),
    };
    expect(p99).toBeCloseTo(10 + 989.01 * 11, 6); // numpy.quantile of 10, 21, …, 11,000 at 0.99
    expect(max).toBe(10 + 999 * 11);
    expect(one('unstructured_job_runtime_longer_than_age')).toBe(3);
    expect(one('unstructured_job_runtime_unparsable')).toBe(0);
    expect(one('unstructured_jobs', { ...completed, job_type: 'ephemeral' })).toBe(1_002); // still counted
    expect(one('unstructured_job_runtime_seconds_count', completed)).toBe(1_000);
    (figures.longerThanAge as Record<string, unknown>).passed = true;
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('a state an impossible runtime cannot poison', () => {
  const exporter = () =>
    createExporter({
      env: { UNSTRUCTURED_API_URL: api.url, UNSTRUCTURED_API_KEY: FAKE_API_KEY },
      logger: new Logger({ level: 'error', write: () => undefined }),
    });

  /** One scheduled run's events step, through the real collector, with the state in moto's S3. */
  async function run(
    key: string,
    nowMs: number,
    client: ReturnType<ReturnType<typeof recorder>['client']>,
  ): Promise<FinishedJobsReport> {
    const finished = new FinishedJobs({ nowMs, retentionSeconds: 7 * 86_400 });
    const collection = await exporter().collectNow({ nowMs, onJob: finished.add });
    return publishFinishedJobs(finished, collection, {
      store: new S3StateStore({ bucket: BUCKET, key, client: s3 }),
      namespace: `State/${key}`,
      backfillSeconds: 3_600,
      client,
    });
  }

  const rows: { start: string; outcome: string; passed: boolean }[] = [];
  figures.poisoning = rows;

  it.each([
    ['a new state', undefined, []],
    ['the state version 1 wrote after publishing a P1100000000000Y runtime', 'state-v1-poisoned-seen.json', []],
    // That state also holds an ordinary COMPLETED job (120 s) whose request failed: it is published too.
    [
      'the state version 1 wrote after a timedelta.max runtime and a failed PutMetricData',
      'state-v1-poisoned-pending.json',
      [120],
    ],
  ])(
    'from %s: impossible runtimes and a failed PutMetricData, then the next run publishes the FAILED job',
    async (start, golden, pendingBefore) => {
      // Prepare: the golden states were written at 2026-12-06T12:00Z: they are rewritten at the test's own time
      const key = `poison-${rows.length}.json`;
      const t0 = realNowMinute(30 * MINUTE);
      if (golden !== undefined) {
        const shift = t0 - Date.UTC(2026, 11, 6, 12, 0, 0);
        const text = readFileSync(new URL(`./golden/events-state/${golden}`, import.meta.url), 'utf8').replace(
          /("(?:createdAtMs|updatedAtMs|finishedAtMs)":)(\d+)/g,
          (m, k: string, v: string) => (Number(v) > 1e15 ? m : `${k}${Number(v) + shift}`),
        );
        await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: text }));
      }
      const rec = recorder(cw);
      const poison = [
        record(uuid(1, 'cc'), 'COMPLETED', 'P1100000000000Y', t0 - HOUR),
        record(uuid(2, 'cc'), 'COMPLETED', 'P2739726Y9DT23H59M59.999999S', t0 - HOUR),
        record(uuid(3, 'cc'), 'STOPPED', 'P400D', t0 - HOUR),
      ];
      const ordinary = record(uuid(4, 'cc'), 'COMPLETED', 'PT2M', t0 - 10 * MINUTE);
      const failed = record(uuid(5, 'cc'), 'FAILED', 'PT30S', t0 + 2 * MINUTE);
      let outcome = '';

      try {
        // Act: one run whose PutMetricData fails, then the FAILED job appears and two more runs go through
        api.setJobs([...poison, ordinary]);
        const failing = await run(key, t0, rec.client({ fail: () => true }));
        api.setJobs([...poison, ordinary, failed]);
        const next = await run(key, t0 + 5 * MINUTE, rec.client());
        const after = await run(key, t0 + 10 * MINUTE, rec.client());
        outcome = `${failing.outcome} (released ${failing.released}) → ${next.outcome} (published ${next.published}) → ${after.outcome}`;

        // Assess
        const sent = received(rec.accepted, `State/${key}`);
        expect(Object.fromEntries([...sent.finishedByStatus].filter(([, n]) => n > 0))).toEqual({
          COMPLETED: 1 + pendingBefore.length,
          FAILED: 1,
        });
        expect(sent.runtimesByStatus.get('COMPLETED')).toEqual([...pendingBefore, 120]);
        expect(sent.runtimesByStatus.get('FAILED')).toEqual([30]);
        expect(after.outcome).toBe('nothing-new');
        const stored = decodeState(
          await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToString(),
          key,
        );
        expect(stored).toMatchObject({ version: 3, discarded: 0, pending: [] });
        expect(stored.seen.has(uuid(5, 'cc'))).toBe(true);
        rows.push({ start, outcome, passed: true });
      } catch (error) {
        rows.push({ start, outcome: outcome || String(error).split('\n')[0]!, passed: false });
        throw error;
      }
    },
  );
});

// ---------------------------------------------------------------------------------------------------------

/** A state of `n` UUIDs whose jobs finished over the 7 days before `nowMs`, newest first; the ids as `idOf(i)`. */
function stateText(n: number, nowMs: number, idOf: (i: number) => string, finishOf: (i: number) => number): string {
  const seen = new SeenIds(n);
  for (let i = 0; i < n; i++) seen.add(idOf(i), finishOf(i));
  return encodeState({ createdAtMs: nowMs - 7 * DAY, updatedAtMs: nowMs, seen, pending: [] });
}

/** Runs a bundled script in a fresh `node --expose-gc`; its last stdout line is JSON. */
async function child(script: string, name: string, env: Record<string, string>): Promise<Record<string, number>> {
  const out = join(dir, `${name}.mjs`);
  await build({
    stdin: { contents: script, resolveDir: ROOT, sourcefile: `${name}.ts`, loader: 'ts' },
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
  });
  let stdout = '';
  let stderr = '';
  const code = await new Promise<number | null>((resolve, reject) => {
    const proc = spawn(process.execPath, ['--expose-gc', out], {
      env: { PATH: process.env.PATH ?? '', ...clockEnv(), ...env },
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const killer = setTimeout(() => proc.kill('SIGKILL'), 120_000);
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    proc.once('error', reject);
    proc.once('exit', (c) => {
      clearTimeout(killer);
      resolve(c);
    });
  });
  expect(code, stderr).toBe(0);
  return JSON.parse(stdout.trim().split('\n').at(-1) as string) as Record<string, number>;
}

const DECODE_SCRIPT = `
  import { readFileSync } from 'node:fs';
  import { decodeState, encodeState } from './lib/events/state.js';
  const gc = globalThis.gc;
  const settle = () => { for (let i = 0; i < 4; i++) gc(); };
  // Its bytes, as the stores read it (decodeState never makes the whole of it a string).
  const bytes = readFileSync(process.env.STATE_FILE);
  settle();
  const before = process.memoryUsage();
  const started = performance.now();
  const cpu = process.cpuUsage();
  const state = decodeState(bytes, process.env.STATE_FILE);
  const decodeMs = performance.now() - started;
  const { user, system } = process.cpuUsage(cpu);
  settle();
  const after = process.memoryUsage();
  const encodeStarted = performance.now();
  const again = encodeState(state);
  const encodeMs = performance.now() - encodeStarted;
  const probe = state.seen.has(process.env.PROBE_ID);
  process.stdout.write(JSON.stringify({
    ids: state.seen.size,
    textBytes: bytes.length,
    decodeMs,
    decodeCpuMs: (user + system) / 1000,
    encodeMs,
    sameText: again === bytes.toString('utf8') ? 1 : 0,
    probe: probe ? 1 : 0,
    heapGrowth: after.heapUsed - before.heapUsed,
    externalGrowth: after.external - before.external,
    rssGrowth: after.rss - before.rss,
    maxRssKb: process.resourceUsage().maxRSS,
  }) + '\\n');
`;

describe('memory of the finished-jobs state', () => {
  it.each([500_000, 1_000_000])(
    'decodes %i remembered ids in a fresh process within 64 bytes an id',
    { timeout: 120_000 },
    async (n) => {
      // Prepare
      const nowMs = realNowMinute();
      const file = join(dir, `state-${n}.json`);
      const idOf = (i: number) => uuid(i, '5e');
      writeFileSync(
        file,
        stateText(n, nowMs, idOf, (i) => nowMs - Math.floor((i * 7 * DAY) / n)),
      );

      // Act
      const r = await child(DECODE_SCRIPT, `decode-${n}`, { STATE_FILE: file, PROBE_ID: idOf(n - 1) });

      // Assess
      const bytesPerId = (r.heapGrowth! + r.externalGrowth!) / n;
      const row = {
        ids: n,
        stateMb: Math.round(r.textBytes! / 1e5) / 10,
        decodeSeconds: Math.round(r.decodeMs!) / 1000,
        decodeCpuSeconds: Math.round(r.decodeCpuMs!) / 1000,
        encodeSeconds: Math.round(r.encodeMs!) / 1000,
        bytesPerId: Math.round(bytesPerId * 10) / 10,
        heapAndBuffersMb: Math.round((r.heapGrowth! + r.externalGrowth!) / 1e5) / 10,
        peakRssMb: Math.round(r.maxRssKb! / 1e2) / 10,
        passed: false,
      };
      figures.decode = [...((figures.decode as object[] | undefined) ?? []), row];
      console.info(`state of ${n} ids: ${JSON.stringify(row)}`);
      expect(r.ids).toBe(n);
      expect(r.probe).toBe(1);
      expect(r.sameText).toBe(1);
      expect(bytesPerId).toBeLessThanOrEqual(MAX_BYTES_PER_ID);
      // The decode time (wall and CPU) is a figure here; its target, ≤ 1 s a million ids, is the bench's
      // (npm run bench: speed is measured there, on a quiet machine, not in a suite that shares two cores).
      row.passed = true;
    },
  );

  /** Peak RSS of `collect --sink cloudwatch` (the CLI binary), with and without `--state FILE`, listing `list`. */
  async function collectRuns(nowMs: number, list: () => Iterable<object>, state: string) {
    // Peak RSS as the kernel counts it, written by the CLI process itself as it exits.
    const preload = join(dir, 'max-rss.cjs');
    writeFileSync(
      preload,
      "process.on('exit', () => require('node:fs').writeSync(2, '\\nMAX_RSS_KB ' + process.resourceUsage().maxRSS + '\\n'));\n",
    );
    const env = {
      AWS_ENDPOINT_URL: moto.endpoint,
      AWS_REGION: MOTO_REGION,
      AWS_ACCESS_KEY_ID: FAKE_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: FAKE_CREDENTIALS.secretAccessKey,
      AWS_DISABLE_REQUEST_COMPRESSION: 'true',
      AWS_EC2_METADATA_DISABLED: 'true',
      UNSTRUCTURED_API_URL: api.url,
      UNSTRUCTURED_API_KEY: FAKE_API_KEY,
      CLOUDWATCH_NAMESPACE: 'State/Collect',
      PULL_DEADLINE: '120s',
      REQUEST_TIMEOUT: '60s',
      NODE_OPTIONS: `--require ${preload}`,
    };
    const cli = async (args: string[]) => {
      api.setJobs(list);
      let stdout = '';
      let stderr = '';
      const code = await new Promise<number | null>((resolve, reject) => {
        const proc = spawn(
          process.execPath,
          [BIN, 'collect', '--sink', 'cloudwatch', '--now', new Date(nowMs).toISOString(), ...args],
          {
            env: { PATH: process.env.PATH ?? '', ...clockEnv(), ...env },
            stdio: ['ignore', 'pipe', 'pipe'],
          },
        );
        const killer = setTimeout(() => proc.kill('SIGKILL'), 200_000);
        proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        proc.once('error', reject);
        proc.once('exit', (c) => {
          clearTimeout(killer);
          resolve(c);
        });
      });
      expect(code, stderr).toBe(0);
      const kb = Number(/MAX_RSS_KB (\d+)/.exec(stderr)?.[1]);
      expect(kb, stderr).toBeGreaterThan(0);
      return { summary: JSON.parse(stdout) as { events?: Record<string, unknown> }, rssMb: kb / 1024 };
    };
    // In a checkout the bin rebuilds a stale bundle in-process: done here first, so that no measured run builds.
    await new Promise((resolve) => spawn(process.execPath, [BIN, '--help'], { stdio: 'ignore' }).once('exit', resolve));
    const without = await cli([]);
    const withState = await cli(['--state', state]);
    return { withoutMb: without.rssMb, withMb: withState.rssMb, events: withState.summary.events };
  }

  const NEW = 50;
  const runtimeOf = (i: number) => 30 + (i % 3_600);
  /**
   * 500k jobs that finished over the last week (what the state remembers: the oldest 2 hours inside the 7-day
   * retention, so that none is forgotten whatever the minute of the hour) and NEW that finished since the last run.
   */
  function week(nowMs: number) {
    const idOf = (i: number) => uuid(i, '7c');
    const finishOf = (i: number) => nowMs - 10 * MINUTE - Math.floor((i * (7 * DAY - 2 * HOUR)) / REMEMBERED);
    const fresh = (): object[] =>
      Array.from({ length: NEW }, (_, i) =>
        record(
          uuid(i, '9d'),
          i % 10 === 0 ? 'FAILED' : 'COMPLETED',
          `PT${runtimeOf(i)}S`,
          nowMs - 5 * MINUTE - runtimeOf(i) * 1000,
        ),
      );
    function* remembered(): Iterable<object> {
      for (let i = 0; i < REMEMBERED; i++) {
        const status = i % 10 === 0 ? 'FAILED' : 'COMPLETED';
        yield {
          ...record(idOf(i), status, `PT${runtimeOf(i)}S`, finishOf(i) - runtimeOf(i) * 1000),
          workflow_id: `6b1f0c52-3f7e-4d3a-9a51-1f0c2e6d9a${String(i % 20).padStart(2, '0')}`,
        };
      }
    }
    return { idOf, finishOf, fresh, remembered };
  }

  it.each([
    // As issue 15 measured it (494 MB before): the state remembers 500k jobs, the list shows the new ones.
    ['500,000 remembered ids, the API listing the new jobs only', 'new', MAX_COLLECT_RSS_MB],
    // Every remembered job still listed as well: the pull of 500k jobs costs ~85 MB by itself (the run without
    // events); the state, read before the pull, keeps the pull from holding the jobs it has seen.
    ['500,000 remembered ids, the API listing every remembered job too', 'all', MAX_COLLECT_RSS_MB],
    // No state yet, the same list: the first run records the 500k jobs older than EVENTS_BACKFILL (1 h) and
    // publishes the newer ones, writing the state the runs above start from.
    ['no state yet (the first run), the API listing the same 500,050 jobs', 'first', MAX_COLLECT_RSS_MB],
  ] as const)(
    'a collect run with %s stays within its bound of RSS',
    { timeout: 240_000 },
    async (_what, kind, boundMb) => {
      // Prepare
      const nowMs = realNowMinute(5 * MINUTE);
      const w = week(nowMs);
      const all = kind !== 'new';
      const list = all
        ? function* (): Iterable<object> {
            yield* w.fresh();
            yield* w.remembered();
          }
        : w.fresh;
      const state = join(dir, `collect-state-${kind}.json`);
      if (kind !== 'first') writeFileSync(state, stateText(REMEMBERED, nowMs, w.idOf, w.finishOf));
      const stateBytes = kind === 'first' ? 0 : Buffer.byteLength(readFileSync(state));

      // Act
      const r = await collectRuns(nowMs, list, state);

      // Assess
      const row = {
        listed: all ? REMEMBERED + NEW : NEW,
        remembered: kind === 'first' ? 0 : REMEMBERED,
        firstRun: kind === 'first',
        stateMb: Math.round((kind === 'first' ? Number(r.events?.stateBytes) : stateBytes) / 1e5) / 10,
        peakRssWithoutEventsMb: Math.round(r.withoutMb),
        peakRssMb: Math.round(r.withMb),
        boundMb,
        passed: false,
      };
      figures.collect = [...((figures.collect as object[] | undefined) ?? []), row];
      console.info(`collect run (${kind}): ${JSON.stringify(row)}`);
      if (kind === 'first') {
        const e = r.events as { newJobs: number; published: number; recordedUnpublished: number };
        expect(r.events).toMatchObject({ outcome: 'published', firstRun: true, seen: REMEMBERED + NEW });
        expect(e.published).toBe(e.newJobs);
        expect(e.newJobs).toBeGreaterThanOrEqual(NEW); // the new ones, and the remembered ones of the last hour
        expect(e.newJobs + e.recordedUnpublished).toBe(REMEMBERED + NEW);
      } else {
        expect(r.events).toMatchObject({ outcome: 'published', newJobs: NEW, published: NEW, seen: REMEMBERED + NEW });
      }
      expect(r.withMb).toBeLessThanOrEqual(boundMb);
      row.passed = true;
    },
  );
});
