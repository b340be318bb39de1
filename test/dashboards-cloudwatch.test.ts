/**
 * The CloudWatch dashboard only asks for what the deployed collector publishes: every (metric name, dimension
 * names) pair of its queries, and every fixed dimension value, must be among the custom metrics the dry run
 * (lib/outputs/cloudwatch/cost.ts) lists for a collection covering every status, with the deployed defaults (finished-job
 * events on, so the per-workflow metrics they replace are off); and every published metric has a panel.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Aggregator } from '../lib/aggregate/aggregator.js';
import type { CollectionSuccess } from '../lib/collection.js';
import { loadConfig } from '../lib/config.js';
import { DEPLOYED_COLLECT_DEFAULTS, estimateCost, scheduleIntervalSeconds } from '../lib/outputs/cloudwatch/cost.js';
import { loadCloudWatchSettings } from '../lib/outputs/cloudwatch/settings.js';
import { job, NOW_MS } from './support/jobs.js';
import { workflowInventory } from '../lib/aggregate/workflow-health.js';
import { noWorkflowSkips, type Workflow } from '../lib/records/workflow.js';

const ROOT = new URL('..', import.meta.url).pathname;

interface CloudWatchTarget {
  readonly refId: string;
  readonly metricName?: string;
  readonly dimensions?: Record<string, string | string[]>;
  readonly namespace?: string;
  readonly region?: string;
  readonly expression?: string;
  readonly id?: string;
  readonly matchExact?: boolean;
  readonly metricQueryType?: number;
  readonly metricEditorMode?: number;
  readonly datasource?: { type?: string; uid?: string };
}
interface Panel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly gridPos: { x: number; w: number };
  readonly datasource?: { type?: string; uid?: string };
  readonly targets?: CloudWatchTarget[];
  readonly panels?: Panel[];
}
interface Variable {
  readonly name: string;
  readonly type: string;
  readonly query?: unknown;
  readonly options?: Array<{ value: string }>;
  readonly current?: { value?: string | string[] };
  readonly datasource?: { type?: string; uid?: string };
  readonly multi?: boolean;
  readonly includeAll?: boolean;
}
interface Dashboard {
  readonly __inputs: Array<{ name: string; type: string; pluginId: string }>;
  readonly panels: Panel[];
  readonly templating: { list: Variable[] };
}

const dashboard = JSON.parse(
  readFileSync(join(ROOT, 'dashboards/unstructured-jobs-cloudwatch.json'), 'utf8'),
) as Dashboard;
const variables = dashboard.templating.list;
const panels = ((list: readonly Panel[]): Panel[] => list.flatMap((p) => [p, ...(p.panels ?? [])]))(dashboard.panels);
const metricTargets = panels.flatMap((p) =>
  (p.targets ?? []).filter((t) => t.metricEditorMode !== 1).map((t) => ({ panel: p.title, target: t })),
);

/** A collection with two workflows and jobs in every known status (and the runtime window non-empty for each terminal one). */
function everyStatusCollection(): CollectionSuccess {
  const aggregator = new Aggregator({
    nowMs: NOW_MS,
    runtimeWindowSeconds: 86_400,
    maxWorkflows: 50,
    histogramBuckets: [1, 10, 100],
    quantiles: [0.5, 0.9, 0.95, 0.99, 1],
  });
  for (const workflowId of ['wf-a', 'wf-b']) {
    const workflowName = `Workflow ${workflowId}`;
    for (const status of ['COMPLETED', 'FAILED', 'STOPPED'])
      aggregator.add(job({ workflowId, workflowName, status, runtimeSeconds: 30 }));
    for (const status of ['SCHEDULED', 'IN_PROGRESS'])
      aggregator.add(job({ workflowId, workflowName, status, runtimeSeconds: undefined }));
  }
  aggregator.skip('invalid_status');
  // Issue 17: wf-a is listed by the workflows API, active and scheduled (ScheduleMissed, SecondsSinceLastSuccess).
  const listed: Workflow[] = [
    {
      id: 'wf-a',
      name: 'Workflow wf-a',
      status: 'active',
      workflowType: 'basic',
      createdAtMs: NOW_MS - 30 * 86_400_000,
      updatedAtMs: undefined,
      cronEntries: ['0 * * * *'],
      scheduleProblem: undefined,
    },
  ];
  aggregator.declareWorkflows(listed);
  const inventory = workflowInventory(listed, noWorkflowSkips(), (id) => aggregator.runsOf(id), NOW_MS, {
    graceMs: 15 * 60_000,
    timezone: 'UTC',
  });
  return {
    ok: true,
    snapshot: { ...aggregator.snapshot(), workflowInventory: inventory },
    durationSeconds: 0.2,
    finishedAtMs: NOW_MS,
  };
}

