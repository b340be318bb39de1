/**
 * Reliability, memory bounds: what one pull may cost, whatever the upstream sends. Each case runs one
 * collection in a FRESH child process (the exporter's own collect(), bundled) against a body served from this
 * process, and reads the child's peak RSS (VmHWM, which, unlike ru_maxrss, does not carry over from the
 * parent) and what it collected:
 * - 100,000 jobs over 100,000 workflows (all but MAX_WORKFLOWS folded): exact counts, bounded peak RSS;
 * - 100,000 jobs over 55,000 workflows, five of them busy: the same, with busy and one-job workflows mixed;
 * - an endless stream of new workflows, and one of 256-character non-UUID ids: both end at MAX_RESPONSE_BYTES
 *   (its default, 1 GiB) as `too_large`, memory flat up to there;
 * - one 40 MiB record among valid ones: skipped as `too_large`, the others counted, never buffered whole.
 *
 * Figures go to test/.artifacts/reliability-memory.json (scripts/reliability-report.mjs).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_RESPONSE_BYTES } from '../lib/config.js';
import { clockEnv } from './support/clock.js';

const ROOT = new URL('..', import.meta.url).pathname;
const KEY = 'memory-key-5f0c2a9e7b3d';
const NOW_MS = Date.now();
const MB = 1024 * 1024;

const figures: Record<string, unknown> = { maxResponseBytes: DEFAULT_MAX_RESPONSE_BYTES };
let dir: string;
let child: string;

beforeAll(async () => {
  mkdirSync(join(ROOT, '.tmp'), { recursive: true });
  dir = mkdtempSync(join(ROOT, '.tmp', 'reliability-memory-'));
  child = join(dir, 'memory-child.mjs');
  // One collection as the exporter makes it; prints what it collected and its peak RSS.
  const script = `
    import { readFileSync } from 'node:fs';
    import { collect } from './lib/collector.js';
    import { loadConfig } from './lib/config.js';
    import { Logger } from './lib/log.js';
    import { SecretSource } from './lib/secrets.js';
    const vmHwmKb = () => Number(/VmHWM:\\s+(\\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))[1]);
    const idleKb = vmHwmKb();
    const started = performance.now();
    const c = await collect(
      {
        config: loadConfig(process.env),
        apiKey: new SecretSource({ variable: 'UNSTRUCTURED_API_KEY', direct: process.env.UNSTRUCTURED_API_KEY, param: undefined }),
        logger: new Logger({ level: 'error', write: () => undefined }),
      },
      { nowMs: Number(process.env.NOW_MS) },
    );
    const seconds = (performance.now() - started) / 1000;
    const s = c.ok ? c.snapshot : undefined;
    const out = c.ok
      ? {
          ok: true,
          jobsFetched: s.jobsFetched,
          workflowsSeen: s.workflowsSeen,
          recordsSkipped: s.recordsSkipped,
          total: { byStatus: s.total.byStatus, runtimeCount: s.total.runtime.COMPLETED.count, recentCount: s.total.recent.COMPLETED.count },
          workflows: s.workflows.map((w) => ({ id: w.id, name: w.name, workflowCount: w.workflowCount, byStatus: w.byStatus, runtimeCount: w.runtime.COMPLETED.count, recentCount: w.recent.COMPLETED.count, p50: w.recent.COMPLETED.quantiles[0] })),
        }
      : { ok: false, errorKind: c.errorKind, errorMessage: c.errorMessage };
    process.stdout.write(JSON.stringify({ ...out, seconds, idleKb, vmHwmKb: vmHwmKb() }) + '\\n');
    process.exit(0);
  `;
  await build({
    stdin: { contents: script, resolveDir: ROOT, sourcefile: 'memory-child.ts', loader: 'ts' },
    outfile: child,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    define: { __EXPORTER_VERSION__: '"memory"' },
    logLevel: 'warning',
  });
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(new URL('./.artifacts/', import.meta.url), { recursive: true });
  writeFileSync(
    new URL('./.artifacts/reliability-memory.json', import.meta.url),
    `${JSON.stringify({ generatedAt: new Date().toISOString(), ...figures }, null, 2)}\n`,
  );
});

// ---------------------------------------------------------------------------------------------------------
// Bodies: chunks of records made from a template, counters written in place (1 GiB in a few seconds)

/**
 * A record template: `{…}` with runs of `#` where the record's number goes and runs of `@` where its
 * workflow's number goes (in hex, zero-padded to the run's length).
 */
