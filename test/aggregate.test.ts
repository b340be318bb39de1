import { describe, expect, it } from 'vitest';
import {
  Aggregator,
  bucketIndex,
  MAX_UNKNOWN_STATUSES,
  OTHER_VALUE,
  type AggregateOptions,
} from '../lib/aggregate/aggregator.js';
import { job, NOW_MS } from './support/jobs.js';

const OPTIONS: AggregateOptions = {
  nowMs: NOW_MS,
  runtimeWindowSeconds: 86400,
  maxWorkflows: 50,
  histogramBuckets: [1, 10, 100],
  quantiles: [0.5, 0.9, 0.95, 0.99, 1],
};
const HOUR = 3_600_000;

describe('Aggregator', () => {
  it('ends at release(): the next Aggregator starts from nothing, and the released one refuses further use', () => {
    // Prepare: an aggregator that counted two jobs, snapshot taken, released.
    const first = new Aggregator(OPTIONS);
    first.add(job({ id: 'a1', status: 'COMPLETED', runtimeSeconds: 3 }));
    first.add(job({ id: 'a2', status: 'FAILED', runtimeSeconds: 5 }));
    const before = first.snapshot();
    first.release();
    first.release(); // idempotent

    // Act: the same ids again, into a new Aggregator (on the released one's id memory).
    const second = new Aggregator(OPTIONS);
    second.add(job({ id: 'a1', status: 'COMPLETED', runtimeSeconds: 3 }));
    const after = second.snapshot();

    // Assess
    expect(before.jobsFetched).toBe(2);
    expect(after.jobsFetched).toBe(1);
    expect(after.recordsSkipped.duplicate_id).toBe(0);
    expect(after.total.byStatus.COMPLETED).toBe(1);
    expect(after.total.byStatus.FAILED).toBe(0);
    expect(() => first.snapshot()).toThrow('Aggregator.snapshot() after release()');
    expect(() => first.add(job({ id: 'a3' }))).toThrow('IdSet used after release()');
    second.release();
  });

  it('counts jobs per workflow, job type and status with every known status present', () => {
    // Prepare
    const agg = new Aggregator(OPTIONS);

    // Act
    agg.add(job({ status: 'COMPLETED' }));
    agg.add(job({ status: 'FAILED' }));
    agg.add(job({ status: 'FAILED', jobType: 'scheduled' }));
    agg.add(job({ status: 'active', workflowId: 'wf-b', workflowName: 'B' }));
    const s = agg.snapshot();

    // Assess
    const a = s.workflows.find((w) => w.id === 'wf-a');
    expect(a?.jobs).toEqual({
      ephemeral: { SCHEDULED: 0, IN_PROGRESS: 0, COMPLETED: 1, STOPPED: 0, FAILED: 1 },
      scheduled: { SCHEDULED: 0, IN_PROGRESS: 0, COMPLETED: 0, STOPPED: 0, FAILED: 1 },
    });
    const b = s.workflows.find((w) => w.id === 'wf-b');
    expect(b?.jobs.ephemeral).toEqual({ SCHEDULED: 0, IN_PROGRESS: 0, COMPLETED: 0, STOPPED: 0, FAILED: 0, active: 1 });
    expect(s.total.byStatus).toEqual({ SCHEDULED: 0, IN_PROGRESS: 0, COMPLETED: 1, STOPPED: 0, FAILED: 2, active: 1 });
    expect(s.jobsFetched).toBe(4);
    expect(s.workflowsSeen).toBe(2);
  });

  it('counts skipped records by reason and drops duplicate ids', () => {
    // Prepare
    const agg = new Aggregator(OPTIONS);
    const once = job({ id: 'dup' });

    // Act
    agg.skip('invalid_created_at');
    agg.skip('not_an_object');
    agg.add(once);
    agg.add({ ...once, status: 'FAILED' });
    const s = agg.snapshot();

    // Assess
    expect(s.jobsFetched).toBe(4);
    expect(s.recordsSkipped).toEqual({
      not_an_object: 1,
      invalid_id: 0,
      invalid_workflow_id: 0,
      invalid_status: 0,
      invalid_created_at: 1,
      duplicate_id: 1,
      too_large: 0,
    });
    expect(s.total.byStatus.COMPLETED).toBe(1);
    expect(s.total.byStatus.FAILED).toBe(0);
  });

  it('builds the runtime histogram over every terminal job with a valid runtime', () => {
    // Prepare
    const agg = new Aggregator(OPTIONS);
    const runtimes = [0, 1, 1.5, 10, 99, 100, 100.5, 5000];

    // Act
    for (const r of runtimes) agg.add(job({ runtimeSeconds: r, createdAtMs: NOW_MS - 1000 * HOUR }));
    agg.add(job({ status: 'IN_PROGRESS', runtimeSeconds: 5 })); // not terminal: not in the histogram
    agg.add(job({ runtimeSeconds: undefined, runtimeInvalid: true }));
    const h = agg.snapshot().workflows[0]?.runtime.COMPLETED;

    // Assess: le=1 → {0,1}; le=10 → {1.5,10}; le=100 → {99,100}; +Inf → {100.5,5000}
    expect(h?.bucketCounts).toEqual([2, 2, 2, 2]);
    expect(h?.count).toBe(8);
    expect(h?.sum).toBeCloseTo(
      runtimes.reduce((x, y) => x + y, 0),
      9,
    );
  });

  it('counts a job whose runtime is longer than its age, and leaves that runtime out of the histogram and the window', () => {
    // Prepare
    const agg = new Aggregator({ ...OPTIONS, runtimeWindowSeconds: 3600 });

    // Act: the records layer flagged the third job's runtime (created_at + runtime after now) and left it out
    agg.add(job({ runtimeSeconds: 30, createdAtMs: NOW_MS - 60_000 }));
    agg.add(job({ runtimeSeconds: 50, createdAtMs: NOW_MS - 60_000 }));
    agg.add(job({ runtimeSeconds: undefined, runtimeLongerThanAge: true, createdAtMs: NOW_MS - 60_000 }));
    agg.add(job({ runtimeSeconds: undefined, runtimeInvalid: true }));
    const s = agg.snapshot();

    // Assess
    expect(s.total.byStatus.COMPLETED).toBe(4);
    expect(s.runtimeLongerThanAge).toBe(1);
    expect(s.runtimeUnparsable).toBe(1);
    expect(s.total.runtime.COMPLETED.count).toBe(2);
    expect(s.total.recent.COMPLETED.count).toBe(2);
    expect(s.total.recent.COMPLETED.quantiles.at(-1)).toBe(50);
  });

  it('computes exact window quantiles only over jobs finished inside the window', () => {
    // Prepare
    const agg = new Aggregator({ ...OPTIONS, runtimeWindowSeconds: 3600 });

    // Act: finish = created + runtime; window is [now − 1 h, now]
    agg.add(job({ runtimeSeconds: 3, createdAtMs: NOW_MS - 10_000 }));
    agg.add(job({ runtimeSeconds: 1, createdAtMs: NOW_MS - 20_000 }));
    agg.add(job({ runtimeSeconds: 2, createdAtMs: NOW_MS - 30_000 }));
    agg.add(job({ runtimeSeconds: 600, createdAtMs: NOW_MS - HOUR - 601_000 })); // finished 1 s before the window
    agg.add(job({ runtimeSeconds: 1800, createdAtMs: NOW_MS - HOUR - 1_000_000 })); // finished inside the window
    const recent = agg.snapshot().workflows[0]?.recent.COMPLETED;

    // Assess: numpy.quantile([3,1,2,1800], [.5,.9,.95,.99,1])
    expect(recent?.count).toBe(4);
    expect(recent?.sum).toBe(1806);
    [2.5, 1260.9, 1530.45, 1746.09, 1800].forEach((v, i) => expect(recent?.quantiles[i]).toBeCloseTo(v, 9));
  });

  it('has no quantiles for an empty window, never zeros', () => {
    // Act
    const s = new Aggregator(OPTIONS);
    s.add(job({ status: 'SCHEDULED', runtimeSeconds: undefined }));
    const snapshot = s.snapshot();

    // Assess
    expect(snapshot.workflows[0]?.recent.FAILED).toEqual({ count: 0, sum: 0, quantiles: [] });
  });

  it('reports the age of the oldest scheduled and running job, and 0 when there is none', () => {
    // Prepare
    const agg = new Aggregator(OPTIONS);

    // Act
    agg.add(job({ status: 'SCHEDULED', createdAtMs: NOW_MS - 90_000, runtimeSeconds: undefined }));
    agg.add(job({ status: 'SCHEDULED', createdAtMs: NOW_MS - 30_000, runtimeSeconds: undefined }));
    agg.add(job({ status: 'SCHEDULED', workflowId: 'wf-b', createdAtMs: NOW_MS + 5_000, runtimeSeconds: undefined }));
    const s = agg.snapshot();

    // Assess
    const a = s.workflows.find((w) => w.id === 'wf-a');
    expect(a?.oldestAgeSeconds).toEqual({ SCHEDULED: 90, IN_PROGRESS: 0 });
    expect(a?.pending).toEqual({ SCHEDULED: 2, IN_PROGRESS: 0 });
    expect(s.workflows.find((w) => w.id === 'wf-b')?.oldestAgeSeconds.SCHEDULED).toBe(0); // clock skew clamps to 0
    expect(s.total.oldestAgeSeconds.SCHEDULED).toBe(90);
  });

  it('keeps the busiest MAX_WORKFLOWS and folds the rest into "other" with exact merged statistics', () => {
    // Prepare
    const agg = new Aggregator({ ...OPTIONS, maxWorkflows: 2 });
    const plan: Array<[string, number[]]> = [
      ['wf-1', [1, 2, 3, 4]],
      ['wf-2', [10, 20, 30]],
      ['wf-3', [100, 200]],
      ['wf-4', [1000]],
    ];

    // Act
    for (const [id, runtimes] of plan)
      for (const r of runtimes) agg.add(job({ workflowId: id, workflowName: id, runtimeSeconds: r }));
    const s = agg.snapshot();

    // Assess
    expect(s.workflows.map((w) => w.id)).toEqual(['wf-1', 'wf-2', 'other']);
    const other = s.workflows[2];
    expect(other?.workflowCount).toBe(2);
    expect(other?.byStatus.COMPLETED).toBe(3);
    // numpy.quantile([100,200,1000], [.5,.9,.95,.99,1])
    [200, 840, 920, 984, 1000].forEach((v, i) => expect(other?.recent.COMPLETED.quantiles[i]).toBeCloseTo(v, 9));
    // totals are never capped
    expect(s.total.byStatus.COMPLETED).toBe(10);
    expect(s.total.recent.COMPLETED.quantiles[4]).toBe(1000);
  });

  it('shows the name from the newest job of a renamed workflow', () => {
    // Prepare
    const agg = new Aggregator(OPTIONS);

    // Act
    agg.add(job({ workflowName: 'new name', createdAtMs: NOW_MS - 1000 }));
    agg.add(job({ workflowName: 'old name', createdAtMs: NOW_MS - 9000 }));

    // Assess
    expect(agg.snapshot().workflows[0]?.name).toBe('new name');
  });

  it('folds unknown statuses past the cap into "other" so a broken upstream cannot explode cardinality', () => {
    // Prepare
    const agg = new Aggregator(OPTIONS);

    // Act
    for (let i = 0; i < MAX_UNKNOWN_STATUSES + 5; i++) agg.add(job({ status: `weird-${i}` }));
    agg.add(job({ status: 'x'.repeat(500) }));
    const statuses = Object.keys(agg.snapshot().total.byStatus);

    // Assess
    expect(statuses).toHaveLength(5 + MAX_UNKNOWN_STATUSES + 1);
    expect(agg.snapshot().total.byStatus[OTHER_VALUE]).toBe(6);
  });
});

describe('bucketIndex', () => {
  it('follows Prometheus le semantics (upper bound inclusive)', () => {
    // Act / Assess
    expect([0, 1, 1.0001, 10, 11, 1e9].map((v) => bucketIndex([1, 10], v))).toEqual([0, 0, 1, 1, 2, 2]);
  });
});
