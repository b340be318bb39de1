/**
 * The finished-jobs state stores (S3 against moto, the file store on a temp dir) and the state format:
 * conditional writes, atomic replacement, the lock file, retention pruning, compactness, corrupted state.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { FileStateStore, StateLockError } from '../lib/events/file-store.js';
import { FinishedJobs } from '../lib/events/finished.js';
import { publishFinishedJobs } from '../lib/events/run.js';
import { S3StateStore } from '../lib/events/s3-store.js';
import { decodeState, emptyState, encodeState, SeenIds, STATE_FORMAT, type EventsState } from '../lib/events/state.js';
import {
  MemoryStateStore,
  StateConflictError,
  StateCorruptError,
  type StateStore,
  type StoredState,
} from '../lib/events/store.js';
import { Aggregator } from '../lib/aggregate/aggregator.js';
import type { Collection } from '../lib/collection.js';
import { job } from './support/jobs.js';
import { createBucket, HOUR, MINUTE, realNowMinute, recorder, s3ClientFor, uuid } from './support/finished-jobs.js';
import { cloudWatchClientFor, startMoto, type RunningMoto } from './support/moto.js';

const BUCKET = 'events-stores-test';

let moto: RunningMoto;
let s3: S3Client;
let cw: CloudWatchClient;
let dir: string;

beforeAll(async () => {
  moto = await startMoto();
  s3 = s3ClientFor(moto.endpoint);
  cw = cloudWatchClientFor(moto.endpoint);
  await createBucket(s3, BUCKET);
  dir = mkdtempSync(join(tmpdir(), 'events-stores-'));
}, 30_000);

afterAll(async () => {
  await moto?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

/** A stored state with its bytes as text, for toEqual. */
function asText(stored: StoredState | undefined) {
  return stored && { text: Buffer.from(stored.bytes).toString('utf8'), version: stored.version };
}

let n = 0;
const stores: Record<string, () => StateStore> = {
  s3: () => new S3StateStore({ bucket: BUCKET, key: `state/contract-${++n}.json`, client: s3 }),
  file: () => new FileStateStore(join(dir, `contract-${++n}.json`)),
  memory: () => new MemoryStateStore(),
};

describe.each(Object.keys(stores))('%s store: the optimistic-concurrency contract', (kind) => {
  const make = stores[kind] as () => StateStore;

  it('reads nothing before the first write, then what was written with its version', async () => {
    // Prepare
    const store = make();

    // Act
    const before = await store.read();
    const version = await store.write('{"a":1}', undefined);
    const after = await store.read();

    // Assess
    expect(before).toBeUndefined();
    expect(asText(after)).toEqual({ text: '{"a":1}', version });
  });

  it('refuses to create what exists, and to update from a stale version', async () => {
    // Prepare
    const store = make();
    const v1 = await store.write('one', undefined);
    const v2 = await store.write('two', v1);

    // Act
    const create = await store.write('again', undefined).catch((e: unknown) => e);
    const stale = await store.write('three', v1).catch((e: unknown) => e);

    // Assess
    expect(create).toBeInstanceOf(StateConflictError);
    expect(stale).toBeInstanceOf(StateConflictError);
    expect(v2).not.toBe(v1);
    expect(asText(await store.read())).toEqual({ text: 'two', version: v2 });
  });

  it('lets exactly one of ten concurrent writers from the same version win', async () => {
    // Prepare
    const store = make();
    const v1 = await store.write('base', undefined);

    // Act
    const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => store.write(`writer ${i}`, v1)));

    // Assess
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    expect(
      results
        .filter((r) => r.status === 'rejected')
        .every((r) => (r as PromiseRejectedResult).reason instanceof StateConflictError),
    ).toBe(true);
    expect((await store.read())?.version).toBe((won[0] as PromiseFulfilledResult<string>).value);
  });
});

describe('S3 store', () => {
  it('sees a deleted object as a conflict for an update, and as absent for a read', async () => {
    // Prepare
    const key = 'state/deleted.json';
    const store = new S3StateStore({ bucket: BUCKET, key, client: s3 });
    const v1 = await store.write('x', undefined);
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));

    // Act
    const update = store.write('y', v1);

    // Assess
    await expect(update).rejects.toThrow(StateConflictError);
    expect(await store.read()).toBeUndefined();
  });

  it('names the object in its description', () => {
    // Act
    const store = new S3StateStore({ bucket: 'b-1', key: 'state/finished-jobs.json' });

    // Assess
    expect(store.description).toBe('s3://b-1/state/finished-jobs.json');
  });
});