class Template {
  readonly bytes: Buffer;
  readonly #runs: [start: number, length: number, workflow: boolean][] = [];

  constructor(text: string) {
    this.bytes = Buffer.from(text);
    for (const m of text.matchAll(/#+|@+/g)) this.#runs.push([m.index, m[0].length, m[0][0] === '@']);
  }

  /** Writes record `n` of workflow `w` at `at` in `out`. */
  write(out: Buffer, at: number, n: number, w: number): void {
    this.bytes.copy(out, at);
    for (const [start, length, workflow] of this.#runs) {
      let v = workflow ? w : n;
      for (let k = length - 1; k >= 0; k--) {
        out[at + start + k] = HEX[v & 15] as number;
        v = Math.floor(v / 16);
      }
    }
  }
}
const HEX = Buffer.from('0123456789abcdef');

/** What record n is: its template and its workflow's number. */
type Pick = (n: number) => readonly [Template, number];

/** The records [0, count) as chunks of about 256 KiB: `[`, the records joined by `,`, `]`. Endless when count is Infinity. */
function* records(pick: Pick, count: number): Generator<Buffer> {
  const size = 256 * 1024;
  let out = Buffer.allocUnsafe(size + 4096);
  let at = 0;
  out[at++] = 0x5b;
  for (let n = 0; n < count; n++) {
    const [t, w] = pick(n);
    if (at + t.bytes.length + 1 > out.length) {
      yield out.subarray(0, at);
      out = Buffer.allocUnsafe(Math.max(size, t.bytes.length) + 4096);
      at = 0;
    }
    if (n > 0) out[at++] = 0x2c;
    t.write(out, at, n, w);
    at += t.bytes.length;
  }
  out[at++] = 0x5d;
  yield out.subarray(0, at);
}

const iso = (ms: number) => new Date(ms).toISOString();
const STATUSES = ['COMPLETED', 'FAILED', 'IN_PROGRESS', 'SCHEDULED', 'STOPPED'] as const;
const OUTPUT =
  '"input_file_ids":["9b2d6f4e-1c3a-4e5b-8d7f-0a1b2c3d4e50"],"output_node_files":[{"node_id":"n1a2b3c4-5d6e-7f8a-9b0c-1d2e3f4a5b6c","file_id":"output.json","node_type":"destination","node_subtype":"s3"}],"job_type":"ephemeral"';

/**
 * A job as the API writes it (~400 bytes): id and workflow id UUIDs carrying counters, the status given, an
 * hour old, a runtime when finished.
 */
function jobTemplate(status: (typeof STATUSES)[number]): Template {
  const runtime = status === 'COMPLETED' || status === 'FAILED' || status === 'STOPPED' ? '"PT2M30.456S"' : 'null';
  return new Template(
    `{"id":"00000000-0000-4000-8000-############","workflow_id":"10000000-0000-4000-8000-@@@@@@@@@@@@","workflow_name":"Workflow @@@@@@@@@@@@","status":"${status}","created_at":"${iso(NOW_MS - 3_600_000)}","runtime":${runtime},${OUTPUT}}`,
  );
}
const JOB_TEMPLATES = STATUSES.map(jobTemplate);

// ---------------------------------------------------------------------------------------------------------
// The server and the child

interface Served {
  readonly url: string;
  /** Body bytes written so far. */
  sent(): number;
  close(): Promise<void>;
}

/** Serves `body()` (a fresh iterator per request) as the job list, respecting backpressure; stops when the client goes. */
async function serve(body: () => Iterator<Buffer>): Promise<Served> {
  let sent = 0;
  const server: Server = createServer((req, res) => {
    if (req.headers['unstructured-api-key'] !== KEY) return void res.writeHead(401).end();
    // The workflow list (issue 17) is empty here: these cases measure the job list's pull alone.
    if (req.url?.startsWith('/api/v1/workflows/'))
      return void res.writeHead(200, { 'content-type': 'application/json' }).end('[]');
    res.writeHead(200, { 'content-type': 'application/json' });
    const chunks = body();
    let gone = false;
    res.on('close', () => (gone = true));
    const pump = () => {
      while (!gone) {
        const next = chunks.next();
        if (next.done === true) return void res.end();
        sent += next.value.length;
        if (!res.write(next.value)) return void res.once('drain', pump);
      }
    };
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    sent: () => sent,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

interface ChildWorkflow {
  readonly id: string;
  readonly name: string;
  readonly workflowCount: number;
  readonly byStatus: Record<string, number>;
  readonly runtimeCount: number;
  readonly recentCount: number;
  readonly p50: number | undefined;
}
interface ChildResult {
  readonly ok: boolean;
  readonly errorKind?: string;
  readonly errorMessage?: string;
  readonly jobsFetched?: number;
  readonly workflowsSeen?: number;
  readonly recordsSkipped?: Record<string, number>;
  readonly total?: { byStatus: Record<string, number>; runtimeCount: number; recentCount: number };
  readonly workflows?: ChildWorkflow[];
  readonly seconds: number;
  readonly idleKb: number;
  readonly vmHwmKb: number;
}

/** One collection in a fresh process against `url`, with the default settings but `env`. */
function collectInChild(url: string, env: Record<string, string> = {}): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [child], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        ...clockEnv(),
        UNSTRUCTURED_API_URL: url,
        UNSTRUCTURED_API_KEY: KEY,
        NOW_MS: String(NOW_MS),
        PULL_DEADLINE: '600s',
        REQUEST_TIMEOUT: '60s',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    const killer = setTimeout(() => proc.kill('SIGKILL'), 170_000);
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    proc.once('error', reject);
    proc.once('exit', (code, signal) => {
      clearTimeout(killer);
      const line = out.trim().split('\n').pop() ?? '';
      if (code === 0 && line.startsWith('{')) resolve(JSON.parse(line) as ChildResult);
      else reject(new Error(`the child ended with ${code ?? signal}: ${err}`));
    });
  });
}

const round1 = (x: number) => Math.round(x * 10) / 10;
const mb = (kb: number) => round1(kb / 1024);
const hex12 = (n: number) => n.toString(16).padStart(12, '0');
const workflowId = (w: number) => `10000000-0000-4000-8000-${hex12(w)}`;
const NO_JOBS = { SCHEDULED: 0, IN_PROGRESS: 0, COMPLETED: 0, STOPPED: 0, FAILED: 0 };

// ---------------------------------------------------------------------------------------------------------

describe('memory per distinct workflow is small and fixed, counts exact', () => {
  it('100,000 jobs over 100,000 workflows: peak RSS ≤ 200 MB, the 50 exported and the folded rest exact', {
    timeout: 180_000,
  }, async () => {
    // Prepare: job n in workflow n (its own), statuses in turn.
    const JOBS = 100_000;
    const api = await serve(() => records((n) => [JOB_TEMPLATES[n % 5] as Template, n], JOBS));

    // Act
    const r = await collectInChild(api.url).finally(() => api.close());

    // Assess: the 50 exported are the smallest ids (one job each, ties broken by id), each exact; the rest holds
    // the other 99,950 workflows, exact.
    figures.workflows100k = {
      jobs: JOBS,
      workflows: JOBS,
      bodyMb: mb(api.sent() / 1024),
      peakRssMb: mb(r.vmHwmKb),
      idleRssMb: mb(r.idleKb),
      seconds: round1(r.seconds),
    };
    expect(r.ok, r.errorMessage).toBe(true);
    expect(r.jobsFetched).toBe(JOBS);
    expect(r.workflowsSeen).toBe(JOBS);
    expect(r.total?.byStatus).toEqual({
      SCHEDULED: 20_000,
      IN_PROGRESS: 20_000,
      COMPLETED: 20_000,
      STOPPED: 20_000,
      FAILED: 20_000,
    });
    const exported = r.workflows?.slice(0, 50) ?? [];
    expect(exported.map((w) => w.id)).toEqual(Array.from({ length: 50 }, (_, n) => workflowId(n)));
    exported.forEach((w, n) => {
      expect(w.byStatus).toEqual({ ...NO_JOBS, [STATUSES[n % 5] as string]: 1 });
      expect(w.name).toBe(`Workflow ${hex12(n)}`);
    });
    const rest = r.workflows?.[50];
    expect(rest).toMatchObject({
      id: 'other',
      workflowCount: JOBS - 50,
      byStatus: { SCHEDULED: 19_990, IN_PROGRESS: 19_990, COMPLETED: 19_990, STOPPED: 19_990, FAILED: 19_990 },
    });
    expect(rest?.runtimeCount).toBe(19_990);
    expect(rest?.recentCount).toBe(19_990);
    expect(rest?.p50).toBe(150.456);
    expect(r.workflows).toHaveLength(51);
    expect(mb(r.vmHwmKb)).toBeLessThanOrEqual(200);
    (figures.workflows100k as Record<string, unknown>).passed = true;
  });

  it('100,000 jobs over 50,005 workflows, five busy: the five and the 45 smallest others exported, all exact', {
    timeout: 180_000,
  }, async () => {
    // Prepare: jobs 0–49,999 in five busy workflows (job n in workflow n mod 5: 10,000 jobs of one status
    // each); job 50,000 + k alone in workflow 5 + k.
    const JOBS = 100_000;
    const api = await serve(() =>
      records((n) => [JOB_TEMPLATES[n % 5] as Template, n < 50_000 ? n % 5 : n - 49_995], JOBS),
    );

    // Act
    const r = await collectInChild(api.url).finally(() => api.close());

    // Assess
    figures.workflows50k = {
      jobs: JOBS,
      workflows: 50_005,
      bodyMb: mb(api.sent() / 1024),
      peakRssMb: mb(r.vmHwmKb),
      seconds: round1(r.seconds),
    };
    expect(r.ok, r.errorMessage).toBe(true);
    expect(r.jobsFetched).toBe(JOBS);
    expect(r.workflowsSeen).toBe(50_005);
    const exported = r.workflows?.slice(0, 50) ?? [];
    expect(exported.map((w) => w.id)).toEqual(Array.from({ length: 50 }, (_, w) => workflowId(w)));
    exported.forEach((w, i) => {
      const status = STATUSES[i % 5] as string;
      expect(w.byStatus).toEqual({ ...NO_JOBS, [status]: i < 5 ? 10_000 : 1 });
      if (status === 'COMPLETED') expect(w.recentCount).toBe(i < 5 ? 10_000 : 1);
    });
    expect(r.workflows?.[50]).toMatchObject({
      id: 'other',
      workflowCount: 49_955,
      byStatus: { SCHEDULED: 9_991, IN_PROGRESS: 9_991, COMPLETED: 9_991, STOPPED: 9_991, FAILED: 9_991 },
    });
    expect(mb(r.vmHwmKb)).toBeLessThanOrEqual(200);
    (figures.workflows50k as Record<string, unknown>).passed = true;
  });
});

describe('a response that never ends stops at MAX_RESPONSE_BYTES, with memory flat up to there', () => {
  it('an endless stream of new workflows: too_large at 1 GiB', { timeout: 180_000 }, async () => {
    // Prepare: every job in a workflow of its own, without end.
    const api = await serve(() => records((n) => [JOB_TEMPLATES[n % 5] as Template, n], Number.POSITIVE_INFINITY));

    // Act
    const r = await collectInChild(api.url).finally(() => api.close());

    // Assess
    figures.endlessWorkflows = {
      recordBytes: (JOB_TEMPLATES[0] as Template).bytes.length,
      sentMb: round1(api.sent() / MB),
      peakRssMb: mb(r.vmHwmKb),
      seconds: round1(r.seconds),
      errorKind: r.errorKind,
      message: r.errorMessage,
    };
    expect(r.ok).toBe(false);
    expect(r.errorKind).toBe('too_large');
    expect(r.errorMessage).toContain(`passed MAX_RESPONSE_BYTES (${DEFAULT_MAX_RESPONSE_BYTES} bytes)`);
    expect(mb(r.vmHwmKb)).toBeLessThanOrEqual(300);
    (figures.endlessWorkflows as Record<string, unknown>).passed = true;
  });

  it('an endless stream of 256-character ids (not UUIDs): too_large at 1 GiB', { timeout: 180_000 }, async () => {
    // Prepare: ids of 256 characters, each its own, in 20 workflows.
    const id = `job-${'x'.repeat(240)}############`;
    const templates = STATUSES.map((status) => {
      const runtime = status === 'COMPLETED' || status === 'FAILED' || status === 'STOPPED' ? '"PT2M30.456S"' : 'null';
      return new Template(
        `{"id":"${id}","workflow_id":"10000000-0000-4000-8000-@@@@@@@@@@@@","workflow_name":"Workflow @@@@@@@@@@@@","status":"${status}","created_at":"${iso(NOW_MS - 3_600_000)}","runtime":${runtime},${OUTPUT}}`,
      );
    });
    const api = await serve(() => records((n) => [templates[n % 5] as Template, n % 20], Number.POSITIVE_INFINITY));

    // Act
    const r = await collectInChild(api.url).finally(() => api.close());

    // Assess
    figures.endlessLongIds = {
      idLength: id.length,
      recordBytes: (templates[0] as Template).bytes.length,
      sentMb: round1(api.sent() / MB),
      peakRssMb: mb(r.vmHwmKb),
      seconds: round1(r.seconds),
      errorKind: r.errorKind,
    };
    expect(id.length).toBe(256);
    expect(r.ok).toBe(false);
    expect(r.errorKind).toBe('too_large');
    expect(mb(r.vmHwmKb)).toBeLessThanOrEqual(200);
    (figures.endlessLongIds as Record<string, unknown>).passed = true;
  });
});

describe('an element over the 16 MiB element limit', () => {
  it('is skipped as too_large and passed over without being held; every other record counts', {
    timeout: 120_000,
  }, async () => {
    // Prepare: 20,000 jobs, a 40 MiB record, 20,000 more.
    const JOBS = 40_000;
    const hugeBytes = 40 * MB;
    const huge = new Template(
      `{"id":"huge","workflow_id":"10000000-0000-4000-8000-000000000000","output_node_files":"${'o'.repeat(hugeBytes)}"}`,
    );
    const api = await serve(() =>
      records((n) => (n === JOBS / 2 ? [huge, 0] : [JOB_TEMPLATES[n % 5] as Template, n % 7]), JOBS + 1),
    );

    // Act
    const r = await collectInChild(api.url).finally(() => api.close());

    // Assess
    figures.tooLargeElement = {
      elementMb: round1(huge.bytes.length / MB),
      bodyMb: round1(api.sent() / MB),
      peakRssMb: mb(r.vmHwmKb),
      seconds: round1(r.seconds),
      skipped: r.recordsSkipped?.too_large,
    };
    expect(r.ok, r.errorMessage).toBe(true);
    expect(r.jobsFetched).toBe(JOBS + 1);
    expect(r.recordsSkipped).toMatchObject({ too_large: 1, duplicate_id: 0, invalid_id: 0 });
    expect(r.total?.byStatus).toEqual({
      SCHEDULED: 8_000,
      IN_PROGRESS: 8_000,
      COMPLETED: 8_000,
      STOPPED: 8_000,
      FAILED: 8_000,
    });
    expect(r.workflowsSeen).toBe(7);
    // Held at most the 16 MiB limit of it (plus the carry buffer's doubling), never its 40 MiB.
    expect(mb(r.vmHwmKb)).toBeLessThanOrEqual(150);
    (figures.tooLargeElement as Record<string, unknown>).passed = true;
  });
});
