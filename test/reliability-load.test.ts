/**
 * Reliability, scrape load: 50 concurrent scrapes cost ONE upstream pull (single flight + CACHE_TTL), on the real
 * local server (the CLI binary, spawned) and on the metrics Lambda handler (in-process, cold module); after the TTL
 * the next burst costs exactly one more. Memory stays flat over 1,000 scrapes, each with its own pull (a child
 * `node --expose-gc` runs the bundled exporter so heapUsed can be read after a full GC).
 *
 * Figures go to test/.artifacts/reliability-load.json (scripts/reliability-report.mjs).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { FAKE_API_KEY, sampleJobs, startFakeApi, type FakeApi } from './support/fake-api.js';
import { clockEnv } from './support/clock.js';
import { startProcess, type Started } from './support/processes.js';

const ROOT = new URL('..', import.meta.url).pathname;
const CONCURRENT = 50;
const CACHE_TTL_MS = 2_000;
const RECORDS = 2_000;
const MEMORY_SCRAPES = 1_000;

/** A list big enough that the pull takes a while, so the 50 scrapes really overlap it. */
function* jobs(): Iterable<object> {
  for (let i = 0; i < RECORDS; i++) {
    yield {
      id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      workflow_id: `6b1f0c52-3f7e-4d3a-9a51-1f0c2e6d9a${String(i % 20).padStart(2, '0')}`,
      workflow_name: `Workflow ${i % 20}`,
      status: ['COMPLETED', 'FAILED', 'IN_PROGRESS', 'SCHEDULED', 'STOPPED'][i % 5],
      created_at: new Date(Date.now() - (i % 3_600) * 1000).toISOString(),
      runtime: i % 5 < 2 || i % 5 === 4 ? `PT${i % 600}S` : null,
      job_type: 'ephemeral',
    };
  }
}

interface Burst {
  upstreamPulls: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}
const figures: Record<string, unknown> = { concurrent: CONCURRENT, cacheTtlMs: CACHE_TTL_MS, records: RECORDS };

afterAll(() => {
  mkdirSync(new URL('./.artifacts/', import.meta.url), { recursive: true });
  writeFileSync(
    new URL('./.artifacts/reliability-load.json', import.meta.url),
    `${JSON.stringify({ generatedAt: new Date().toISOString(), ...figures }, null, 2)}\n`,
  );
});

/** Nearest-rank percentile of latencies (ms). */
function percentile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

/** Runs `n` calls at once; returns their results and latencies. */
async function burst<T>(n: number, call: () => Promise<T>): Promise<{ results: T[]; latencies: number[] }> {
  const latencies: number[] = [];
  const results = await Promise.all(
    Array.from({ length: n }, async () => {
      const started = performance.now();
      const result = await call();
      latencies.push(performance.now() - started);
      return result;
    }),
  );
  return { results, latencies: latencies.sort((a, b) => a - b) };
}

