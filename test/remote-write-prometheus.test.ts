/**
 * Remote write into a real Prometheus (Debian's, with --web.enable-remote-write-receiver): the series pushed must be
 * identical in names, labels and values to what the same Prometheus reads by scraping /metrics of the same
 * collection. Then `collect --sink remote-write` (the CLI as a user runs it) against the same receiver, compared
 * with `collect` printing the exposition of a pull at the same --now.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Collection } from '../lib/collection.js';
import { createExporter } from '../lib/exporter.js';
import { Logger } from '../lib/log.js';
import { ExporterApp } from '../lib/outputs/http/app.js';
import { type RunningServer, startServer } from '../lib/outputs/http/server.js';
import { remoteWriteOutput } from '../lib/outputs/remote-write/output.js';
import { loadRemoteWriteSettings, type RemoteWriteSettings } from '../lib/outputs/remote-write/settings.js';
import { runCli } from './support/cli.js';
import { parseExposition } from './support/exposition.js';
import { type FakeApi, sampleJobsAt, startFakeApi } from './support/fake-api.js';
import { type RunningPrometheus, startPrometheus } from './support/prometheus.js';

const VERSION = '9.9.9-remote-write';
const quiet = () => new Logger({ level: 'error', write: () => undefined });

type Vector = Array<{ metric: Record<string, string>; value: [number, string] }>;

/** An instant query evaluated at `atSeconds` (a pushed sample carries the collection's time, not Prometheus' own). */
async function queryAt(prometheus: RunningPrometheus, expr: string, atSeconds: number): Promise<Vector> {
  const res = await fetch(
    `${prometheus.url}/api/v1/query?query=${encodeURIComponent(expr)}&time=${atSeconds.toFixed(3)}`,
  );
  const body = (await res.json()) as { status: string; error?: string; data?: { result: Vector } };
  if (body.status !== 'success') throw new Error(`query ${expr} failed: ${body.error}`);
  return body.data?.result ?? [];
}

/** Each series as `name{labels but job and instance}` → its value as Prometheus prints it. */
function byIdentity(vector: Vector): Map<string, string> {
  const out = new Map<string, string>();
  for (const { metric, value } of vector) {
    const { job: _job, instance: _instance, ...labels } = metric;
    const key = JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)));
    expect(out.has(key)).toBe(false);
    out.set(key, value[1]);
  }
  return out;
}

describe('remote write into a real Prometheus', () => {
  let api: FakeApi;
  let prometheus: RunningPrometheus;
  let server: RunningServer;
  let collection: Collection;
  let apiNowMs: number;

  beforeAll(async () => {
    apiNowMs = Date.now();
    api = await startFakeApi({ jobs: sampleJobsAt(apiNowMs) });
    const exporter = createExporter({
      env: { UNSTRUCTURED_API_URL: api.url, UNSTRUCTURED_API_KEY: api.apiKey },
      logger: quiet(),
    });
    collection = await exporter.collectNow();
    // /metrics of exactly this collection, as the exporter serves it.
    const app = new ExporterApp({ version: VERSION, collection: async () => collection, token: async () => undefined });
    server = await startServer(app, { port: 0, host: '127.0.0.1', logger: quiet() });
    prometheus = await startPrometheus([{ job: 'scraped', address: new URL(server.url).host }], '', [
      '--web.enable-remote-write-receiver',
    ]);
  });

  afterAll(async () => {
    await prometheus?.stop();
    await server?.close();
    await api?.close();
  });

  it('gives series identical in names, labels and values to a scrape of the same collection', async () => {
    // Prepare: what Prometheus read by scraping /metrics (taken before the push: under libfaketime the pushed
    // samples are far in Prometheus' future, and its later scrapes would then be out of bounds)
    expect(collection.ok).toBe(true);
    await prometheus.waitFor('unstructured_up{job="scraped"}');
    const scraped = byIdentity(await prometheus.query('{job="scraped", __name__=~"unstructured_.+"}'));
    const settings = loadRemoteWriteSettings({
      REMOTE_WRITE_URL: `${prometheus.url}/api/v1/write`,
      REMOTE_WRITE_JOB: 'pushed',
      REMOTE_WRITE_INSTANCE: 'rw-test',
    }) as RemoteWriteSettings;
    const output = remoteWriteOutput({ settings, logger: quiet(), version: VERSION });

    // Act
    const report = await output.publish(collection);

    // Assess
    expect(report.problem).toBeUndefined();
    const pushedVector = await queryAt(prometheus, '{job="pushed"}', collection.finishedAtMs / 1000);
    const pushed = byIdentity(pushedVector);
    expect(pushedVector.every((s) => s.metric.instance === 'rw-test')).toBe(true);
    expect(pushed.size).toBeGreaterThan(100);
    expect(pushed.size).toBe((report.summary.remoteWrite as { series: number }).series);
    expect([...pushed.entries()].sort()).toEqual([...scraped.entries()].sort());
  });

  it('`collect --sink remote-write` pushes what `collect` prints for the same pull', async () => {
    // Prepare
    const now = new Date(apiNowMs).toISOString();
    const env = { UNSTRUCTURED_API_URL: api.url, UNSTRUCTURED_API_KEY: api.apiKey };
    const printed = await runCli(['collect', '--now', now], env);
    expect(printed.code).toBe(0);

    // Act
    const pushedRun = await runCli(['collect', '--sink', 'remote-write', '--now', now], {
      ...env,
      REMOTE_WRITE_URL: `${prometheus.url}/api/v1/write`,
      REMOTE_WRITE_JOB: 'cli',
    });

    // Assess
    expect(pushedRun.stderr).toBe('');
    expect(pushedRun.code).toBe(0);
    const line = JSON.parse(pushedRun.stdout) as { remoteWrite: { series: number; delivered: number } };
    const expected = parseExposition(printed.stdout);
    expect(line.remoteWrite).toMatchObject({ series: expected.length, delivered: expected.length });
    const at = Date.now() / 1000; // the CLI's samples are at most seconds old (the test's clock is the CLI's)
    const pushed = byIdentity(await queryAt(prometheus, '{job="cli"}', at));
    // Two pulls: the same numbers but for how long each took and when it finished.
    const timing = new Set(['unstructured_scrape_duration_seconds', 'unstructured_collection_timestamp_seconds']);
    const want = new Map<string, string>();
    for (const s of expected) {
      const labels = Object.entries({ __name__: s.name, ...s.labels }).sort(([a], [b]) => (a < b ? -1 : 1));
      const value = Number.isNaN(s.value) ? 'NaN' : String(s.value);
      want.set(JSON.stringify(labels), timing.has(s.name) ? 'timing' : value);
    }
    for (const key of pushed.keys()) if (want.get(key) === 'timing') pushed.set(key, 'timing');
    expect([...pushed.entries()].sort()).toEqual([...want.entries()].sort());
  });
});
