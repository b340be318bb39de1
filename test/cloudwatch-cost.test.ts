/**
 * What a configuration costs before it is deployed: lib/outputs/cloudwatch/cost.ts (the estimate) and
 * `collect --sink cloudwatch --dry-run` (lib/outputs/cloudwatch/dry-run.ts), which must make no AWS call at all.
 * The cost figures in the README and docs/cloudwatch.md are the dry run's, checked here.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Aggregator } from '../lib/aggregate/aggregator.js';
import {
  customMetricsUsd,
  DEPLOYED_COLLECT_DEFAULTS,
  estimateCost,
  MONTH_SECONDS,
  PRICES,
  scheduleIntervalSeconds,
  withDeployedDefaults,
  type CostEstimate,
  type CostOptions,
} from '../lib/outputs/cloudwatch/cost.js';
import { dryRun } from '../lib/outputs/cloudwatch/dry-run.js';
import type { CollectionSuccess } from '../lib/collection.js';
import { ConfigError, loadConfig } from '../lib/config.js';
import { FinishedJobs } from '../lib/events/finished.js';
import { createExporter } from '../lib/exporter.js';
import { Logger } from '../lib/log.js';
import { runCli } from './support/cli.js';
import { startFakeApi, type FakeApi } from './support/fake-api.js';
import { job, NOW_MS } from './support/jobs.js';
import type { Json } from './support/template.js';

const ROOT = new URL('..', import.meta.url).pathname;
const MINUTE = 60_000;
const HOUR = 3_600_000;
const NOW_ISO = new Date(NOW_MS).toISOString();
/** Workflows in the synthetic account: more than any MAX_WORKFLOWS checked below, so `Other` exists. */
const ACCOUNT_WORKFLOWS = 60;

/**
 * An account of `workflows` workflows (workflow i has 60 − i extra COMPLETED jobs, so the busiest-first order is
 * fixed), each with a job in every known status at NOW_MS: COMPLETED 2 minutes ago (within one schedule interval),
 * FAILED 1 hour ago, STOPPED 3 hours ago; SCHEDULED and IN_PROGRESS.
 */
