/**
 * What a configuration costs in CloudWatch, before anything is published (`collect --sink cloudwatch --dry-run`,
 * docs/cloudwatch.md#cost-before-you-deploy). Pure: a collection and the finished jobs of its pull in, an estimate
 * out; no SDK, no clock.
 *
 * - customMetrics: the distinct metric name + dimensions combinations a month of scheduled runs creates for this
 *   account as it is now: the snapshot's metrics, with the runtime quantiles counted for every terminal status of
 *   every group that publishes them (a status with no job in the window today may have one tomorrow); and the
 *   finished-job events for every terminal status of every Workflow value the snapshot has (totals included).
 *   Workflows moving in and out of the top MAX_WORKFLOWS during a month add to it (docs/cloudwatch.md).
 * - datums and requestsPerRun: what one run publishes: the snapshot, and the events of the jobs that finished
 *   within one schedule interval before now (what a run in steady state publishes), packed as the publishers pack.
 */
import type { MetricDatum } from '@aws-sdk/client-cloudwatch';
import type { CollectionSuccess } from '../../collection.js';
import { ConfigError } from '../../config.js';
import { packUnits, renderEventUnits } from '../../events/datums.js';
import { workflowFolding, type FinishedJobs } from '../../events/finished.js';
import type { FinishedEvent, OutcomeEvent } from '../../events/state.js';
import { renderOutcomeUnits } from '../../events/outcome-datums.js';
import { TERMINAL_STATUSES } from '../../vocabulary.js';
import {
  DIMENSION_NAMES,
  quantileMetricNames,
  renderDatums,
  statusDimensionValue,
  workflowDimensionValue,
} from './datums.js';
import { planRequests } from './publisher.js';
import { judgedWorkflows, SCHEDULE_METRIC_NAMES } from './schedule-datums.js';
import type { CloudWatchMetricSettings } from './settings.js';

/**
 * CloudWatch list prices, US East (N. Virginia), standard resolution, from the pricing page
 * https://aws.amazon.com/cloudwatch/pricing/ ("Paid tier" → Metrics), as quoted by this project's docs
 * (docs/cloudwatch.md) and taken into this module on 2026-12-06 (this machine cannot reach the page: check it
 * for your region before relying on the figure). A custom metric is billed by the hour it receives data; a month
 * of data is one metric-month.
 */
export const PRICES = {
  source: 'https://aws.amazon.com/cloudwatch/pricing/ (us-east-1, standard resolution)',
  takenOn: '2026-12-06',
  /** USD per metric-month, by tier: the first 10,000 metrics, the next 240,000, the next 750,000, the rest. */
  customMetricTiers: [
    { upTo: 10_000, usdPerMetricMonth: 0.3 },
    { upTo: 250_000, usdPerMetricMonth: 0.1 },
    { upTo: 1_000_000, usdPerMetricMonth: 0.05 },
    { upTo: Number.POSITIVE_INFINITY, usdPerMetricMonth: 0.02 },
  ],
  /** PutMetricData: USD per 1,000 requests. */
  putMetricDataUsdPer1000Requests: 0.01,
} as const;

/** The month the estimate is for: 30 days (a 5-minute schedule runs 8,640 times). */
export const MONTH_SECONDS = 30 * 86_400;

/**
 * What serverless.yml (params.default) gives the deployed collect function: the dry run renders with these unless
 * the environment or a flag says otherwise. test/deploy-package.test.ts checks they match the packaged template.
 */
export const DEPLOYED_COLLECT_DEFAULTS = {
  env: { MAX_WORKFLOWS: '20', QUANTILES: '0.5,0.9,0.95,0.99,1', RUNTIME_WINDOW: '24h' },
  schedule: 'rate(5 minutes)',
  /** The stack always has the events state bucket (STATE_BUCKET). */
  events: true,
} as const;

type Env = Readonly<Record<string, string | undefined>>;

