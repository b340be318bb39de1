/**
 * Issue 17 end to end against the fake API (test/support/fake-api.ts): the exporter's collect() over HTTP, the
 * workflow list and the job list of test/support/workflows-scenario.ts, at a fixed now. Every workflow metric of the
 * exposition must equal an independent computation from the two lists (a brute-force cron matcher, durations and
 * maxima worked out here); a failing workflows request must leave the job metrics as they are without it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect } from '../lib/collector.js';
import type { Collection } from '../lib/collection.js';
import { loadConfig } from '../lib/config.js';
import { Logger } from '../lib/log.js';
import { renderPrometheus } from '../lib/outputs/prometheus/render.js';
import { escapeHtml, renderStatusPage } from '../lib/outputs/status-page.js';
import { renderTable } from '../lib/outputs/table.js';
import { SecretSource } from '../lib/secrets.js';
import { runCli } from './support/cli.js';
import { errorScenario, startFakeApi, type FakeApi } from './support/fake-api.js';
import {
  HOSTILE_NAME,
  parseExposition,
  referenceInventory,
  referenceRuns,
  scenarioJobs,
  shown,
  scenarioWorkflows,
  WF,
  type ExposedSample,
} from './support/workflows-scenario.js';

const NOW_MS = Date.parse('2026-11-29T12:07:30Z'); // a Sunday

let api: FakeApi;

beforeAll(async () => {
  api = await startFakeApi({ jobs: scenarioJobs(NOW_MS), workflows: scenarioWorkflows(NOW_MS) });
});

afterAll(async () => {
  await api.close();
});

async function collectAt(env: Record<string, string> = {}, lines: string[] = []): Promise<Collection> {
  const config = loadConfig({
    UNSTRUCTURED_API_URL: api.url,
    UNSTRUCTURED_API_KEY: api.apiKey,
    MAX_RETRIES: '0',
    ...env,
  });
  return collect(
    {
      config,
      apiKey: new SecretSource({ variable: 'UNSTRUCTURED_API_KEY', direct: api.apiKey, param: undefined }),
      logger: new Logger({ write: (line) => lines.push(line) }),
    },
    { nowMs: NOW_MS },
  );
}

async function exposition(collection: Collection): Promise<string> {
  const rendered = await renderPrometheus(collection, { version: 'test' });
  const body = rendered.body;
  rendered.release();
  return body;
}

const byWorkflow = (samples: readonly ExposedSample[], name: string): Map<string, number> =>
  new Map(samples.filter((s) => s.name === name).map((s) => [s.labels.workflow_id as string, s.value]));

// ---------------------------------------------------------------------------------------------------------

describe('workflow inventory and schedule health (issue 17)', () => {
  it('exports every workflow metric as the independent computation gives it, at a fixed now', async () => {
    // Prepare
    const workflows = scenarioWorkflows(NOW_MS);
    const jobs = scenarioJobs(NOW_MS);
    const expected = referenceInventory(workflows, jobs, NOW_MS);
    const runs = referenceRuns(jobs, NOW_MS);

    // Act
    const collection = await collectAt();
    const samples = parseExposition(await exposition(collection));

    // Assess: the list's first page with no paging parameters, then page 2 (empty here), each with the key.
    expect(api.workflowRequests.slice(-2).map((r) => r.query)).toEqual([{}, { page: '2' }]);
    expect(api.workflowRequests.slice(-2).map((r) => r.headers['unstructured-api-key'])).toEqual([
      api.apiKey,
      api.apiKey,
    ]);
    expect(samples.find((s) => s.name === 'unstructured_up')?.value).toBe(1);
    expect(samples.find((s) => s.name === 'unstructured_workflows_up')?.value).toBe(1);

    // info: exactly one series per valid listed workflow, with the expected labels
    const info = samples.filter((s) => s.name === 'unstructured_workflow_info');
    expect(info.every((s) => s.value === 1)).toBe(true);
    expect(new Map(info.map((s) => [s.labels.workflow_id, s.labels]))).toEqual(expected.info);
    expect(info).toHaveLength(expected.info.size);

    // last run and last success: every workflow with a job (all are exported at MAX_WORKFLOWS 50)
    const lastRun = byWorkflow(samples, 'unstructured_workflow_last_run_timestamp_seconds');
    const lastSuccess = byWorkflow(samples, 'unstructured_workflow_last_success_timestamp_seconds');
    expect(lastRun).toEqual(new Map([...runs].map(([id, r]) => [id, r.run / 1000])));
    expect(lastSuccess).toEqual(
      new Map([...runs].flatMap(([id, r]) => (r.success === undefined ? [] : [[id, r.success / 1000] as const]))),
    );

    // schedule missed and next run
    expect(byWorkflow(samples, 'unstructured_workflow_schedule_missed')).toEqual(expected.missed);
    expect(byWorkflow(samples, 'unstructured_workflow_next_run_timestamp_seconds')).toEqual(expected.nextRun);
    expect(byWorkflow(samples, 'unstructured_workflow_expected_run_timestamp_seconds')).toEqual(expected.expectedRun);
    expect(expected.expectedRun.get(WF.weekly)).toBe(Date.parse('2026-11-29T00:00:00Z') / 1000);

    // The outcomes worked out by hand at this now (the reference above must agree with them too).
    const missed = [...expected.missed].filter(([, v]) => v === 1).map(([id]) => id);
    expect(missed.sort()).toEqual([WF.hourly, WF.every4h, WF.every8h, WF.weekly].sort());
    expect(expected.missed.get(WF.every2h)).toBe(0); // a job 90 s before the fire time counts
    expect(expected.missed.get(WF.every10h)).toBe(0); // created after the fire time
    expect(expected.missed.get(WF.every12h)).toBe(0); // updated after the fire time
    expect(expected.nextRun.get(WF.multi)).toBe(Date.parse('2026-11-30T09:00:00Z') / 1000); // the earlier entry
    expect(expected.nextRun.get(WF.monthly)).toBe(Date.parse('2026-12-01T00:00:00Z') / 1000);
    expect(lastSuccess.get(WF.every6h)).toBe(Date.parse('2026-11-29T05:10:00Z') / 1000);
    for (const id of [WF.inactive, WF.paused, WF.noSchedule, WF.absent, WF.invalidCron, WF.wrongShape])
      expect(expected.missed.has(id)).toBe(false);

    // counted, never fatal
    const skipped = new Map(
      samples.filter((s) => s.name === 'unstructured_workflow_records_skipped').map((s) => [s.labels.reason, s.value]),
    );
    expect(Object.fromEntries(skipped)).toEqual({
      not_an_object: 1,
      invalid_id: 1,
      invalid_created_at: 1,
      duplicate_id: 1,
      too_large: 0,
      over_limit: 0,
    });
    expect(samples.find((s) => s.name === 'unstructured_workflows_schedule_invalid')?.value).toBe(2);

    // The API's names are authoritative in the job metrics too; a workflow with no job has zeros there.
    const jobSeries = samples.filter((s) => s.name === 'unstructured_jobs');
    expect(jobSeries.filter((s) => s.labels.workflow_id === WF.hostile).map((s) => s.labels.workflow_name)).toEqual(
      Array(5).fill(shown(HOSTILE_NAME)),
    );
    const never = jobSeries.filter((s) => s.labels.workflow_id === WF.every8h);
    expect(never.map((s) => [s.labels.workflow_name, s.labels.status, s.value])).toEqual(
      ['SCHEDULED', 'IN_PROGRESS', 'COMPLETED', 'STOPPED', 'FAILED'].map((st) => ['Every 8 hours (never ran)', st, 0]),
    );
  });

  it('gives the same schedule health through the CLI at a fixed --now (collect --format prometheus)', async () => {
    // Prepare
    const expected = referenceInventory(scenarioWorkflows(NOW_MS), scenarioJobs(NOW_MS), NOW_MS);

    // Act
    const { code, stdout, stderr } = await runCli(
      ['collect', '--format', 'prometheus', '--now', new Date(NOW_MS).toISOString()],
      { UNSTRUCTURED_API_URL: api.url, UNSTRUCTURED_API_KEY: api.apiKey },
    );

    // Assess
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const samples = parseExposition(stdout);
    expect(byWorkflow(samples, 'unstructured_workflow_schedule_missed')).toEqual(expected.missed);
    expect(byWorkflow(samples, 'unstructured_workflow_next_run_timestamp_seconds')).toEqual(expected.nextRun);
    expect(byWorkflow(samples, 'unstructured_workflow_expected_run_timestamp_seconds')).toEqual(expected.expectedRun);
  });

  it('ranks workflows with no job last for MAX_WORKFLOWS, and still judges the folded ones', async () => {
    // Act
    const collection = await collectAt({ MAX_WORKFLOWS: '3' });
    const samples = parseExposition(await exposition(collection));

    // Assess: the three busiest by jobs are exported (every6h 4, every15 3, then the lowest id of those with 2),
    // the rest folded, those with no job among them.
    if (!collection.ok) throw new Error(collection.errorMessage);
    expect(collection.snapshot.workflows.map((w) => w.id)).toEqual([WF.every6h, WF.every15, WF.noSchedule, 'other']);
    const other = collection.snapshot.workflows.at(-1);
    // 19 valid listed workflows and the unlisted one: 20, of which 3 are exported
    expect(other?.workflowCount).toBe(20 - 3);
    expect(collection.snapshot.workflowsSeen).toBe(15); // with a job; the five listed with none are not "seen"
    const expected = referenceInventory(scenarioWorkflows(NOW_MS), scenarioJobs(NOW_MS), NOW_MS);
    expect(byWorkflow(samples, 'unstructured_workflow_schedule_missed')).toEqual(expected.missed);
    expect(byWorkflow(samples, 'unstructured_workflow_last_run_timestamp_seconds').get(WF.weekly)).toBe(
      Date.parse('2026-11-22T00:01:00Z') / 1000,
    );
  });

  it('reads the cron entries in SCHEDULE_TIMEZONE and honours SCHEDULE_GRACE', async () => {
    // Act
    const collection = await collectAt({ SCHEDULE_TIMEZONE: 'America/New_York', SCHEDULE_GRACE: '0' });
    if (!collection.ok || collection.snapshot.workflowInventory?.ok !== true) throw new Error('no inventory');
    const byId = new Map(collection.snapshot.workflowInventory.workflows.map((w) => [w.id, w]));

    // Assess: New York midnight is 05:00 UTC in November; with no grace the 12:00 UTC fire time is already due.
    expect(byId.get(WF.daily)?.expectedRunMs).toBe(Date.parse('2026-11-29T05:00:00Z'));
    expect(byId.get(WF.daily)?.missed).toBe(true); // its job ran at 00:00 UTC
    expect(byId.get(WF.every15)?.expectedRunMs).toBe(Date.parse('2026-11-29T12:00:00Z'));
    expect(byId.get(WF.every15)?.missed).toBe(false); // the job of 12:00:05
    expect(byId.get(WF.hourly)?.nextRunMs).toBe(Date.parse('2026-11-29T13:00:00Z'));
  });

  it('keeps the job metrics as they are when the workflows request fails, and says why', async () => {
    // Prepare
    const off = await exposition(await collectAt({ WORKFLOWS_API: 'off' }));
    api.setWorkflowsScenario(errorScenario(403));
    const lines: string[] = [];

    // Act
    const failed = await exposition(await collectAt({}, lines));

    // Assess
    const comparable = (text: string) =>
      parseExposition(text).filter(
        (s) =>
          s.name !== 'unstructured_scrape_duration_seconds' &&
          s.name !== 'unstructured_collection_timestamp_seconds' &&
          s.name !== 'unstructured_workflows_up',
      );
    expect(comparable(failed)).toEqual(comparable(off));
    expect(parseExposition(failed).find((s) => s.name === 'unstructured_workflows_up')?.value).toBe(0);
    expect(parseExposition(off).some((s) => s.name === 'unstructured_workflows_up')).toBe(false);
    expect(parseExposition(failed).find((s) => s.name === 'unstructured_up')?.value).toBe(1);
    for (const name of ['unstructured_workflow_info', 'unstructured_workflow_schedule_missed'])
      expect(parseExposition(failed).some((s) => s.name === name)).toBe(false);
    // last run and success come from the job list: there with the workflows API off or failing
    expect(byWorkflow(parseExposition(failed), 'unstructured_workflow_last_run_timestamp_seconds').size).toBe(15);
    const warning = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.level === 'warn');
    expect(warning).toMatchObject({ errorKind: 'auth' });
    expect(String(warning?.message)).toContain('workflows request failed');
    expect(lines.join('\n')).not.toContain(api.apiKey);
  });

  it('shows each workflow on the status page and in the table: state, schedule, runs, next run, a MISSED marker', async () => {
    // Prepare
    const collection = await collectAt();
    const expected = referenceInventory(scenarioWorkflows(NOW_MS), scenarioJobs(NOW_MS), NOW_MS);
    const missedIds = new Set([...expected.missed].filter(([, v]) => v === 1).map(([id]) => id));

    // Act
    const html = renderStatusPage(collection, { version: 'test' });
    const table = renderTable(collection, { version: 'test' });

    // Assess: the page, one row per listed workflow, escaped
    const section = html.slice(html.indexOf('<section id="schedules">'), html.indexOf('<section id="records">'));
    const rows = section.split('<tr>').slice(2); // past the header row
    expect(rows).toHaveLength(expected.info.size);
    for (const [id, labels] of expected.info) {
      const row = rows.find((r) => r.includes(`<div class="id">${id}</div>`));
      expect(row, id).toBeDefined();
      expect(row).toContain(`>${escapeHtml(labels.state as string)}</td>`);
      expect(row).toContain(`>${escapeHtml(labels.schedule as string)}</td>`);
      expect(row?.includes('<td class="failed" style="text-align:left">MISSED</td>'), id).toBe(missedIds.has(id));
    }
    expect(section).toContain(escapeHtml(shown(HOSTILE_NAME)));
    expect(section).not.toContain('Quote " back'); // the quote is escaped
    const hourly = rows.find((r) => r.includes(WF.hourly)) as string;
    expect(hourly).toContain('title="2026-11-29 09:00:10 UTC">3h 7m ago</td>'); // last run
    expect(hourly).toContain('title="2026-11-29 09:05:10 UTC">3h 2m ago</td>'); // last success
    expect(hourly).toContain('title="2026-11-29 13:00:00 UTC">in 52m 30s</td>'); // next run
    expect(rows.find((r) => r.includes(WF.invalidCron))).toContain('invalid schedule');

    // Assess: the table, the missed ones first and marked, nothing raw from the API
    const lines = table.slice(table.indexOf('SCHEDULES')).split('\n');
    expect(lines[0]).toBe(
      `SCHEDULES  ${expected.info.size} workflows listed, ${missedIds.size} missed their last expected run, 2 schedules unreadable, 4 records skipped`,
    );
    const marked = lines.filter((l) => l.includes('  !! MISSED  '));
    expect(marked).toHaveLength(missedIds.size);
    expect(lines.slice(2, 2 + missedIds.size)).toEqual(marked);
    expect(marked.some((l) => l.startsWith('Hourly ') && l.includes('2026-11-29 13:00:00 UTC (in 52m 30s)'))).toBe(
      true,
    );
    expect(table).not.toContain('\nnew line');
  });

  it('fails no collection on a workflows body that is not a list, or a connection reset', async () => {
    for (const scenario of [
      { kind: 'raw', status: 200, contentType: 'application/json', body: '{"detail": "not a list"}' } as const,
      { kind: 'reset' } as const,
    ]) {
      // Prepare
      api.setWorkflowsScenario(scenario);

      // Act
      const collection = await collectAt();

      // Assess
      if (!collection.ok) throw new Error(`the collection failed: ${collection.errorMessage}`);
      expect(collection.snapshot.workflowInventory).toMatchObject({ ok: false });
      expect(collection.snapshot.jobsFetched).toBe(scenarioJobs(NOW_MS).length);
    }
  });
});
