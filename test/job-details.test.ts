import { afterEach, describe, expect, it } from 'vitest';
import { collect, type CollectorDeps } from '../lib/collector.js';
import { loadConfig } from '../lib/config.js';
import { KnownDetails } from '../lib/details/known-details.js';
import { Logger } from '../lib/log.js';
import { renderPrometheus } from '../lib/outputs/prometheus/render.js';
import { SecretSource } from '../lib/secrets.js';
import { detailsHandler, expectedOutcomes, generateJobs, type GeneratedJob } from './support/details.js';
import { parseExposition } from './support/exposition.js';
import { FAKE_API_KEY, startFakeApi, type FakeApi } from './support/fake-api.js';

// "now" pinned; the fake API serves jobs built relative to it (nothing depends on the date the suite runs).
const NOW_MS = Date.UTC(2026, 10, 29, 12, 0, 0);
const WINDOW_S = 86400;

let api: FakeApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

function deps(url: string, env: Record<string, string> = {}, lines: string[] = []): CollectorDeps {
  return {
    config: loadConfig({
      UNSTRUCTURED_API_URL: url,
      UNSTRUCTURED_API_KEY: FAKE_API_KEY,
      REQUEST_TIMEOUT: '300ms',
      MAX_RETRIES: '1',
      DETAILS_MAX_REQUESTS: '100000',
      ...env,
    }),
    apiKey: new SecretSource({ variable: 'UNSTRUCTURED_API_KEY', direct: FAKE_API_KEY, param: undefined }),
    logger: new Logger({ write: (l) => lines.push(l) }),
    details: new KnownDetails(),
  };
}

async function render(c: Awaited<ReturnType<typeof collect>>): Promise<string> {
  const r = await renderPrometheus(c, { version: 'test' });
  return r.body;
}

async function start(jobs: readonly GeneratedJob[], counts?: Map<string, number>): Promise<FakeApi> {
  api = await startFakeApi({ jobs: jobs.map((j) => j.record), details: detailsHandler(jobs, counts) });
  return api;
}

/** Families of the exposition, samples grouped by name. */
function samples(text: string, name: string) {
  return parseExposition(text).filter((s) => s.name === name);
}

