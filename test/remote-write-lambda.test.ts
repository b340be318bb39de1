/**
 * The scheduled Lambda (functions/collect.ts) with REMOTE_WRITE_URL set: CloudWatch (moto) and remote write (a test
 * receiver) from the same pull; a failure of either never stops the other, and each is reported (its own error log
 * line; the invocation throws once both have run).
 */
import type { ScheduledEvent } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type FakeApi, sampleJobsAt, startFakeApi } from './support/fake-api.js';
import {
  cloudWatchClientFor,
  FAKE_CREDENTIALS,
  listMetrics,
  MOTO_REGION,
  type RunningMoto,
  startMoto,
} from './support/moto.js';
import { freePort } from './support/ports.js';
import { type Receiver, startReceiver } from './support/remote-write-receiver.js';

let moto: RunningMoto;
let api: FakeApi;
/** Requests of the job list (job details, issue 16, are requested beside it). */
const listRequests = (): number => api.requests.filter((r) => !/\/(details|failed-files)$/.test(r.path)).length;
let receiver: Receiver;

beforeAll(async () => {
  [moto, api] = await Promise.all([startMoto(), startFakeApi({ jobs: sampleJobsAt(Date.now()) })]);
}, 30_000);
afterAll(async () => {
  await api?.close();
  await moto?.stop();
});
beforeEach(async () => {
  receiver = await startReceiver();
});
afterEach(async () => {
  vi.unstubAllEnvs();
  await receiver.close();
});

const EVENT = { id: 'c0ffee00-1f2a-4b3c-8d4e-5f6a7b8c9d0e' } as ScheduledEvent;

/** A fresh container (module state reset) with this environment. */
async function coldStart(env: Record<string, string>) {
  const base: Record<string, string> = {
    AWS_ENDPOINT_URL: moto.endpoint,
    AWS_REGION: MOTO_REGION,
    AWS_ACCESS_KEY_ID: FAKE_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: FAKE_CREDENTIALS.secretAccessKey,
    AWS_DISABLE_REQUEST_COMPRESSION: 'true',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_MAX_ATTEMPTS: '1',
    UNSTRUCTURED_API_URL: api.url,
    UNSTRUCTURED_API_KEY: api.apiKey,
    LOG_LEVEL: 'info',
    STATE_BUCKET: '',
    REMOTE_WRITE_URL: receiver.url,
    REMOTE_WRITE_INSTANCE: 'lambda-test',
    REMOTE_WRITE_DEADLINE: '3s',
  };
  for (const [name, value] of Object.entries({ ...base, ...env })) vi.stubEnv(name, value);
  vi.resetModules();
  return (await import('../functions/collect.js')).handler;
}

async function capturingLogs<T>(
  fn: () => Promise<T>,
): Promise<{ outcome: T | Error; logs: Array<Record<string, unknown>> }> {
  const lines: string[] = [];
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  let outcome: T | Error;
  try {
    outcome = await fn();
  } catch (error) {
    outcome = error as Error;
  } finally {
    spy.mockRestore();
  }
  const logs = lines
    .join('')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { outcome, logs };
}

describe('functions/collect handler with REMOTE_WRITE_URL', () => {
  it('publishes to CloudWatch and pushes by remote write from one pull, and returns both summaries', async () => {
    // Prepare
    const namespace = `RemoteWrite/Both/${Date.now()}`;
    const handler = await coldStart({ CLOUDWATCH_NAMESPACE: namespace });
    const pullsBefore = listRequests();

    // Act
    const { outcome, logs } = await capturingLogs(() => handler(EVENT));

    // Assess
    expect(outcome).not.toBeInstanceOf(Error);
    expect(listRequests() - pullsBefore).toBe(1);
    const summary = outcome as unknown as Record<string, unknown>;
    expect(summary).toMatchObject({ namespace, collectorUp: true, failed: 0 });
    const remoteWrite = summary.remoteWrite as { series: number; delivered: number; undelivered: number };
    expect(remoteWrite.delivered).toBe(remoteWrite.series);
    expect(remoteWrite.series).toBeGreaterThan(100);
    expect(receiver.requests.flatMap((r) => r.series ?? [])).toHaveLength(remoteWrite.series);
    expect((await listMetrics(cloudWatchClientFor(moto.endpoint), namespace)).length).toBeGreaterThan(0);
    expect(logs.filter((l) => l.level === 'error')).toEqual([]);
  });

  it('a receiver refusing the samples fails the invocation after CloudWatch was published, with its own error line', async () => {
    // Prepare
    const namespace = `RemoteWrite/Refused/${Date.now()}`;
    receiver.check = () => ({ status: 400, body: 'out of bounds' });
    const handler = await coldStart({ CLOUDWATCH_NAMESPACE: namespace });

    // Act
    const { outcome, logs } = await capturingLogs(() => handler(EVENT));

    // Assess
    expect((outcome as Error).name).toBe('RemoteWriteError'); // a fresh module's class, after resetModules
    expect((await listMetrics(cloudWatchClientFor(moto.endpoint), namespace)).length).toBeGreaterThan(0);
    const run = logs.find((l) => l.message === 'cloudwatch publish');
    expect(run).toMatchObject({ level: 'info', collectorUp: true, remoteWrite: { delivered: 0 } });
    const refused = logs.find((l) => l.message === 'remote write incomplete');
    expect(refused).toMatchObject({ level: 'error', firstError: expect.stringContaining('HTTP 400') });
  });

  it('CloudWatch unreachable does not stop remote write: the samples are delivered, and the CloudWatch failure is reported', async () => {
    // Prepare
    const namespace = `RemoteWrite/NoCloudWatch/${Date.now()}`;
    const handler = await coldStart({
      CLOUDWATCH_NAMESPACE: namespace,
      AWS_ENDPOINT_URL: `http://127.0.0.1:${await freePort()}`,
    });

    // Act
    const { outcome, logs } = await capturingLogs(() => handler(EVENT));

    // Assess
    expect(outcome).toBeInstanceOf(Error);
    expect((outcome as Error).name).not.toBe('RemoteWriteError');
    const delivered = receiver.requests.flatMap((r) => r.series ?? []);
    expect(delivered.length).toBeGreaterThan(100);
    const up = delivered.find((s) => s.labels.some(([n, v]) => n === '__name__' && v === 'unstructured_up'));
    expect(up?.samples[0]?.value).toBe(1);
    expect(logs.filter((l) => l.level === 'error').length).toBeGreaterThanOrEqual(1);
    expect(logs.some((l) => l.message === 'remote write incomplete')).toBe(false);
  });
});