/** The custom metrics of the deployed configuration (what `collect --sink cloudwatch --dry-run` lists). */
const deployed = loadConfig(DEPLOYED_COLLECT_DEFAULTS.env);
const metrics = estimateCost(everyStatusCollection(), undefined, {
  namespace: deployed.cloudwatchNamespace,
  quantiles: deployed.quantiles,
  events: DEPLOYED_COLLECT_DEFAULTS.events,
  scheduleSeconds: scheduleIntervalSeconds(DEPLOYED_COLLECT_DEFAULTS.schedule),
  ...loadCloudWatchSettings({}, { eventsOn: DEPLOYED_COLLECT_DEFAULTS.events }),
}).metrics.map((key) => {
  const [, name, dims] = /^([^{]+)\{(.*)\}$/.exec(key) as RegExpExecArray;
  const dimensions = (dims as string)
    .split(',')
    .filter(Boolean)
    .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)] as const);
  return { name: name as string, dimensions };
});
const pairKey = (metric: string, dimensionNames: readonly string[]) =>
  `${metric}(${[...dimensionNames].sort().join(',')})`;
const published = new Set(
  metrics.map((m) =>
    pairKey(
      m.name,
      m.dimensions.map(([n]) => n),
    ),
  ),
);
/** metric → dimension name → values published. */
const publishedValues = new Map<string, Map<string, Set<string>>>();
for (const m of metrics) {
  const byDimension = publishedValues.get(m.name) ?? new Map<string, Set<string>>();
  publishedValues.set(m.name, byDimension);
  for (const [name, value] of m.dimensions) {
    const values = byDimension.get(name) ?? new Set<string>();
    byDimension.set(name, values);
    values.add(value);
  }
}

/** What a dimension value of a query stands for: literal values to check, or nothing to check (`*`, $workflow). */
function literalValues(value: string): string[] | 'any' {
  if (value === '*') return 'any';
  const variable = /^\$\{?(\w+)\}?$/.exec(value)?.[1];
  if (variable === undefined) return [value];
  const v = variables.find((x) => x.name === variable);
  if (v === undefined) throw new Error(`unknown variable ${value}`);
  if (v.type === 'custom') return (v.options ?? []).map((o) => o.value);
  return 'any'; // a query variable: filled from the published dimension values themselves
}

