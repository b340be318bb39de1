import { describe, expect, it } from 'vitest';
import { Aggregator } from '../lib/aggregate/aggregator.js';
import type { Collection } from '../lib/collection.js';
import { OPENMETRICS_CONTENT_TYPE, OutputArena, renderPrometheus } from '../lib/outputs/prometheus/render.js';
import { MAX_WORKFLOW_NAME_CHARS } from '../lib/common/text.js';
import { MAX_LABEL_VALUE_LENGTH } from '../lib/aggregate/aggregator.js';
import { MAX_ID_LENGTH } from '../lib/records/to-job.js';
import { parseExposition } from './support/exposition.js';
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
  job({
    id: '4',
    workflowId: 'wf-a',
    workflowName: 'ETL',
    status: 'IN_PROGRESS',
    runtimeSeconds: undefined,
    createdAtMs: NOW_MS - 600_000,
  }),
  job({
    id: '5',
    workflowId: 'wf-h',
    workflowName: HOSTILE,
    status: 'SCHEDULED',
    jobType: 'scheduled',
    runtimeSeconds: undefined,
    createdAtMs: NOW_MS - 42_000,
  }),
  job({
    id: '6',
    workflowId: 'wf-h',
    workflowName: HOSTILE,
    status: 'active',
    runtimeSeconds: undefined,
    runtimeInvalid: true,
  }),
  // A runtime ending after now (records/runtime-bound.ts): counted, out of the runtime histogram and summary
  job({
    id: '7',
    workflowId: 'wf-a',
    workflowName: 'ETL',
    status: 'COMPLETED',
    runtimeSeconds: undefined,
    runtimeLongerThanAge: true,
  }),
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
    const failed: Collection = {
      ok: false,
      errorKind: 'auth',
      errorMessage: 'HTTP 401',
      durationSeconds: 0.5,
      finishedAtMs: NOW_MS,
    };

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
    expect(body).toContain(
      'unstructured_jobs{workflow_id="other",workflow_name="other",job_type="scheduled",status="SCHEDULED"} 1',
    );
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

  describe('output memory reuse', () => {
    const manyWorkflows = (n: number, prefix: string) =>
      Array.from({ length: n }, (_, i) =>
        job({
          id: `${prefix}-${i}`,
          workflowId: `${prefix}-wf-${i}`,
          workflowName: `${prefix} ${i}`,
          runtimeSeconds: i,
        }),
      );

    it('gives the same bytes when the arena is reused, grown past or shared by overlapping renders', async () => {
      // Prepare: the reference texts, each rendered with no arena to reuse (never released)
      const small = collectionOf(SAMPLE);
      const big = collectionOf(manyWorkflows(400, 'big'), 1000); // ~1.5 MB: outgrows the first chunk
      const expectedSmall = (await renderPrometheus(small, { version: '1.2.3' })).body;
      const expectedBig = (await renderPrometheus(big, { version: '1.2.3' })).body;

      // Act: small → release → big (grows) → release → small, and two renders alive at once
      const first = await renderPrometheus(small, { version: '1.2.3' });
      const firstText = first.body;
      first.release();
      const grown = await renderPrometheus(big, { version: '1.2.3' });
      const grownText = grown.body;
      grown.release();
      const reused = await renderPrometheus(small, { version: '1.2.3' });
      const overlapping = await renderPrometheus(big, { version: '1.2.3' });
      const reusedText = reused.body;

      // Assess
      expect(expectedBig.length).toBeGreaterThan(1_000_000);
      expect(firstText).toBe(expectedSmall);
      expect(grownText).toBe(expectedBig);
      expect(reusedText).toBe(expectedSmall);
      expect(overlapping.body).toBe(expectedBig);
      expect(reused.bytes.buffer).not.toBe(overlapping.bytes.buffer);
      reused.release();
      overlapping.release();
    });

    it('refuses to read an exposition after its memory was released', async () => {
      // Prepare
      const rendered = await renderPrometheus(collectionOf(SAMPLE), { version: '1.2.3' });

      // Act
      rendered.release();
      rendered.release(); // a second release is harmless

      // Assess
      expect(() => rendered.bytes).toThrow('exposition read after release(): its memory belongs to the next render');
    });

    it('never lets the next render overwrite a body that has not been released', async () => {
      // Prepare
      const held = await renderPrometheus(collectionOf(manyWorkflows(50, 'held')), { version: '1.2.3' });
      const before = Buffer.from(held.bytes);

      // Act
      for (let i = 0; i < 3; i++)
        (await renderPrometheus(collectionOf(manyWorkflows(60, `other${i}`)), { version: '1.2.3' })).release();

      // Assess
      expect(held.bytes.equals(before)).toBe(true);
    });

    it('keeps no unusually large arena: the next ordinary render hands it back', async () => {
      // Prepare: one large exposition (~4 MB), released: its arena is kept for a render of the same size.
      const large = await renderPrometheus(collectionOf(manyWorkflows(1000, 'large'), 1000), { version: '1.2.3' });
      const largeBytes = large.bytes.length;
      large.release();
      const keptAfterLarge = OutputArena.keptBytes();

      // Act: the upstream is ordinary again.
      const ordinary = await renderPrometheus(collectionOf(SAMPLE), { version: '1.2.3' });
      const ordinaryBytes = ordinary.bytes.length;
      ordinary.release();
      const keptAfterOrdinary = OutputArena.keptBytes();

      // Assess
      expect(largeBytes).toBeGreaterThan(3_000_000);
      expect(keptAfterLarge).toBeGreaterThanOrEqual(largeBytes); // reused while renders stay that large
      expect(keptAfterOrdinary).toBeLessThanOrEqual(Math.max(256 * 1024, 2 * ordinaryBytes));
    });
  });

  describe('bounded labels and size', () => {
    it('cuts a huge workflow name to 200 characters, and keeps every other free-text label in its bound', async () => {
      // Prepare: a 1 MB name (astral characters at the cut), and every other label the API controls at its longest.
      const hugeName = `${'n'.repeat(198)}😀${'x'.repeat(1024 * 1024)}`;
      const longId = 'i'.repeat(MAX_ID_LENGTH);
      const jobs = [
        job({ workflowId: 'wf-huge-1', workflowName: hugeName }),
        job({ workflowId: 'wf-huge-2', workflowName: hugeName, status: 'FAILED' }), // same name, another workflow
        job({ workflowId: longId, workflowName: longId }),
        job({
          workflowId: 'wf-s',
          status: 'S'.repeat(MAX_LABEL_VALUE_LENGTH),
          jobType: 'J'.repeat(MAX_LABEL_VALUE_LENGTH),
        }),
        job({
          workflowId: 'wf-s',
          status: 'S'.repeat(MAX_LABEL_VALUE_LENGTH + 1),
          jobType: 'J'.repeat(MAX_LABEL_VALUE_LENGTH + 1),
        }),
      ];

      // Act
      const { body, bytes } = await renderPrometheus(collectionOf(jobs), { version: '1.2.3' });
      const samples = parseExposition(body);

      // Assess
      const names = new Set(
        samples.flatMap((x) => (x.labels.workflow_name === undefined ? [] : [x.labels.workflow_name])),
      );
      const cutName = `${'n'.repeat(198)}😀…`;
      expect(names).toContain(cutName);
      for (const name of names) expect([...name].length).toBeLessThanOrEqual(MAX_WORKFLOW_NAME_CHARS);
      // Still one series per workflow id: the two workflows sharing the cut name differ by workflow_id.
      const huge = samples.filter(
        (x) => x.name === 'unstructured_jobs' && x.labels.workflow_name === cutName && x.labels.status === 'COMPLETED',
      );
      expect(huge.map((x) => [x.labels.workflow_id, x.value]).sort()).toEqual([
        ['wf-huge-1', 1],
        ['wf-huge-2', 0],
      ]);
      for (const x of samples) {
        if (x.labels.workflow_id !== undefined) expect(x.labels.workflow_id.length).toBeLessThanOrEqual(MAX_ID_LENGTH);
        for (const key of ['status', 'job_type'] as const) {
          if (x.labels[key] !== undefined) expect(x.labels[key].length).toBeLessThanOrEqual(MAX_LABEL_VALUE_LENGTH);
        }
      }
      expect(samples.some((x) => x.labels.status === 'other' && x.labels.job_type === 'other')).toBe(true); // the 65-character ones
      expect(bytes.length).toBeLessThan(200_000); // 1 MB on each of ~90 series was an 88 MB exposition
      expect(promtoolCheckMetrics(body).status).toBe(0);
    });

    it('answers up 0 (kind exposition_too_large), a valid exposition, when the text would pass its byte limit', async () => {
      // Prepare
      const collection = collectionOf(manyWorkflows(200, 'many'), 1000);
      const full = await renderPrometheus(collection, { version: '1.2.3' });
      const fullBytes = full.bytes.length;
      full.release();

      // Act
      const limited = await renderPrometheus(collection, { version: '1.2.3', maxBytes: Math.floor(fullBytes / 2) });
      // Each line reserves its worst case (3 bytes a UTF-16 unit, 32 for a value) against the limit: a little room.
      const justEnough = await renderPrometheus(collection, { version: '1.2.3', maxBytes: fullBytes + 1024 });
      const openMetrics = await renderPrometheus(collection, { version: '1.2.3', maxBytes: 4096, openMetrics: true });

      // Assess
      expect(limited.body).toMatch(/^unstructured_up 0$/m);
      expect(limited.body).toContain('unstructured_collect_error{kind="exposition_too_large"} 1');
      expect(limited.body).not.toContain('unstructured_jobs{');
      expect(promtoolCheckMetrics(limited.body).status).toBe(0);
      expect(justEnough.bytes.length).toBe(fullBytes);
      expect(justEnough.body).toMatch(/^unstructured_up 1$/m);
      expect(openMetrics.body).toContain('kind="exposition_too_large"');
      expect(openMetrics.body.endsWith('# EOF\n')).toBe(true);
      for (const r of [limited, justEnough, openMetrics]) r.release();
    });
  });

  function manyWorkflows(n: number, prefix: string) {
    return Array.from({ length: n }, (_, i) =>
      job({ id: `${prefix}-${i}`, workflowId: `${prefix}-wf-${i}`, workflowName: `${prefix} ${i}`, runtimeSeconds: i }),
    );
  }
});
