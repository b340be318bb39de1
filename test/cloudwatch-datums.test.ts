import type { MetricDatum, PutMetricDataCommand, PutMetricDataCommandInput } from '@aws-sdk/client-cloudwatch';
import { describe, expect, it } from 'vitest';
import { Aggregator, type AggregateOptions } from '../lib/aggregate/aggregator.js';
import {
  OTHER_WORKFLOW_DIMENSION_VALUE,
  renderDatums,
  validateDatum,
  validateNamespace,
  workflowDimensionValue,
} from '../lib/outputs/cloudwatch/datums.js';
import {
  MAX_DATUMS_PER_REQUEST,
  MAX_DIMENSIONS_PER_DATUM,
  MAX_REQUEST_BYTES,
  SAFE_REQUEST_BYTES,
  TIMESTAMP_WINDOW_MS,
} from '../lib/outputs/cloudwatch/limits.js';
import {
  assertPublished,
  DEFAULT_CONCURRENCY,
  envelopeBytes,
  estimateDatumBytes,
  planRequests,
  publishDatums,
  PublishError,
  type CloudWatchClientLike,
} from '../lib/outputs/cloudwatch/publisher.js';
import { publishCollection } from '../lib/outputs/cloudwatch/run.js';
import type { Collection, CollectionFailure, CollectionSuccess } from '../lib/collection.js';
import type { Job } from '../lib/records/job.js';
import { job, NOW_MS } from './support/jobs.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const AT = new Date(NOW_MS);
const NAMESPACE = 'Unstructured/Jobs';
/** NOW_MS is the clock of every check here (it is not the machine's clock). */
const now = () => NOW_MS;

const OPTIONS: AggregateOptions = {
  nowMs: NOW_MS,
  runtimeWindowSeconds: 86_400,
  maxWorkflows: 50,
  histogramBuckets: [1, 10, 100],
  quantiles: [0.5, 0.9, 0.95, 0.99, 1],
};

function collectionOf(jobs: readonly Job[], options: Partial<AggregateOptions> = {}): CollectionSuccess {
  const aggregator = new Aggregator({ ...OPTIONS, ...options });
  for (const j of jobs) aggregator.add(j);
  return { ok: true, snapshot: aggregator.snapshot(), durationSeconds: 0.5, finishedAtMs: NOW_MS + 500 };
}

function expected(name: string, unit: string, value: number, dimensions: Record<string, string> = {}): MetricDatum {
  return {
    MetricName: name,
    Dimensions: Object.entries(dimensions).map(([Name, Value]) => ({ Name, Value })),
    Timestamp: AT,
    Value: value,
    Unit: unit as MetricDatum['Unit'],
    StorageResolution: 60,
  };
}

function keyOf(d: MetricDatum): string {
  return `${d.MetricName}{${(d.Dimensions ?? []).map((x) => `${x.Name}=${x.Value}`).join(',')}}`;
}

function byKey(datums: readonly MetricDatum[]): MetricDatum[] {
  return [...datums].sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0));
}

function workflowValues(datums: readonly MetricDatum[]): Set<string> {
  return new Set(
    datums.flatMap((d) => (d.Dimensions ?? []).filter((x) => x.Name === 'Workflow').map((x) => x.Value ?? '')),
  );
}

/** A fake CloudWatch client: records every PutMetricData input and how many were in flight at once. */
class RecordingClient implements CloudWatchClientLike {
  readonly inputs: PutMetricDataCommandInput[] = [];
  inFlight = 0;
  maxInFlight = 0;
  constructor(readonly fail: (input: PutMetricDataCommandInput) => Error | undefined = () => undefined) {}

  async send(command: PutMetricDataCommand): Promise<unknown> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      this.inputs.push(command.input);
      await new Promise((resolve) => setTimeout(resolve, 1));
      const error = this.fail(command.input);
      if (error !== undefined) throw error;
      return {};
    } finally {
      this.inFlight--;
    }
  }

  get sent(): MetricDatum[] {
    return this.inputs.flatMap((i) => i.MetricData ?? []);
  }
}