/** A year and a bit: this process's clock that far from the file system's (libfaketime, NFS, a clock set apart). */
const YEAR_MS = 400 * 24 * HOUR;

/**
 * Makes a file `ageMs` older on the file system's clock, which stamped it: from its own modification time, not
 * from Date.now() (under libfaketime, or against a file server, the two clocks differ).
 */
function backdate(path: string, ageMs: number): void {
  const old = new Date(statSync(path).mtimeMs - ageMs);
  utimesSync(path, old, old);
}

describe('file store', () => {
  it('replaces the file atomically and leaves no temporary or lock file behind', async () => {
    // Prepare
    const path = join(dir, 'atomic.json');
    const store = new FileStateStore(path);

    // Act
    const v1 = await store.write('first', undefined);
    await store.write('second', v1);

    // Assess
    expect(readFileSync(path, 'utf8')).toBe('second');
    expect(readdirSync(dir).filter((f) => f.includes('atomic'))).toEqual(['atomic.json']);
  });

  it('creates the directory of a new state file', async () => {
    // Prepare
    const path = join(dir, 'nested', 'deeper', 'state.json');
    const store = new FileStateStore(path);

    // Act
    const version = await store.write('{}', undefined);

    // Assess
    expect(asText(await store.read())).toEqual({ text: '{}', version });
  });

  it('waits for a held lock, then fails naming the lock file', async () => {
    // Prepare: another process holds the lock (fresh)
    const path = join(dir, 'locked.json');
    writeFileSync(`${path}.lock`, '4242 someone-else\n');
    const store = new FileStateStore(path, { lockWaitMs: 200 });

    // Act
    const write = store.write('x', undefined);

    // Assess
    await expect(write).rejects.toThrow(StateLockError);
    await expect(write).rejects.toThrow(`${path}.lock`);
    expect(readFileSync(`${path}.lock`, 'utf8')).toBe('4242 someone-else\n');
    rmSync(`${path}.lock`);
  });

  it('removes a lock left by a crash (older than the stale limit) and writes', async () => {
    // Prepare
    const path = join(dir, 'stale.json');
    writeFileSync(`${path}.lock`, '4242 crashed\n');
    backdate(`${path}.lock`, 60_000);
    const store = new FileStateStore(path, { lockWaitMs: 2_000, lockStaleMs: 30_000 });

    // Act
    await store.write('fresh', undefined);

    // Assess
    expect(readFileSync(path, 'utf8')).toBe('fresh');
    expect(readdirSync(dir).filter((f) => f.startsWith('stale'))).toEqual(['stale.json']);
  });

  it("reads a lock's age on the file system's clock: a process clock a year ahead does not break a live lock", async () => {
    // Prepare: a live lock, stamped now by the kernel; this process's clock a year ahead of it
    const path = join(dir, 'ahead.json');
    writeFileSync(`${path}.lock`, '4242 alive\n');
    const store = new FileStateStore(path, { lockWaitMs: 200, lockStaleMs: 30_000, now: () => Date.now() + YEAR_MS });

    // Act
    const write = store.write('x', undefined);

    // Assess: waited and failed; the lock is still there, and no probe file is left behind
    await expect(write).rejects.toThrow(StateLockError);
    expect(readFileSync(`${path}.lock`, 'utf8')).toBe('4242 alive\n');
    expect(readdirSync(dir).filter((f) => f.includes('ahead'))).toEqual(['ahead.json.lock']);
    rmSync(`${path}.lock`);
  });

  it("reads a lock's age on the file system's clock: a process clock a year behind still removes a crashed lock", async () => {
    // Prepare
    const path = join(dir, 'behind.json');
    writeFileSync(`${path}.lock`, '4242 crashed\n');
    backdate(`${path}.lock`, 60_000);
    const store = new FileStateStore(path, { lockWaitMs: 2_000, lockStaleMs: 30_000, now: () => Date.now() - YEAR_MS });

    // Act
    await store.write('fresh', undefined);

    // Assess
    expect(readFileSync(path, 'utf8')).toBe('fresh');
    expect(readdirSync(dir).filter((f) => f.includes('behind'))).toEqual(['behind.json']);
  });
});

