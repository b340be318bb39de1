/**
 * Reliability, hostile names and hostile clients against `serve` (the CLI binary, spawned on 127.0.0.1), the
 * attacks of issue 15 that reached /metrics:
 * - workflow names of 1 MB, 3 × 8 MB and 5 × 12 MB (an 88 MB exposition, a 2.1 GB one, a 500), and 3,000
 *   workflows with 5 KB names (the render's memory kept after the upstream is ordinary again);
 * - 3,000 clients that ask for /metrics and never read (RSS 69 MB → 941 MB);
 * - ~20,000 keep-alive sockets asking /healthz (file descriptors exhausted, /metrics unanswered).
 * RSS is read from /proc/<pid>/status of the server process (VmRSS now, VmHWM the peak since start); the
 * clients run in child processes of their own (test/support/socket-flood.mjs), so their sockets count against
 * their own descriptor limit.
 *
 * Figures go to test/.artifacts/reliability-serve.json (scripts/reliability-report.mjs).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_API_KEY, startFakeApi, type FakeApi } from './support/fake-api.js';
import { clockEnv } from './support/clock.js';
import { parseExposition } from './support/exposition.js';
import { pollUntil } from './support/ports.js';
import { startProcess, type Started } from './support/processes.js';
import { promtoolCheckMetrics } from './support/promtool.js';

const ROOT = new URL('..', import.meta.url).pathname;
const FLOOD = join(ROOT, 'test/support/socket-flood.mjs');
const MB = 1024 * 1024;

/**
 * What each attack did before the fix, for docs/reliability.md: issue 15's figures, and this suite's own run on
 * the code before (commit 3fdcb59 for the clients, same machine).
 */
const BEFORE = {
  largeRender:
    'RSS stayed ~420 MB after the upstream was ordinary again (issue 15); 301 MB here with the arena dropped but no collection',
  noRead: 'RSS 64 → 661 MB, 3,023 descriptors (issue 15: 69 → 941 MB)',
  healthzFlood: 'descriptors 20,000: the process limit (issue 15: /metrics stopped answering)',
  reconnectFlood: '3,022 descriptors, one per client: no cap',
} as const;

const figures: Record<string, unknown> = { before: BEFORE };
afterAll(() => {
  mkdirSync(new URL('./.artifacts/', import.meta.url), { recursive: true });
  writeFileSync(
    new URL('./.artifacts/reliability-serve.json', import.meta.url),
    `${JSON.stringify({ generatedAt: new Date().toISOString(), ...figures }, null, 2)}\n`,
  );
});

// ---------------------------------------------------------------------------------------------------------
// Helpers

/** VmRSS and VmHWM (peak) of a process, in MB. */
function memoryOf(pid: number): { rssMb: number; peakMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rssMb: Math.round(kb('VmRSS') / 1024), peakMb: Math.round(kb('VmHWM') / 1024) };
}