/** The environment with the deployed collect function's values filled in where a variable is unset or blank. */
export function withDeployedDefaults(env: Env): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = { ...env };
  for (const [variable, value] of Object.entries(DEPLOYED_COLLECT_DEFAULTS.env)) {
    if ((out[variable] ?? '').trim() === '') out[variable] = value;
  }
  return out;
}

const RATE = /^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$/;
const UNIT_SECONDS: Readonly<Record<string, number>> = { minute: 60, hour: 3_600, day: 86_400 };

/**
 * Seconds between runs of an EventBridge `rate(...)` expression (`rate(1 minute)`, `rate(5 minutes)`: singular
 * for 1, plural otherwise, as EventBridge requires). `cron(...)` has no fixed interval: not estimated.
 */
export function scheduleIntervalSeconds(expression: string, variable = '--schedule'): number {
  const m = RATE.exec(expression.trim());
  const value = Number(m?.[1]);
  const unit = m?.[2] ?? '';
  if (m === null || !(value > 0) || (value === 1) !== !unit.endsWith('s')) {
    throw new ConfigError(
      variable,
      `expected an EventBridge rate like rate(1 minute) or rate(5 minutes), got ${JSON.stringify(expression)}`,
    );
  }
  return value * (UNIT_SECONDS[unit.replace(/s$/, '')] as number);
}

export interface CostOptions extends CloudWatchMetricSettings {
  readonly namespace: string;
  readonly quantiles: readonly number[];
  /** Whether the finished-job events are published (JobsFinished, JobRuntime). */
  readonly events: boolean;
  readonly scheduleSeconds: number;
}

export interface CostEstimate {
  /** Datums one run publishes (snapshot + the events of one schedule interval). */
  readonly datums: number;
  readonly requestsPerRun: number;
  readonly runsPerMonth: number;
  /** Distinct metric name + dimensions combinations a month of runs creates. */
  readonly customMetrics: number;
  readonly customMetricsBySource: { readonly snapshot: number; readonly events: number };
  /** Workflow dimension values (the kept workflows, and Other when some are folded). */
  readonly workflows: number;
  readonly metricNames: string[];
  readonly estimatedMonthlyCostUsd: number;
  readonly costBreakdownUsd: { readonly customMetrics: number; readonly requests: number };
  /** Every custom metric, as `Name{Dim=value,…}` (dimensions sorted by name), sorted. */
  readonly metrics: string[];
}

/** `Name{Dim=value,…}`, dimensions sorted by name: one custom metric. */
export function metricKey(name: string, dimensions: Readonly<Record<string, string>>): string {
  const dims = Object.keys(dimensions)
    .sort()
    .map((k) => `${k}=${dimensions[k]}`);
  return `${name}{${dims.join(',')}}`;
}

function datumKey(d: MetricDatum): string {
  const dims: Record<string, string> = {};
  for (const dim of d.Dimensions ?? []) dims[dim.Name ?? ''] = dim.Value ?? '';
  return metricKey(d.MetricName ?? '', dims);
}

/** USD a month for this many custom metrics, tier by tier. */
export function customMetricsUsd(metrics: number): number {
  let usd = 0;
  let from = 0;
  for (const tier of PRICES.customMetricTiers) {
    if (metrics <= from) break;
    usd += (Math.min(metrics, tier.upTo) - from) * tier.usdPerMetricMonth;
    from = tier.upTo;
  }
  return usd;
}

const cents = (usd: number): number => Math.round(usd * 100) / 100;

