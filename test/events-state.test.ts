/**
 * The finished-jobs state cannot be poisoned (issue 15): the encoder and the decoder judge every field alike, so
 * whatever is written reads back (random states), FinishedJobs admits only events the state can hold, and the
 * states version 1 wrote — ordinary ones and the ones an impossible runtime poisoned — are read and carried on.
 */
import { readFileSync } from 'node:fs';
import type { CloudWatchClient, PutMetricDataCommandInput } from '@aws-sdk/client-cloudwatch';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Aggregator } from '../lib/aggregate/aggregator.js';
import type { Collection } from '../lib/collection.js';
import { FinishedJobs } from '../lib/events/finished.js';
import { publishFinishedJobs, summarizeFinishedJobs, type FinishedJobsReport } from '../lib/events/run.js';
import { MAX_EPOCH_HOUR, SeenHourError, SeenIds } from '../lib/events/seen-ids.js';
import {
  decodeState,
  emptyState,
  encodeState,
  eventProblem,
  MAX_STATE_TIME_MS,
  STATE_VERSION,
  StateEncodeError,
  type DecodedState,
  type EventsState,
  type FinishedEvent,
} from '../lib/events/state.js';
import { splitSeen } from '../lib/events/state-bytes.js';
import { MemoryStateStore } from '../lib/events/store.js';
import { Logger } from '../lib/log.js';
import type { Job } from '../lib/records/job.js';
import { toJob } from '../lib/records/to-job.js';
import { TERMINAL_STATUSES } from '../lib/vocabulary.js';
import { received, recorder, uuid } from './support/finished-jobs.js';

const HOUR = 3_600_000;
const MINUTE = 60_000;
const GOLDEN = new URL('./golden/events-state/', import.meta.url);
const golden = (name: string): string => readFileSync(new URL(name, GOLDEN), 'utf8');
/** The "now" of the version 1 states in test/golden/events-state/ (README there). */
const V1_NOW_MS = Date.UTC(2026, 11, 6, 12, 0, 0);

// ---------------------------------------------------------------------------------------------------------
// Arbitraries: states built through the public API from any numbers, valid or not

const validTime = fc.oneof(fc.integer({ min: 0, max: MAX_STATE_TIME_MS }), fc.constantFrom(0, MAX_STATE_TIME_MS));
const validRuntime = fc.oneof(
  fc.double({ min: 0, noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0, 150.456, 1e308),
);
/** Any number a bug could hand over: integers of every size, fractions, NaN, infinities, -0 (rarely: most states must be valid). */
const badNumber = fc.oneof(
  fc.constantFrom(-0, -1, 0.5, MAX_STATE_TIME_MS + 1, 2 ** 53, 86401796554800000, 3.47e22, NaN, Infinity, -Infinity),
  fc.double(),
);
const anyTime = fc.oneof({ weight: 30, arbitrary: validTime }, { weight: 1, arbitrary: badNumber });
const anyRuntime = fc.oneof({ weight: 30, arbitrary: validRuntime }, { weight: 1, arbitrary: badNumber });
const anyNumber = fc.oneof(validTime, validRuntime, badNumber);
const goodId = fc.oneof(
  fc.uuid(),
  fc.uuid().map((u) => u.toUpperCase()),
  fc.string({ minLength: 1, maxLength: 40 }),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 6 }),
  fc.constantFrom('a\ud800', 'a\udfff'),
);
const anyId = fc.oneof({ weight: 50, arbitrary: goodId }, { weight: 1, arbitrary: fc.constant('') });

const eventArb = (time: fc.Arbitrary<number>, runtime: fc.Arbitrary<number>, id: fc.Arbitrary<string>) =>
  fc.record({
    id,
    status: fc.oneof(
      { weight: 50, arbitrary: fc.constantFrom(...TERMINAL_STATUSES) },
      { weight: 1, arbitrary: fc.constantFrom('RUNNING' as never) },
    ),
    workflow: fc.oneof(
      { weight: 50, arbitrary: fc.string({ minLength: 1, maxLength: 20 }) },
      { weight: 1, arbitrary: fc.constant('') },
    ),
    runtimeSeconds: runtime,
    finishedAtMs: time,
  }) as fc.Arbitrary<FinishedEvent>;

