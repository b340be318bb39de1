import { runCli } from './support/cli.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Snapshot } from '../lib/aggregate/snapshot.js';
import {
  errorScenario,
  SAMPLE_EXPECTED,
  SAMPLE_NOW,
  sampleJobs,
  startFakeApi,
  type FakeApi,
} from './support/fake-api.js';
import { promtoolCheckMetrics } from './support/promtool.js';

describe('unstructured-jobs-exporter collect', () => {
  let api: FakeApi;
  let env: Record<string, string>;

  beforeAll(async () => {
    api = await startFakeApi({ jobs: sampleJobs() });
    env = { UNSTRUCTURED_API_URL: `${api.url}/api/v1`, UNSTRUCTURED_API_KEY: api.apiKey };
  });
  afterAll(() => api.close());

  it('prints the snapshot as JSON, reproducible with --now', async () => {
    // Act
    const { code, stdout, stderr } = await runCli(['collect', '--format', 'json', '--now', SAMPLE_NOW], env);

    // Assess
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const s = JSON.parse(stdout) as Snapshot;
    expect(s.generatedAt).toBe('2026-11-29T12:00:00.000Z');
    expect(s.jobsFetched).toBe(SAMPLE_EXPECTED.jobsFetched);
    expect(s.recordsSkipped).toEqual(SAMPLE_EXPECTED.recordsSkipped);
    expect(s.total.byStatus).toEqual(SAMPLE_EXPECTED.byStatus);
    expect(s.runtimeUnparsable).toBe(SAMPLE_EXPECTED.runtimeUnparsable);
    expect(s.workflowsSeen).toBe(SAMPLE_EXPECTED.workflowsSeen);
    expect(s.total.oldestAgeSeconds).toEqual(SAMPLE_EXPECTED.oldestAgeSeconds);
    for (const status of ['COMPLETED', 'FAILED', 'STOPPED'] as const) {
      expect(s.total.runtime[status].count).toBe(SAMPLE_EXPECTED.runtime[status].count);
      expect(s.total.runtime[status].sum).toBeCloseTo(SAMPLE_EXPECTED.runtime[status].sum, 6);
    }
    const byJobType = Object.fromEntries(
      Object.entries(s.total.jobs).map(([type, statuses]) => [
        type,
        Object.values(statuses).reduce((a, b) => a + b, 0),
      ]),
    );
    expect(byJobType).toEqual(SAMPLE_EXPECTED.byJobType);
  });

  it('honours --runtime-window for the recent percentiles', async () => {
    // Act
    const { stdout } = await runCli(
      ['collect', '--format', 'json', '--now', SAMPLE_NOW, '--runtime-window', '1h'],
      env,
    );

    // Assess: finished inside [11:00, 12:00]: j01 (11:02:30), j08 (11:40:00.5), j15 (11:02:30.123), j16 (11:02:30)
    const s = JSON.parse(stdout) as Snapshot;
    expect(s.runtimeWindowSeconds).toBe(3600);
    expect(s.total.recent.COMPLETED.count).toBe(4);
    expect(s.total.recent.COMPLETED.quantiles[4]).toBe(150);
  });

  it('prints exposition text that promtool accepts', async () => {
    // Act
    const { code, stdout } = await runCli(['collect', '--now', SAMPLE_NOW], env);

    // Assess
    expect(code).toBe(0);
    expect(stdout).toContain('unstructured_up 1');
    expect(stdout).toContain('unstructured_job_records_skipped{reason="invalid_created_at"} 1');
    expect(promtoolCheckMetrics(stdout)).toEqual({ status: 0, output: '' });
  });

  it('exits 1 with one line on stderr, naming status and detail, when the pull fails', async () => {
    // Prepare
    api.setScenario(errorScenario(401));

    // Act
    const { code, stdout, stderr } = await runCli(['collect'], env);

    // Assess
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toContain('401');
    expect(stderr).toContain('API key is missing');
    expect(stderr).not.toContain(api.apiKey);
    expect(stderr).not.toMatch(/\bat .*\.(js|mjs|ts):\d+/); // no stack trace
  });

  it('exits 2 with an error naming the variable for bad configuration', async () => {
    // Act
    const { code, stderr } = await runCli(['collect'], { ...env, MAX_WORKFLOWS: 'lots' });

    // Assess
    expect(code).toBe(2);
    expect(stderr).toBe('error: MAX_WORKFLOWS: expected a whole number, got "lots"\n');
  });

  it('exits 2 and names the flag for a bad --now', async () => {
    // Act
    const { code, stderr } = await runCli(['collect', '--now', 'yesterday'], env);

    // Assess
    expect(code).toBe(2);
    expect(stderr).toContain('--now');
  });
});