/** Open file descriptors of a process. */
const descriptorsOf = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const HOUR_MS = 3_600_000;
const uuid = (n: number, salt: number) =>
  `${salt.toString(16).padStart(8, '0')}-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

/** `count` workflows, `jobsEach` jobs each (every status), named by `name(w)`; dated from the clock. */
function jobsOf(count: number, name: (w: number) => string, jobsEach = 5): () => Iterable<object> {
  const now = Date.now();
  const statuses = ['COMPLETED', 'FAILED', 'STOPPED', 'SCHEDULED', 'IN_PROGRESS'];
  return function* () {
    for (let w = 0; w < count; w++) {
      const workflowName = name(w);
      for (let j = 0; j < jobsEach; j++) {
        const status = statuses[j % statuses.length] as string;
        yield {
          id: uuid(w * jobsEach + j, 1),
          workflow_id: uuid(w, 2),
          workflow_name: workflowName,
          status,
          created_at: new Date(now - (j + 1) * HOUR_MS).toISOString(),
          runtime: status === 'COMPLETED' || status === 'FAILED' || status === 'STOPPED' ? `PT${30 + j}S` : null,
          job_type: 'ephemeral',
        };
      }
    }
  };
}

interface Serve {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  readonly process: Started;
}

async function startServe(api: FakeApi, env: Record<string, string> = {}): Promise<Serve> {
  const started = await startProcess(
    process.execPath,
    [join(ROOT, 'bin/unstructured-jobs-exporter.mjs'), 'serve', '--port', '0', '--host', '127.0.0.1'],
    {
      env: {
        PATH: process.env.PATH ?? '',
        ...clockEnv(),
        UNSTRUCTURED_API_URL: api.url,
        UNSTRUCTURED_API_KEY: FAKE_API_KEY,
        LOG_LEVEL: 'warn',
        ...env,
      },
      ready: /listening on (http:\/\/127\.0\.0\.1:(\d+))\/metrics/,
      deadlineMs: 30_000,
    },
  );
  return {
    url: started.match[1] as string,
    port: Number(started.match[2]),
    pid: started.child.pid as number,
    process: started,
  };
}

async function scrape(
  serve: Serve,
  timeoutMs = 60_000,
): Promise<{ status: number; body: string; bytes: number; ms: number }> {
  const started = performance.now();
  const response = await fetch(`${serve.url}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
  const raw = Buffer.from(await response.arrayBuffer());
  return {
    status: response.status,
    body: raw.toString('utf8'),
    bytes: raw.length,
    ms: Math.round(performance.now() - started),
  };
}

interface FloodCounts {
  readonly opened: number;
  readonly open: number;
  readonly closedByServer: number;
  readonly answers: number;
  readonly failed: number;
}