export function estimateCost(
  collection: CollectionSuccess,
  finished: FinishedJobs | undefined,
  options: CostOptions,
): CostEstimate {
  const snapshot = collection.snapshot;
  const datums = renderDatums(collection, options);
  const workflowValues = snapshot.workflows.map((wf) => workflowDimensionValue(wf.id, wf.name));

  // Snapshot: what this run renders, plus the quantiles of every terminal status of each group publishing them.
  const snapshotKeys = new Set(datums.map(datumKey));
  const quantileNames = quantileMetricNames(options.quantiles);
  const quantileGroups: Record<string, string>[] = [{}];
  if (options.workflowRuntimeQuantiles)
    quantileGroups.push(...workflowValues.map((w) => ({ [DIMENSION_NAMES.workflow]: w })));
  for (const group of quantileGroups) {
    for (const status of TERMINAL_STATUSES) {
      for (const name of quantileNames)
        snapshotKeys.add(metricKey(name, { ...group, [DIMENSION_NAMES.status]: statusDimensionValue(status) }));
    }
  }

  // Schedule health (issue 17): a judged workflow with no success yet publishes SecondsSinceLastSuccess once it has one.
  for (const w of judgedWorkflows(snapshot))
    snapshotKeys.add(
      metricKey(SCHEDULE_METRIC_NAMES.secondsSinceLastSuccess, {
        [DIMENSION_NAMES.workflow]: workflowDimensionValue(w.id, w.name),
      }),
    );

  // Events: one finished job of each terminal status in each Workflow value, rendered as the collector renders them.
  const eventKeys = new Set<string>();
  let eventDatums: MetricDatum[] = [];
  let eventRequests = 0;
  if (options.events) {
    const nowMs = Date.parse(snapshot.generatedAt);
    const everyCombination: FinishedEvent[] = workflowValues.flatMap((workflow, i) =>
      TERMINAL_STATUSES.map((status) => ({
        id: `${i}-${status}`,
        status,
        workflow,
        runtimeSeconds: 1,
        finishedAtMs: nowMs,
      })),
    );
    for (const unit of renderEventUnits(everyCombination, { nowMs }))
      for (const d of unit.datums) eventKeys.add(datumKey(d));
    // Outcome events (job details, issue 16): FilesFailed and JobsCompletedWithErrors, per Workflow value and in total.
    const everyWorkflow: OutcomeEvent[] = workflowValues.map((workflow, i) => ({
      id: `outcome-${i}`,
      workflow,
      finishedAtMs: nowMs,
      filesFailed: 0,
      completedWithErrors: false,
    }));
    for (const unit of renderOutcomeUnits(everyWorkflow, nowMs))
      for (const d of unit.datums) eventKeys.add(datumKey(d));
    // One run in steady state: the jobs that finished within the last schedule interval.
    const fold = workflowFolding(snapshot);
    const since = nowMs - options.scheduleSeconds * 1000;
    const recent: FinishedEvent[] = [];
    for (const job of finished?.jobs() ?? []) {
      if (job.finishedAtMs > since && job.finishedAtMs <= nowMs) {
        recent.push({
          id: job.id,
          status: job.status,
          workflow: fold(job.workflowId),
          runtimeSeconds: job.runtimeSeconds,
          finishedAtMs: job.finishedAtMs,
        });
      }
    }
    const units = renderEventUnits(recent, { nowMs });
    eventDatums = units.flatMap((u) => u.datums);
    eventRequests = packUnits(units, options.namespace).length;
  }

  const metrics = [...new Set([...snapshotKeys, ...eventKeys])].sort();
  const requestsPerRun = planRequests(datums, options.namespace).length + eventRequests;
  const runsPerMonth = Math.floor(MONTH_SECONDS / options.scheduleSeconds);
  const metricsUsd = customMetricsUsd(metrics.length);
  const requestsUsd = ((requestsPerRun * runsPerMonth) / 1000) * PRICES.putMetricDataUsdPer1000Requests;
  return {
    datums: datums.length + eventDatums.length,
    requestsPerRun,
    runsPerMonth,
    customMetrics: metrics.length,
    customMetricsBySource: { snapshot: snapshotKeys.size, events: eventKeys.size },
    workflows: workflowValues.length,
    metricNames: [...new Set(metrics.map((k) => k.slice(0, k.indexOf('{'))))].sort(),
    estimatedMonthlyCostUsd: cents(metricsUsd + requestsUsd),
    costBreakdownUsd: { customMetrics: cents(metricsUsd), requests: cents(requestsUsd) },
    metrics,
  };
}