describe('renderDatums', () => {
  it('renders every metric of the contract with exact names, dimensions, units, values and explicit zeros', () => {
    // Prepare
    const collection = collectionOf(
      [
        job({
          workflowId: 'wf-a',
          workflowName: 'Workflow A',
          status: 'COMPLETED',
          runtimeSeconds: 10,
          createdAtMs: NOW_MS - HOUR,
        }),
        job({
          workflowId: 'wf-a',
          workflowName: 'Workflow A',
          status: 'COMPLETED',
          runtimeSeconds: 20,
          createdAtMs: NOW_MS - 2 * HOUR,
        }),
        job({
          workflowId: 'wf-a',
          workflowName: 'Workflow A',
          status: 'FAILED',
          runtimeSeconds: 5,
          createdAtMs: NOW_MS - HOUR,
        }),
        job({
          workflowId: 'wf-a',
          workflowName: 'Workflow A',
          status: 'SCHEDULED',
          runtimeSeconds: undefined,
          createdAtMs: NOW_MS - 10 * MINUTE,
        }),
        job({
          workflowId: 'wf-b',
          workflowName: 'Workflow B',
          status: 'IN_PROGRESS',
          runtimeSeconds: undefined,
          createdAtMs: NOW_MS - 2 * MINUTE,
        }),
        // Finished 47 h ago: counted, but outside the 24 h runtime window.
        job({
          workflowId: 'wf-b',
          workflowName: 'Workflow B',
          status: 'COMPLETED',
          runtimeSeconds: 30,
          createdAtMs: NOW_MS - 48 * HOUR,
        }),
      ],
      { quantiles: [0.5, 1] },
    );
    const a = { Workflow: 'Workflow A (wf-a)' };
    const b = { Workflow: 'Workflow B (wf-b)' };

    // Act
    const datums = renderDatums(collection, { quantiles: [0.5, 1] });

    // Assess
    expect(byKey(datums)).toEqual(
      byKey([
        expected('CollectorUp', 'None', 1),
        expected('JobsFetched', 'Count', 6),
        expected('RecordsSkipped', 'Count', 0),
        expected('CollectionDuration', 'Seconds', 0.5),
        // All workflows, by status
        expected('Jobs', 'Count', 1, { Status: 'SCHEDULED' }),
        expected('Jobs', 'Count', 1, { Status: 'IN_PROGRESS' }),
        expected('Jobs', 'Count', 3, { Status: 'COMPLETED' }),
        expected('Jobs', 'Count', 0, { Status: 'STOPPED' }),
        expected('Jobs', 'Count', 1, { Status: 'FAILED' }),
        expected('OldestJobAge', 'Seconds', 600, { Status: 'SCHEDULED' }),
        expected('OldestJobAge', 'Seconds', 120, { Status: 'IN_PROGRESS' }),
        expected('RecentJobRuntimeP50', 'Seconds', 15, { Status: 'COMPLETED' }),
        expected('RecentJobRuntimeMax', 'Seconds', 20, { Status: 'COMPLETED' }),
        expected('RecentJobRuntimeP50', 'Seconds', 5, { Status: 'FAILED' }),
        expected('RecentJobRuntimeMax', 'Seconds', 5, { Status: 'FAILED' }),
        // Workflow A
        expected('Jobs', 'Count', 1, { ...a, Status: 'SCHEDULED' }),
        expected('Jobs', 'Count', 0, { ...a, Status: 'IN_PROGRESS' }),
        expected('Jobs', 'Count', 2, { ...a, Status: 'COMPLETED' }),
        expected('Jobs', 'Count', 0, { ...a, Status: 'STOPPED' }),
        expected('Jobs', 'Count', 1, { ...a, Status: 'FAILED' }),
        expected('OldestJobAge', 'Seconds', 600, { ...a, Status: 'SCHEDULED' }),
        expected('OldestJobAge', 'Seconds', 0, { ...a, Status: 'IN_PROGRESS' }),
        expected('RecentJobRuntimeP50', 'Seconds', 15, { ...a, Status: 'COMPLETED' }),
        expected('RecentJobRuntimeMax', 'Seconds', 20, { ...a, Status: 'COMPLETED' }),
        expected('RecentJobRuntimeP50', 'Seconds', 5, { ...a, Status: 'FAILED' }),
        expected('RecentJobRuntimeMax', 'Seconds', 5, { ...a, Status: 'FAILED' }),
        // Workflow B: no job finished inside the window, so no runtime metric at all
        expected('Jobs', 'Count', 0, { ...b, Status: 'SCHEDULED' }),
        expected('Jobs', 'Count', 1, { ...b, Status: 'IN_PROGRESS' }),
        expected('Jobs', 'Count', 1, { ...b, Status: 'COMPLETED' }),
        expected('Jobs', 'Count', 0, { ...b, Status: 'STOPPED' }),
        expected('Jobs', 'Count', 0, { ...b, Status: 'FAILED' }),
        expected('OldestJobAge', 'Seconds', 0, { ...b, Status: 'SCHEDULED' }),
        expected('OldestJobAge', 'Seconds', 120, { ...b, Status: 'IN_PROGRESS' }),
      ]),
    );
    expect(new Set(datums.map((d) => d.Timestamp?.getTime()))).toEqual(new Set([NOW_MS]));
    expect(new Set(datums.map(keyOf)).size).toBe(datums.length);
    expect(datums.flatMap((d) => validateDatum(d, NOW_MS))).toEqual([]);
  });

  it('publishes every configured quantile with its own metric name, and only those', () => {
    // Prepare
    const collection = collectionOf([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((r) => job({ runtimeSeconds: r })));

    // Act
    const all = renderDatums(collection);
    const some = renderDatums(collection, { quantiles: [0.95] });
    const unmapped = renderDatums(collection, { quantiles: [0.75] });

    // Assess
    const runtimeNames = (ds: MetricDatum[]) =>
      [...new Set(ds.map((d) => d.MetricName ?? '').filter((n) => n.startsWith('Recent')))].sort();
    expect(runtimeNames(all)).toEqual([
      'RecentJobRuntimeMax',
      'RecentJobRuntimeP50',
      'RecentJobRuntimeP90',
      'RecentJobRuntimeP95',
      'RecentJobRuntimeP99',
    ]);
    expect(runtimeNames(some)).toEqual(['RecentJobRuntimeP95']);
    expect(runtimeNames(unmapped)).toEqual([]);
    const p95 = some.find((d) => d.MetricName === 'RecentJobRuntimeP95' && d.Dimensions?.length === 1);
    expect(p95?.Value).toBeCloseTo(9.55, 9); // numpy linear: 1 + 0.95·9
    expect(p95?.Unit).toBe('Seconds');
  });

  it('publishes no runtime percentile at all when the window holds no finished job', () => {
    // Prepare: only old finished jobs and pending ones
    const collection = collectionOf([
      job({ status: 'COMPLETED', runtimeSeconds: 60, createdAtMs: NOW_MS - 72 * HOUR }),
      job({ status: 'FAILED', runtimeSeconds: 60, createdAtMs: NOW_MS - 72 * HOUR }),
      job({ status: 'IN_PROGRESS', runtimeSeconds: undefined }),
    ]);

    // Act
    const datums = renderDatums(collection);

    // Assess
    expect(datums.filter((d) => d.MetricName?.startsWith('RecentJobRuntime'))).toEqual([]);
    expect(datums.find((d) => keyOf(d) === 'Jobs{Status=COMPLETED}')?.Value).toBe(1);
  });

  it('renders an empty account as explicit zeros for every status', () => {
    // Prepare
    const collection = collectionOf([]);

    // Act
    const datums = renderDatums(collection);

    // Assess
    expect(datums.map(keyOf).sort()).toEqual(
      [
        'CollectorUp{}',
        'JobsFetched{}',
        'RecordsSkipped{}',
        'CollectionDuration{}',
        'Jobs{Status=SCHEDULED}',
        'Jobs{Status=IN_PROGRESS}',
        'Jobs{Status=COMPLETED}',
        'Jobs{Status=STOPPED}',
        'Jobs{Status=FAILED}',
        'OldestJobAge{Status=SCHEDULED}',
        'OldestJobAge{Status=IN_PROGRESS}',
      ].sort(),
    );
    expect(
      datums.filter((d) => d.MetricName === 'Jobs' || d.MetricName === 'OldestJobAge').map((d) => d.Value),
    ).toEqual([0, 0, 0, 0, 0, 0, 0]);
    expect(datums.find((d) => d.MetricName === 'CollectorUp')?.Value).toBe(1);
  });

  it('renders a failed collection as CollectorUp 0 and CollectionDuration only: no job metric', () => {
    // Prepare
    const failure: CollectionFailure = {
      ok: false,
      errorKind: 'http_401',
      errorMessage: 'the API answered 401',
      durationSeconds: 1.25,
      finishedAtMs: NOW_MS,
    };

    // Act
    const datums = renderDatums(failure, { quantiles: [0.5, 0.9, 0.95, 0.99, 1] });

    // Assess
    expect(datums).toEqual([expected('CollectorUp', 'None', 0), expected('CollectionDuration', 'Seconds', 1.25)]);
    expect(datums.flatMap((d) => validateDatum(d, NOW_MS))).toEqual([]);
  });

  it('counts unknown statuses after the known ones and sums the skipped records', () => {
    // Prepare
    const aggregator = new Aggregator(OPTIONS);
    aggregator.add(job({ status: 'active' }));
    aggregator.add(job({ status: 'QUEUED\n"x"' }));
    aggregator.skip('invalid_created_at');
    aggregator.skip('not_an_object');
    const collection: Collection = {
      ok: true,
      snapshot: aggregator.snapshot(),
      durationSeconds: 0.1,
      finishedAtMs: NOW_MS,
    };

    // Act
    const datums = renderDatums(collection);

    // Assess
    const totals = datums
      .filter((d) => d.MetricName === 'Jobs' && d.Dimensions?.length === 1)
      .map((d) => [d.Dimensions?.[0]?.Value, d.Value]);
    expect(totals.slice(0, 5)).toEqual([
      ['SCHEDULED', 0],
      ['IN_PROGRESS', 0],
      ['COMPLETED', 0],
      ['STOPPED', 0],
      ['FAILED', 0],
    ]);
    expect(totals.slice(5)).toEqual([
      [expect.stringMatching(/^QUEUED "x" #[0-9a-f]{8}$/), 1],
      ['active', 1],
    ]);
    expect(datums.find((d) => d.MetricName === 'RecordsSkipped')?.Value).toBe(2);
    expect(datums.find((d) => d.MetricName === 'JobsFetched')?.Value).toBe(4);
    expect(datums.flatMap((d) => validateDatum(d, NOW_MS))).toEqual([]);
  });
});

describe('Workflow dimension', () => {
  const id = '6f1c2c8e-8b1a-4c55-9d0b-1f0e7a9c3b21';
  const hostile: Array<[string, string, string]> = [
    ['quotes and backslashes', `He said "hi" it's C:\\tmp\\x`, `He said "hi" it's C:\\tmp\\x (${id})`],
    ['newlines and tabs', 'line1\nline2\r\n\tend', `line1 line2 end (${id})`],
    ['emoji', '🚀 Deploy 🎉', `? Deploy ? (${id})`],
    ['accents and ligatures', 'Café ﬁnance', `Cafe finance (${id})`],
    ['3000 characters', 'x'.repeat(3000), `${'x'.repeat(197)}... (${id})`],
    ['control characters', 'a\u0000b\u0007c\u001b[31m\u007f', `abc[31m (${id})`],
    ['zero-width and bidi marks', '\u200bpay\u202eroll\u2066', `payroll (${id})`],
    ['blank', '  \n\t ', id],
    ['empty', '', id],
    ['only non-ASCII', '日本語のワークフロー', `? (${id})`],
    ['lone surrogate', 'a\ud800b', `a?b (${id})`],
  ];

  it.each(hostile)('makes a valid, readable dimension value of a name with %s', (_label, name, want) => {
    // Prepare
    const d = expected('Jobs', 'Count', 1, { Workflow: '', Status: 'FAILED' });

    // Act
    const value = workflowDimensionValue(id, name);
    d.Dimensions = [
      { Name: 'Workflow', Value: value },
      { Name: 'Status', Value: 'FAILED' },
    ];

    // Assess
    expect(value).toBe(want);
    expect(value.length).toBeGreaterThanOrEqual(1);
    expect(value.length).toBeLessThanOrEqual(1024);
    expect(value).toMatch(/^[\x20-\x7e]+$/);
    expect(value.trim()).toBe(value);
    expect(validateDatum(d, NOW_MS)).toEqual([]);
  });

  it('renders hostile names from real jobs into valid datums, one distinct value per workflow', () => {
    // Prepare
    const jobs = hostile.map(([, name], i) => job({ workflowId: `wf-${i}`, workflowName: name }));

    // Act
    const datums = renderDatums(collectionOf(jobs));

    // Assess
    expect(workflowValues(datums).size).toBe(hostile.length);
    expect(datums.flatMap((d) => validateDatum(d, NOW_MS))).toEqual([]);
  });

  it('never merges two workflows that share a name', () => {
    // Prepare
    const jobs = [
      job({ workflowId: 'wf-1', workflowName: 'Nightly', status: 'FAILED' }),
      job({ workflowId: 'wf-2', workflowName: 'Nightly', status: 'FAILED' }),
      job({ workflowId: 'wf-2', workflowName: 'Nightly', status: 'FAILED' }),
    ];

    // Act
    const datums = renderDatums(collectionOf(jobs));

    // Assess
    const failed = datums.filter(
      (d) => d.MetricName === 'Jobs' && d.Dimensions?.length === 2 && d.Dimensions[1]?.Value === 'FAILED',
    );
    expect(failed.map((d) => [d.Dimensions?.[0]?.Value, d.Value])).toEqual([
      ['Nightly (wf-2)', 2],
      ['Nightly (wf-1)', 1],
    ]);
  });

  it('keeps distinct ids distinct even when a name or an id holds parentheses, spaces or "#"', () => {
    // Prepare: pairs that would read the same if ids were pasted as is
    const pairs: Array<[[string, string], [string, string]]> = [
      [
        ['c', 'a (b'],
        ['b (c', 'a'],
      ],
      [
        ['x)', ''],
        ['x', ')'],
      ],
      [
        ['id #deadbeef', ''],
        ['id #deadbeef\n', ''],
      ],
      [
        ['Other', ''],
        ['other', 'x'],
      ],
    ];

    // Act
    const rendered = pairs.map(([[id1, name1], [id2, name2]]) => [
      workflowDimensionValue(id1, name1),
      workflowDimensionValue(id2, name2),
    ]);

    // Assess
    for (const [first, second] of rendered) expect(first).not.toBe(second);
    expect(rendered[3]).toEqual(['(Other)', OTHER_WORKFLOW_DIMENSION_VALUE]);
    expect(workflowDimensionValue('b (c', 'a')).toMatch(/^a \(b_c#[0-9a-f]{8}\)$/);
  });

  it('gives the folded workflows "Other", and a real workflow named Other its id', () => {
    // Prepare: three workflows, two exported
    const jobs = [
      job({ workflowId: 'wf-big', workflowName: 'Other', status: 'FAILED' }),
      job({ workflowId: 'wf-big', workflowName: 'Other', status: 'FAILED' }),
      job({ workflowId: 'wf-mid', workflowName: 'Mid' }),
      job({ workflowId: 'wf-mid', workflowName: 'Mid' }),
      job({ workflowId: 'wf-small', workflowName: 'Small', status: 'STOPPED', runtimeSeconds: 7 }),
    ];

    // Act
    const datums = renderDatums(collectionOf(jobs, { maxWorkflows: 2 }));

    // Assess
    expect([...workflowValues(datums)].sort()).toEqual(['Mid (wf-mid)', 'Other', 'Other (wf-big)']);
    const folded = (name: string, status: string) =>
      datums.find((d) => keyOf(d) === `${name}{Workflow=Other,Status=${status}}`)?.Value;
    expect(folded('Jobs', 'STOPPED')).toBe(1);
    expect(folded('Jobs', 'FAILED')).toBe(0);
    expect(folded('RecentJobRuntimeMax', 'STOPPED')).toBe(7);
  });
});

describe('validateDatum', () => {
  const base = (): MetricDatum => expected('Jobs', 'Count', 1, { Status: 'FAILED' });
  const dims = (n: number) => Array.from({ length: n }, (_, i) => ({ Name: `D${i}`, Value: 'v' }));

  const violations: Array<[string, (d: MetricDatum) => void, string]> = [
    ['NaN', (d) => (d.Value = NaN), 'Value is NaN (must be a finite number)'],
    ['Infinity', (d) => (d.Value = Infinity), 'Value is Infinity (must be a finite number)'],
    ['-Infinity', (d) => (d.Value = -Infinity), 'Value is -Infinity (must be a finite number)'],
    ['a value too small', (d) => (d.Value = 1e-200), "Value 1e-200 is outside CloudWatch's range"],
    ['a value too large', (d) => (d.Value = -2e108), "Value -2e+108 is outside CloudWatch's range"],
    [
      '151 distinct values',
      (d) => {
        delete d.Value;
        d.Values = Array.from({ length: 151 }, (_, i) => i);
      },
      'Values has 151 distinct values (at most 150)',
    ],
    [
      'a NaN among values',
      (d) => {
        delete d.Value;
        d.Values = [1, NaN];
      },
      'Values[1] is NaN',
    ],
    [
      'empty values',
      (d) => {
        delete d.Value;
        d.Values = [];
      },
      'Values is empty',
    ],
    [
      'counts of another length',
      (d) => {
        delete d.Value;
        d.Values = [1, 2];
        d.Counts = [1];
      },
      'Counts has 1 entries, Values 2 (must be the same)',
    ],
    [
      'a negative count',
      (d) => {
        delete d.Value;
        d.Values = [1];
        d.Counts = [-1];
      },
      'Counts[0] is negative',
    ],
    ['counts without values', (d) => (d.Counts = [1]), 'Counts without Values'],
    [
      'both Value and Values',
      (d) => (d.Values = [1]),
      'exactly one of Value, Values, StatisticValues must be set (found 2)',
    ],
    ['no value', (d) => delete d.Value, 'exactly one of Value, Values, StatisticValues must be set (found 0)'],
    [
      'incomplete statistic values',
      (d) => {
        delete d.Value;
        d.StatisticValues = { SampleCount: 1, Sum: 1, Minimum: 1 } as never;
      },
      'StatisticValues.Maximum is missing',
    ],
    ['31 dimensions', (d) => (d.Dimensions = dims(MAX_DIMENSIONS_PER_DATUM + 1)), '31 dimensions (at most 30)'],
    [
      'an empty dimension value',
      (d) => (d.Dimensions = [{ Name: 'Status', Value: '' }]),
      'Dimensions[0].Value (Status) has 0 characters (allowed 1–1024)',
    ],
    [
      'a blank dimension value',
      (d) => (d.Dimensions = [{ Name: 'Status', Value: '   ' }]),
      'Dimensions[0].Value (Status) is blank',
    ],
    [
      'a 1025-character dimension value',
      (d) => (d.Dimensions = [{ Name: 'Status', Value: 'x'.repeat(1025) }]),
      'has 1025 characters (allowed 1–1024)',
    ],
    [
      'a non-ASCII dimension value',
      (d) => (d.Dimensions = [{ Name: 'Status', Value: 'Café' }]),
      'Dimensions[0].Value (Status) has non-ASCII or control characters',
    ],
    [
      'a newline in a dimension value',
      (d) => (d.Dimensions = [{ Name: 'Status', Value: 'a\nb' }]),
      'has non-ASCII or control characters',
    ],
    [
      'a missing dimension value',
      (d) => (d.Dimensions = [{ Name: 'Status', Value: undefined as unknown as string }]),
      'Dimensions[0].Value (Status) is missing',
    ],
    [
      'a dimension name starting with ":"',
      (d) => (d.Dimensions = [{ Name: ':Status', Value: 'x' }]),
      'Dimensions[0].Name starts with ":"',
    ],
    [
      'a 256-character dimension name',
      (d) => (d.Dimensions = [{ Name: 'N'.repeat(256), Value: 'x' }]),
      'Dimensions[0].Name has 256 characters (allowed 1–255)',
    ],
    [
      'a repeated dimension name',
      (d) =>
        (d.Dimensions = [
          { Name: 'Status', Value: 'a' },
          { Name: 'Status', Value: 'b' },
        ]),
      'Dimensions[1].Name "Status" repeats',
    ],
    ['an empty metric name', (d) => (d.MetricName = ''), 'MetricName has 0 characters (allowed 1–255)'],
    [
      'a 256-character metric name',
      (d) => (d.MetricName = 'M'.repeat(256)),
      'MetricName has 256 characters (allowed 1–255)',
    ],
    [
      'a unit CloudWatch does not know',
      (d) => (d.Unit = 'Furlongs' as never),
      'Unit "Furlongs" is not a CloudWatch unit',
    ],
    ['storage resolution 30', (d) => (d.StorageResolution = 30), 'StorageResolution 30 (must be 1 or 60)'],
    [
      'a timestamp older than 2 weeks',
      (d) => (d.Timestamp = new Date(NOW_MS - TIMESTAMP_WINDOW_MS.past - MINUTE)),
      'is more than 2 weeks old',
    ],
    [
      'a timestamp over 2 hours ahead',
      (d) => (d.Timestamp = new Date(NOW_MS + TIMESTAMP_WINDOW_MS.future + MINUTE)),
      'is more than 2 hours ahead',
    ],
    ['an invalid timestamp', (d) => (d.Timestamp = new Date(NaN)), 'Timestamp is an invalid date'],
  ];

  it.each(violations)('catches %s', (_label, mutate, message) => {
    // Prepare
    const d = base();
    mutate(d);

    // Act
    const problems = validateDatum(d, NOW_MS);

    // Assess
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(message);
  });

  const limits: Array<[string, (d: MetricDatum) => void]> = [
    ['the base datum', () => undefined],
    ['30 dimensions', (d) => (d.Dimensions = dims(MAX_DIMENSIONS_PER_DATUM))],
    ['a 1024-character dimension value', (d) => (d.Dimensions = [{ Name: 'Status', Value: 'x'.repeat(1024) }])],
    [
      '150 distinct values with counts',
      (d) => {
        delete d.Value;
        d.Values = Array.from({ length: 150 }, (_, i) => i);
        d.Counts = d.Values.map(() => 2);
      },
    ],
    ['zero and negative values', (d) => (d.Value = -0.5)],
    [
      'a timestamp just inside 2 weeks ago',
      (d) => (d.Timestamp = new Date(NOW_MS - TIMESTAMP_WINDOW_MS.past + MINUTE)),
    ],
    [
      'a timestamp just inside 2 hours ahead',
      (d) => (d.Timestamp = new Date(NOW_MS + TIMESTAMP_WINDOW_MS.future - MINUTE)),
    ],
    ['high resolution', (d) => (d.StorageResolution = 1)],
  ];

  it.each(limits)('accepts %s', (_label, mutate) => {
    // Prepare
    const d = base();
    mutate(d);

    // Act
    const problems = validateDatum(d, NOW_MS);

    // Assess
    expect(problems).toEqual([]);
  });

  it('checks namespaces', () => {
    // Prepare
    const names = ['Unstructured/Jobs', 'AWS/Lambda', '', 'Jöbs', ' '];

    // Act
    const problems = names.map((n) => validateNamespace(n));

    // Assess
    expect(problems[0]).toEqual([]);
    expect(problems[1]).toEqual(['Namespace starts with "AWS/" (reserved for AWS)']);
    expect(problems[2]).toEqual(['Namespace has 0 characters (allowed 1–255)']);
    expect(problems[3]).toEqual(['Namespace has non-ASCII or control characters']);
    expect(problems[4]).toEqual(['Namespace is blank']);
  });
});

describe('publishing through a CloudWatchClientLike', () => {
  /** 5,000 workflows, each with a finished job of every terminal status and a scheduled one. */
  function bigAccount(workflows: number): Collection {
    const jobs: Job[] = [];
    for (let i = 0; i < workflows; i++) {
      const workflowId = `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
      const workflowName = `Ingest pipeline number ${i} for customer documents`;
      for (const status of ['COMPLETED', 'FAILED', 'STOPPED', 'SCHEDULED']) {
        jobs.push(
          job({ workflowId, workflowName, status, runtimeSeconds: status === 'SCHEDULED' ? undefined : 30 + (i % 7) }),
        );
      }
    }
    return collectionOf(jobs, { maxWorkflows: workflows });
  }

  it('publishes an account of 5,000 workflows in the fewest requests, each datum once, within every limit', async () => {
    // Prepare
    const collection = bigAccount(5_000);
    const client = new RecordingClient();

    // Act
    const report = await publishCollection(collection, {
      namespace: NAMESPACE,
      quantiles: OPTIONS.quantiles,
      client,
      now,
    });

    // Assess: 4 health + 22 for the total + 22 per workflow (5 Jobs, 2 OldestJobAge, 5 quantiles × 3 terminal statuses)
    const datums = renderDatums(collection);
    expect(datums).toHaveLength(4 + 22 + 22 * 5_000);
    expect(report).toEqual({
      total: 110_026,
      requests: 111,
      failedRequests: 0,
      published: 110_026,
      failed: [],
      invalid: [],
    });
    expect(client.inputs).toHaveLength(Math.ceil(datums.length / MAX_DATUMS_PER_REQUEST));
    const totalBytes = client.inputs.reduce((sum, i) => sum + Buffer.byteLength(JSON.stringify(i)), 0);
    expect(totalBytes / SAFE_REQUEST_BYTES).toBeLessThan(client.inputs.length - 1); // size is not what binds
    for (const input of client.inputs) {
      expect(input.Namespace).toBe(NAMESPACE);
      expect(input.MetricData?.length).toBeLessThanOrEqual(MAX_DATUMS_PER_REQUEST);
      expect(Buffer.byteLength(JSON.stringify(input))).toBeLessThan(MAX_REQUEST_BYTES);
    }
    expect(client.inputs.slice(0, -1).every((i) => i.MetricData?.length === MAX_DATUMS_PER_REQUEST)).toBe(true);
    const sent = client.sent.map(keyOf);
    expect(sent).toHaveLength(datums.length);
    expect(new Set(sent)).toEqual(new Set(datums.map(keyOf)));
    expect(new Set(sent).size).toBe(sent.length);
    expect(client.maxInFlight).toBe(DEFAULT_CONCURRENCY);
    expect(workflowValues(client.sent).size).toBe(5_000);
    expect(client.sent.flatMap((d) => validateDatum(d, NOW_MS))).toEqual([]);
  });

  it('never has more requests in flight than the concurrency asked for', async () => {
    // Prepare
    const datums = renderDatums(bigAccount(300));
    const client = new RecordingClient();

    // Act
    const report = await publishDatums(datums, { namespace: NAMESPACE, client, concurrency: 2, now });

    // Assess
    expect(report.requests).toBe(Math.ceil(datums.length / MAX_DATUMS_PER_REQUEST));
    expect(client.maxInFlight).toBe(2);
    expect(client.sent).toHaveLength(datums.length);
  });

  it('splits by size when datums are large, in the fewest requests under the byte limit', async () => {
    // Prepare: datums of ~10 kB each (10 dimensions of 1,000 characters)
    const datums = Array.from({ length: 500 }, (_, i) => {
      const d = expected('Big', 'Count', i);
      d.Dimensions = Array.from({ length: 10 }, (_, k) => ({ Name: `D${k}`, Value: `${i}-${k}-`.padEnd(1000, 'v') }));
      return d;
    });
    const size = Math.max(...datums.map(estimateDatumBytes));
    const perRequest = Math.floor((SAFE_REQUEST_BYTES - envelopeBytes(NAMESPACE)) / size);
    const client = new RecordingClient();

    // Act
    const report = await publishDatums(datums, { namespace: NAMESPACE, client, now });

    // Assess
    expect(perRequest).toBeLessThan(MAX_DATUMS_PER_REQUEST);
    expect(planRequests(datums, NAMESPACE)).toHaveLength(Math.ceil(datums.length / perRequest));
    expect(report.requests).toBe(Math.ceil(datums.length / perRequest));
    expect(report.published).toBe(500);
    for (const input of client.inputs) expect(Buffer.byteLength(JSON.stringify(input))).toBeLessThan(MAX_REQUEST_BYTES);
    expect(client.sent.map(keyOf)).toEqual(datums.map(keyOf));
  });

  it('never sends an invalid datum, reports it, and assertPublished says what is missing', async () => {
    // Prepare
    const good = expected('Jobs', 'Count', 3, { Status: 'FAILED' });
    const nan = expected('OldestJobAge', 'Seconds', NaN, { Status: 'SCHEDULED' });
    const client = new RecordingClient();

    // Act
    const report = await publishDatums([good, nan], { namespace: NAMESPACE, client, now });

    // Assess
    expect(client.sent).toEqual([good]);
    expect(report).toEqual({
      total: 2,
      requests: 1,
      failedRequests: 0,
      published: 1,
      failed: [],
      invalid: [
        {
          metricName: 'OldestJobAge',
          dimensions: { Status: 'SCHEDULED' },
          reason: 'Value is NaN (must be a finite number)',
        },
      ],
    });
    expect(() => assertPublished(report)).toThrow(PublishError);
    expect(() => assertPublished(report)).toThrow(
      'published 1 of 2 datums; 0 requests failed; 1 invalid datums, first OldestJobAge: Value is NaN (must be a finite number)',
    );
  });

  it('refuses a bad namespace or concurrency before sending anything', async () => {
    // Prepare
    const client = new RecordingClient();
    const datums = [expected('Jobs', 'Count', 1, { Status: 'FAILED' })];

    // Act
    const badNamespace = publishDatums(datums, { namespace: 'AWS/Jobs', client, now });
    const badConcurrency = publishDatums(datums, { namespace: NAMESPACE, client, concurrency: 0, now });

    // Assess
    await expect(badNamespace).rejects.toThrow(TypeError);
    await expect(badNamespace).rejects.toThrow('Namespace starts with "AWS/"');
    await expect(badConcurrency).rejects.toThrow(RangeError);
    expect(client.inputs).toEqual([]);
  });

  it('publishes a failed collection as exactly CollectorUp 0 and CollectionDuration', async () => {
    // Prepare
    const client = new RecordingClient();
    const failure: Collection = {
      ok: false,
      errorKind: 'timeout',
      errorMessage: 'timed out',
      durationSeconds: 25,
      finishedAtMs: NOW_MS,
    };

    // Act
    const report = await publishCollection(failure, {
      namespace: NAMESPACE,
      quantiles: OPTIONS.quantiles,
      client,
      now,
    });

    // Assess
    expect(report.published).toBe(2);
    expect(client.inputs).toEqual([
      {
        Namespace: NAMESPACE,
        MetricData: [expected('CollectorUp', 'None', 0), expected('CollectionDuration', 'Seconds', 25)],
      },
    ]);
    expect(() => assertPublished(report)).not.toThrow();
  });

  it('publishes the other requests when one fails, and reports the failed datums with the error', async () => {
    // Prepare: 2,500 datums → requests of 1,000 / 1,000 / 500; the second one is refused
    const datums = Array.from({ length: 2_500 }, (_, i) => expected('Jobs', 'Count', i, { Status: `S${i}` }));
    const client = new RecordingClient((input) =>
      input.MetricData?.[0]?.Value === 1_000
        ? Object.assign(new Error('bad request'), { name: 'InvalidParameterValueException' })
        : undefined,
    );

    // Act
    const report = await publishDatums(datums, { namespace: NAMESPACE, client, now });

    // Assess
    expect(report.requests).toBe(3);
    expect(report.failedRequests).toBe(1);
    expect(report.published).toBe(1_500);
    expect(report.failed.map((f) => f.dimensions.Status)).toEqual(
      datums.slice(1_000, 2_000).map((d) => d.Dimensions?.[0]?.Value),
    );
    expect(new Set(report.failed.map((f) => f.error))).toEqual(
      new Set(['InvalidParameterValueException: bad request']),
    );
    expect(() => assertPublished(report)).toThrow(
      'published 1500 of 2500 datums; 1 requests failed: InvalidParameterValueException: bad request',
    );
  });
});