/** A socket-flood child: its latest counts, and stop() (every socket destroyed) → the final counts. */
function flood(
  port: number,
  mode: 'keep-alive' | 'reconnect' | 'no-read',
  clients: number,
): { latest(): FloodCounts; stop(): Promise<FloodCounts> } {
  const child: ChildProcess = spawn(process.execPath, [FLOOD, String(port), mode, String(clients)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let latest: FloodCounts = { opened: 0, open: 0, closedByServer: 0, answers: 0, failed: 0 };
  let buffered = '';
  child.stdout?.on('data', (data: Buffer) => {
    buffered += data.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) if (line.trim() !== '') latest = JSON.parse(line) as FloodCounts;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    latest: () => latest,
    async stop() {
      child.stdin?.write('stop\n');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
      return latest;
    },
  };
}

// ---------------------------------------------------------------------------------------------------------

describe('hostile workflow names: /metrics stays a small, valid exposition', () => {
  let api: FakeApi;
  let serve: Serve;

  beforeAll(async () => {
    api = await startFakeApi({ jobs: [] });
    serve = await startServe(api, { CACHE_TTL: '1ms', MAX_WORKFLOWS: '3000' });
  }, 60_000);
  afterAll(async () => {
    await serve?.process.stop();
    await api?.close();
  });

  const CASES = [
    { name: 'one 1 MB name', workflows: 1, nameBytes: 1 * MB, before: 'an 88 MB exposition' },
    { name: 'three 8 MB names', workflows: 3, nameBytes: 8 * MB, before: 'a 2.1 GB response, RSS 2.15 GB' },
    {
      name: 'five 12 MB names',
      workflows: 5,
      nameBytes: 12 * MB,
      before: 'HTTP 500 internal error (The value of "size" is out of range)',
    },
  ] as const;

  it('1 MB, 3 × 8 MB and 5 × 12 MB names: 200, promtool-valid, names cut to 200 characters, RSS bounded', {
    timeout: 180_000,
  }, async () => {
    // Prepare
    await scrape(serve); // an empty list: the baseline
    const baseline = memoryOf(serve.pid);
    const results = [];

    for (const c of CASES) {
      // Act
      api.setJobs(jobsOf(c.workflows, (w) => `${String.fromCharCode(0x41 + w)}${'n'.repeat(c.nameBytes - 1)}`, 1));
      const scraped = await scrape(serve);
      const names = new Set(
        parseExposition(scraped.body).flatMap((s) =>
          s.labels.workflow_name === undefined ? [] : [s.labels.workflow_name],
        ),
      );
      const lint = promtoolCheckMetrics(scraped.body);
      results.push({
        attack: c.name,
        before: c.before,
        status: scraped.status,
        up: /^unstructured_up 1$/m.test(scraped.body),
        expositionBytes: scraped.bytes,
        longestNameChars: Math.max(...[...names].map((n) => [...n].length)),
        distinctNames: names.size,
        promtool: lint.status === 0,
        peakRssMb: memoryOf(serve.pid).peakMb,
        seconds: scraped.ms / 1000,
      });
    }
    figures.names = { baselineRssMb: baseline.rssMb, cases: results };

    // Assess
    for (const [i, r] of results.entries()) {
      const c = CASES[i] as (typeof CASES)[number];
      expect(r.status, r.attack).toBe(200);
      expect(r.up, r.attack).toBe(true);
      expect(r.promtool, r.attack).toBe(true);
      expect(r.longestNameChars, r.attack).toBe(200);
      expect(r.distinctNames, r.attack).toBe(c.workflows);
      expect(r.expositionBytes, r.attack).toBeLessThan(40_000 * c.workflows); // ~90 series of ~300 bytes a workflow
    }
    // The pull itself reads 60 MB of names: the body streams, one record (12 MB) at a time is decoded.
    expect(Math.max(...results.map((r) => r.peakRssMb))).toBeLessThan(400);
    (figures.names as Record<string, unknown>).passed = true;
  });

  it('3,000 workflows with 5 KB names, then an ordinary list: RSS shrinks back after the large render', {
    timeout: 180_000,
  }, async () => {
    // Prepare
    api.setJobs(jobsOf(3, (w) => `ordinary ${w}`));
    await scrape(serve);
    const before = memoryOf(serve.pid).rssMb;

    // Act
    api.setJobs(jobsOf(3_000, (w) => `${w} ${'x'.repeat(5 * 1024)}`));
    const large = await scrape(serve);
    const afterLarge = memoryOf(serve.pid).rssMb;
    api.setJobs(jobsOf(3, (w) => `ordinary ${w}`));
    const ordinary = [];
    for (let i = 0; i < 5; i++) ordinary.push(await scrape(serve));
    await sleep(1_000);
    const afterOrdinary = memoryOf(serve.pid).rssMb;

    // Assess
    figures.largeRender = {
      workflows: 3_000,
      expositionMb: Math.round(large.bytes / MB),
      rssBeforeMb: before,
      rssAfterLargeMb: afterLarge,
      rssAfterOrdinaryMb: afterOrdinary,
      ordinaryScrapes: ordinary.length,
    };
    expect(large.status).toBe(200);
    expect(large.body).toMatch(/^unstructured_up 1$/m);
    expect(large.bytes).toBeGreaterThan(30 * MB); // a render far larger than the ordinary ones
    for (const o of ordinary) expect(o.status).toBe(200);
    // The large arena (~1.25 × the exposition, ~114 MB here) was handed back: RSS falls by more than the exposition's
    // size. What else the large pull leaves (V8's old space, glibc's arenas) is 50–80 MB above the baseline in our
    // runs, and the baseline depends on the file's earlier tests (57–177 MB seen): the drop is the measure, and the
    // absolute bound only catches a kept arena (it would add ~114 MB more).
    expect(afterLarge - afterOrdinary).toBeGreaterThan(large.bytes / MB);
    expect(afterOrdinary).toBeLessThan(before + 120);
    (figures.largeRender as Record<string, unknown>).passed = true;
  });
});

describe('hostile clients: serve holds its limits', () => {
  let api: FakeApi;

  beforeAll(async () => {
    // 50 workflows × 5 jobs: a ~640 KB exposition, the size of the attack.
    api = await startFakeApi({ jobs: jobsOf(50, (w) => `Customer invoices ${w}`) });
  });
  afterAll(async () => {
    await api?.close();
  });

  it('3,000 clients that ask for /metrics and never read: RSS stays ≤ 300 MB, /metrics answers again as soon as they leave', {
    timeout: 180_000,
  }, async () => {
    // Prepare
    const serve = await startServe(api);
    try {
      const warm = await scrape(serve);
      const baseline = memoryOf(serve.pid);

      // Act
      const clients = flood(serve.port, 'no-read', 3_000);
      await pollUntil(
        'every client to connect or be refused',
        async () => {
          const c = clients.latest();
          return c.opened + c.failed >= 3_000 ? true : undefined;
        },
        60_000,
        100,
      );
      let rssMaxMb = 0;
      let descriptorsMax = 0;
      for (let i = 0; i < 20; i++) {
        rssMaxMb = Math.max(rssMaxMb, memoryOf(serve.pid).rssMb);
        descriptorsMax = Math.max(descriptorsMax, descriptorsOf(serve.pid));
        await sleep(100);
      }
      const duringAttack = await scrape(serve, 2_000).then(
        (r) => `HTTP ${r.status}`,
        (error: unknown) => `no answer (${error instanceof Error ? error.message : String(error)})`,
      );
      const held = clients.latest();
      const final = await clients.stop();
      const left = performance.now();
      const recovered = await pollUntil(
        '/metrics to answer 200',
        async () => ((await scrape(serve, 2_000).catch(() => undefined))?.status === 200 ? true : undefined),
        10_000,
        20,
      );
      const recoveredMs = Math.round(performance.now() - left);
      const peak = memoryOf(serve.pid);

      // Assess
      figures.noRead = {
        clients: 3_000,
        expositionKb: Math.round(warm.bytes / 1024),
        baselineRssMb: baseline.rssMb,
        rssMaxMb,
        peakRssMb: peak.peakMb,
        descriptorsMax,
        clientsConnected: held.opened,
        clientsClosedByServer: final.closedByServer,
        clientsRefusedBeforeConnect: final.failed,
        duringAttack,
        recoveredMs,
      };
      console.info(`3,000 non-reading clients: ${JSON.stringify(figures.noRead)}`);
      expect(warm.bytes).toBeGreaterThan(500 * 1024);
      expect(rssMaxMb).toBeLessThanOrEqual(300);
      expect(peak.peakMb).toBeLessThanOrEqual(300);
      expect(descriptorsMax).toBeLessThan(256 + 64); // MAX_CONNECTIONS plus the process's own
      expect(recovered).toBe(true);
      expect(recoveredMs).toBeLessThan(5_000); // a loaded 2-core machine included; the figure goes to docs/reliability.md
      (figures.noRead as Record<string, unknown>).passed = true;
    } finally {
      await serve.process.stop();
    }
  });

  /** Ten scrapes 200 ms apart while a flood runs: their outcomes, and the server's most descriptors meanwhile. */
  async function scrapesDuring(
    serve: Serve,
  ): Promise<{ scrapes: Array<{ status: number; body: string; ms: number }>; descriptorsMax: number }> {
    const scrapes = [];
    let descriptorsMax = 0;
    for (let i = 0; i < 10; i++) {
      descriptorsMax = Math.max(descriptorsMax, descriptorsOf(serve.pid));
      scrapes.push(
        await scrape(serve, 10_000).catch((error: unknown) => ({
          status: 0,
          body: String(error),
          bytes: 0,
          ms: 10_000,
        })),
      );
      await sleep(200);
    }
    return { scrapes, descriptorsMax };
  }

  const summary = (scrapes: ReadonlyArray<{ status: number; ms: number }>) => {
    const latencies = scrapes.map((s) => s.ms).sort((a, b) => a - b);
    return {
      metricsDuring: `${scrapes.filter((s) => s.status === 200).length}/${scrapes.length} answered 200`,
      metricsP50Ms: latencies[Math.floor(latencies.length / 2)],
      metricsMaxMs: latencies.at(-1),
    };
  };

  it('20,100 keep-alive sockets asking /healthz: descriptors stay under MAX_CONNECTIONS, /metrics answers during the flood', {
    timeout: 180_000,
  }, async () => {
    // Prepare: three flood processes of 6,700 sockets (each under its own descriptor limit).
    const serve = await startServe(api);
    try {
      await scrape(serve);
      const baseline = memoryOf(serve.pid);
      const floods = [0, 1, 2].map(() => flood(serve.port, 'keep-alive', 6_700));

      // Act
      await pollUntil(
        'every socket to connect or be refused',
        async () => (floods.every((f) => f.latest().opened + f.latest().failed >= 6_700) ? true : undefined),
        90_000,
        200,
      );
      const { scrapes, descriptorsMax } = await scrapesDuring(serve);
      const during = memoryOf(serve.pid);
      const counts = await Promise.all(floods.map((f) => f.stop()));
      const after = await scrape(serve);

      // Assess
      figures.healthzFlood = {
        sockets: 20_100,
        connected: counts.reduce((n, c) => n + c.opened, 0),
        refusedBeforeConnect: counts.reduce((n, c) => n + c.failed, 0),
        closedByServer: counts.reduce((n, c) => n + c.closedByServer, 0),
        healthzAnswers: counts.reduce((n, c) => n + c.answers, 0),
        descriptorsMax,
        ...summary(scrapes),
        baselineRssMb: baseline.rssMb,
        rssDuringMb: during.rssMb,
      };
      console.info(`20,100 keep-alive /healthz sockets: ${JSON.stringify(figures.healthzFlood)}`);
      expect(descriptorsMax).toBeLessThan(256 + 64); // MAX_CONNECTIONS plus the process's own
      for (const s of scrapes) {
        expect(s.status).toBe(200);
        expect(s.body).toMatch(/^unstructured_up 1$/m);
      }
      expect(after.status).toBe(200);
      (figures.healthzFlood as Record<string, unknown>).passed = true;
    } finally {
      await serve.process.stop();
    }
  });

  it('3,000 clients asking /healthz that reconnect 100 ms after they are closed: /metrics still answers', {
    timeout: 180_000,
  }, async () => {
    // Prepare
    const serve = await startServe(api);
    try {
      await scrape(serve);
      const floods = [0, 1, 2].map(() => flood(serve.port, 'reconnect', 1_000));
      await pollUntil(
        'every client to have connected once',
        async () => (floods.every((f) => f.latest().opened >= 1_000) ? true : undefined),
        60_000,
        200,
      );

      // Act
      const { scrapes, descriptorsMax } = await scrapesDuring(serve);
      const counts = await Promise.all(floods.map((f) => f.stop()));

      // Assess
      figures.reconnectFlood = {
        clients: 3_000,
        connectionsMade: counts.reduce((n, c) => n + c.opened, 0),
        closedByServer: counts.reduce((n, c) => n + c.closedByServer, 0),
        healthzAnswers: counts.reduce((n, c) => n + c.answers, 0),
        descriptorsMax,
        ...summary(scrapes),
      };
      console.info(`3,000 reconnecting /healthz clients: ${JSON.stringify(figures.reconnectFlood)}`);
      expect(descriptorsMax).toBeLessThan(256 + 64);
      for (const s of scrapes) expect(s.status).toBe(200);
      (figures.reconnectFlood as Record<string, unknown>).passed = true;
    } finally {
      await serve.process.stop();
    }
  });
});
