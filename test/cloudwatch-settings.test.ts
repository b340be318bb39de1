/**
 * The per-workflow CloudWatch metrics the finished-job events make redundant (lib/outputs/cloudwatch/settings.ts):
 * RecentJobRuntime*{Workflow,Status} and Jobs{Workflow,Status} of the terminal statuses. Off by default when the
 * events are on, on otherwise, each switchable; the totals and the pending-status metrics are always published.
 */
import type { MetricDatum } from '@aws-sdk/client-cloudwatch';
import { describe, expect, it } from 'vitest';
import { Aggregator } from '../lib/aggregate/aggregator.js';
import { renderDatums } from '../lib/outputs/cloudwatch/datums.js';
import { CLOUDWATCH_SETTING_VARIABLES, loadCloudWatchSettings } from '../lib/outputs/cloudwatch/settings.js';
import type { CollectionSuccess } from '../lib/collection.js';
import { ConfigError } from '../lib/config.js';
import { job, NOW_MS } from './support/jobs.js';

const HOUR = 3_600_000;

/** Two workflows with a job in every known status, each terminal one finished within the runtime window; and an unknown status. */
function everyStatus(): CollectionSuccess {
  const aggregator = new Aggregator({
    nowMs: NOW_MS,
    runtimeWindowSeconds: 86_400,
    maxWorkflows: 50,
    histogramBuckets: [1, 10],
    quantiles: [0.5, 0.9, 0.95, 0.99, 1],
  });
  for (const workflowId of ['wf-a', 'wf-b']) {
    const workflowName = `Workflow ${workflowId}`;
    for (const status of ['COMPLETED', 'FAILED', 'STOPPED'])
      aggregator.add(job({ workflowId, workflowName, status, runtimeSeconds: 30, createdAtMs: NOW_MS - HOUR }));
    for (const status of ['SCHEDULED', 'IN_PROGRESS', 'QUEUED'])
      aggregator.add(job({ workflowId, workflowName, status, runtimeSeconds: undefined, createdAtMs: NOW_MS - HOUR }));
  }
  return { ok: true, snapshot: aggregator.snapshot(), durationSeconds: 0.1, finishedAtMs: NOW_MS };
}

function keys(datums: readonly MetricDatum[], filter: (d: MetricDatum) => boolean = () => true): string[] {
  return datums
    .filter(filter)
    .map((d) => `${d.MetricName}{${(d.Dimensions ?? []).map((x) => `${x.Name}=${x.Value}`).join(',')}}`)
    .sort();
}

const perWorkflow = (d: MetricDatum) => (d.Dimensions ?? []).some((x) => x.Name === 'Workflow');
const total = (d: MetricDatum) => !perWorkflow(d);

