import { afterEach, describe, expect, it } from 'vitest';
import { collect, type CollectorDeps } from '../lib/collector.js';
import { loadConfig } from '../lib/config.js';
import { DetailsCandidates } from '../lib/details/candidates.js';
import { KnownDetails } from '../lib/details/known-details.js';
import { MAX_CLOCK_SKEW_MS } from '../lib/records/runtime-bound.js';
import { Logger } from '../lib/log.js';
import { SecretSource } from '../lib/secrets.js';
import { detailsHandler, generateJobs, random } from './support/details.js';
import { FAKE_API_KEY, startFakeApi, type FakeApi } from './support/fake-api.js';

// "now" pinned; every job is built relative to it (nothing depends on the date the suite runs).
const NOW_MS = Date.UTC(2026, 10, 29, 12, 0, 0);
const WINDOW_S = 86400;

const byNewest = (a: { id: string; finishedAtMs: number }, b: { id: string; finishedAtMs: number }) =>
  b.finishedAtMs - a.finishedAtMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

function uuidOf(n: number): string {
  const hex = (n * 2654435761).toString(16).padStart(12, '0').slice(-12);
  return `${(n % 7).toString(16)}f${hex.slice(0, 6)}-0000-4000-8000-${hex}`;
}

describe('details candidates: the newest kept, bounded', () => {
  it('keeps exactly the newest `bound` of the window, newest first, ids of any form, ties by id', () => {
    // Prepare: 5,000 first sightings, finish times drawn from few values (many ties), a fifth of the ids not UUIDs.
    const rand = random(7);
    const jobs = Array.from({ length: 5_000 }, (_, i) => {
      const finishedAtMs = NOW_MS - Math.floor(rand() * 300) * 60_000;
      const id = i % 5 === 0 ? `job-${Math.floor(rand() * 1e9)}-${i}` : uuidOf(i);
      return { id, workflowId: `wf-${i % 13}`, finishedAtMs };
    });
    const candidates = new DetailsCandidates(NOW_MS, WINDOW_S, 1_234);

    // Act
    for (const j of jobs) candidates.addRecord(j.id, j.workflowId, 'COMPLETED', j.finishedAtMs - 30_000, 30);
    candidates.sortNewestFirst();

    // Assess: the independent answer is the whole list sorted, cut at the bound.
    const expected = [...jobs].sort(byNewest).slice(0, 1_234);
    expect(candidates.count).toBe(5_000);
    expect(candidates.size).toBe(1_234);
    const kept = Array.from({ length: candidates.size }, (_, i) => candidates.at(i));
    expect(kept).toEqual(expected);
  });

  it('counts only terminal jobs finished inside the window and by now (clock skew allowed); below the bound keeps them all', () => {
    // Prepare
    const candidates = new DetailsCandidates(NOW_MS, WINDOW_S, 10);
    const add = (id: string, status: string, createdAtMs: number, runtime: number) =>
      candidates.addRecord(id, 'wf', status, createdAtMs, runtime);

    // Act
    add(uuidOf(1), 'COMPLETED', NOW_MS - 3_600_000, 60); // in
    add(uuidOf(2), 'IN_PROGRESS', NOW_MS - 3_600_000, 60); // not terminal
    add(uuidOf(3), 'FAILED', NOW_MS - 2 * WINDOW_S * 1000, 60); // finished before the window
    add(uuidOf(4), 'STOPPED', NOW_MS - 3_600_000, Number.NaN); // no runtime
    add(uuidOf(5), 'COMPLETED', NOW_MS - 1_000, 3_600); // finishes past now (and its clock skew)
    add('not-a-uuid', 'STOPPED', NOW_MS - 7_200_000, 1); // in
    add(uuidOf(7), 'COMPLETED', NOW_MS, MAX_CLOCK_SKEW_MS / 1000); // in: within the clock skew allowed
    candidates.sortNewestFirst();

    // Assess
    expect(candidates.count).toBe(3);
    expect([...candidates.ids()]).toEqual([uuidOf(7), uuidOf(1), 'not-a-uuid']);
    expect(() => add(uuidOf(6), 'COMPLETED', NOW_MS - 3_600_000, 60)).toThrow(/after sortNewestFirst/);
  });
});

describe('details stage past the memory bound, and duplicates', () => {
  let api: FakeApi | undefined;
  afterEach(async () => {
    await api?.close();
    api = undefined;
  });

  function deps(url: string, details: KnownDetails): CollectorDeps {
    return {
      config: loadConfig({
        UNSTRUCTURED_API_URL: url,
        UNSTRUCTURED_API_KEY: FAKE_API_KEY,
        REQUEST_TIMEOUT: '300ms',
        MAX_RETRIES: '0',
        DETAILS_MAX_REQUESTS: '100000',
      }),
      apiKey: new SecretSource({ variable: 'UNSTRUCTURED_API_KEY', direct: FAKE_API_KEY, param: undefined }),
      logger: new Logger({ write: () => undefined }),
      details,
    };
  }

  it('requests the newest jobs up to the bound once, counts the rest pending, and a duplicate once', async () => {
    // Prepare: every details answer ok; the first 10 jobs of the window listed again (as first listed), and the
    // first running job listed again as finished (the aggregation counts its first sighting: not a candidate).
    const jobs = generateJobs(NOW_MS, { count: 400, workflows: 5, seed: 3, behaviours: ['ok'] });
    const inWindow = jobs.filter((j) => j.finishedAtMs !== undefined && j.finishedAtMs >= NOW_MS - WINDOW_S * 1000);
    const running = jobs.find((j) => j.record.status === 'IN_PROGRESS');
    if (running === undefined) throw new Error('test data: no running job');
    const finishedAgain = {
      ...running.record,
      status: 'COMPLETED',
      created_at: new Date(NOW_MS - 60_000).toISOString(),
      runtime: 'PT30S',
    };
    const records = [...jobs.map((j) => j.record), ...inWindow.slice(0, 10).map((j) => j.record), finishedAgain];
    const counts = new Map<string, number>();
    api = await startFakeApi({ jobs: records, details: detailsHandler(jobs, counts) });
    const bound = 25;
    const memory = new KnownDetails(bound);

    // Act
    const first = await collect(deps(api.url, memory), { nowMs: NOW_MS });
    const second = await collect(deps(api.url, memory), { nowMs: NOW_MS });

    // Assess: the newest `bound` of the window, each requested once; the duplicate and the running job never.
    const newest = inWindow
      .map((j) => ({ id: j.record.id as string, finishedAtMs: j.finishedAtMs as number }))
      .sort(byNewest)
      .slice(0, bound)
      .map((j) => j.id);
    expect(inWindow.length).toBeGreaterThan(bound);
    const requested = [...counts].filter(([k]) => k.endsWith(' details'));
    expect(requested.map(([k]) => k.split(' ')[0]).sort()).toEqual([...newest].sort());
    expect(requested.every(([, n]) => n === 1)).toBe(true);
    expect(counts.has(`${running.record.id} details`)).toBe(false);
    for (const c of [first, second]) {
      if (!c.ok || c.details === undefined) throw new Error('collection failed');
      expect(c.details.known).toBe(bound);
      expect(c.details.pending).toBe(inWindow.length - bound);
      expect(c.details.jobs.map((j) => j.id)).toEqual(newest);
    }
  });
});