interface Built {
  readonly state: EventsState;
  /** SeenIds refused an hour (SeenHourError): nothing to encode. */
  readonly refused: boolean;
}

/** A state from arbitrary parts: seen ids at any finish time, pending events and a lease with any numbers. */
const stateArb = (
  time: fc.Arbitrary<number>,
  runtime: fc.Arbitrary<number>,
  id: fc.Arbitrary<string>,
): fc.Arbitrary<Built> =>
  fc
    .record({
      createdAtMs: time,
      updatedAtMs: time,
      seen: fc.array(fc.tuple(goodId, time), { maxLength: 30 }),
      pending: fc.array(eventArb(time, runtime, id), { maxLength: 5 }),
      lease: fc.option(fc.record({ owner: fc.string({ maxLength: 10 }), expiresAtMs: time })),
    })
    .map(({ createdAtMs, updatedAtMs, seen, pending, lease }) => {
      const ids = new SeenIds();
      let refused = false;
      for (const [seenId, at] of seen) {
        try {
          ids.add(seenId, at);
        } catch (error) {
          if (!(error instanceof SeenHourError)) throw error;
          refused = true;
        }
      }
      return { state: { createdAtMs, updatedAtMs, seen: ids, pending, ...(lease !== null && { lease }) }, refused };
    });

/** The state as plain data (seen ids as their stored buckets), for toEqual; -0 is 0 (JSON writes it so). */
function plain(state: EventsState) {
  return {
    createdAtMs: state.createdAtMs + 0,
    updatedAtMs: state.updatedAtMs + 0,
    seen: state.seen.buckets().map((b) => ({ hour: b.hour, keys: b.keys.toString('hex') })),
    pending: state.pending.map((e) => ({
      ...e,
      runtimeSeconds: e.runtimeSeconds + 0,
      finishedAtMs: e.finishedAtMs + 0,
    })),
    lease: state.lease === undefined ? undefined : { ...state.lease, expiresAtMs: state.lease.expiresAtMs + 0 },
  };
}