describe('per-workflow CloudWatch metrics', () => {
  it('are all published by default (renderDatums without settings)', () => {
    // Act
    const datums = renderDatums(everyStatus());

    // Assess: per workflow 6 Jobs (5 known + QUEUED) + 2 OldestJobAge + 5 quantiles × 3 statuses = 23
    expect(datums.filter(perWorkflow)).toHaveLength(2 * 23);
  });

  it('leave out RecentJobRuntime*{Workflow,Status} and the terminal Jobs{Workflow,Status} when switched off, and nothing else', () => {
    // Prepare
    const collection = everyStatus();
    const all = renderDatums(collection);

    // Act
    const reduced = renderDatums(collection, { workflowRuntimeQuantiles: false, workflowTerminalJobs: false });

    // Assess
    expect(keys(reduced, total)).toEqual(keys(all, total));
    expect(keys(reduced, perWorkflow)).toEqual(
      ['wf-a', 'wf-b']
        .flatMap((id) => {
          const w = `Workflow=Workflow ${id} (${id})`;
          return [
            `Jobs{${w},Status=IN_PROGRESS}`,
            `Jobs{${w},Status=QUEUED}`,
            `Jobs{${w},Status=SCHEDULED}`,
            `OldestJobAge{${w},Status=IN_PROGRESS}`,
            `OldestJobAge{${w},Status=SCHEDULED}`,
          ];
        })
        .sort(),
    );
    const removed = keys(all, perWorkflow).filter((k) => !keys(reduced, perWorkflow).includes(k));
    expect(removed).toHaveLength(2 * (15 + 3));
    expect(
      removed.every((k) => k.startsWith('RecentJobRuntime') || /^Jobs\{.*Status=(COMPLETED|STOPPED|FAILED)\}$/.test(k)),
    ).toBe(true);
  });

  it('switch independently', () => {
    // Prepare
    const collection = everyStatus();

    // Act
    const quantilesOnly = renderDatums(collection, { workflowRuntimeQuantiles: true, workflowTerminalJobs: false });
    const jobsOnly = renderDatums(collection, { workflowRuntimeQuantiles: false, workflowTerminalJobs: true });

    // Assess
    expect(quantilesOnly.filter(perWorkflow).filter((d) => d.MetricName?.startsWith('RecentJobRuntime'))).toHaveLength(
      2 * 15,
    );
    expect(
      keys(quantilesOnly, perWorkflow).filter((k) => /^Jobs\{.*Status=(COMPLETED|STOPPED|FAILED)\}$/.test(k)),
    ).toEqual([]);
    expect(jobsOnly.filter(perWorkflow).filter((d) => d.MetricName?.startsWith('RecentJobRuntime'))).toEqual([]);
    expect(
      keys(jobsOnly, perWorkflow).filter((k) => /^Jobs\{.*Status=(COMPLETED|STOPPED|FAILED)\}$/.test(k)),
    ).toHaveLength(2 * 3);
  });
});

describe('loadCloudWatchSettings', () => {
  it('defaults to off with the events on, on without them', () => {
    // Act / Assess
    expect(loadCloudWatchSettings({}, { eventsOn: true })).toEqual({
      workflowRuntimeQuantiles: false,
      workflowTerminalJobs: false,
    });
    expect(loadCloudWatchSettings({}, { eventsOn: false })).toEqual({
      workflowRuntimeQuantiles: true,
      workflowTerminalJobs: true,
    });
    expect(
      loadCloudWatchSettings(
        { CLOUDWATCH_WORKFLOW_QUANTILES: 'auto', CLOUDWATCH_WORKFLOW_TERMINAL_JOBS: ' ' },
        { eventsOn: true },
      ),
    ).toEqual({
      workflowRuntimeQuantiles: false,
      workflowTerminalJobs: false,
    });
  });

  it('takes on and off (any case) over the default', () => {
    // Act
    const on = loadCloudWatchSettings(
      { CLOUDWATCH_WORKFLOW_QUANTILES: 'On', CLOUDWATCH_WORKFLOW_TERMINAL_JOBS: 'on' },
      { eventsOn: true },
    );
    const off = loadCloudWatchSettings(
      { CLOUDWATCH_WORKFLOW_QUANTILES: 'off', CLOUDWATCH_WORKFLOW_TERMINAL_JOBS: 'OFF' },
      { eventsOn: false },
    );

    // Assess
    expect(on).toEqual({ workflowRuntimeQuantiles: true, workflowTerminalJobs: true });
    expect(off).toEqual({ workflowRuntimeQuantiles: false, workflowTerminalJobs: false });
  });

  it.each(Object.values(CLOUDWATCH_SETTING_VARIABLES))(
    'refuses anything else in %s, naming the variable',
    (variable) => {
      // Act
      const load = () => loadCloudWatchSettings({ [variable]: 'yes' }, { eventsOn: true });

      // Assess
      expect(load).toThrow(ConfigError);
      expect(load).toThrow(`${variable}: expected on, off, auto, got "yes"`);
    },
  );
});
