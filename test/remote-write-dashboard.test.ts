/**
 * The Grafana dashboard on data that arrived by remote write only (no scrape): a real Prometheus receives twelve
 * collections pushed one minute apart (the deployed schedule with remote write), and every panel query of
 * dashboards/unstructured-jobs-prometheus.json, with Grafana's variables as a data source whose scrape interval is
 * that minute would set them, must return data — except the two that read Prometheus' own scrape series (`up`,
 * `scrape_duration_seconds`), which pushed data cannot have (docs/remote-write.md#staleness). And the staleness
 * argument itself: one-minute pushes give a continuous `unstructured_up`; pushes 5 minutes apart leave gaps.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Aggregator } from '../lib/aggregate/aggregator.js';
import type { Collection } from '../lib/collection.js';
import type { JobDetailsReport } from '../lib/details/stage.js';
import { loadConfig } from '../lib/config.js';
import { Logger } from '../lib/log.js';
import { remoteWriteOutput } from '../lib/outputs/remote-write/output.js';
import { loadRemoteWriteSettings, type RemoteWriteSettings } from '../lib/outputs/remote-write/settings.js';
import { job } from './support/jobs.js';
import { workflowInventory as inventoryOf } from '../lib/aggregate/workflow-health.js';
import { noWorkflowSkips, type Workflow } from '../lib/records/workflow.js';
import { type RunningPrometheus, startPrometheus } from './support/prometheus.js';

const ROOT = new URL('..', import.meta.url).pathname;
const dashboard = JSON.parse(readFileSync(join(ROOT, 'dashboards/unstructured-jobs-prometheus.json'), 'utf8')) as {
  panels: Array<{ title: string; targets?: Array<{ refId: string; expr: string }>; panels?: unknown[] }>;
  templating: {
    list: Array<{ name: string; type: string; includeAll?: boolean; current?: { value?: string | string[] } }>;
  };
};

const MINUTE = 60_000;
/** Grafana's built-ins for a data source whose scrape interval is the 1-minute schedule, over the last 10 minutes. */
const BUILTINS: Readonly<Record<string, string>> = { __rate_interval: '4m', __interval: '1m', __range: '10m' };
/** Queries of Prometheus' own scrape series: no pushed series has them. */
const SCRAPE_ONLY = /\b(up|scrape_duration_seconds)\{/;

function variableValue(name: string): string | undefined {
  if (name in BUILTINS) return BUILTINS[name];
  const v = dashboard.templating.list.find((x) => x.name === name);
  if (v === undefined) return undefined;
  if (v.type === 'query' && v.includeAll) return '.*';
  const current = v.current?.value;
  return Array.isArray(current) ? current.join('|') : current;
}

/** Grafana's interpolation (as test/dashboards-prometheus.test.ts does it). */
function interpolate(expr: string): string {
  return expr.replace(
    /\$\{(\w+)(?::\w+)?\}|\$(\w+)/g,
    (whole, braced: string | undefined, bare: string | undefined) => {
      const name = (braced ?? bare) as string;
      if (/^\d+$/.test(name)) return whole;
      const value = variableValue(name);
      if (value === undefined) throw new Error(`unknown variable $${name} in ${expr}`);
      return value;
    },
  );
}

type Panel = (typeof dashboard.panels)[number];
const allPanels = (panels: readonly Panel[]): Panel[] =>
  panels.flatMap((p) => [p, ...allPanels((p.panels ?? []) as Panel[])]);
const TARGETS = allPanels(dashboard.panels).flatMap((p) =>
  (p.targets ?? []).map((t) => ({ name: `${p.title} [${t.refId}]`, expr: t.expr })),
);

/** The `n`-th collection: finished and waiting jobs of three workflows, more finished ones at each run. */
function collectionAt(finishedAtMs: number, n: number): Collection {
  const config = loadConfig({});
  const aggregator = new Aggregator({
    nowMs: finishedAtMs,
    runtimeWindowSeconds: config.runtimeWindowSeconds,
    maxWorkflows: config.maxWorkflows,
    histogramBuckets: config.histogramBuckets,
    quantiles: config.quantiles,
  });
  for (let w = 0; w < 3; w++) {
    const ids = { workflowId: `wf-${w}`, workflowName: `Workflow ${w}` };
    for (let k = 0; k <= n; k++) {
      aggregator.add(
        job({ ...ids, id: `w${w}-c${k}`, createdAtMs: finishedAtMs - (n - k + 2) * MINUTE, runtimeSeconds: 30 + k }),
      );
      aggregator.add(
        job({
          ...ids,
          id: `w${w}-f${k}`,
          status: 'FAILED',
          createdAtMs: finishedAtMs - (n - k + 3) * MINUTE,
          runtimeSeconds: 20,
        }),
      );
    }
    aggregator.add(
      job({
        ...ids,
        id: `w${w}-s`,
        status: 'SCHEDULED',
        createdAtMs: finishedAtMs - 5 * MINUTE,
        runtimeSeconds: undefined,
      }),
    );
    aggregator.add(
      job({
        ...ids,
        id: `w${w}-r`,
        status: 'IN_PROGRESS',
        createdAtMs: finishedAtMs - 9 * MINUTE,
        runtimeSeconds: undefined,
      }),
    );
  }
  // Issue 17: the workflows API lists the three, wf-0 active and hourly (the dashboard's schedule panels).
  const listed: Workflow[] = [0, 1, 2].map((w) => ({
    id: `wf-${w}`,
    name: `Workflow ${w}`,
    status: w === 2 ? 'inactive' : 'active',
    workflowType: 'basic',
    createdAtMs: finishedAtMs - 30 * 86_400_000,
    updatedAtMs: undefined,
    cronEntries: w === 1 ? [] : ['0 * * * *'],
    scheduleProblem: undefined,
  }));
  aggregator.declareWorkflows(listed);
  const workflowInventory = inventoryOf(listed, noWorkflowSkips(), (id) => aggregator.runsOf(id), finishedAtMs, {
    graceMs: 15 * MINUTE,
    timezone: 'UTC',
  });
  const snapshot = { ...aggregator.snapshot(), workflowInventory };
  aggregator.release();
  // Issue 16: the job details of the finished jobs (the dashboard's outcome panels), one more known at each run.
  const outcomes = (w: number) => ({
    byStatus: { SUCCESS: 2 + n, COMPLETED_WITH_ERRORS: w, FAILED: 0, STOPPED: 0 },
    nodes: [{ nodeType: 'partition', nodeSubtype: 'unstructured_api', success: 10 * (n + 1), failure: w }],
  });
  const details: JobDetailsReport = {
    workflows: snapshot.workflows.map((_, w) => outcomes(w)),
    total: outcomes(1),
    known: snapshot.workflows.length * (2 + n),
    pending: 1,
    unavailable: 0,
    publishedEarlier: 0,
    requests: 0,
    errors: 0,
    failedDocuments: [],
    failedDocumentsHidden: false,
    jobs: [],
  };
  return { ok: true, snapshot, durationSeconds: 0.4, finishedAtMs, details };
}

async function push(prometheus: RunningPrometheus, job: string, collections: readonly Collection[]): Promise<void> {
  const settings = loadRemoteWriteSettings({
    REMOTE_WRITE_URL: `${prometheus.url}/api/v1/write`,
    REMOTE_WRITE_JOB: job,
    REMOTE_WRITE_INSTANCE: 'collect-fn',
  }) as RemoteWriteSettings;
  const output = remoteWriteOutput({ settings, logger: new Logger({ write: () => undefined }), version: '1.2.3' });
  for (const c of collections) {
    const report = await output.publish(c);
    if (report.problem !== undefined) throw new Error(report.problem.message);
  }
}

async function api<T>(prometheus: RunningPrometheus, path: string, params: Record<string, string>): Promise<T> {
  const res = await fetch(`${prometheus.url}${path}?${new URLSearchParams(params)}`);
  const body = (await res.json()) as { status: string; error?: string; data: T };
  if (body.status !== 'success') throw new Error(`${path} ${JSON.stringify(params)}: ${body.error}`);
  return body.data;
}

describe('the Grafana dashboard on remote-written data', () => {
  let prometheus: RunningPrometheus;
  /** The instant of the last one-minute push (the test's clock, which is what the samples carry). */
  let lastMs: number;

  beforeAll(async () => {
    prometheus = await startPrometheus([], '', ['--web.enable-remote-write-receiver']);
    // Whole seconds: the query API's times are decimal seconds, and the pushes land exactly on them.
    lastMs = Math.floor(Date.now() / 1000) * 1000;
    const minutely = Array.from({ length: 12 }, (_, i) => collectionAt(lastMs - (11 - i) * MINUTE, i));
    // A five-minute schedule whose pulls take 5, 25 and 15 s: the pushes are 5 min 20 s, then 4 min 50 s apart.
    const scheduledMs = lastMs - 10 * MINUTE - 30_000;
    const fiveMinutely = [5_000, 25_000, 15_000].map((pullMs, i) =>
      collectionAt(scheduledMs + i * 5 * MINUTE + pullMs, i),
    );
    await push(prometheus, 'unstructured-jobs-exporter', minutely);
    await push(prometheus, 'five-minutely', fiveMinutely);
  }, 60_000);

  afterAll(async () => {
    await prometheus?.stop();
  });

  it('returns data for every panel query but those of Prometheus’ own scrape series', async () => {
    // Act
    const results = await Promise.all(
      TARGETS.map(async ({ name, expr }) => {
        const query = interpolate(expr);
        const data = await api<{ result: unknown[] }>(prometheus, '/api/v1/query', {
          query,
          time: String(lastMs / 1000),
        });
        return { name, query, scrapeOnly: SCRAPE_ONLY.test(query), hasData: data.result.length > 0 };
      }),
    );

    // Assess
    expect(results.length).toBeGreaterThan(20);
    expect(results.filter((r) => !r.scrapeOnly && !r.hasData).map((r) => `${r.name}: ${r.query}`)).toEqual([]);
    expect(results.filter((r) => r.scrapeOnly).map((r) => r.hasData)).toEqual([false, false]);
  });

  it('fills the job and workflow variables', async () => {
    // Act
    const jobs = await api<string[]>(prometheus, '/api/v1/label/job/values', { 'match[]': 'unstructured_up' });
    const workflows = await api<string[]>(prometheus, '/api/v1/label/workflow_name/values', {
      'match[]': 'unstructured_jobs{job=~"unstructured-jobs-exporter"}',
    });

    // Assess
    expect(jobs).toContain('unstructured-jobs-exporter');
    expect(workflows.sort()).toEqual(['Workflow 0', 'Workflow 1', 'Workflow 2']);
  });

  it('draws unstructured_up without a gap from one-minute pushes, and with a gap from five-minute ones', async () => {
    // Act: every 15 s over the last 10 minutes, as a panel would draw it
    const range = async (job: string) =>
      api<{ result: Array<{ values: unknown[] }> }>(prometheus, '/api/v1/query_range', {
        query: `unstructured_up{job="${job}"}`,
        start: String((lastMs - 10 * MINUTE) / 1000),
        end: String(lastMs / 1000),
        step: '15',
      });
    const minutely = await range('unstructured-jobs-exporter');
    const fiveMinutely = await range('five-minutely');

    // Assess: 41 steps in 10 minutes
    expect(minutely.result[0]?.values).toHaveLength(41);
    expect(fiveMinutely.result[0]?.values.length).toBeLessThan(41);
  });
});