describe('state format', () => {
  it('round-trips ids: UUIDs as their 16 bytes, anything else as a 128-bit hash that tells it apart', () => {
    // Prepare
    const state: EventsState = {
      ...emptyState(1_700_000_000_000),
      pending: [
        { id: 'legacy-1', status: 'FAILED', workflow: 'Other', runtimeSeconds: 1.5, finishedAtMs: 1_700_000_000_000 },
      ],
      lease: { owner: 'run-1', expiresAtMs: 1_700_000_180_000 },
    };
    const ids = [
      uuid(1),
      uuid(2),
      uuid(3).toUpperCase(),
      'legacy-job-7',
      'ünïcödé id',
      uuid(0xffffffffffff),
      'a\ud800',
      'a\udfff',
    ];
    ids.forEach((id, i) => state.seen.add(id, 1_700_000_000_000 + i * HOUR));

    // Act
    const text = encodeState(state);
    const back = decodeState(text, 'test');

    // Assess
    expect(ids.every((id) => back.seen.has(id))).toBe(true);
    expect(back.seen.size).toBe(ids.length);
    expect(back.seen.has(uuid(3))).toBe(false); // the lower-case form of the upper-case id was never seen
    expect(back.seen.has('a\udbff')).toBe(false); // lone surrogates are told apart (UTF-16, not UTF-8, is hashed)
    expect(back.pending).toEqual(state.pending);
    expect(back.lease).toEqual(state.lease);
    expect(encodeState(back)).toBe(text); // deterministic
    expect(JSON.parse(text)).toMatchObject({ format: STATE_FORMAT, version: 3 });
  });

  it('stores each id of an hour as 16 bytes in base64, UUIDs as the bytes their hex digits spell, in the order recorded (version 2)', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.uuid(), { minLength: 1, maxLength: 40 }), (ids) => {
        // Prepare: ids of one finish hour
        const state = emptyState(0);
        for (const id of ids) state.seen.add(id, 1_700_000_000_000);

        // Act
        const [bucket] = (JSON.parse(encodeState(state)) as { seen: Array<{ hour: number; keys: string }> }).seen;

        // Assess
        const hex = ids.map((id) => id.replaceAll('-', ''));
        expect(bucket).toEqual({
          hour: Math.floor(1_700_000_000_000 / HOUR),
          keys: Buffer.from(hex.join(''), 'hex').toString('base64'),
        });
        expect(decodeState(encodeState(state), 'x').seen.buckets()).toEqual(state.seen.buckets());
      }),
    );
  });

  it('keeps 10,000 UUIDs in about 16 bytes each (base64: under 22 bytes each)', () => {
    // Prepare
    const state = emptyState(0);
    for (let i = 0; i < 10_000; i++) state.seen.add(uuid(i * 7919), 1_700_000_000_000 + (i % 168) * HOUR);

    // Act
    const bytes = Buffer.byteLength(encodeState(state));

    // Assess
    expect(bytes).toBeLessThan(10_000 * 22 + 168 * 40);
    expect(decodeState(encodeState(state), 'x').seen.size).toBe(10_000);
  });

  it('prunes whole hours that ended at or before the horizon, and keeps the hour holding it', () => {
    // Prepare
    const seen = new SeenIds();
    const h = 480_000 * HOUR;
    seen.add('ended-before', h - 1); // hour [h−1h, h)
    seen.add('at-horizon-hour', h); // hour [h, h+1h)
    seen.add('later', h + 2 * HOUR);

    // Act
    const removed = seen.prune(h + 30 * MINUTE);

    // Assess: the horizon is inside [h, h+1h): that hour may hold jobs finished after it, so it stays
    expect(removed).toBe(1);
    expect(['ended-before', 'at-horizon-hour', 'later'].map((id) => seen.has(id))).toEqual([false, true, true]);
  });

  it.each([
    ['not JSON', '{"format":', 'not JSON'],
    ['another document', '{"hello":"world"}', '"format" is undefined'],
    ['a newer version', JSON.stringify({ format: STATE_FORMAT, version: 4 }), 'written by a newer exporter'],
    [
      'a truncated id list',
      JSON.stringify({
        format: STATE_FORMAT,
        version: 2,
        createdAtMs: 0,
        updatedAtMs: 0,
        seen: [{ hour: 1, keys: 'AAAA' }],
        pending: [],
      }),
      'not a whole number of 16-byte ids',
    ],
    [
      'a truncated version 1 id list',
      JSON.stringify({
        format: STATE_FORMAT,
        version: 1,
        createdAtMs: 0,
        updatedAtMs: 0,
        seen: [{ hour: 1, uuids: 'AAAA' }],
        pending: [],
      }),
      'not a whole number of 16-byte ids',
    ],
    [
      'an hour past the last one a state holds',
      JSON.stringify({
        format: STATE_FORMAT,
        version: 2,
        createdAtMs: 0,
        updatedAtMs: 0,
        seen: [{ hour: 2 ** 31, keys: '' }],
        pending: [],
      }),
      'seen[0].hour is not an epoch hour',
    ],
    [
      'a finish time that is not a safe integer',
      JSON.stringify({
        format: STATE_FORMAT,
        version: 2,
        createdAtMs: 0,
        updatedAtMs: 0,
        seen: [],
        pending: [{ id: 'x', status: 'FAILED', workflow: 'Other', runtimeSeconds: 1, finishedAtMs: 86401796554800000 }],
      }),
      'pending[0].finishedAtMs',
    ],
    [
      'a bad pending event',
      JSON.stringify({
        format: STATE_FORMAT,
        version: 1,
        createdAtMs: 0,
        updatedAtMs: 0,
        seen: [],
        pending: [{ id: 'x', status: 'RUNNING' }],
      }),
      'pending[0].status',
    ],
  ])('refuses %s with an error naming the state and the problem', (_what, text, detail) => {
    // Act
    const read = () => decodeState(text, 's3://bucket/state/finished-jobs.json');

    // Assess
    expect(read).toThrow(StateCorruptError);
    expect(read).toThrow(detail);
    expect(read).toThrow('s3://bucket/state/finished-jobs.json');
  });
});

