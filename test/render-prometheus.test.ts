import { describe, expect, it } from 'vitest';
import { Aggregator } from '../lib/aggregate.js';
import type { Collection } from '../lib/collection.js';
import { OPENMETRICS_CONTENT_TYPE, renderPrometheus } from '../lib/render-prometheus.js';
import { job, NOW_MS } from './support/jobs.js';
import { promtoolCheckMetrics } from './support/promtool.js';

function collectionOf(jobs: Parameters<Aggregator['add']>[0][], maxWorkflows = 50): Collection {
  const agg = new Aggregator({
    nowMs: NOW_MS,
    runtimeWindowSeconds: 86400,
    maxWorkflows,
    histogramBuckets: [10, 60],
    quantiles: [0.5, 0.9, 0.95, 0.99, 1],
  });
  for (const j of jobs) agg.add(j);
  agg.skip('invalid_created_at');
  return { ok: true, snapshot: agg.snapshot(), durationSeconds: 0.25, finishedAtMs: NOW_MS };
}

const HOSTILE = 'Quote " back\\slash\nnew line </script> 日本語 🚀';

const SAMPLE = [
  job({ id: '1', workflowId: 'wf-a', workflowName: 'ETL', status: 'COMPLETED', runtimeSeconds: 5 }),
  job({ id: '2', workflowId: 'wf-a', workflowName: 'ETL', status: 'COMPLETED', runtimeSeconds: 30 }),
  job({ id: '3', workflowId: 'wf-a', workflowName: 'ETL', status: 'FAILED', runtimeSeconds: 120 }),
  job({ id: '4', workflowId: 'wf-a', workflowName: 'ETL', status: 'IN_PROGRESS', runtimeSeconds: undefined, createdAtMs: NOW_MS - 600_000 }),
  job({ id: '5', workflowId: 'wf-h', workflowName: HOSTILE, status: 'SCHEDULED', jobType: 'scheduled', runtimeSeconds: undefined, createdAtMs: NOW_MS - 42_000 }),
  job({ id: '6', workflowId: 'wf-h', workflowName: HOSTILE, status: 'active', runtimeSeconds: undefined, runtimeInvalid: true }),
];

describe('renderPrometheus', () => {
  it('renders the golden exposition text for a known job list', async () => {
    // Act
    const { body, contentType } = await renderPrometheus(collectionOf(SAMPLE), { version: '1.2.3' });

    // Assess
    expect(contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    await expect(body).toMatchFileSnapshot('./golden/sample.prom');
  });

  it('passes promtool check metrics, hostile names included', async () => {
    // Prepare
    const { body } = await renderPrometheus(collectionOf(SAMPLE), { version: '1.2.3' });

    // Act
    const lint = promtoolCheckMetrics(body);

    // Assess
    expect(lint.output).toBe('');
    expect(lint.status).toBe(0);
  });

  it('escapes label values so a workflow name cannot break the line or inject a label', async () => {
    // Act
    const { body } = await renderPrometheus(collectionOf(SAMPLE), { version: '1.2.3' });

    // Assess
    expect(body).toContain('workflow_name="Quote \\" back\\\\slash\\nnew line </script> 日本語 🚀"');
    for (const line of body.split('\n')) expect(line === '' || /^(# (HELP|TYPE) )?unstructured_/.test(line)).toBe(true);
  });

  it('renders up 0 and self-metrics only when the pull failed: no job series that look like data', async () => {
    // Prepare
    const failed: Collection = { ok: false, errorKind: 'auth', errorMessage: 'HTTP 401', durationSeconds: 0.5, finishedAtMs: NOW_MS };

    // Act
    const { body } = await renderPrometheus(failed, { version: '1.2.3' });

    // Assess
    expect(body).toContain('unstructured_up 0');
    expect(body).toContain('unstructured_collect_error{kind="auth"} 1');
    expect(body).not.toMatch(/unstructured_jobs\{|unstructured_job_runtime|unstructured_jobs_fetched/);
    expect(promtoolCheckMetrics(body).status).toBe(0);
  });

  it('speaks OpenMetrics when asked', async () => {
    // Act
    const { body, contentType } = await renderPrometheus(collectionOf(SAMPLE), { version: '1.2.3', openMetrics: true });

    // Assess
    expect(contentType).toBe(OPENMETRICS_CONTENT_TYPE);
    expect(body.endsWith('# EOF\n')).toBe(true);
  });

  it('exports the folded workflows as workflow_id="other"', async () => {
    // Act
    const { body } = await renderPrometheus(collectionOf(SAMPLE, 1), { version: '1.2.3' });

    // Assess
    expect(body).toContain('unstructured_workflows_folded 1');
    expect(body).toContain('unstructured_jobs{workflow_id="other",workflow_name="other",job_type="scheduled",status="SCHEDULED"} 1');
    expect(body).not.toContain('wf-h');
  });

  it('renders a fresh registry each time (a vanished workflow stops being exported)', async () => {
    // Act
    await renderPrometheus(collectionOf(SAMPLE), { version: '1.2.3' });
    const { body } = await renderPrometheus(collectionOf([job({ workflowId: 'wf-z' })]), { version: '1.2.3' });

    // Assess
    expect(body).toContain('wf-z');
    expect(body).not.toContain('wf-a');
  });
});
