import { runCli } from './support/cli.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorScenario, sampleJobsAt, startFakeApi, type FakeApi } from './support/fake-api.js';
import {
  cloudWatchClientFor,
  FAKE_CREDENTIALS,
  listMetrics,
  MOTO_REGION,
  startMoto,
  type RunningMoto,
} from './support/moto.js';

describe('collect --sink cloudwatch', () => {
  let api: FakeApi;
  let moto: RunningMoto;
  let env: Record<string, string>;

  beforeAll(async () => {
    // Dated around the CLI's clock, not pinned with --now: datums carry the collection's "now" as their timestamp,
    // and CloudWatch takes none older than two weeks.
    [api, moto] = await Promise.all([startFakeApi({ jobs: sampleJobsAt(Date.now()) }), startMoto()]);
    // The SDK's standard environment, as a user's shell or CI would set it.
    env = {
      UNSTRUCTURED_API_URL: api.url,
      UNSTRUCTURED_API_KEY: api.apiKey,
      AWS_REGION: MOTO_REGION,
      AWS_ACCESS_KEY_ID: FAKE_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: FAKE_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL: moto.endpoint,
      AWS_DISABLE_REQUEST_COMPRESSION: 'true', // moto cannot read gzipped bodies
    };
  }, 30_000);
  afterAll(async () => {
    await api?.close();
    await moto?.stop();
  });

  it('publishes one collection with the same code as the Lambda', async () => {
    // Act
    const { code, stdout, stderr } = await runCli(['collect', '--sink', 'cloudwatch'], {
      ...env,
      CLOUDWATCH_NAMESPACE: 'Cli/Ok',
    });

    // Assess
    expect(stderr).not.toContain('error'); // (the SDK may warn that its 2027 releases need Node 22)
    expect(code).toBe(0);
    const summary = JSON.parse(stdout) as { published: number; datums: number; collectorUp: boolean };
    expect(summary.collectorUp).toBe(true);
    expect(summary.published).toBe(summary.datums);
    const names = new Set((await listMetrics(cloudWatchClientFor(moto.endpoint), 'Cli/Ok')).map((m) => m.MetricName));
    expect([...names].sort()).toEqual(
      expect.arrayContaining([
        'CollectorUp',
        'Jobs',
        'JobsFetched',
        'OldestJobAge',
        'RecentJobRuntimeP95',
        'RecordsSkipped',
      ]),
    );
  });

  it('publishes CollectorUp 0 and exits 1 when the pull fails', async () => {
    // Prepare
    api.setScenario(errorScenario(401));

    // Act
    const { code, stderr } = await runCli(['collect', '--sink', 'cloudwatch'], {
      ...env,
      CLOUDWATCH_NAMESPACE: 'Cli/Down',
    });

    // Assess
    expect(code).toBe(1);
    expect(stderr).toContain('published CollectorUp 0');
    const names = (await listMetrics(cloudWatchClientFor(moto.endpoint), 'Cli/Down')).map((m) => m.MetricName);
    expect(names).toContain('CollectorUp');
    expect(names).not.toContain('Jobs');
  });
});
