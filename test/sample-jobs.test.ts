/**
 * sampleJobsAt(): the hand-written sample moved to another "now", for peers that run on their own clock. It must
 * keep every figure of the sample (SAMPLE_EXPECTED) and every awkward form of its created_at values.
 */
import { describe, expect, it } from 'vitest';
import { collect } from '../lib/collector.js';
import { loadConfig } from '../lib/config.js';
import { Logger } from '../lib/log.js';
import { SecretSource } from '../lib/secrets.js';
import type { pullJobs } from '../lib/pull/unstructured-api.js';
import { SAMPLE_EXPECTED, SAMPLE_NOW_MS, sampleJobs, sampleJobsAt } from './support/fake-api.js';

const DAY_MS = 86_400_000;

async function snapshotOf(records: readonly Record<string, unknown>[], nowMs: number) {
  const pull: typeof pullJobs = async (_config, onRecord) => {
    for (const r of records) onRecord(r);
    return { attempts: 1, bytes: 0, elements: records.length, statusCode: 200 };
  };
  const apiKey = new SecretSource({ variable: 'UNSTRUCTURED_API_KEY', direct: 'sk-sample-test', param: undefined });
  const c = await collect(
    { config: loadConfig({}), apiKey, logger: new Logger({ write: () => undefined }), now: () => nowMs, pull },
    { nowMs },
  );
  if (!c.ok) throw new Error(`collection failed: ${c.errorMessage}`);
  return c.snapshot;
}

/** A created_at's form: digits replaced, so `2026-11-29T13:00:00+02:00` and `2028-01-03T07:14:09+02:00` match. */
const formOf = (value: unknown) => (typeof value === 'string' ? value.replace(/\d/g, '9') : value);

describe('sampleJobsAt', () => {
  it.each([
    ['400 days and a fraction later', SAMPLE_NOW_MS + 400 * DAY_MS + 7_654],
    ['a leap day', Date.parse('2028-02-29T00:00:00.999Z')],
    ['30 days earlier', SAMPLE_NOW_MS - 30 * DAY_MS],
  ])('%s: the same snapshot as the sample at SAMPLE_NOW, but for its date', async (_name, nowMs) => {
    // Prepare
    const sampleNowMs = Math.floor(nowMs / 1000) * 1000; // whole seconds: the fractions are kept as written

    // Act
    const [original, moved] = await Promise.all([
      snapshotOf(sampleJobs(), SAMPLE_NOW_MS),
      snapshotOf(sampleJobsAt(nowMs), sampleNowMs),
    ]);

    // Assess
    expect(moved.generatedAt).toBe(new Date(sampleNowMs).toISOString());
    // Last run and last success (issue 17) are instants: moved by exactly the shift, then left out of the comparison.
    const shift = sampleNowMs - SAMPLE_NOW_MS;
    const instants = (s: typeof moved, by: number) =>
      s.workflows.map((w) => [
        w.lastRunMs === undefined ? undefined : w.lastRunMs - by,
        w.lastSuccessMs === undefined ? undefined : w.lastSuccessMs - by,
      ]);
    expect(instants(moved, shift)).toEqual(instants(original, 0));
    expect(instants(original, 0).some(([run]) => run !== undefined)).toBe(true);
    const withoutInstants = (s: typeof moved) => ({
      ...s,
      generatedAt: 'x',
      workflows: s.workflows.map(({ lastRunMs: _r, lastSuccessMs: _s, ...w }) => w),
    });
    expect(withoutInstants(moved)).toEqual(withoutInstants(original));
    expect(moved.total.oldestAgeSeconds).toEqual(SAMPLE_EXPECTED.oldestAgeSeconds);
  });

  it('keeps every created_at in its written form and moves each by the same whole seconds', () => {
    // Prepare
    const shiftMs = 400 * DAY_MS + 3_000;

    // Act
    const moved = sampleJobsAt(SAMPLE_NOW_MS + shiftMs + 999);

    // Assess
    const original = sampleJobs();
    expect(moved.map((j) => formOf(j.created_at))).toEqual(original.map((j) => formOf(j.created_at)));
    const valid = original.flatMap((j, i) => (/(Z|[+-]\d\d:\d\d)$/.test(String(j.created_at)) ? [i] : []));
    expect(valid).toHaveLength(original.length - 1); // only the record without an offset stays as written
    for (const i of valid) {
      expect(Date.parse(String(moved[i]?.created_at)) - Date.parse(String(original[i]?.created_at))).toBe(shiftMs);
    }
    const invalid = original.findIndex((_j, i) => !valid.includes(i));
    expect(moved[invalid]?.created_at).toBe(original[invalid]?.created_at);
  });
});