function summarize(latencies: readonly number[], upstreamPulls: number): Burst {
  const round = (x: number) => Math.round(x * 10) / 10;
  return {
    upstreamPulls,
    p50Ms: round(percentile(latencies, 0.5)),
    p99Ms: round(percentile(latencies, 0.99)),
    maxMs: round(latencies.at(-1) as number),
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Pulls of the job list (each finished job's details are one request more: lib/details/stage.ts). */
const listPulls = (fake: { requests: readonly { path: string }[] }) =>
  fake.requests.filter((r) => !/\/(details|failed-files)$/.test(r.path)).length;

describe('50 concurrent scrapes share one upstream pull', () => {
  let api: FakeApi;
  let server: Started | undefined;

  beforeAll(async () => {
    api = await startFakeApi({ jobs });
  });

  afterAll(async () => {
    await server?.stop();
    await api?.close();
  });

  it('on the local server (the CLI binary): one pull per burst, one more after the TTL', async () => {
    // Prepare
    server = await startProcess(
      process.execPath,
      [join(ROOT, 'bin/unstructured-jobs-exporter.mjs'), 'serve', '--port', '0', '--host', '127.0.0.1'],
      {
        env: {
          PATH: process.env.PATH ?? '',
          ...clockEnv(),
          UNSTRUCTURED_API_URL: api.url,
          UNSTRUCTURED_API_KEY: FAKE_API_KEY,
          CACHE_TTL: `${CACHE_TTL_MS}ms`,
          LOG_LEVEL: 'warn',
        },
        ready: /listening on (http:\/\/127\.0\.0\.1:\d+)\/metrics/,
        deadlineMs: 30_000,
      },
    );
    const url = `${server.match[1]}/metrics`;
    api.requests.length = 0;
    const scrape = async () => {
      const response = await fetch(url, {
        headers: {
          accept: 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5',
          'accept-encoding': 'gzip',
        },
      });
      return { status: response.status, body: await response.text() };
    };

    // Act
    const first = await burst(CONCURRENT, scrape);
    const afterFirst = listPulls(api);
    await sleep(CACHE_TTL_MS + 300);
    const second = await burst(CONCURRENT, scrape);
    const afterSecond = listPulls(api);
    const single = await burst(1, scrape); // one scrape of the cached collection: the cost of rendering alone

    // Assess
    figures.localServer = {
      first: summarize(first.latencies, afterFirst),
      second: summarize(second.latencies, afterSecond - afterFirst),
      cachedSingleMs: summarize(single.latencies, 0).maxMs,
    };
    expect(listPulls(api)).toBe(2);
    expect(afterFirst).toBe(1);
    expect(afterSecond).toBe(2);
    for (const { results } of [first, second]) {
      expect(results.map((r) => r.status)).toEqual(Array(CONCURRENT).fill(200));
      // One collection served to all: identical bodies, the real numbers.
      expect(new Set(results.map((r) => r.body)).size).toBe(1);
      expect(results[0]?.body).toMatch(/^unstructured_up 1$/m);
      expect(results[0]?.body).toMatch(new RegExp(`^unstructured_jobs_fetched ${RECORDS}$`, 'm'));
    }
    expect(first.results[0]?.body).not.toBe(second.results[0]?.body); // a new collection after the TTL
    (figures.localServer as Record<string, unknown>).passed = true;
  });

  it('on the metrics Lambda handler (function-URL events, in-process): one pull per burst', async () => {
    // Prepare
    api.requests.length = 0;
    const env: Record<string, string> = {
      UNSTRUCTURED_API_URL: api.url,
      UNSTRUCTURED_API_KEY: FAKE_API_KEY,
      CACHE_TTL: `${CACHE_TTL_MS}ms`,
      LOG_LEVEL: 'error',
    };
    const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
    vi.resetModules();
    const { handler } = await import('../functions/metrics.js');
    const event = (): APIGatewayProxyEventV2 => ({
      version: '2.0',
      routeKey: '$default',
      rawPath: '/metrics',
      rawQueryString: '',
      headers: { 'accept-encoding': 'gzip', 'user-agent': 'Prometheus/3.0' },
      requestContext: {
        accountId: 'anonymous',
        apiId: 'load',
        domainName: 'load.lambda-url.us-east-1.on.aws',
        domainPrefix: 'load',
        http: {
          method: 'GET',
          path: '/metrics',
          protocol: 'HTTP/1.1',
          sourceIp: '127.0.0.1',
          userAgent: 'Prometheus/3.0',
        },
        requestId: 'load',
        routeKey: '$default',
        stage: '$default',
        time: new Date().toUTCString(),
        timeEpoch: Date.now(),
      },
      isBase64Encoded: false,
    });
    let first: { results: APIGatewayProxyStructuredResultV2[]; latencies: number[] };
    Object.assign(process.env, env);
    try {
      // Act: the first call creates the exporter from process.env (a cold start), the others share it.
      first = await burst(CONCURRENT, () => handler(event()));
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
    const afterFirst = listPulls(api);
    await sleep(CACHE_TTL_MS + 300);
    const second = await burst(CONCURRENT, () => handler(event()));
    const afterSecond = listPulls(api);
    const single = await burst(1, () => handler(event()));

    // Assess
    figures.lambda = {
      first: summarize(first.latencies, afterFirst),
      second: summarize(second.latencies, afterSecond - afterFirst),
      cachedSingleMs: summarize(single.latencies, 0).maxMs,
    };
    expect(listPulls(api)).toBe(2);
    expect(afterFirst).toBe(1);
    expect(afterSecond).toBe(2);
    for (const { results } of [first, second]) {
      expect(results.map((r) => r.statusCode)).toEqual(Array(CONCURRENT).fill(200));
      expect(results.every((r) => r.isBase64Encoded)).toBe(true); // gzip, as the scraper asked
      expect(new Set(results.map((r) => r.body)).size).toBe(1);
    }
    (figures.lambda as Record<string, unknown>).passed = true;
  });
});

describe('memory over 1,000 scrapes', () => {
  it('stays flat: heapUsed after GC grows < 5 MB between scrape 100 and scrape 1,000', {
    timeout: 180_000,
  }, async () => {
    // Prepare: the exporter and the local server bundled into a child that can call gc().
    const api = await startFakeApi({ jobs: sampleJobs() });
    mkdirSync(join(ROOT, '.tmp'), { recursive: true });
    const dir = mkdtempSync(join(ROOT, '.tmp', 'reliability-load-'));
    const script = `
      import { createExporter } from './lib/exporter.js';
      import { Logger } from './lib/log.js';
      import { startServer } from './lib/outputs/http/server.js';
      const gc = globalThis.gc;
      if (typeof gc !== 'function') throw new Error('run with --expose-gc');
      const logger = new Logger({ level: 'error' });
      const exporter = createExporter({
        env: { UNSTRUCTURED_API_URL: process.env.API_URL, UNSTRUCTURED_API_KEY: process.env.API_KEY, CACHE_TTL: '1ms' },
        logger,
      });
      const server = await startServer(exporter.app, { port: 0, host: '127.0.0.1', logger });
      const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
      const heapAfterGc = async () => {
        for (let i = 0; i < 4; i++) { gc(); await sleep(5); }
        return process.memoryUsage().heapUsed;
      };
      const heap = {};
      const started = performance.now();
      for (let i = 1; i <= ${MEMORY_SCRAPES}; i++) {
        const response = await fetch(server.url + '/metrics', { headers: { 'accept-encoding': 'gzip' } });
        const body = await response.text();
        if (response.status !== 200 || !/^unstructured_up 1$/m.test(body)) throw new Error('scrape ' + i + ' failed: ' + body.slice(0, 300));
        await sleep(2); // past CACHE_TTL: every scrape pulls
        if (i === 100 || i === ${MEMORY_SCRAPES}) heap[i] = await heapAfterGc();
      }
      const seconds = (performance.now() - started) / 1000;
      await server.close();
      process.stdout.write(JSON.stringify({ heap, seconds, rss: process.memoryUsage().rss }) + '\\n');
      process.exit(0);
    `;
    await build({
      stdin: { contents: script, resolveDir: ROOT, sourcefile: 'load-child.ts', loader: 'ts' },
      outfile: join(dir, 'load-child.mjs'),
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      define: { __EXPORTER_VERSION__: '"load"' },
      logLevel: 'warning',
    });

    // Act
    let out = '';
    let err = '';
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(process.execPath, ['--expose-gc', join(dir, 'load-child.mjs')], {
        env: { PATH: process.env.PATH ?? '', ...clockEnv(), API_URL: api.url, API_KEY: FAKE_API_KEY },
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const killer = setTimeout(() => child.kill('SIGKILL'), 150_000);
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.once('error', reject);
      child.once('exit', (exitCode) => {
        clearTimeout(killer);
        resolve(exitCode);
      });
    }).finally(async () => {
      await api.close();
      rmSync(dir, { recursive: true, force: true });
    });

    // Assess
    expect(code, err).toBe(0);
    const result = JSON.parse(out.trim()) as { heap: Record<string, number>; seconds: number; rss: number };
    const at100 = result.heap['100'] as number;
    const at1000 = result.heap[String(MEMORY_SCRAPES)] as number;
    const growthMb = (at1000 - at100) / 1e6;
    figures.memory = {
      scrapes: MEMORY_SCRAPES,
      upstreamPulls: listPulls(api),
      heapAt100Mb: Math.round(at100 / 1e5) / 10,
      heapAt1000Mb: Math.round(at1000 / 1e5) / 10,
      growthMb: Math.round(growthMb * 100) / 100,
      rssMb: Math.round(result.rss / 1e6),
      seconds: Math.round(result.seconds * 10) / 10,
    };
    console.info(`memory over ${MEMORY_SCRAPES} scrapes: ${JSON.stringify(figures.memory)}`);
    expect(listPulls(api)).toBe(MEMORY_SCRAPES); // every scrape made its own pull
    expect(growthMb).toBeLessThan(5);
    (figures.memory as Record<string, unknown>).passed = true;
  });
});