function accountRecords(workflows: number): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const at = (ms: number) => new Date(ms).toISOString();
  for (let i = 0; i < workflows; i++) {
    const wf = { workflow_id: `wf-${String(i).padStart(3, '0')}`, workflow_name: `Workflow ${i}` };
    const add = (status: string, createdAtMs: number, runtime: string | null) =>
      out.push({ id: `job-${i}-${out.length}`, ...wf, status, created_at: at(createdAtMs), runtime });
    add('COMPLETED', NOW_MS - 2 * MINUTE - 60_000, 'PT60S');
    add('FAILED', NOW_MS - HOUR - 30_000, 'PT30S');
    add('STOPPED', NOW_MS - 3 * HOUR - 10_000, 'PT10S');
    add('SCHEDULED', NOW_MS - 10 * MINUTE, null);
    add('IN_PROGRESS', NOW_MS - 20 * MINUTE, null);
    for (let k = 0; k < 60 - i; k++) add('COMPLETED', NOW_MS - 30 * HOUR, 'PT120S'); // outside the 24 h window
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Pure parts

describe('prices', () => {
  it('charge custom metrics tier by tier: $0.30 for the first 10,000, then $0.10, $0.05, $0.02', () => {
    // Act / Assess
    expect(customMetricsUsd(0)).toBe(0);
    expect(customMetricsUsd(242)).toBeCloseTo(72.6, 9);
    expect(customMetricsUsd(10_000)).toBeCloseTo(3_000, 9);
    expect(customMetricsUsd(10_001)).toBeCloseTo(3_000.1, 9);
    expect(customMetricsUsd(250_000)).toBeCloseTo(3_000 + 240_000 * 0.1, 6);
    expect(customMetricsUsd(1_000_000)).toBeCloseTo(27_000 + 750_000 * 0.05, 6);
    expect(customMetricsUsd(1_000_010)).toBeCloseTo(64_500 + 10 * 0.02, 6);
  });

  it('name their source and the date they were taken', () => {
    // Assess
    expect(PRICES.source).toContain('https://aws.amazon.com/cloudwatch/pricing/');
    expect(PRICES.takenOn).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(PRICES.putMetricDataUsdPer1000Requests).toBe(0.01);
  });
});

describe('scheduleIntervalSeconds', () => {
  it.each([
    ['rate(1 minute)', 60],
    ['rate(5 minutes)', 300],
    [' rate( 10 minutes ) ', 600],
    ['rate(1 hour)', 3_600],
    ['rate(2 days)', 172_800],
  ])('%s is every %d s', (expression, seconds) => {
    // Act / Assess
    expect(scheduleIntervalSeconds(expression)).toBe(seconds);
  });

  it.each(['rate(5 minute)', 'rate(1 minutes)', 'rate(0 minutes)', 'cron(0/5 * * * ? *)', '5m', ''])(
    'refuses %j, naming the flag',
    (expression) => {
      // Act
      const parse = () => scheduleIntervalSeconds(expression);

      // Assess
      expect(parse).toThrow(ConfigError);
      expect(parse).toThrow(/^--schedule: expected an EventBridge rate/);
    },
  );
});

describe('withDeployedDefaults', () => {
  it('fills in what serverless.yml gives the collect function where a variable is unset or blank, and keeps the rest', () => {
    // Act
    const env = withDeployedDefaults({ MAX_WORKFLOWS: '30', QUANTILES: ' ', OTHER: 'x' });

    // Assess
    expect(env).toEqual({
      MAX_WORKFLOWS: '30',
      QUANTILES: DEPLOYED_COLLECT_DEFAULTS.env.QUANTILES,
      RUNTIME_WINDOW: '24h',
      OTHER: 'x',
    });
    expect(loadConfig(withDeployedDefaults({})).maxWorkflows).toBe(20);
  });
});

describe('estimateCost', () => {
  /** The synthetic account aggregated as the collector does, with the finished jobs of the same pass. */
  function estimate(
    maxWorkflows: number,
    options: Partial<CostOptions> = {},
    workflows = ACCOUNT_WORKFLOWS,
  ): CostEstimate {
    const quantiles = [0.5, 0.9, 0.95, 0.99, 1];
    const aggregator = new Aggregator({
      nowMs: NOW_MS,
      runtimeWindowSeconds: 86_400,
      maxWorkflows,
      histogramBuckets: [1, 10],
      quantiles,
    });
    const finished = new FinishedJobs({ nowMs: NOW_MS, retentionSeconds: 7 * 86_400 });
    let n = 0;
    for (let i = 0; i < workflows; i++) {
      const wf = { workflowId: `wf-${i}`, workflowName: `Workflow ${i}` };
      const jobs = [
        job({ ...wf, id: `j${n++}`, status: 'COMPLETED', createdAtMs: NOW_MS - 3 * MINUTE, runtimeSeconds: 60 }),
        job({ ...wf, id: `j${n++}`, status: 'FAILED', createdAtMs: NOW_MS - HOUR, runtimeSeconds: 30 }),
        job({ ...wf, id: `j${n++}`, status: 'STOPPED', createdAtMs: NOW_MS - 3 * HOUR, runtimeSeconds: 10 }),
        job({ ...wf, id: `j${n++}`, status: 'SCHEDULED', runtimeSeconds: undefined }),
        job({ ...wf, id: `j${n++}`, status: 'IN_PROGRESS', runtimeSeconds: undefined }),
        ...Array.from({ length: workflows - i }, () =>
          job({ ...wf, id: `j${n++}`, status: 'COMPLETED', createdAtMs: NOW_MS - 30 * HOUR }),
        ),
      ];
      for (const j of jobs) {
        aggregator.add(j);
        finished.add(j);
      }
    }
    const collection: CollectionSuccess = {
      ok: true,
      snapshot: aggregator.snapshot(),
      durationSeconds: 1,
      finishedAtMs: NOW_MS,
    };
    return estimateCost(collection, finished, {
      namespace: 'Unstructured/Jobs',
      quantiles,
      events: true,
      scheduleSeconds: 300,
      workflowRuntimeQuantiles: false,
      workflowTerminalJobs: false,
      ...options,
    });
  }

  it.each([1, 5, 20, 21, 50])(
    'counts 34 + 12·W custom metrics by default for MAX_WORKFLOWS %d (W = kept workflows + Other)',
    (maxWorkflows) => {
      // Prepare: 4 health + 5 Jobs + 2 OldestJobAge + 15 quantiles over all workflows; per Workflow value 2 Jobs +
      // 2 OldestJobAge; events: JobsFinished and JobRuntime for 3 statuses, and FilesFailed and
      // JobsCompletedWithErrors (issue 16), in total and per Workflow value.
      const w = maxWorkflows + 1;

      // Act
      const e = estimate(maxWorkflows);

      // Assess
      expect(e.workflows).toBe(w);
      expect(e.customMetricsBySource).toEqual({ snapshot: 26 + 4 * w, events: 8 + 8 * w });
      expect(e.customMetrics).toBe(34 + 12 * w);
      expect(e.metrics).toHaveLength(e.customMetrics);
      expect(new Set(e.metrics).size).toBe(e.metrics.length);
    },
  );

  it('stays within 300 custom metrics for 20 workflows, against 664 with every per-workflow metric on', () => {
    // Act
    const defaults = estimate(20);
    const everything = estimate(20, { workflowRuntimeQuantiles: true, workflowTerminalJobs: true });

    // Assess: 4 + 22 + 21·22 = 488 snapshot metrics and 176 event metrics. The budget was 250 (242) until the outcome
    // events of issue 16 (FilesFailed, JobsCompletedWithErrors: 2 + 2 per Workflow value) made it 286.
    expect(defaults.customMetrics).toBe(286);
    expect(defaults.customMetrics).toBeLessThanOrEqual(300);
    expect(everything.customMetricsBySource).toEqual({ snapshot: 488, events: 176 });
    expect(everything.customMetrics).toBe(664);
  });

  it('leaves the event metrics out without the events', () => {
    // Act
    const e = estimate(20, { events: false });

    // Assess
    expect(e.customMetricsBySource.events).toBe(0);
    expect(e.metricNames).not.toContain('JobsFinished');
    expect(e.metricNames).not.toContain('JobRuntime');
  });

  it('names every metric the collector publishes, and the custom metrics by name and dimensions', () => {
    // Act
    const e = estimate(2, {}, 3);

    // Assess
    expect(e.metricNames).toEqual([
      'CollectionDuration',
      'CollectorUp',
      'FilesFailed',
      'JobRuntime',
      'Jobs',
      'JobsCompletedWithErrors',
      'JobsFetched',
      'JobsFinished',
      'OldestJobAge',
      'RecentJobRuntimeMax',
      'RecentJobRuntimeP50',
      'RecentJobRuntimeP90',
      'RecentJobRuntimeP95',
      'RecentJobRuntimeP99',
      'RecordsSkipped',
    ]);
    expect(e.metrics).toEqual(
      expect.arrayContaining([
        'CollectorUp{}',
        'Jobs{Status=FAILED}',
        'Jobs{Status=SCHEDULED,Workflow=Other}',
        'OldestJobAge{Status=IN_PROGRESS,Workflow=Workflow 0 (wf-0)}',
        'RecentJobRuntimeP95{Status=STOPPED}',
        'JobsFinished{Status=FAILED,Workflow=Other}',
        'JobRuntime{Status=COMPLETED,Workflow=Workflow 1 (wf-1)}',
        'FilesFailed{}',
        'JobsCompletedWithErrors{Workflow=Other}',
      ]),
    );
    expect(e.metrics.filter((k) => k.startsWith('RecentJobRuntime') && k.includes('Workflow='))).toEqual([]);
    expect(e.metrics.filter((k) => /^Jobs\{Status=(COMPLETED|STOPPED|FAILED),Workflow=/.test(k))).toEqual([]);
  });

  it('counts the runtime quantiles of every terminal status, even one with no job in the window today', () => {
    // Prepare: nothing finished within the window
    const aggregator = new Aggregator({
      nowMs: NOW_MS,
      runtimeWindowSeconds: 86_400,
      maxWorkflows: 20,
      histogramBuckets: [1],
      quantiles: [0.5, 0.95],
    });
    aggregator.add(job({ status: 'IN_PROGRESS', runtimeSeconds: undefined }));
    const collection: CollectionSuccess = {
      ok: true,
      snapshot: aggregator.snapshot(),
      durationSeconds: 1,
      finishedAtMs: NOW_MS,
    };

    // Act
    const e = estimateCost(collection, undefined, {
      namespace: 'N',
      quantiles: [0.5, 0.95],
      events: true,
      scheduleSeconds: 300,
      workflowRuntimeQuantiles: false,
      workflowTerminalJobs: false,
    });

    // Assess
    expect(e.metrics.filter((k) => k.startsWith('RecentJobRuntime')).sort()).toEqual(
      ['COMPLETED', 'FAILED', 'STOPPED']
        .flatMap((s) => [`RecentJobRuntimeP50{Status=${s}}`, `RecentJobRuntimeP95{Status=${s}}`])
        .sort(),
    );
  });

  it('prices one run: the snapshot and the events of the jobs that finished within one schedule interval', () => {
    // Act
    const e = estimate(20);

    // Assess: snapshot 4 + 7 + 15 (every status has recent jobs) + 21 × 4 = 110 datums; events: the COMPLETED job
    // of every workflow finished 2 minutes ago: JobsFinished and JobRuntime in total and for 21 Workflow values,
    // plus JobsFinished 0 for FAILED and STOPPED.
    expect(e.datums).toBe(110 + 2 + 2 * 21 + 2);
    expect(e.requestsPerRun).toBe(2);
    expect(e.runsPerMonth).toBe(MONTH_SECONDS / 300);
    expect(e.runsPerMonth).toBe(8_640);
    expect(e.costBreakdownUsd).toEqual({ customMetrics: 85.8, requests: 0.17 });
    expect(e.estimatedMonthlyCostUsd).toBe(85.97);
  });
});

// ---------------------------------------------------------------------------------------------------------
// The dry run, in process and from the command line

describe('dryRun', () => {
  let api: FakeApi;

  beforeAll(async () => {
    api = await startFakeApi({ jobs: accountRecords(ACCOUNT_WORKFLOWS) });
  });
  afterAll(async () => {
    await api?.close();
  });

  async function dryRunFor(env: Record<string, string>): Promise<Record<string, Json>> {
    const full = withDeployedDefaults({ UNSTRUCTURED_API_URL: api.url, UNSTRUCTURED_API_KEY: api.apiKey, ...env });
    const exporter = createExporter({ env: full, logger: new Logger({ level: 'error', write: () => undefined }) });
    const { summary } = await dryRun(exporter, { env: full, nowMs: NOW_MS });
    expect(summary).toBeDefined();
    return summary as Record<string, Json>;
  }

  /** Rows `| <max workflows> … | <custom metrics> | <requests/run> | <$/month> |` between the dry-run markers of a doc. */
  function documentedRows(
    file: string,
  ): { maxWorkflows: number; customMetrics: number; requestsPerRun: number; usd: number }[] {
    const text = readFileSync(join(ROOT, file), 'utf8');
    const block = /<!-- dry-run figures: begin -->([\s\S]*?)<!-- dry-run figures: end -->/.exec(text)?.[1];
    expect(block, `${file}: the dry-run figures block`).toBeDefined();
    return [
      ...(block as string).matchAll(
        /^\| (\d+)[^|]*\| \*{0,2}([\d,]+)\*{0,2} \| (\d+) \| \*{0,2}\$([\d,.]+)\*{0,2} \|$/gm,
      ),
    ].map((m) => ({
      maxWorkflows: Number(m[1]),
      customMetrics: Number((m[2] as string).replace(/,/g, '')),
      requestsPerRun: Number(m[3]),
      usd: Number((m[4] as string).replace(/,/g, '')),
    }));
  }

  it('reports at most 300 custom metrics for the deployed defaults (20 workflows and Other)', async () => {
    // Act
    const summary = await dryRunFor({});

    // Assess
    expect(summary.settings).toMatchObject({
      maxWorkflows: 20,
      events: true,
      schedule: 'rate(5 minutes)',
      workflowRuntimeQuantiles: false,
      workflowTerminalJobs: false,
    });
    expect(summary.workflows).toBe(21);
    expect(summary.customMetrics).toBeLessThanOrEqual(300);
    // 242 for the snapshot and the events, the total ScheduleMissed (issue 17: the account lists no workflow), and
    // FilesFailed and JobsCompletedWithErrors, total and per workflow (issue 16).
    expect(summary).toMatchObject({ customMetrics: 287, requestsPerRun: 2, estimatedMonthlyCostUsd: 86.27 });
  });

  it('matches the figures docs/cloudwatch.md gives (default, each extra workflow, the prod stage)', async () => {
    // Prepare
    const rows = documentedRows('docs/cloudwatch.md');
    expect(rows.map((r) => r.maxWorkflows)).toEqual([20, 21, 50]);

    // Act / Assess
    for (const row of rows) {
      const summary = await dryRunFor({ MAX_WORKFLOWS: String(row.maxWorkflows) });
      expect({
        maxWorkflows: row.maxWorkflows,
        customMetrics: summary.customMetrics,
        requestsPerRun: summary.requestsPerRun,
        usd: summary.estimatedMonthlyCostUsd,
      }).toEqual(row);
    }
  });

  it('matches the default cost and the cost per extra workflow the README and docs state', async () => {
    // Prepare
    const at20 = await dryRunFor({});
    const at21 = await dryRunFor({ MAX_WORKFLOWS: '21' });
    const perWorkflow = {
      metrics: at21.customMetrics - at20.customMetrics,
      usd: (at21.costBreakdownUsd.customMetrics - at20.costBreakdownUsd.customMetrics).toFixed(2),
    };

    // Assess
    expect(perWorkflow).toEqual({ metrics: 12, usd: '3.60' });
    for (const file of ['README.md', 'docs/cloudwatch.md', 'docs/deploy.md']) {
      const text = readFileSync(join(ROOT, file), 'utf8').replace(/\s+/g, ' ');
      for (const phrase of [
        `${at20.customMetrics} custom metrics`,
        `$${at20.estimatedMonthlyCostUsd.toFixed(2)} a month`,
        `${perWorkflow.metrics} custom metrics ($${perWorkflow.usd} a month) per extra workflow`,
      ]) {
        expect(text.includes(phrase), `${file} says "${phrase}"`).toBe(true);
      }
    }
  });
});

describe('collect --sink cloudwatch --dry-run', () => {
  let api: FakeApi;
  let aws: Server;
  let awsUrl: string;
  const awsRequests: string[] = [];
  let home: string;

  beforeAll(async () => {
    api = await startFakeApi({ jobs: accountRecords(25) });
    // Stands in for every AWS endpoint (AWS_ENDPOINT_URL): records anything that reaches it.
    aws = createServer((req, res) => {
      awsRequests.push(`${req.method} ${req.url}`);
      res.writeHead(500).end();
    });
    await new Promise<void>((resolve) => aws.listen(0, '127.0.0.1', resolve));
    awsUrl = `http://127.0.0.1:${(aws.address() as AddressInfo).port}`;
    home = mkdtempSync(join(tmpdir(), 'dry-run-home-')); // no ~/.aws
  }, 30_000);
  afterAll(async () => {
    await api?.close();
    await new Promise((resolve) => aws?.close(resolve));
    if (home !== undefined) rmSync(home, { recursive: true, force: true });
  });

  /** An account, no AWS region and no credentials anywhere, and every AWS request sent to the recorder. */
  function env(): Record<string, string> {
    return {
      HOME: home,
      UNSTRUCTURED_API_URL: api.url,
      UNSTRUCTURED_API_KEY: api.apiKey,
      AWS_ENDPOINT_URL: awsUrl,
      AWS_EC2_METADATA_DISABLED: 'true',
    };
  }

  it('needs no AWS credentials or region and makes no AWS request', async () => {
    // Act
    const { code, stdout, stderr } = await runCli(
      ['collect', '--sink', 'cloudwatch', '--dry-run', '--now', NOW_ISO],
      env(),
    );
    const published = await runCli(['collect', '--sink', 'cloudwatch', '--now', NOW_ISO], env());

    // Assess
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const summary = JSON.parse(stdout) as Record<string, Json>;
    expect(summary).toMatchObject({
      dryRun: true,
      namespace: 'Unstructured/Jobs',
      workflows: 21,
      customMetrics: 287,
      requestsPerRun: 2,
      estimatedMonthlyCostUsd: 86.27,
    });
    expect(Object.keys(summary)).toEqual(
      expect.arrayContaining(['datums', 'customMetrics', 'metricNames', 'requestsPerRun', 'estimatedMonthlyCostUsd']),
    );
    expect(summary.prices).toMatchObject({
      customMetricUsdPerMonth: 0.3,
      putMetricDataUsdPer1000Requests: 0.01,
      source: PRICES.source,
      takenOn: PRICES.takenOn,
    });
    expect(awsRequests).toEqual([]);
    // Without --dry-run the same environment is refused before the pull (the AWS pre-check the dry run skips).
    expect(published.code).toBe(2);
    expect(published.stderr).toContain('AWS_REGION');
  });

  it('prices another schedule and MAX_WORKFLOWS given as flags', async () => {
    // Act
    const { code, stdout } = await runCli(
      [
        'collect',
        '--sink',
        'cloudwatch',
        '--dry-run',
        '--schedule',
        'rate(1 minute)',
        '--max-workflows',
        '5',
        '--now',
        NOW_ISO,
      ],
      env(),
    );

    // Assess
    expect(code).toBe(0);
    const summary = JSON.parse(stdout) as Record<string, Json>;
    expect(summary.settings).toMatchObject({ maxWorkflows: 5, schedule: 'rate(1 minute)' });
    expect(summary).toMatchObject({ workflows: 6, customMetrics: 35 + 12 * 6, runsPerMonth: 43_200 });
    expect(summary.estimatedMonthlyCostUsd).toBe(
      Math.round((107 * 0.3 + (summary.requestsPerRun * 43_200 * 0.01) / 1000) * 100) / 100,
    );
    expect(awsRequests).toEqual([]);
  });

  it('runs on the embedded demo with --demo, which --sink cloudwatch refuses without --dry-run', async () => {
    // Act
    const demo = await runCli(['collect', '--sink', 'cloudwatch', '--dry-run', '--demo'], {
      HOME: home,
      AWS_ENDPOINT_URL: awsUrl,
    });
    const refused = await runCli(['collect', '--sink', 'cloudwatch', '--demo'], {
      HOME: home,
      AWS_ENDPOINT_URL: awsUrl,
    });

    // Assess
    expect(demo.code).toBe(0);
    const summary = JSON.parse(demo.stdout) as Record<string, Json>;
    expect(summary).toMatchObject({ dryRun: true, demo: true });
    // Issue 17: the total ScheduleMissed, and ScheduleMissed and SecondsSinceLastSuccess of the demo's two active
    // scheduled workflows; issue 16: FilesFailed and JobsCompletedWithErrors, total and per workflow.
    expect(summary.customMetrics).toBe(34 + 12 * summary.workflows + 1 + 2 * 2);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--demo: not with --sink cloudwatch (only with --dry-run)');
    expect(awsRequests).toEqual([]);
  });

  it.each([
    [['collect', '--dry-run'], '--dry-run: only applies with --sink cloudwatch'],
    [['collect', '--sink', 'cloudwatch', '--schedule', 'rate(1 minute)'], '--schedule: only applies with --dry-run'],
    [['collect', '--sink', 'cloudwatch', '--dry-run', '--state', 'x.json'], '--state: not with --dry-run'],
    [
      ['collect', '--sink', 'cloudwatch', '--dry-run', '--schedule', 'cron(0/5 * * * ? *)'],
      '--schedule: expected an EventBridge rate',
    ],
  ])('refuses %j (exit 2)', async (args, message) => {
    // Prepare
    const before = api.requests.length;

    // Act
    const { code, stderr } = await runCli(args, env());

    // Assess
    expect(code).toBe(2);
    expect(stderr).toContain(message);
    expect(api.requests.length).toBe(before); // refused before any pull
  });
});