describe('job details', () => {
  it('exports outcomes and node files equal to an independent computation, hostile labels included', async () => {
    // Prepare: 400 jobs over 6 workflows, details answering ok, 404, 500, invalid JSON, or not an object.
    const jobs = generateJobs(NOW_MS, {
      count: 400,
      workflows: 6,
      seed: 16,
      behaviours: ['ok', 'ok', 'ok', 'ok', 'not-found', 'error-500', 'invalid-json', 'not-an-object'],
    });
    const fake = await start(jobs);
    const expected = expectedOutcomes(jobs, NOW_MS, WINDOW_S);

    // Act
    const c = await collect(deps(fake.url), { nowMs: NOW_MS });
    const text = await render(c);

    // Assess
    expect(c.ok).toBe(true);
    const outcomes = samples(text, 'unstructured_job_outcomes');
    const workflows = new Set(outcomes.map((s) => s.labels.workflow_id));
    expect(workflows.size).toBe(6);
    for (const wf of workflows) {
      const got = new Map(
        outcomes.filter((s) => s.labels.workflow_id === wf).map((s) => [s.labels.processing_status, s.value]),
      );
      const want =
        expected.outcomes.get(wf as string) ??
        new Map(['SUCCESS', 'COMPLETED_WITH_ERRORS', 'FAILED', 'STOPPED'].map((s) => [s, 0]));
      expect(got).toEqual(want);
      const files = new Map(
        samples(text, 'unstructured_job_node_files')
          .filter((s) => s.labels.workflow_id === wf)
          .map((s) => [`${s.labels.node_type}|${s.labels.node_subtype}|${s.labels.outcome}`, s.value]),
      );
      expect(files).toEqual(expected.nodeFiles.get(wf as string) ?? new Map());
    }
    expect(expected.failing).toBeGreaterThan(0);
    expect(samples(text, 'unstructured_job_details_pending')[0]?.value).toBe(expected.pending);
    expect(samples(text, 'unstructured_job_details_errors')[0]?.value).toBeGreaterThanOrEqual(expected.failing);
    // The hostile type reaches the label escaped, and back unescaped.
    expect(text).toContain('node_type="type \\"quoted\\" \\\\ back\\nslash"');
  });

  it('requests each finished job’s details at most once over repeated collections (failures aside, 404 never again)', async () => {
    // Prepare
    const jobs = generateJobs(NOW_MS, { count: 200, workflows: 3, seed: 7 });
    const counts = new Map<string, number>();
    const fake = await start(jobs, counts);
    const d = deps(fake.url);

    // Act: three collections with the same memory.
    for (let i = 0; i < 3; i++) await collect(d, { nowMs: NOW_MS });

    // Assess
    const inWindow = jobs.filter((j) => j.finishedAtMs !== undefined && j.finishedAtMs >= NOW_MS - WINDOW_S * 1000);
    expect(inWindow.length).toBeGreaterThan(20);
    for (const j of inWindow) {
      const n = counts.get(`${j.record.id} details`) ?? 0;
      if (j.behaviour === 'ok' || j.behaviour === 'not-found') expect(n, j.behaviour).toBe(1);
      else expect(n, j.behaviour).toBeGreaterThanOrEqual(3); // retried by every collection
      const failures = (j.failedFiles ?? []).length;
      expect(counts.get(`${j.record.id} failed-files`) ?? 0).toBe(j.behaviour === 'ok' && failures > 0 ? 1 : 0);
    }
    // Jobs outside the window cost nothing.
    for (const j of jobs.filter((x) => !inWindow.includes(x))) expect(counts.has(`${j.record.id} details`)).toBe(false);
  });

  it('leaves every job metric and unstructured_up untouched when the details endpoint fails (500, stall, bad body)', async () => {
    // Prepare: the same list twice, details failing in every way, and details off.
    const failing = generateJobs(NOW_MS, {
      count: 150,
      workflows: 4,
      seed: 3,
      behaviours: ['error-500', 'stall', 'invalid-json', 'not-an-object'],
    });
    const fake = await start(failing);
    const lines: string[] = [];

    // Act
    const withDetails = await render(await collect(deps(fake.url, {}, lines), { nowMs: NOW_MS }));
    const without = await render(await collect(deps(fake.url, { JOB_DETAILS: 'off' }), { nowMs: NOW_MS }));

    // Assess
    const jobMetrics = (text: string) =>
      parseExposition(text)
        .filter(
          (s) =>
            !/^unstructured_(job_outcomes|job_node_files|job_details_|scrape_duration|collection_timestamp)/.test(
              s.name,
            ),
        )
        .map((s) => JSON.stringify(s));
    expect(jobMetrics(withDetails)).toEqual(jobMetrics(without));
    expect(samples(withDetails, 'unstructured_up')[0]?.value).toBe(1);
    expect(samples(withDetails, 'unstructured_job_details_errors')[0]?.value).toBeGreaterThan(0);
    expect(without).not.toContain('unstructured_job_outcomes');
    // Logged once for the collection, with the count.
    expect(lines.filter((l) => l.includes('job details requests failed'))).toHaveLength(1);
  });

  it('keeps to DETAILS_MAX_REQUESTS per collection, newest first, and fetches the rest in the next collections', async () => {
    // Prepare
    const jobs = generateJobs(NOW_MS, { count: 120, workflows: 2, seed: 11, behaviours: ['ok'] });
    const counts = new Map<string, number>();
    const fake = await start(jobs, counts);
    const d = deps(fake.url, { DETAILS_MAX_REQUESTS: '10', DETAILS_CONCURRENCY: '3' });
    const inWindow = jobs
      .filter((j) => j.finishedAtMs !== undefined && j.finishedAtMs >= NOW_MS - WINDOW_S * 1000)
      .sort((a, b) => (b.finishedAtMs as number) - (a.finishedAtMs as number));

    // Act
    const first = await collect(d, { nowMs: NOW_MS });
    const firstRequests = fake.requests.filter((r) => r.path.endsWith('/details') || r.path.endsWith('/failed-files'));
    let last = first;
    for (let i = 0; i < 40 && last.ok && last.details?.pending !== 0; i++) last = await collect(d, { nowMs: NOW_MS });

    // Assess
    expect(firstRequests.length).toBe(10);
    const firstIds = new Set(firstRequests.filter((r) => r.path.endsWith('/details')).map((r) => r.path.split('/')[4]));
    // The newest ones went first.
    expect([...firstIds].every((id) => inWindow.slice(0, 10).some((j) => j.record.id === id))).toBe(true);
    expect(first.ok && first.details?.pending).toBeGreaterThan(0);
    expect(last.ok && last.details?.pending).toBe(0);
    expect(last.ok && last.details?.known).toBe(inWindow.length);
  });
});