describe('a corrupted state', () => {
  function collectionWith(
    nowMs: number,
    jobs: ReturnType<typeof job>[],
  ): { finished: FinishedJobs; collection: Collection } {
    const finished = new FinishedJobs({ nowMs, retentionSeconds: 7 * 86_400 });
    const aggregator = new Aggregator({
      nowMs,
      runtimeWindowSeconds: 86_400,
      maxWorkflows: 5,
      histogramBuckets: [1, 10],
      quantiles: [0.5],
    });
    for (const j of jobs) {
      aggregator.add(j);
      finished.add(j);
    }
    return {
      finished,
      collection: { ok: true, snapshot: aggregator.snapshot(), durationSeconds: 0.1, finishedAtMs: nowMs },
    };
  }

  it.each(['s3', 'file'])(
    '%s: publishes nothing, leaves the state untouched, and says how to recover',
    async (kind) => {
      // Prepare
      const nowMs = realNowMinute();
      const garbage = '{"format":"unstructured-jobs-exporter/finished-jobs","version":1,"seen":[{"hour":';
      let store: StateStore;
      let readBack: () => Promise<string>;
      if (kind === 's3') {
        const key = 'state/corrupt.json';
        await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: garbage }));
        store = new S3StateStore({ bucket: BUCKET, key, client: s3 });
        readBack = async () =>
          (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToString();
      } else {
        const path = join(dir, 'corrupt.json');
        writeFileSync(path, garbage);
        store = new FileStateStore(path);
        readBack = async () => readFileSync(path, 'utf8');
      }
      const rec = recorder(cw);
      const { finished, collection } = collectionWith(nowMs, [
        job({ id: uuid(1), createdAtMs: nowMs - 10 * MINUTE, runtimeSeconds: 60 }),
      ]);

      // Act
      const run = publishFinishedJobs(finished, collection, {
        store,
        namespace: 'Events/Corrupt',
        backfillSeconds: 3_600,
        client: rec.client(),
      });

      // Assess
      await expect(run).rejects.toThrow(StateCorruptError);
      await expect(run).rejects.toThrow(/not JSON.*restore the previous version.*or delete it/);
      expect(rec.attempted).toEqual([]);
      expect(await readBack()).toBe(garbage);
    },
  );
});
