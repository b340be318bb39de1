import { afterEach, describe, expect, it } from 'vitest';
import { PullError } from '../lib/pull/pull-error.js';
import {
  detailsUrl,
  getJobResource,
  MAX_DETAILS_BODY_BYTES,
  type DetailsRequestOptions,
} from '../lib/pull/job-details.js';
import { FAKE_API_KEY, sampleJobs, startFakeApi, type FakeApi, type Scenario } from './support/fake-api.js';

let api: FakeApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

/** A fake API whose details endpoint answers `answers` in turn (the last one from then on). */
async function serving(answers: readonly Scenario[]): Promise<{ fake: FakeApi; options: DetailsRequestOptions }> {
  let n = 0;
  api = await startFakeApi({ details: () => answers[Math.min(n++, answers.length - 1)] });
  const options: DetailsRequestOptions = {
    apiUrl: api.url,
    apiKey: FAKE_API_KEY,
    userAgent: 'test',
    requestTimeoutMs: 300,
    maxRetries: 2,
    deadlineAt: Date.now() + 10_000,
    sleep: async () => {},
  };
  return { fake: api, options };
}

const ok: Scenario = { kind: 'status', status: 200, body: { processing_status: 'SUCCESS', node_stats: [] } };
const detailsRequests = (fake: FakeApi) => fake.requests.filter((r) => r.path.endsWith('/details')).length;

describe('job details requests', () => {
  it('retries a 503 and a reset, then returns the body', async () => {
    // Prepare
    const { fake, options } = await serving([
      { kind: 'status', status: 503, body: { detail: 'busy' } },
      { kind: 'reset' },
      ok,
    ]);

    // Act
    const body = await getJobResource('job-1', 'details', options);

    // Assess
    expect(body).toEqual({ processing_status: 'SUCCESS', node_stats: [] });
    expect(detailsRequests(fake)).toBe(3);
  });

  it('does not retry a 404, and says not_found', async () => {
    // Prepare
    const { fake, options } = await serving([{ kind: 'status', status: 404, body: { detail: 'Not Found' } }, ok]);

    // Act
    const error = await getJobResource('job-1', 'details', options).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(PullError);
    expect((error as PullError).kind).toBe('not_found');
    expect(detailsRequests(fake)).toBe(1);
  });

  it('times out a request that never answers, after its retries', async () => {
    // Prepare
    const { fake, options } = await serving([{ kind: 'stall-headers' }]);

    // Act
    const error = await getJobResource('job-1', 'details', options).catch((e: unknown) => e);

    // Assess
    expect((error as PullError).kind).toBe('timeout');
    expect(detailsRequests(fake)).toBe(3);
  });

  it('refuses a body past its bound, a body that is not JSON, and never shows the API key', async () => {
    // Prepare
    const big: Scenario = {
      kind: 'raw',
      status: 200,
      contentType: 'application/json',
      body: `"${'x'.repeat(MAX_DETAILS_BODY_BYTES)}"`,
    };
    const html: Scenario = { kind: 'raw', status: 200, contentType: 'text/html', body: '<html>' };
    const echo: Scenario = { kind: 'status', status: 400, body: { detail: `bad key ${FAKE_API_KEY}` } };

    // Act
    const errors: PullError[] = [];
    for (const answer of [big, html, echo]) {
      const { options } = await serving([answer]);
      errors.push((await getJobResource('job-1', 'details', options).catch((e: unknown) => e)) as PullError);
      await api?.close();
      api = undefined;
    }

    // Assess
    expect(errors.map((e) => e.kind)).toEqual(['too_large', 'invalid_response', 'invalid_request']);
    expect(errors[2]?.message).toContain('[redacted]');
    for (const e of errors) expect(e.message).not.toContain(FAKE_API_KEY);
  });

  it('ends a body that trickles in under the idle timeout at the deadline, as a timeout', async () => {
    // Prepare: a body of a few KB, 10 bytes every 100 ms (each gap under the 300 ms idle timeout): ~40 s to read.
    api = await startFakeApi({
      jobs: sampleJobs(),
      details: () => ({ kind: 'trickle', intervalMs: 100, bytesPerTick: 10 }),
    });
    const options: DetailsRequestOptions = {
      apiUrl: api.url,
      apiKey: FAKE_API_KEY,
      userAgent: 'test',
      requestTimeoutMs: 300,
      maxRetries: 2,
      deadlineAt: Date.now() + 1000,
    };

    // Act
    const error = await getJobResource('job-1', 'details', options).catch((e: unknown) => e);

    // Assess: the deadline ends it (not the whole body), and a timeout is not retried past the deadline.
    expect(error).toBeInstanceOf(PullError);
    expect(error).toMatchObject({ kind: 'timeout', attempts: 1 });
    expect((error as PullError).message).toContain('deadline');
  }, 20_000);

  it('path-encodes a hostile job id', () => {
    // Act
    const url = detailsUrl('https://host/api/v1', '../x?y=1#z', 'failed-files');

    // Assess
    expect(url.href).toBe('https://host/api/v1/jobs/..%2Fx%3Fy%3D1%23z/failed-files');
  });

  it('sends no request for a job id that is a dot segment (the URL would leave /jobs/{id}/), and says not_found', async () => {
    // Prepare: `.` and `..` stay as they are when path-encoded, and the URL parser resolves them.
    const { fake, options } = await serving([ok]);

    // Act
    const errors = await Promise.all(
      ['.', '..'].flatMap((id) =>
        (['details', 'failed-files'] as const).map((r) => getJobResource(id, r, options).catch((e: unknown) => e)),
      ),
    );

    // Assess
    for (const error of errors) {
      expect(error).toBeInstanceOf(PullError);
      expect((error as PullError).kind).toBe('not_found');
    }
    expect(fake.requests.map((r) => r.path)).toEqual([]);
  });
});
