import { describe, expect, it } from 'vitest';
import { MAX_TRACKED_WORKFLOWS } from '../lib/aggregate/aggregator.js';
import { collect } from '../lib/collector.js';
import { loadConfig } from '../lib/config.js';
import type { Job } from '../lib/records/job.js';
import { Logger } from '../lib/log.js';
import { SecretSource } from '../lib/secrets.js';
import { PullError } from '../lib/pull/pull-error.js';
import type { pullJobs } from '../lib/pull/unstructured-api.js';
import { SAMPLE_EXPECTED, SAMPLE_NOW_MS, sampleJobs } from './support/fake-api.js';

// Random-looking, as real keys are: the logger scrubs every 6-character piece of a secret, so a key made of words
// ("collector") would also scrub the log's own words ("collection failed").
const KEY = 'sk-9c41d7e2b0a85f36e1d4';

function deps(pull: typeof pullJobs, lines: string[] = [], key: string | null = KEY) {
  return {
    config: loadConfig({}),
    apiKey: new SecretSource({ variable: 'UNSTRUCTURED_API_KEY', direct: key ?? undefined, param: undefined }),
    logger: new Logger({ write: (l) => lines.push(l) }),
    now: () => SAMPLE_NOW_MS,
    pull,
  };
}

/** A pull that delivers the sample records, as the HTTP client would. */
const samplePull: typeof pullJobs = async (_config, onRecord) => {
  const records = sampleJobs();
  for (const r of records) onRecord(r);
  return { attempts: 1, bytes: 0, elements: records.length, statusCode: 200 };
};

describe('collect', () => {
  it('aggregates every record of the pull and hands each valid job to onJob', async () => {
    // Prepare
    const seen: Job[] = [];

    // Act
    const c = await collect(deps(samplePull), { nowMs: SAMPLE_NOW_MS, onJob: (j) => seen.push(j) });

    // Assess
    expect(c.ok).toBe(true);
    if (!c.ok) return;
    expect(c.snapshot.total.byStatus).toEqual(SAMPLE_EXPECTED.byStatus);
    expect(seen).toHaveLength(SAMPLE_EXPECTED.counted);
    expect(new Set(seen.map((j) => j.status))).toEqual(new Set(Object.keys(SAMPLE_EXPECTED.byStatus)));
  });

  it('counts an element the pull passed over as too large as a skipped record, and the others as usual', async () => {
    // Prepare: a pull that passes over one element between the sample records, as the HTTP client does.
    const withOversized: typeof pullJobs = async (_config, onRecord, options) => {
      const records = sampleJobs();
      records.forEach((r, i) => {
        if (i === 3) options.onOversizedRecord?.();
        onRecord(r);
      });
      return { attempts: 1, bytes: 0, elements: records.length + 1, statusCode: 200 };
    };

    // Act
    const c = await collect(deps(withOversized), { nowMs: SAMPLE_NOW_MS });

    // Assess
    expect(c.ok).toBe(true);
    if (!c.ok) return;
    expect(c.snapshot.recordsSkipped).toEqual({ ...SAMPLE_EXPECTED.recordsSkipped, too_large: 1 });
    expect(c.snapshot.jobsFetched).toBe(SAMPLE_EXPECTED.jobsFetched + 1);
    expect(c.snapshot.total.byStatus).toEqual(SAMPLE_EXPECTED.byStatus);
  });

  it('says in the log when workflows past MAX_TRACKED_WORKFLOWS were folded on arrival', async () => {
    // Prepare: one job in each of MAX_TRACKED_WORKFLOWS + 2 workflows.
    const count = MAX_TRACKED_WORKFLOWS + 2;
    const manyWorkflows: typeof pullJobs = async (_config, onRecord) => {
      for (let i = 0; i < count; i++)
        onRecord({ id: `j${i}`, workflow_id: `wf-${i}`, status: 'COMPLETED', created_at: '2026-11-29T11:00:00Z' });
      return { attempts: 1, bytes: 0, elements: count, statusCode: 200 };
    };
    const lines: string[] = [];

    // Act
    const c = await collect(deps(manyWorkflows, lines), { nowMs: SAMPLE_NOW_MS });

    // Assess
    expect(c.ok).toBe(true);
    if (!c.ok) return;
    expect(c.snapshot.workflowsSeen).toBe(count);
    expect(c.snapshot.workflowsUntracked).toBe(2);
    expect(c.snapshot.workflows.at(-1)).toMatchObject({ id: 'other', workflowCount: count - 50 });
    const warning = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.level === 'warn');
    expect(warning).toMatchObject({ maxTrackedWorkflows: MAX_TRACKED_WORKFLOWS, untracked: 2 });
  });

  it('turns a pull error into a failure with its kind, and never a snapshot', async () => {
    // Prepare
    const failing: typeof pullJobs = async (_c, onRecord) => {
      onRecord(sampleJobs()[0]); // records already delivered must not leak into a result
      throw new PullError('upstream', `HTTP 503 from GET https://x/api/v1/jobs/ (key ${KEY})`, 4, { status: 503 });
    };
    const lines: string[] = [];

    // Act
    const c = await collect(deps(failing, lines));

    // Assess
    expect(c).toMatchObject({ ok: false, errorKind: 'upstream' });
    expect(JSON.stringify(c)).not.toContain(KEY);
    expect(lines.join('\n')).not.toContain(KEY);
    expect(lines.join('\n')).toContain('collection failed');
  });

  it('fails with kind "config" naming the variable when no key is configured', async () => {
    // Act
    const c = await collect(deps(samplePull, [], null));

    // Assess
    expect(c).toMatchObject({ ok: false, errorKind: 'config' });
    if (!c.ok) expect(c.errorMessage).toMatch(/^UNSTRUCTURED_API_KEY: /);
  });

  it('reports an unexpected exception as kind "internal" on one line', async () => {
    // Prepare
    const broken: typeof pullJobs = async () => {
      throw new TypeError('boom\n    at somewhere (file.js:1:1)');
    };

    // Act
    const c = await collect(deps(broken));

    // Assess
    expect(c).toMatchObject({ ok: false, errorKind: 'internal', errorMessage: 'TypeError: boom' });
  });
});
