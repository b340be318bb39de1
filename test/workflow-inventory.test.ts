/**
 * Issue 17's parts one by one: the settings, a workflow record's bounds, the workflows pull's limits, croner's fire
 * times against a brute-force reference, and the embedded demo's schedules.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fireTimes } from '../lib/aggregate/schedule.js';
import { MAX_DISTINCT_CRON_EXPRESSIONS, workflowInventory } from '../lib/aggregate/workflow-health.js';
import { WorkflowNames } from '../lib/aggregate/workflow-names.js';
import { collect } from '../lib/collector.js';
import { ConfigError, loadConfig } from '../lib/config.js';
import { startDemoApi } from '../lib/demo-api.js';
import { Logger } from '../lib/log.js';
import { PullError } from '../lib/pull/pull-error.js';
import { MAX_LISTED_WORKFLOWS, pullWorkflows } from '../lib/pull/workflows.js';
import {
  MAX_CRON_CHARS,
  MAX_CRON_ENTRIES,
  noWorkflowSkips,
  toWorkflow,
  type Workflow,
} from '../lib/records/workflow.js';
import { SecretSource } from '../lib/secrets.js';
import { errorScenario, startFakeApi } from './support/fake-api.js';
import { referenceFireTimes } from './support/workflows-scenario.js';

const NOW_MS = Date.parse('2026-11-29T12:07:30Z');
const CREATED = '2026-10-01T00:00:00Z';

describe('settings', () => {
  it('reads WORKFLOWS_API, SCHEDULE_GRACE and SCHEDULE_TIMEZONE, with their defaults', () => {
    // Act / Assess
    expect(loadConfig({})).toMatchObject({ workflowsApi: true, scheduleGraceSeconds: 900, scheduleTimezone: 'UTC' });
    expect(
      loadConfig({ WORKFLOWS_API: 'OFF', SCHEDULE_GRACE: '1h30m', SCHEDULE_TIMEZONE: 'Europe/Berlin' }),
    ).toMatchObject({ workflowsApi: false, scheduleGraceSeconds: 5400, scheduleTimezone: 'Europe/Berlin' });
    expect(loadConfig({ SCHEDULE_GRACE: '0' }).scheduleGraceSeconds).toBe(0);
  });

  it.each([
    [{ WORKFLOWS_API: 'no' }, 'WORKFLOWS_API'],
    [{ SCHEDULE_GRACE: '15' }, 'SCHEDULE_GRACE'],
    [{ SCHEDULE_TIMEZONE: 'Mars/Olympus_Mons' }, 'SCHEDULE_TIMEZONE'],
  ])('refuses %j, naming %s', (env, variable) => {
    // Act / Assess
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(new RegExp(`^${variable}: `));
  });
});

describe('toWorkflow', () => {
  it('keeps only bounded fields, whatever the record holds', () => {
    // Act
    const w = toWorkflow({
      id: 'wf\uD800',
      name: 'n'.repeat(5_000),
      status: 's'.repeat(1_000),
      workflow_type: 7,
      created_at: CREATED,
      updated_at: 'not a date',
      schedule: { crontab_entries: [{ cron_expression: 'x'.repeat(10_000) }, { cron_expression: '0 * * * *' }] },
      workflow_nodes: [{ name: 'n', type: 't', subtype: 's', settings: { api_key: 'secret-value' } }],
    }) as Workflow;

    // Assess
    expect(w.id).toBe('wf\uFFFD');
    expect([...w.name]).toHaveLength(200);
    expect(w.status).toHaveLength(65); // one over the label limit: folded to "other" later
    expect(w.workflowType).toBeUndefined();
    expect(w.updatedAtMs).toBeUndefined();
    expect(w.cronEntries.map((e) => e.length)).toEqual([MAX_CRON_CHARS + 1, 9]);
    expect(JSON.stringify(w)).not.toContain('secret-value');
  });

  it('refuses a schedule with more than MAX_CRON_ENTRIES entries or of the wrong shape, keeping the workflow', () => {
    // Prepare
    const entries = Array.from({ length: MAX_CRON_ENTRIES + 1 }, () => ({ cron_expression: '0 * * * *' }));

    // Act
    const many = toWorkflow({ id: 'a', created_at: CREATED, schedule: { crontab_entries: entries } }) as Workflow;
    const shapes = [[], 'daily', { crontab_entries: 'x' }, { crontab_entries: [{}] }].map(
      (schedule) => toWorkflow({ id: 'b', created_at: CREATED, schedule }) as Workflow,
    );

    // Assess
    expect(many.cronEntries).toHaveLength(MAX_CRON_ENTRIES);
    expect(many.scheduleProblem).toContain('more than 16');
    expect(shapes.map((w) => w.scheduleProblem === undefined)).toEqual([false, false, false, false]);
    expect(toWorkflow({ id: 'c', created_at: CREATED, schedule: { crontab_entries: [] } })).toMatchObject({
      cronEntries: [],
      scheduleProblem: undefined,
    });
  });

  it('judges an over-long cron entry invalid instead of parsing it', () => {
    // Prepare
    const w = toWorkflow({
      id: 'a',
      status: 'active',
      created_at: CREATED,
      schedule: { crontab_entries: [{ cron_expression: `0 * * * *${' '.repeat(MAX_CRON_CHARS)}` }] },
    }) as Workflow;

    // Act
    const [health] = workflowInventory([w], noWorkflowSkips(), () => undefined, NOW_MS, {
      graceMs: 0,
      timezone: 'UTC',
    }).workflows;

    // Assess
    expect(health?.scheduleProblem).toMatch(/longer than 256/);
  });
});

describe('workflowInventory', () => {
  it(`judges at most ${MAX_DISTINCT_CRON_EXPRESSIONS} distinct cron expressions, each once, and says so for the rest`, () => {
    // Prepare: 600 distinct hourly-or-daily expressions, then 400 workflows sharing the first one.
    const distinct = Array.from({ length: 600 }, (_, i) => `${i % 60} ${Math.floor(i / 60)} * * *`);
    const listed = [...distinct, ...Array(400).fill(distinct[0])].map(
      (cron, i) =>
        toWorkflow({
          id: `w${i}`,
          status: 'active',
          created_at: CREATED,
          schedule: { crontab_entries: [{ cron_expression: cron }] },
        }) as Workflow,
    );

    // Act
    const inventory = workflowInventory(listed, noWorkflowSkips(), () => undefined, NOW_MS, {
      graceMs: 0,
      timezone: 'UTC',
    });

    // Assess
    const problems = inventory.workflows.map((w) => w.scheduleProblem);
    expect(problems.slice(0, MAX_DISTINCT_CRON_EXPRESSIONS).every((p) => p === undefined)).toBe(true);
    expect(
      problems.slice(MAX_DISTINCT_CRON_EXPRESSIONS, 600).every((p) => /^not judged: more than 500/.test(p ?? '')),
    ).toBe(true);
    expect(problems.slice(600).every((p) => p === undefined)).toBe(true); // the first expression, judged already
    expect(inventory.scheduleInvalid).toBe(600 - MAX_DISTINCT_CRON_EXPRESSIONS);
    expect(inventory.workflows[600]?.nextRunMs).toBe(Date.parse('2026-11-30T00:00:00Z'));
  });
});

describe('pullWorkflows', () => {
  it(`keeps at most ${MAX_LISTED_WORKFLOWS} workflows of a response, counting the rest`, async () => {
    // Prepare
    const listed = Array.from({ length: MAX_LISTED_WORKFLOWS + 3 }, (_, i) => ({ id: `w${i}`, created_at: CREATED }));
    const api = await startFakeApi({ workflows: listed });
    try {
      // Act
      const list = await pullWorkflows(loadConfig({ UNSTRUCTURED_API_URL: api.url }), { apiKey: api.apiKey });

      // Assess
      expect(list.workflows).toHaveLength(MAX_LISTED_WORKFLOWS);
      expect(list.recordsSkipped.over_limit).toBe(3);
      expect(api.workflowRequests).toHaveLength(1);
      expect(api.requests).toHaveLength(0); // never the job list
    } finally {
      await api.close();
    }
  });

  it.each([
    { server: 'pages of 3 (its default size), the last one short', pageSize: 3, pages: ['', '2', '3'] },
    { server: 'pages of 4, the last one empty', pageSize: 4, pages: ['', '2', '3'] },
    { server: 'ignoring page: every page the whole list', pageSize: 'ignore' as const, pages: ['', '2'] },
  ])('reads every page of a server with $server, and no repeat counts as a duplicate', async ({ pageSize, pages }) => {
    // Prepare: 8 workflows (one broken record among them), listed in pages of an undocumented size
    const listed = [
      ...Array.from({ length: 7 }, (_, i) => ({ id: `w${i}`, name: `n${i}`, status: 'active', created_at: CREATED })),
      42,
    ];
    const api = await startFakeApi({ workflows: listed, workflowsPageSize: pageSize });
    try {
      // Act
      const list = await pullWorkflows(loadConfig({ UNSTRUCTURED_API_URL: api.url }), { apiKey: api.apiKey });

      // Assess
      expect(list.workflows.map((w) => w.id)).toEqual(['w0', 'w1', 'w2', 'w3', 'w4', 'w5', 'w6']);
      expect(list.recordsSkipped.duplicate_id).toBe(0);
      expect(Object.values(list.recordsSkipped).reduce((a, b) => a + b, 0)).toBe(1);
      expect(api.workflowRequests.map((r) => r.query.page ?? '')).toEqual(pages);
      expect(list.pages).toBe(pages.length);
      expect(list.pageBudgetSpent).toBe(false);
    } finally {
      await api.close();
    }
  });

  it('fails as a whole when a later page fails: a partial list is never judged', async () => {
    // Prepare: pages of 2; page 2 refused with a 404 (not retried)
    const listed = Array.from({ length: 5 }, (_, i) => ({ id: `w${i}`, created_at: CREATED }));
    const api = await startFakeApi({ workflows: listed, workflowsPageSize: 2 });
    api.setWorkflowsScenario([{ kind: 'status', status: 200, body: listed.slice(0, 2) }, errorScenario(404)]);

    try {
      // Act
      const pulled = pullWorkflows(loadConfig({ UNSTRUCTURED_API_URL: api.url }), { apiKey: api.apiKey });

      // Assess
      await expect(pulled).rejects.toMatchObject({ name: 'PullError' });
      expect(api.workflowRequests.map((r) => r.query.page ?? '')).toEqual(['', '2']);
    } finally {
      await api.close();
    }
  });

  it('fails with too_large past the size limit, and as any pull does on a refusal', async () => {
    // Prepare
    const big = Array.from({ length: 50 }, (_, i) => ({ id: `w${i}`, created_at: CREATED, pad: 'x'.repeat(1_000) }));
    const api = await startFakeApi({ workflows: big });
    try {
      // Act
      const tooLarge = pullWorkflows(loadConfig({ UNSTRUCTURED_API_URL: api.url, MAX_RESPONSE_BYTES: '10KiB' }), {
        apiKey: api.apiKey,
      });
      const refused = pullWorkflows(loadConfig({ UNSTRUCTURED_API_URL: api.url }), { apiKey: 'wrong-key-123456' });

      // Assess
      await expect(tooLarge).rejects.toMatchObject({ kind: 'too_large' });
      await expect(refused).rejects.toBeInstanceOf(PullError);
      await expect(refused).rejects.toMatchObject({ kind: 'auth' });
    } finally {
      await api.close();
    }
  });
});

describe('fireTimes (croner) against a brute-force reference', () => {
  const field = (values: readonly string[]) => fc.constantFrom(...values);
  const expression = fc
    .tuple(
      field(['0', '*/15', '5', '0,30', '*']),
      field(['*', '0', '*/2', '*/6', '9-17', '23']),
      field(['*', '*', '1', '15', '31']),
      field(['*', '*', '*', '2', '12']),
      field(['*', '*', '0', '1-5', '6']),
    )
    .map((parts) => parts.join(' '));

  it('gives the latest fire time at or before now − grace and the next after now, over one or more entries', () => {
    fc.assert(
      fc.property(
        fc.array(expression, { minLength: 1, maxLength: 3 }),
        fc.integer({ min: Date.parse('2025-01-01T00:00:00Z'), max: Date.parse('2028-12-31T00:00:00Z') }),
        fc.constantFrom(0, 60_000, 15 * 60_000, 3_600_000),
        (entries, nowMs, graceMs) => {
          // Act
          const actual = fireTimes(entries, nowMs, { graceMs, timezone: 'UTC' });
          const expected = referenceFireTimes(entries, nowMs - graceMs, nowMs);

          // Assess (the reference scans 62 days: further fire times are outside it)
          if (expected === undefined || 'problem' in actual) throw new Error(`not comparable: ${entries}`);
          if (expected.expectedMs !== undefined) expect(actual.expectedMs).toBe(expected.expectedMs);
          else if (actual.expectedMs !== undefined)
            expect(actual.expectedMs).toBeLessThan(nowMs - graceMs - 62 * 86_400_000);
          if (expected.nextMs !== undefined) expect(actual.nextMs).toBe(expected.nextMs);
          else if (actual.nextMs !== undefined) expect(actual.nextMs).toBeGreaterThan(nowMs + 62 * 86_400_000);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('counts a fire time exactly at now − grace as expected, and reports an unreadable entry with its number', () => {
    // Act
    const at = fireTimes(['0 12 * * *'], Date.parse('2026-11-29T12:15:00Z'), { graceMs: 15 * 60_000, timezone: 'UTC' });
    const bad = fireTimes(['0 * * * *', '61 * * * *'], NOW_MS, { graceMs: 0, timezone: 'UTC' });

    // Assess
    expect(at).toEqual({ expectedMs: Date.parse('2026-11-29T12:00:00Z'), nextMs: Date.parse('2026-11-30T12:00:00Z') });
    expect(bad).toMatchObject({ problem: expect.stringMatching(/^cron entry 2: /) });
  });
});

describe('the embedded demo', () => {
  it('lists scheduled workflows, one that misses its runs, and an inactive one', async () => {
    // Prepare: the demo started three hours "ago", so its stopped workflow has missed runs.
    const startMs = NOW_MS - 3 * 3_600_000;
    let clock = startMs;
    const demo = await startDemoApi({ now: () => clock });
    try {
      clock = NOW_MS;
      // Act
      const c = await collect(
        {
          config: loadConfig({ UNSTRUCTURED_API_URL: demo.url, UNSTRUCTURED_API_KEY: demo.apiKey }),
          apiKey: new SecretSource({ variable: 'UNSTRUCTURED_API_KEY', direct: demo.apiKey, param: undefined }),
          logger: new Logger({ write: () => undefined }),
        },
        { nowMs: NOW_MS },
      );

      // Assess
      if (!c.ok || c.snapshot.workflowInventory?.ok !== true) throw new Error('no inventory from the demo');
      const byName = new Map(c.snapshot.workflowInventory.workflows.map((w) => [w.name, w]));
      expect(byName.get('Support tickets → Elasticsearch')).toMatchObject({ schedule: '*/15 * * * *', missed: false });
      expect(byName.get('Hourly CRM export → Postgres')).toMatchObject({ schedule: '0 * * * *', missed: true });
      expect(byName.get('Daily archive → Azure Blob (paused)')).toMatchObject({
        state: 'inactive',
        schedule: '0 0 * * *',
        missed: undefined,
      });
      expect(byName.get('Invoices → S3')).toMatchObject({ schedule: 'none', missed: undefined });
      expect(c.snapshot.workflowInventory.workflows).toHaveLength(8);
    } finally {
      await demo.close();
    }
  });
});

describe('workflow names when the workflows request fails', () => {
  it.each([
    { remembered: true, expected: ['new name', 'new name'] },
    // The control: without the memory, the failed request flips the job series back to the list's copy.
    { remembered: false, expected: ['new name', 'old name'] },
  ])('keeps the name of the last success on the job series: memory $remembered', async ({ remembered, expected }) => {
    // Prepare: the job list still carries the old name; the workflows API says the workflow was renamed
    const jobs = [
      {
        id: 'job-1',
        workflow_id: 'wf-1',
        workflow_name: 'old name',
        status: 'COMPLETED',
        created_at: new Date(NOW_MS - 3_600_000).toISOString(),
        runtime: 'PT30S',
        job_type: 'ephemeral',
      },
    ];
    const api = await startFakeApi({ jobs, workflows: [{ id: 'wf-1', name: 'new name', created_at: CREATED }] });
    const deps = {
      config: loadConfig({ UNSTRUCTURED_API_URL: api.url, UNSTRUCTURED_API_KEY: api.apiKey, JOB_DETAILS: 'off' }),
      apiKey: new SecretSource({ variable: 'UNSTRUCTURED_API_KEY', direct: api.apiKey, param: undefined }),
      logger: new Logger({ write: () => undefined }),
      ...(remembered && { workflowNames: new WorkflowNames() }),
    };
    try {
      // Act: one collection with the workflows request answered, one with it refused
      const first = await collect(deps, { nowMs: NOW_MS });
      api.setWorkflowsScenario(errorScenario(404));
      const second = await collect(deps, { nowMs: NOW_MS });

      // Assess
      if (!first.ok || !second.ok) throw new Error('the job pull failed');
      expect(second.snapshot.workflowInventory?.ok).toBe(false);
      const names = [first, second].map((c) => (c.ok ? c.snapshot.workflows.find((w) => w.id === 'wf-1')?.name : ''));
      expect(names).toEqual(expected);
      expect(second.snapshot.jobsFetched).toBe(1);
    } finally {
      await api.close();
    }
  });
});
