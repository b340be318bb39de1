/**
 * The compact Aggregator (cold workflows in a job log, hot ones in groups, a limit on tracked workflows)
 * against the reference: the Aggregator with a full group per workflow (test/support/reference-aggregator.ts).
 * - Every workflow tracked: the same snapshot, bit for bit, whatever the promotion threshold.
 * - More workflows than tracked: the exported workflows exact (equal to the reference's numbers for them),
 *   the rest and the total exact in every count (sums equal to rounding), the busiest of the tracked exported.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Aggregator, type AggregateOptions } from '../lib/aggregate/aggregator.js';
import type { GroupStats, Snapshot, WorkflowStats } from '../lib/aggregate/snapshot.js';
import { compareCodeUnits, wellFormed } from '../lib/common/text.js';
import type { Job } from '../lib/records/job.js';
import { OTHER_WORKFLOW_ID, SKIP_REASONS } from '../lib/vocabulary.js';
import { ReferenceAggregator } from './support/reference-aggregator.js';

const NOW_MS = Date.parse('2026-11-29T12:00:00Z');
const BASE: AggregateOptions = {
  nowMs: NOW_MS,
  runtimeWindowSeconds: 86_400,
  maxWorkflows: 3,
  histogramBuckets: [1, 60.5, 3600],
  quantiles: [0, 0.5, 0.9, 1],
};

/** Workflow ids: plain, `other`, prototype-ish, two that differ only by a lone surrogate (one group). */
const WORKFLOW_IDS = [
  'wf-a',
  'wf-b',
  'wf-c',
  'wf-d',
  'wf-e',
  'wf-f',
  'wf-g',
  OTHER_WORKFLOW_ID,
  '__proto__',
  'x\uD800',
  'x\uDBFF',
];
const NAMES = ['A', 'B', 'Name \uD800 lone', `Long ${'n'.repeat(300)}`, `${'p'.repeat(254)}😀tail`, ''];
const STATUSES = [
  'COMPLETED',
  'FAILED',
  'STOPPED',
  'SCHEDULED',
  'IN_PROGRESS',
  'active',
  'constructor',
  'x'.repeat(70),
];
const JOB_TYPES = ['ephemeral', 'persistent', 'scheduled', 'junk', 'toString'];

const jobArb: fc.Arbitrary<Job> = fc
  .record({
    id: fc.integer({ min: 0, max: 400 }),
    wf: fc.constantFrom(...WORKFLOW_IDS),
    name: fc.constantFrom(...NAMES),
    status: fc.constantFrom(...STATUSES),
    jobType: fc.constantFrom(...JOB_TYPES),
    // From 3 days ago to 10 minutes ahead (clock skew): inside and outside the 24 h window.
    created: fc.integer({ min: -3 * 86_400, max: 600 }),
    runtime: fc.oneof(
      fc.constant(undefined),
      fc.constantFrom(0, 0.5, 1, 60.5, 61, 3599.999, 7200),
      fc.double({ min: 0, max: 3e5, noNaN: true }),
    ),
    invalid: fc.boolean(),
    longer: fc.boolean(),
  })
  .map(({ id, wf, name, status, jobType, created, runtime, invalid, longer }) => ({
    id: `job-${id}`,
    workflowId: wf,
    workflowName: name,
    status,
    jobType,
    createdAtMs: NOW_MS + created * 1000,
    runtimeSeconds: runtime,
    runtimeInvalid: runtime === undefined && invalid,
    // A runtime ending after now is left out by the records layer and flagged instead (records/runtime-bound.ts).
    runtimeLongerThanAge: runtime === undefined && !invalid && longer,
  }));

function run(make: () => Aggregator | ReferenceAggregator, jobs: readonly Job[], skips = 0): Snapshot {
  const agg = make();
  jobs.forEach((j, i) => {
    if (i < skips) agg.skip(SKIP_REASONS[i % SKIP_REASONS.length] as (typeof SKIP_REASONS)[number]);
    agg.add(j);
  });
  const snapshot = agg.snapshot();
  agg.release();
  return snapshot;
}

