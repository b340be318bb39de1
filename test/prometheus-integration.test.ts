/**
 * A real Prometheus (Debian package) scrapes the local server and, separately, the Lambda handler behind
 * an HTTP adapter, both with the bearer token; its query API must return the values of a known job list.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clockEnv } from './support/clock.js';
import { SAMPLE_EXPECTED, SAMPLE_WORKFLOWS, sampleJobsAt, startFakeApi, type FakeApi } from './support/fake-api.js';
import { startProcess, type Started } from './support/processes.js';
import { startPrometheus, type RunningPrometheus } from './support/prometheus.js';
import { promtoolCheckMetrics } from './support/promtool.js';
import { shownWorkflowName } from '../lib/common/text.js';

const TOKEN = 'integration-token-5f0c9e1a';
const ROOT = new URL('..', import.meta.url).pathname;

describe('a real Prometheus scrapes the exporter', () => {
  let api: FakeApi;
  let local: Started;
  let lambda: Started;
  let prometheus: RunningPrometheus;
  let localAddress: string;
  let bundleDir: string;

  beforeAll(async () => {
    // The servers run on their own clock (the test's: clockEnv): move the sample so that its "now" is the start of this test.
    api = await startFakeApi({ jobs: sampleJobsAt(Date.now()) });
    const env = {
      PATH: process.env.PATH ?? '',
      ...clockEnv(),
      UNSTRUCTURED_API_URL: api.url,
      UNSTRUCTURED_API_KEY: api.apiKey,
      METRICS_TOKEN: TOKEN,
      CACHE_TTL: '1s',
    };
    local = await startProcess(
      process.execPath,
      [join(ROOT, 'bin/unstructured-jobs-exporter.mjs'), 'serve', '--port', '0', '--host', '127.0.0.1'],
      {
        env,
        ready: /listening on http:\/\/(127\.0\.0\.1:\d+)\/metrics/,
      },
    );
    localAddress = local.match[1] as string;

    // The Lambda handler, bundled as serverless-esbuild would, loaded fresh in its own process.
    bundleDir = mkdtempSync(join(tmpdir(), 'uje-lambda-'));
    await build({
      entryPoints: [join(ROOT, 'functions/metrics.ts')],
      outfile: join(bundleDir, 'metrics.mjs'),
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      define: { __EXPORTER_VERSION__: '"integration"' },
      banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
      logLevel: 'warning',
    });
    lambda = await startProcess(
      process.execPath,
      [join(ROOT, 'test/support/lambda-http-adapter.mjs'), join(bundleDir, 'metrics.mjs'), 'handler'],
      {
        env,
        ready: /listening (\d+)/,
      },
    );

    prometheus = await startPrometheus([
      { job: 'local', address: localAddress, bearerToken: TOKEN },
      { job: 'lambda', address: `127.0.0.1:${lambda.match[1]}`, bearerToken: TOKEN },
    ]);
  }, 60_000);

  afterAll(async () => {
    await prometheus?.stop();
    await Promise.all([local?.stop(), lambda?.stop()]);
    await api?.close();
    if (bundleDir) rmSync(bundleDir, { recursive: true, force: true });
  });

  it.each(['local', 'lambda'])('%s: up, and the job counts by status of the known list', async (job) => {
    // Act
    const up = await prometheus.waitFor(`unstructured_up{job="${job}"} == 1`);
    const byStatus = await prometheus.query(`sum by (status) (unstructured_jobs{job="${job}"})`);

    // Assess
    expect(up).toHaveLength(1);
    const counts = Object.fromEntries(byStatus.map((r) => [r.metric.status, Number(r.value[1])]));
    expect(counts).toEqual(SAMPLE_EXPECTED.byStatus);
  });

  it.each(['local', 'lambda'])('%s: skipped records, fetched count, histogram and ages', async (job) => {
    // Prepare
    await prometheus.waitFor(`unstructured_up{job="${job}"} == 1`);

    // Act
    const skipped = await prometheus.query(`unstructured_job_records_skipped{job="${job}"} > 0`);
    const fetched = await prometheus.query(`unstructured_jobs_fetched{job="${job}"}`);
    const runtimeCount = await prometheus.query(
      `sum by (status) (unstructured_job_runtime_seconds_count{job="${job}"})`,
    );
    const inf = await prometheus.query(`sum(unstructured_job_runtime_seconds_bucket{job="${job}",le="+Inf"})`);
    const perWorkflow = await prometheus.query(`sum by (workflow_id, workflow_name) (unstructured_jobs{job="${job}"})`);
    const oldest = await prometheus.query(`max by (status) (unstructured_job_oldest_age_seconds{job="${job}"})`);

    // Assess
    expect(Object.fromEntries(skipped.map((r) => [r.metric.reason, Number(r.value[1])]))).toEqual({
      invalid_id: 1,
      invalid_status: 1,
      invalid_created_at: 1,
    });
    expect(Number(fetched[0]?.value[1])).toBe(SAMPLE_EXPECTED.jobsFetched);
    expect(Object.fromEntries(runtimeCount.map((r) => [r.metric.status, Number(r.value[1])]))).toEqual({
      COMPLETED: 7,
      FAILED: 2,
      STOPPED: 1,
    });
    expect(Number(inf[0]?.value[1])).toBe(10);
    // hostile names survive the round trip through the exposition format and Prometheus' parser
    const names = Object.fromEntries(perWorkflow.map((r) => [r.metric.workflow_id, r.metric.workflow_name]));
    for (const wf of Object.values(SAMPLE_WORKFLOWS)) expect(names[wf.id]).toBe(shownWorkflowName(wf.name)); // the 2,000-character name cut to 200
    // ages run on the servers' clock: the sample's ages plus the seconds this test has been running
    const ages = Object.fromEntries(oldest.map((r) => [r.metric.status, Number(r.value[1])]));
    for (const status of ['SCHEDULED', 'IN_PROGRESS'] as const) {
      expect(ages[status]).toBeGreaterThanOrEqual(SAMPLE_EXPECTED.oldestAgeSeconds[status]);
      expect(ages[status]).toBeLessThan(SAMPLE_EXPECTED.oldestAgeSeconds[status] + 120);
    }
  });

  it('histogram_quantile works on the runtime histogram', async () => {
    // Prepare
    await prometheus.waitFor('unstructured_up{job="local"} == 1');

    // Act: FAILED runtimes are 0.5 s and 3723.46 s → the median lies in the first bucket (≤ 1 s)
    const q = await prometheus.query(
      'histogram_quantile(0.5, sum by (le) (unstructured_job_runtime_seconds_bucket{job="local",status="FAILED"}))',
    );

    // Assess
    expect(Number(q[0]?.value[1])).toBeLessThanOrEqual(1);
  });

  it('the scraped exposition passes promtool, and the token is required', async () => {
    // Act
    const withToken = await fetch(`http://${localAddress}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const body = await withToken.text();
    const without = await fetch(`http://${localAddress}/metrics`);
    const lambdaWithout = await fetch(`http://127.0.0.1:${lambda.match[1]}/metrics`);

    // Assess
    expect(promtoolCheckMetrics(body)).toEqual({ status: 0, output: '' });
    expect(without.status).toBe(401);
    expect(lambdaWithout.status).toBe(401);
    expect(local.output()).not.toContain(TOKEN);
    expect(local.output()).not.toContain(api.apiKey);
  });
});