describe('the CloudWatch dashboard', () => {
  it('queries only (metric, dimension names) pairs the collector publishes', () => {
    // Act
    const unknown = metricTargets
      .map(({ panel, target }) => ({
        panel,
        key: pairKey(target.metricName ?? '', Object.keys(target.dimensions ?? {})),
      }))
      .filter(({ key }) => !published.has(key))
      .map(({ panel, key }) => `${panel}: ${key}`);

    // Assess
    expect(metricTargets.length).toBeGreaterThanOrEqual(20);
    expect(unknown).toEqual([]);
  });

  it('uses only dimension values the collector publishes for that metric', () => {
    // Act
    const wrong: string[] = [];
    for (const { panel, target } of metricTargets) {
      for (const [name, raw] of Object.entries(target.dimensions ?? {})) {
        for (const value of Array.isArray(raw) ? raw : [raw]) {
          const literal = literalValues(value);
          if (literal === 'any') continue;
          const known = publishedValues.get(target.metricName ?? '')?.get(name) ?? new Set<string>();
          for (const v of literal) if (!known.has(v)) wrong.push(`${panel}: ${target.metricName} ${name}=${v}`);
        }
      }
    }

    // Assess
    expect(wrong).toEqual([]);
  });

  it('has a panel for every metric the collector publishes', () => {
    // Prepare
    const queried = new Set(metricTargets.map(({ target }) => target.metricName));

    // Act
    const missing = [...new Set(metrics.map((m) => m.name))].filter((m) => !queried.has(m));

    // Assess
    expect(queried).toContain('JobsFinished');
    expect(queried).toContain('JobRuntime');
    expect(missing).toEqual([]);
  });

  it('charts JobsFinished as a Sum and JobRuntime with percentile statistics', () => {
    // Prepare
    const byMetric = (name: string) =>
      metricTargets
        .filter(({ target }) => target.metricName === name)
        .map(({ target }) => (target as { statistic?: string }).statistic);

    // Assess
    expect(new Set(byMetric('JobsFinished'))).toEqual(new Set(['Sum']));
    expect(byMetric('JobRuntime')).toEqual(expect.arrayContaining(['p50', 'p90', 'p95', 'p99', 'Maximum']));
  });

  it('queries exact dimension sets in the namespace and region variables, through the datasource variable', () => {
    // Assess
    for (const { panel, target } of metricTargets) {
      expect(target, panel).toMatchObject({
        namespace: '$namespace',
        region: '$region',
        matchExact: true,
        metricQueryType: 0,
        metricEditorMode: 0,
      });
      expect(target.datasource, panel).toEqual({ type: 'cloudwatch', uid: '${datasource}' });
    }
    for (const p of panels.filter((x) => x.type !== 'row')) {
      expect(p.datasource, p.title).toEqual({ type: 'cloudwatch', uid: '${datasource}' });
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
    }
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
  });

  it('references only ids of queries of the same panel in metric math expressions', () => {
    // Act
    const broken: string[] = [];
    for (const p of panels) {
      const ids = new Set((p.targets ?? []).map((t) => t.id).filter(Boolean));
      for (const t of (p.targets ?? []).filter((x) => x.metricEditorMode === 1)) {
        const referenced = (t.expression ?? '').match(/\b[a-z][a-zA-Z0-9_]*\b(?!\s*\()/g) ?? [];
        for (const id of referenced) if (!ids.has(id)) broken.push(`${p.title}: ${id} in ${t.expression}`);
      }
    }

    // Assess
    expect(panels.some((p) => (p.targets ?? []).some((t) => t.metricEditorMode === 1))).toBe(true);
    expect(broken).toEqual([]);
  });

  it('asks for a CloudWatch data source at import; namespace defaults to the collector default; workflows come from Jobs/Workflow', () => {
    // Prepare
    const byName = Object.fromEntries(variables.map((v) => [v.name, v]));

    // Assess
    expect(dashboard.__inputs).toEqual([
      expect.objectContaining({ name: 'DS_CLOUDWATCH', type: 'datasource', pluginId: 'cloudwatch' }),
    ]);
    expect(byName.datasource).toMatchObject({
      type: 'datasource',
      query: 'cloudwatch',
      current: { value: '${DS_CLOUDWATCH}' },
    });
    expect(byName.namespace?.current?.value).toBe(loadConfig({}).cloudwatchNamespace);
    expect(byName.region).toMatchObject({ type: 'query', query: { queryType: 'regions' } });
    expect(byName.workflow).toMatchObject({
      type: 'query',
      multi: true,
      includeAll: true,
      query: {
        queryType: 'dimensionValues',
        metricName: 'Jobs',
        dimensionKey: 'Workflow',
        namespace: '$namespace',
        region: '$region',
      },
    });
    expect(publishedValues.get('Jobs')?.get('Workflow')?.size).toBe(2);
  });
});
