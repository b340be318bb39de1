/**
 * `collect --sink cloudwatch --dry-run`: one pull, rendered as the deployed collect function would render it,
 * and what it would cost (cost.ts). No AWS SDK, no credentials, no request to AWS: nothing is published and no
 * events state is read or written.
 */
import { loadEventsConfig } from '../../events/config.js';
import { FinishedJobs } from '../../events/finished.js';
import type { Exporter } from '../../exporter.js';
import type { Collection } from '../../collection.js';
import { DEPLOYED_COLLECT_DEFAULTS, estimateCost, PRICES, scheduleIntervalSeconds, type CostEstimate } from './cost.js';
import { loadCloudWatchSettings, type CloudWatchMetricSettings } from './settings.js';

export interface DryRunOptions {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly nowMs?: number;
  /** EventBridge rate expression; default the deployed one. */
  readonly schedule?: string;
}

export interface DryRunResult {
  readonly collection: Collection;
  /** The JSON summary printed (undefined when the pull failed). */
  readonly summary?: Record<string, unknown>;
  readonly estimate?: CostEstimate;
}

export async function dryRun(exporter: Exporter, options: DryRunOptions): Promise<DryRunResult> {
  // Settings first: a bad value is a configuration error before anything is pulled.
  const schedule = options.schedule ?? DEPLOYED_COLLECT_DEFAULTS.schedule;
  const scheduleSeconds = scheduleIntervalSeconds(schedule);
  const events = DEPLOYED_COLLECT_DEFAULTS.events;
  const settings: CloudWatchMetricSettings = loadCloudWatchSettings(options.env, { eventsOn: events });
  const { retentionSeconds } = loadEventsConfig(options.env);
  const nowMs = options.nowMs ?? Date.now();
  const finished = new FinishedJobs({ nowMs, retentionSeconds });
  const collection = await exporter.collectNow({ nowMs, onJob: finished.add });
  if (!collection.ok) return { collection };
  const { config } = exporter;
  const estimate = estimateCost(collection, finished, {
    namespace: config.cloudwatchNamespace,
    quantiles: config.quantiles,
    events,
    scheduleSeconds,
    ...settings,
  });
  const { metrics: _list, ...figures } = estimate;
  const summary = {
    dryRun: true,
    ...(exporter.demo && { demo: true }),
    namespace: config.cloudwatchNamespace,
    settings: {
      maxWorkflows: config.maxWorkflows,
      quantiles: config.quantiles,
      runtimeWindowSeconds: config.runtimeWindowSeconds,
      events,
      schedule,
      ...settings,
    },
    ...figures,
    prices: {
      customMetricUsdPerMonth: PRICES.customMetricTiers[0].usdPerMetricMonth,
      customMetricTiers: PRICES.customMetricTiers.map((t) => ({
        upTo: Number.isFinite(t.upTo) ? t.upTo : null,
        usd: t.usdPerMetricMonth,
      })),
      putMetricDataUsdPer1000Requests: PRICES.putMetricDataUsdPer1000Requests,
      source: PRICES.source,
      takenOn: PRICES.takenOn,
    },
  };
  return { collection, summary, estimate };
}