describe('the state encoder and decoder cannot disagree', () => {
  it('whatever encodes decodes to the same state, and encodes again to the same text; what cannot be read back is refused', () => {
    let written = 0;
    let refusedByEncoder = 0;
    let refusedBySeen = 0;
    fc.assert(
      fc.property(stateArb(anyTime, anyRuntime, anyId), ({ state, refused }) => {
        if (refused) {
          refusedBySeen++;
          return;
        }
        let text: string;
        try {
          text = encodeState(state);
        } catch (error) {
          expect(error).toBeInstanceOf(StateEncodeError);
          refusedByEncoder++;
          return;
        }
        written++;
        expect(text).toBe(JSON.stringify(JSON.parse(text))); // exactly what JSON.stringify writes
        const back = decodeState(text, 'property');
        expect(plain(back)).toEqual(plain(state));
        expect(encodeState(back)).toBe(text);
      }),
      { numRuns: 1500 },
    );
    // Both outcomes happen, or the property proves little.
    expect(written).toBeGreaterThan(50);
    expect(refusedByEncoder).toBeGreaterThan(50);
    expect(refusedBySeen).toBeGreaterThan(50);
  });

  it('a state made of values the state can hold is always written', () => {
    fc.assert(
      fc.property(
        stateArb(validTime, validRuntime, goodId).filter((b) =>
          b.state.pending.every(
            (e) => e.workflow !== '' && (TERMINAL_STATUSES as readonly string[]).includes(e.status),
          ),
        ),
        ({ state, refused }) => {
          expect(refused).toBe(false);
          expect(plain(decodeState(encodeState(state), 'property'))).toEqual(plain(state));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('whatever decodes encodes, and decodes again to the same state (numbers of a stored state changed to anything)', () => {
    const base = JSON.parse(golden('state-v1.json')) as Record<string, unknown>;
    const v2 = JSON.parse(encodeState(decodeState(golden('state-v1.json'), 'golden'))) as Record<string, unknown>;
    const number = fc.oneof(
      anyNumber.filter((n) => Number.isFinite(n)),
      fc.constantFrom(null, '1', true),
    );
    fc.assert(
      fc.property(fc.constantFrom(base, v2), number, number, number, number, (doc, a, b, c, d) => {
        const text = JSON.stringify({
          ...doc,
          createdAtMs: a,
          seen: [
            ...(doc.seen as object[]),
            { hour: b, ...(doc.version === 1 ? { ids: ['x'] } : { keys: Buffer.alloc(16, 1).toString('base64') }) },
          ],
          pending: [
            ...(doc.pending as object[]),
            { id: 'p', status: 'FAILED', workflow: 'Other', runtimeSeconds: c, finishedAtMs: d },
          ],
        });
        let decoded: DecodedState;
        try {
          decoded = decodeState(text, 'property');
        } catch {
          return; // refused, naming the problem (the corrupted-state tests check the messages)
        }
        const again = decodeState(encodeState(decoded), 'property');
        expect(plain(again)).toEqual(plain(decoded));
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses to write the finish times issue 15 wrote: the encoder throws, SeenIds refuses the hour, nothing is written', () => {
    // Prepare
    const pendingState: EventsState = {
      ...emptyState(V1_NOW_MS),
      pending: [
        {
          id: 'p',
          status: 'COMPLETED',
          workflow: 'Other',
          runtimeSeconds: 86_400_000_000_000,
          finishedAtMs: 86401796554800000,
        },
      ],
    };
    const seen = new SeenIds();

    // Act / Assess
    expect(() => encodeState(pendingState)).toThrow(StateEncodeError);
    expect(() => encodeState(pendingState)).toThrow('pending[0].finishedAtMs is not a time in epoch milliseconds');
    expect(() => seen.add('x', 3.47e22)).toThrow(SeenHourError);
    expect(() => seen.add('x', (MAX_EPOCH_HOUR + 1) * HOUR)).toThrow(SeenHourError);
    expect(seen.size).toBe(0);
    seen.add('x', MAX_STATE_TIME_MS); // the last millisecond it holds
    expect(seen.hours()).toEqual([MAX_EPOCH_HOUR]);
  });
});

describe('a state read from its bytes is read as its text is', () => {
  /** What decoding gives: the state as plain data, or the refusal's message. */
  function outcome(decode: () => DecodedState): unknown {
    try {
      const d = decode();
      return { state: plain(d), version: d.version, discarded: d.discarded };
    } catch (error) {
      return { refused: (error as Error).message };
    }
  }

  const sixteen = Buffer.alloc(16, 7).toString('base64');
  /** Ways of writing the same document (or a slightly different one) that JSON.parse reads. */
  const shapes: Record<string, (text: string) => string> = {
    'as written': (t) => t,
    'indented, CRLF': (t) => JSON.stringify(JSON.parse(t), null, 2).replaceAll('\n', '\r\n'),
    'members reversed': (t) => JSON.stringify(Object.fromEntries(Object.entries(JSON.parse(t)).reverse())),
    // JSON.parse keeps the last of two members with one name: a different, valid `seen` before it is ignored.
    'an earlier seen': (t) => `{"seen":[{"hour":1,"keys":"${sixteen}"}], "seen" : 5,${t.slice(1)}`,
    'a later seen that is no array': (t) => `${t.slice(0, -1)},"seen":{"hour":1}}`,
    'a later, different seen': (t) => `${t.slice(0, -1)},"seen":[{"hour":2,"keys":"${sixteen}"}]}`,
    'the name escaped': (t) => t.replace('"seen":', '"s\\u0065en":'),
    'no seen': (t) => JSON.stringify({ ...JSON.parse(t), seen: undefined }),
    'seen not an array': (t) => t.replace('"seen":[', '"seen":{"x":[').replace('],"pending"', ']},"pending"'),
    'trailing garbage': (t) => `${t} x`,
    truncated: (t) => t.slice(0, Math.floor(t.length / 2)),
  };
  const documents = fc.oneof(
    stateArb(validTime, validRuntime, goodId)
      .filter((b) => !b.refused)
      .map((b) => {
        try {
          return encodeState(b.state);
        } catch {
          return encodeState(emptyState(V1_NOW_MS));
        }
      }),
    fc.constantFrom(
      golden('state-v1.json'),
      golden('state-v1-poisoned-seen.json'),
      golden('state-v1-poisoned-pending.json'),
    ),
  );

  it('same state or same refusal, whatever the document’s layout and whatever byte in it is changed', () => {
    const counts = { read: 0, refused: 0 };
    fc.assert(
      fc.property(
        documents,
        fc.constantFrom(...Object.keys(shapes)),
        fc.option(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { freq: 3 }),
        (text, shape, change) => {
          // Prepare: the document as bytes, one byte possibly replaced (invalid UTF-8 included)
          const bytes = Buffer.from((shapes[shape] as (t: string) => string)(text), 'utf8');
          if (change !== null && bytes.length > 0) bytes[change[0] % bytes.length] = change[1];

          // Act
          const fromBytes = outcome(() => decodeState(bytes, 'property'));
          const fromText = outcome(() => decodeState(bytes.toString('utf8'), 'property'));

          // Assess
          expect(fromBytes).toEqual(fromText);
          counts[(fromText as { refused?: string }).refused === undefined ? 'read' : 'refused']++;
        },
      ),
      { numRuns: 1500 },
    );
    // Both outcomes happen, or the property proves little.
    expect(counts.read).toBeGreaterThan(200);
    expect(counts.refused).toBeGreaterThan(200);
  });

  it('takes the seen array apart without its text for a state as written, and leaves any other document whole', () => {
    // Prepare: three hours of ids
    const seen = new SeenIds();
    for (let i = 0; i < 30; i++) seen.add(uuid(i), V1_NOW_MS - (i % 3) * HOUR);
    const text = encodeState({ ...emptyState(V1_NOW_MS), seen });
    const bytes = Buffer.from(text);

    // Act
    const split = splitSeen(bytes);

    // Assess
    expect(split?.rest).toBe(text.replace(/"seen":\[.*?\],"pending"/, '"seen":[],"pending"'));
    const elements = split?.elements ?? new Int32Array(0);
    const buckets = Array.from({ length: elements.length / 2 }, (_, i) =>
      JSON.parse(bytes.toString('utf8', elements[2 * i], elements[2 * i + 1])),
    );
    expect(buckets).toEqual(JSON.parse(text).seen);
    expect(buckets).toHaveLength(3);
    for (const other of ['[]', `${text} x`, text.slice(0, -1), text.replace('"seen":[', '"seen":{"x":[')])
      expect(splitSeen(Buffer.from(other))).toBeUndefined();
  });
});

describe('FinishedJobs admits only events the state can hold', () => {
  it('for any created_at and runtime: an admitted job is an event the state holds, finishing by now + 5 minutes', () => {
    const nowMs = V1_NOW_MS;
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            createdAtMs: fc.oneof(
              fc.integer({ min: nowMs - 20 * 86_400_000, max: nowMs + 600_000 }),
              fc.constantFrom(-62_135_596_800_000, 253_402_300_799_999),
            ),
            runtimeSeconds: fc.oneof(
              fc.double({ min: 0, max: 1e6, noNaN: true }),
              anyNumber,
              fc.constantFrom(34_560_000, 3.47e19, 8.64e13),
            ),
            status: fc.constantFrom(...TERMINAL_STATUSES, 'IN_PROGRESS'),
          }),
          { maxLength: 20 },
        ),
        (jobs) => {
          const finished = new FinishedJobs({ nowMs, retentionSeconds: 7 * 86_400 });
          jobs.forEach((j, i) =>
            finished.add({
              id: `j${i}`,
              workflowId: 'wf',
              workflowName: 'wf',
              jobType: 'ephemeral',
              runtimeInvalid: false,
              runtimeLongerThanAge: false,
              ...j,
            }),
          );
          for (const job of finished.jobs()) {
            const event = {
              id: job.id,
              status: job.status,
              workflow: 'Other',
              runtimeSeconds: job.runtimeSeconds,
              finishedAtMs: job.finishedAtMs,
            };
            expect(eventProblem(event)).toBeUndefined();
            expect(job.finishedAtMs).toBeLessThanOrEqual(nowMs + 5 * MINUTE);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

// ---------------------------------------------------------------------------------------------------------
// Version 1 states (written by the code before issue 15)

function fakeCloudWatch(): CloudWatchClient {
  return { send: async () => ({}) } as unknown as CloudWatchClient;
}

interface RunResult {
  readonly report: FinishedJobsReport;
  readonly requests: PutMetricDataCommandInput[];
  /** The run's log lines, parsed. */
  readonly logs: Record<string, unknown>[];
}

/** One run of the events step over `records` (API records) at `nowMs`, as the collector feeds it. */
async function runOnce(
  store: MemoryStateStore,
  nowMs: number,
  records: readonly Record<string, unknown>[],
  fail = false,
): Promise<RunResult> {
  const finished = new FinishedJobs({ nowMs, retentionSeconds: 7 * 86_400 });
  const aggregator = new Aggregator({
    nowMs,
    runtimeWindowSeconds: 86_400,
    maxWorkflows: 5,
    histogramBuckets: [1, 10],
    quantiles: [0.5],
  });
  for (const raw of records) {
    const job = toJob(raw, nowMs) as Job;
    aggregator.add(job);
    finished.add(job);
  }
  const collection: Collection = {
    ok: true,
    snapshot: aggregator.snapshot(),
    durationSeconds: 0.1,
    finishedAtMs: nowMs,
  };
  const rec = recorder(fakeCloudWatch());
  const logs: Record<string, unknown>[] = [];
  const report = await publishFinishedJobs(finished, collection, {
    store,
    namespace: 'State',
    backfillSeconds: 3_600,
    client: rec.client({ fail: () => fail }),
    logger: new Logger({ write: (line) => logs.push(JSON.parse(line) as Record<string, unknown>) }),
  });
  return { report, requests: rec.accepted, logs };
}

function record(n: number, status: string, runtime: string, createdAtMs: number): Record<string, unknown> {
  return {
    id: uuid(n),
    workflow_id: 'aa0c1a52-7b1e-4c1d-9a3e-00000000000a',
    workflow_name: 'Ingest invoices',
    status,
    created_at: new Date(createdAtMs).toISOString(),
    runtime,
    job_type: 'ephemeral',
  };
}

async function storeWith(text: string): Promise<MemoryStateStore> {
  const store = new MemoryStateStore('s3://bucket/state/finished-jobs.json');
  await store.write(text, undefined);
  return store;
}

describe('version 1 states', () => {
  it('reads a state version 1 wrote: every id, its hour, the pending event and the lease; writes it back as version 2', () => {
    // Prepare
    const text = golden('state-v1.json');
    const ids = JSON.parse(golden('state-v1-ids.json')) as string[];

    // Act
    const state = decodeState(text, 'v1');
    const again = decodeState(encodeState(state), 'v2');

    // Assess
    expect(state).toMatchObject({ version: 1, discarded: 0 });
    expect(state.seen.size).toBe(305);
    expect(ids.every((id) => state.seen.has(id))).toBe(true);
    expect(state.seen.has(uuid(0x1ff))).toBe(false);
    const hour = Math.floor((V1_NOW_MS - 3 * HOUR + 1000) / HOUR);
    expect(state.seen.buckets().map((b) => [b.hour, b.keys.length / 16])).toEqual([
      [hour, 102],
      [hour + 1, 102],
      [hour + 2, 101],
    ]);
    expect(state.pending).toEqual(JSON.parse(text).pending);
    expect(state.lease).toEqual({ owner: 'run-5d0e', expiresAtMs: V1_NOW_MS + 180_000 });
    expect(again).toMatchObject({ version: STATE_VERSION, discarded: 0 });
    expect(plain(again)).toEqual(plain(state));
    expect(ids.every((id) => again.seen.has(id))).toBe(true);
  });

  it.each([
    [
      'state-v1-poisoned-seen.json',
      'a published P1100000000000Y runtime (seen hour not a safe integer)',
      { seen: 1, pending: 0 },
    ],
    [
      'state-v1-poisoned-pending.json',
      'a pending timedelta.max runtime after a PutMetricData failure (finishedAtMs not a safe integer)',
      { seen: 0, pending: 1 },
    ],
  ])('%s, %s: dropped on reading, the next runs work and publish the FAILED job', async (file, _what, kept) => {
    // Prepare: the state as version 1 left it; since then, a job failed
    const store = await storeWith(golden(file));
    const before = decodeState(golden(file), file);
    const failed = record(0xf1, 'FAILED', 'PT30S', V1_NOW_MS + 2 * MINUTE);

    // Act
    const next = await runOnce(store, V1_NOW_MS + 5 * MINUTE, [failed]);
    const after = await runOnce(store, V1_NOW_MS + 10 * MINUTE, [failed]);

    // Assess
    expect(before).toMatchObject({ version: 1, discarded: 1 });
    expect(before.seen.size).toBe(kept.seen);
    expect(before.pending).toHaveLength(kept.pending);
    expect(next.report).toMatchObject({ outcome: 'published', newJobs: 1, discarded: 1 });
    expect(summarizeFinishedJobs(next.report)).toMatchObject({ discarded: 1 });
    const dropping = (logs: Record<string, unknown>[]) => logs.filter((l) => l.discarded !== undefined);
    expect(dropping(next.logs)).toEqual([
      expect.objectContaining({ level: 'warn', discarded: 1, state: store.description }),
    ]);
    expect(after.report.discarded).toBe(0);
    expect(dropping(after.logs)).toEqual([]);
    expect(received(next.requests, 'State').finishedByStatus.get('FAILED')).toBe(1);
    expect(after.report.outcome).toBe('nothing-new'); // published once
    const stored = decodeState((await store.read())!.bytes, 'after');
    expect(stored).toMatchObject({ version: STATE_VERSION, discarded: 0, pending: [] });
    expect(stored.seen.has(uuid(0xf1))).toBe(true);
  });
});

describe('issue 15, from a new state: impossible runtimes and a failed PutMetricData', () => {
  it('publishes neither impossible runtime, keeps a readable state, and the next run publishes the FAILED job added meanwhile', async () => {
    // Prepare
    const store = new MemoryStateStore();
    const t0 = V1_NOW_MS;
    const first = [
      record(0xd1, 'COMPLETED', 'P1100000000000Y', t0 - HOUR),
      record(0xd2, 'COMPLETED', 'P2739726Y9DT23H59M59.999999S', t0 - HOUR),
      record(0xd3, 'COMPLETED', 'P400D', t0 - HOUR),
      record(0xc1, 'COMPLETED', 'PT2M', t0 - 10 * MINUTE),
    ];
    const failed = record(0xf1, 'FAILED', 'PT30S', t0 + 2 * MINUTE);

    // Act
    const failing = await runOnce(store, t0, first, true);
    const afterFailure = decodeState((await store.read())!.bytes, 'after the failure');
    const next = await runOnce(store, t0 + 5 * MINUTE, [...first, failed]);

    // Assess
    expect(failing.report).toMatchObject({ outcome: 'published', newJobs: 1, published: 0, released: 1 });
    expect(afterFailure.pending.map((e) => e.id)).toEqual([uuid(0xc1)]);
    expect(next.report).toMatchObject({ outcome: 'published', retried: 1, newJobs: 1, published: 2, released: 0 });
    const sent = received(next.requests, 'State');
    expect(Object.fromEntries(sent.finishedByStatus)).toMatchObject({ COMPLETED: 1, FAILED: 1 });
    expect(sent.runtimesByStatus.get('COMPLETED')).toEqual([120]);
    const state = decodeState((await store.read())!.bytes, 'after');
    expect([0xd1, 0xd2, 0xd3].some((n) => state.seen.has(uuid(n)))).toBe(false); // never events
    expect(state.seen.size).toBe(2);
  });
});
