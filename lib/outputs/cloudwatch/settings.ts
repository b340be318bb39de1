/**
 * Which optional per-workflow CloudWatch metrics the collector publishes. Each costs custom metrics per workflow
 * (docs/cloudwatch.md#how-many-custom-metrics), and the finished-job events (docs/events.md) already give the same
 * answers exactly, so both are off by default when the events are on:
 *
 * - CLOUDWATCH_WORKFLOW_QUANTILES: `RecentJobRuntimeP50…Max{Workflow,Status}` (3 × quantiles per workflow, 15 by
 *   default). `JobRuntime{Workflow,Status}` gives any percentile exactly, for any period.
 * - CLOUDWATCH_WORKFLOW_TERMINAL_JOBS: `Jobs{Workflow,Status}` for COMPLETED, STOPPED and FAILED (3 per workflow):
 *   how many finished jobs the API's list still holds. `JobsFinished{Workflow,Status}` counts the jobs that finished
 *   in any period, once each.
 *
 * Each is `on`, `off` or `auto` (the default: off when the events are on, on otherwise). The totals over all
 * workflows (`Jobs{Status}`, `RecentJobRuntime*{Status}`) and the pending-status metrics are always published.
 */
import { ConfigError } from '../../config.js';

export const CLOUDWATCH_SETTING_VARIABLES = {
  workflowRuntimeQuantiles: 'CLOUDWATCH_WORKFLOW_QUANTILES',
  workflowTerminalJobs: 'CLOUDWATCH_WORKFLOW_TERMINAL_JOBS',
} as const;

export interface CloudWatchMetricSettings {
  /** Publish RecentJobRuntime*{Workflow,Status}. */
  readonly workflowRuntimeQuantiles: boolean;
  /** Publish Jobs{Workflow,Status} for the terminal statuses. */
  readonly workflowTerminalJobs: boolean;
}

type Env = Readonly<Record<string, string | undefined>>;

const SWITCHES = ['on', 'off', 'auto'] as const;

function onOff(env: Env, variable: string, auto: boolean): boolean {
  const raw = env[variable]?.trim().toLowerCase();
  if (raw === undefined || raw === '' || raw === 'auto') return auto;
  if (raw === 'on') return true;
  if (raw === 'off') return false;
  throw new ConfigError(variable, `expected ${SWITCHES.join(', ')}, got ${JSON.stringify(env[variable])}`);
}

/** The settings from the environment; `eventsOn`: whether this run also publishes the finished-job events. */
export function loadCloudWatchSettings(env: Env, options: { readonly eventsOn: boolean }): CloudWatchMetricSettings {
  const auto = !options.eventsOn;
  return {
    workflowRuntimeQuantiles: onOff(env, CLOUDWATCH_SETTING_VARIABLES.workflowRuntimeQuantiles, auto),
    workflowTerminalJobs: onOff(env, CLOUDWATCH_SETTING_VARIABLES.workflowTerminalJobs, auto),
  };
}