describe('compact Aggregator against the full-state reference', () => {
  it('gives the same snapshot, bit for bit, when every workflow is tracked, whatever the promotion threshold', () => {
    fc.assert(
      fc.property(
        fc.array(jobArb, { maxLength: 250 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 40 }),
        fc.nat({ max: 5 }),
        (jobs, maxWorkflows, promoteAtJobs, skips) => {
          const options = { ...BASE, maxWorkflows };
          const expected = run(() => new ReferenceAggregator(options), jobs, skips);
          const actual = run(() => new Aggregator({ ...options, promoteAtJobs }), jobs, skips);
          expect(actual).toEqual(expected);
          // toEqual would take 0 for -0 and miss a sum added in another order by one ulp: compare the bits too.
          expect(JSON.stringify(actual)).toBe(JSON.stringify(expected));
        },
      ),
      { numRuns: 400 },
    );
  });

  it('gives the same snapshot and the same last run and success per workflow with the workflows API list declared (issue 17)', () => {
    // Listed ids: some with jobs (shown form), some with none; names the API's, hostile ones included.
    const LISTED = ['wf-a', 'wf-c', 'x\uFFFD', OTHER_WORKFLOW_ID, 'listed-1', 'listed-2', '__proto__', 'constructor'];
    fc.assert(
      fc.property(
        fc.array(jobArb, { maxLength: 250 }),
        fc.uniqueArray(fc.constantFrom(...LISTED)),
        fc.constantFrom(...NAMES),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 40 }),
        (jobs, listed, name, maxWorkflows, promoteAtJobs) => {
          // Prepare
          const options = { ...BASE, maxWorkflows };
          const declared = listed.map((id, i) => ({ id, name: `${name}#${i}` }));
          const runBoth = (agg: Aggregator | ReferenceAggregator) => {
            for (const j of jobs) agg.add(j);
            agg.declareWorkflows(declared);
            const runs = LISTED.map((id) => agg.runsOf(id));
            const snapshot = agg.snapshot();
            agg.release();
            return { snapshot, runs };
          };
          // Act
          const expected = runBoth(new ReferenceAggregator(options));
          const actual = runBoth(new Aggregator({ ...options, promoteAtJobs }));
          // Assess
          expect(actual.snapshot).toEqual(expected.snapshot);
          expect(JSON.stringify(actual.snapshot)).toBe(JSON.stringify(expected.snapshot));
          expect(actual.runs).toEqual(expected.runs);
          // And against the definition, computed here from the jobs themselves.
          const counted = uniqueIds(jobs);
          for (const [i, id] of LISTED.entries()) {
            const own = counted.filter((j) => wellFormed(j.workflowId) === id);
            if (own.length === 0 && !listed.includes(id)) {
              expect(actual.runs[i]).toBeUndefined();
              continue;
            }
            const lastRun = own.length === 0 ? undefined : Math.max(...own.map((j) => j.createdAtMs));
            const ends = own
              .filter((j) => j.status === 'COMPLETED' && j.runtimeSeconds !== undefined)
              .map((j) => j.createdAtMs + (j.runtimeSeconds as number) * 1000);
            expect(actual.runs[i]).toEqual({
              lastRunMs: lastRun,
              lastSuccessMs: ends.length === 0 ? undefined : Math.max(...ends),
            });
          }
          for (const { id, name: shown } of declared) {
            // The folded rest is named "other"; every declared name ends in "#<n>".
            const wf = actual.snapshot.workflows.find((w) => w.id === id && w.name !== OTHER_WORKFLOW_ID);
            if (wf !== undefined) expect(wf.name).toBe(shown);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('keeps each workflow exact when it turns hot between jobs of every kind (the default threshold, 32)', () => {
    fc.assert(
      fc.property(fc.array(jobArb, { minLength: 100, maxLength: 400 }), (jobs) => {
        // Few workflows, many jobs each: most turn hot, part of each one's jobs counted before, part after.
        const few = jobs.map((j, i) => ({ ...j, id: `j${i}`, workflowId: WORKFLOW_IDS[i % 3] as string }));
        const expected = run(() => new ReferenceAggregator(BASE), few);
        expect(JSON.stringify(run(() => new Aggregator(BASE), few))).toBe(JSON.stringify(expected));
      }),
      { numRuns: 100 },
    );
  });

  it('past the tracked limit: exported workflows exact, the rest and the total exact, the busiest tracked exported', () => {
    fc.assert(
      fc.property(
        fc.array(jobArb, { maxLength: 250 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 4 }),
        fc.integer({ min: 1, max: 8 }),
        (jobs, maxWorkflows, extra, promoteAtJobs) => {
          const maxTrackedWorkflows = maxWorkflows + extra;
          const options = { ...BASE, maxWorkflows };
          // Prepare the expectation from the reference, which tracks every workflow.
          const all = run(() => new ReferenceAggregator({ ...options, maxWorkflows: 1e9 }), jobs);
          const byId = new Map(all.workflows.map((w) => [w.id, w]));
          const counted = firstSightings(jobs);
          const tracked = counted.slice(0, maxTrackedWorkflows);
          const exportedIds = exported(
            tracked.map((id) => byId.get(id) as WorkflowStats),
            maxWorkflows,
            counted.length > maxWorkflows,
          );

          // Act
          const actual = run(() => new Aggregator({ ...options, maxTrackedWorkflows, promoteAtJobs }), jobs);

          // Assess: the exported ones exactly as the reference counted them.
          expect(actual.workflows.slice(0, exportedIds.length).map((w) => w.id)).toEqual(exportedIds);
          for (const w of actual.workflows.slice(0, exportedIds.length)) expect(w).toEqual(byId.get(w.id));
          expect(actual.workflowsSeen).toBe(counted.length);
          expect(actual.workflowsUntracked).toBe(Math.max(0, counted.length - maxTrackedWorkflows));
          expectSameCounts(actual.total, all.total);
          const rest = actual.workflows[exportedIds.length];
          if (counted.length === exportedIds.length) {
            expect(rest).toBeUndefined();
            return;
          }
          // The rest: the reference's numbers of every other workflow's jobs, as one workflow.
          const others = new Set(counted.filter((id) => !exportedIds.includes(id)));
          const restJobs = uniqueIds(jobs)
            .filter((j) => others.has(wellFormed(j.workflowId)))
            .map((j) => ({ ...j, workflowId: 'rest' }));
          const expectedRest = run(() => new ReferenceAggregator(options), restJobs).workflows[0] as WorkflowStats;
          expect(rest?.id).toBe(OTHER_WORKFLOW_ID);
          expect(rest?.workflowCount).toBe(others.size);
          expectSameCounts(rest as GroupStats, expectedRest);
        },
      ),
      { numRuns: 400 },
    );
  });
});

/** The jobs the aggregation counts: the first of each id (later ones are duplicates). */
function uniqueIds(jobs: readonly Job[]): Job[] {
  const seen = new Set<string>();
  return jobs.filter((j) => !seen.has(j.id) && seen.add(j.id) !== undefined);
}

/** Shown workflow ids in the order of their first counted job. */
function firstSightings(jobs: readonly Job[]): string[] {
  return [...new Set(uniqueIds(jobs).map((j) => wellFormed(j.workflowId)))];
}

/** The ids the snapshot exports among `candidates`: busiest first, ties by id, `other` never beside a rest. */
function exported(candidates: readonly WorkflowStats[], maxWorkflows: number, hasRest: boolean): string[] {
  const total = (w: WorkflowStats) => Object.values(w.byStatus).reduce((a, b) => a + b, 0);
  const ranked = [...candidates].sort((a, b) => total(b) - total(a) || compareCodeUnits(a.id, b.id));
  const withRest = hasRest || ranked.length > maxWorkflows;
  const eligible = withRest ? ranked.filter((w) => w.id !== OTHER_WORKFLOW_ID) : ranked;
  return eligible.slice(0, maxWorkflows).map((w) => w.id);
}

/** Every count equal; sums equal to rounding (they are added in another order); quantiles exact. */
function expectSameCounts(actual: GroupStats, expected: GroupStats): void {
  expect(actual.jobs).toEqual(expected.jobs);
  expect(actual.byStatus).toEqual(expected.byStatus);
  expect(actual.pending).toEqual(expected.pending);
  expect(actual.oldestAgeSeconds).toEqual(expected.oldestAgeSeconds);
  for (const status of ['COMPLETED', 'FAILED', 'STOPPED'] as const) {
    expect(actual.runtime[status].bucketCounts).toEqual(expected.runtime[status].bucketCounts);
    expect(actual.runtime[status].count).toBe(expected.runtime[status].count);
    expect(actual.runtime[status].sum).toBeCloseTo(expected.runtime[status].sum, 6);
    expect(actual.recent[status].count).toBe(expected.recent[status].count);
    expect(actual.recent[status].sum).toBeCloseTo(expected.recent[status].sum, 6);
    expect(actual.recent[status].quantiles).toEqual(expected.recent[status].quantiles);
  }
}
