/**
 * One run of the finished-job events (docs/events.md): claim → publish → commit, against a StateStore with
 * optimistic concurrency.
 *
 * 1. Read the state (before the pull, in a push cycle: events/output.ts). A live lease of another run → publish
 *    nothing (that run is publishing).
 * 2. Work out the batch: the previous run's unconfirmed events (`pending`: released after a PutMetricData
 *    failure, or left by a run that crashed and whose lease expired) plus the finished jobs of this pull that
 *    the state has not seen. With no state yet (first run), only jobs that finished within EVENTS_BACKFILL are
 *    published; the others are recorded as seen.
 * 3. Claim: write the state with the batch as `pending` and a lease, conditionally on the version read. If
 *    another run wrote in between, the write fails and this run publishes nothing.
 * 4. Publish the batch (whole units per request: an event is published entirely or not at all).
 * 5. Commit: conditionally on the claim's version, move the published events to `seen`, keep the failed ones
 *    as `pending` without a lease (the next run retries them), drop the lease.
 * The state advances only after CloudWatch accepted the data. A crash between 4 and 5 leaves the lease and the
 * batch: the first run after the lease expires publishes the batch again (at-least-once: a duplicate, never a gap).
 */
import { randomUUID } from 'node:crypto';
import type { MetricDatum } from '@aws-sdk/client-cloudwatch';
import type { Collection } from '../collection.js';
import {
  planRequests,
  PublishError,
  publishDatums,
  DEFAULT_CONCURRENCY,
  type CloudWatchClientLike,
  type PublishReport,
} from '../outputs/cloudwatch/publisher.js';
import { dimensionRecord } from '../outputs/cloudwatch/datums.js';
import type { Logger } from '../log.js';
import { packUnits, renderEventUnits, unitProblems, type EventUnit } from './datums.js';
import { workflowFolding, type FinishedJobs } from './finished.js';
import { MAX_CLOCK_SKEW_MS } from '../records/runtime-bound.js';
import { renderOutcomeUnits } from './outcome-datums.js';
import {
  decodeState,
  emptyDetailsState,
  emptyState,
  encodeStateBytes,
  finishHour,
  SeenIds,
  STATE_VERSION,
  type DecodedState,
  type EventsState,
  type FinishedEvent,
  type OutcomeEvent,
} from './state.js';
import { StateConflictError, type StateStore } from './store.js';

/**
 * How long a claim holds the state. Longer than any run can last (the Lambda times out after 60 s), shorter than
 * two schedule intervals, so a crashed run's batch is published again by the next run but one at the latest.
 */
export const DEFAULT_LEASE_SECONDS = 180;

export type EventsOutcome =
  /** The batch was claimed, published (see `publish` for failures) and committed. */
  | 'published'
  /** Nothing new: only the JobsFinished zeros were published. */
  | 'nothing-new'
  /** Another run holds a live lease: nothing published. */
  | 'busy'
  /** Another run wrote the state between our read and our claim: nothing published. */
  | 'conflict'
  /** The pull failed: no job list, nothing published (a zero would read as "no job finished"). */
  | 'collection-failed';

export interface FinishedJobsReport {
  readonly outcome: EventsOutcome;
  /** No state existed: the first-run rule (EVENTS_BACKFILL) applied. */
  readonly firstRun: boolean;
  /** Finished jobs of this pull not seen before, in this run's batch. */
  readonly newJobs: number;
  /** Events a previous run could not publish (PutMetricData failed), in this run's batch. */
  readonly retried: number;
  /** Events of a run that crashed before committing (lease expired), in this run's batch: may be duplicates. */
  readonly recovered: number;
  /** First run only: jobs older than EVENTS_BACKFILL recorded as seen without being published. */
  readonly recordedUnpublished: number;
  /** Events CloudWatch accepted. */
  readonly published: number;
  /** Events not published (request failed, or a datum invalid): kept pending for the next run. */
  readonly released: number;
  /** Pending events given up because they finished before the retention horizon. */
  readonly dropped: number;
  /** Seen ids forgotten (finished before the horizon). */
  readonly pruned: number;
  /**
   * Version 1 states only: seen ids and pending events dropped on reading, their finish being a time no state can
   * hold (impossible runtimes version 1 stored: issue 15); logged as a warning too.
   */
  readonly discarded: number;
  /** Seen ids in the state after this run. */
  readonly seen: number;
  /** Datum-level account of the PutMetricData requests. */
  readonly publish: PublishReport;
  /** Size of the last state written, bytes (undefined when nothing was written). */
  readonly stateBytes: number | undefined;
  /** Outcome events (jobs whose details became known) in this run's batch, and how many CloudWatch accepted. */
  readonly outcomes?: { readonly batch: number; readonly published: number; readonly released: number };
}

export interface PublishFinishedJobsOptions {
  readonly store: StateStore;
  readonly namespace: string;
  /** EVENTS_BACKFILL, seconds: with no state, jobs that finished longer ago are recorded, not published. */
  readonly backfillSeconds: number;
  readonly leaseSeconds?: number;
  /** Default: the publisher's default client. */
  readonly client?: CloudWatchClientLike;
  /** Requests in flight at once (default DEFAULT_CONCURRENCY). */
  readonly concurrency?: number;
  /** This run's identity in the lease (default: random). */
  readonly owner?: string;
  readonly logger?: Logger;
  /**
   * The state read before the pull (readFinishedJobsState with the run's horizon, as events/output.ts does it,
   * so that the pull keeps none of the jobs the state has seen); default: read here, after the pull.
   */
  readonly read?: () => Promise<StateRead>;
  /**
   * Called after CloudWatch answered and before the state is committed. A test seam: throwing here is the
   * crash window (published, not recorded).
   */
  readonly beforeCommit?: (published: readonly FinishedEvent[]) => void | Promise<void>;
}

const EMPTY_REPORT: PublishReport = { total: 0, requests: 0, failedRequests: 0, published: 0, failed: [], invalid: [] };

interface UnitsOutcome {
  readonly report: PublishReport;
  readonly published: FinishedEvent[];
  readonly failed: FinishedEvent[];
  readonly publishedOutcomes: OutcomeEvent[];
  readonly failedOutcomes: OutcomeEvent[];
}

/** Publishes whole units, one request per packed batch; says which events went out and which did not. */
async function publishUnits(
  units: readonly EventUnit[],
  nowMs: number,
  options: PublishFinishedJobsOptions,
): Promise<UnitsOutcome> {
  const published: FinishedEvent[] = [];
  const failed: FinishedEvent[] = [];
  const publishedOutcomes: OutcomeEvent[] = [];
  const failedOutcomes: OutcomeEvent[] = [];
  const invalid: PublishReport['invalid'] = [];
  const valid: EventUnit[] = [];
  let total = 0;
  for (const unit of units) {
    total += unit.datums.length;
    const problems = unitProblems(unit, nowMs);
    if (problems.length === 0) {
      valid.push(unit);
      continue;
    }
    // Never sent, not even the unit's valid datums: its events stay whole for a later run.
    for (const d of unit.datums)
      invalid.push({ metricName: d.MetricName ?? '', dimensions: dimensionRecord(d), reason: problems.join(' | ') });
    failed.push(...unit.events);
    failedOutcomes.push(...(unit.outcomes ?? []));
  }
  // Each batch fits one request by construction; should the publisher's planner disagree, send unit by unit.
  const requests: EventUnit[][] = packUnits(valid, options.namespace).flatMap((batch) => {
    const datums = batch.flatMap((u) => u.datums);
    return planRequests(datums, options.namespace).length === 1 ? [batch] : batch.map((u) => [u]);
  });
  const reports: PublishReport[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < requests.length; i = next++) {
      const batch = requests[i] as EventUnit[];
      const datums: MetricDatum[] = batch.flatMap((u) => u.datums);
      const report = await publishDatums(datums, {
        namespace: options.namespace,
        concurrency: 1,
        now: () => nowMs,
        ...(options.client !== undefined && { client: options.client }),
      });
      reports.push(report);
      const ok = report.failed.length === 0 && report.invalid.length === 0;
      for (const unit of batch) {
        (ok ? published : failed).push(...unit.events);
        (ok ? publishedOutcomes : failedOutcomes).push(...(unit.outcomes ?? []));
      }
    }
  };
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  await Promise.all(Array.from({ length: Math.min(concurrency, requests.length) }, worker));
  const report: PublishReport = {
    total,
    requests: reports.reduce((n, r) => n + r.requests, 0),
    failedRequests: reports.reduce((n, r) => n + r.failedRequests, 0),
    published: reports.reduce((n, r) => n + r.published, 0),
    failed: reports.flatMap((r) => r.failed),
    invalid: [...invalid, ...reports.flatMap((r) => r.invalid)],
  };
  return { report, published, failed, publishedOutcomes, failedOutcomes };
}

/**
 * Publishes the finished jobs of one pull (gathered by `finished` through the collector's onJob) exactly once
 * across runs, except the crash window documented above. Throws StateCorruptError for an unreadable state, and
 * StateConflictError when the commit finds that another run took the state over; never throws for a
 * PutMetricData failure (see `publish` in the report, and assertFinishedJobsPublished).
 */
export async function publishFinishedJobs(
  finished: FinishedJobs,
  collection: Collection,
  options: PublishFinishedJobsOptions,
): Promise<FinishedJobsReport> {
  const { store, logger } = options;
  const nowMs = finished.nowMs;
  const horizonMs = finished.horizonMs;
  const base = {
    firstRun: false,
    newJobs: 0,
    retried: 0,
    recovered: 0,
    recordedUnpublished: 0,
    published: 0,
    released: 0,
    dropped: 0,
    pruned: 0,
    discarded: 0,
  };
  if (!collection.ok) {
    return { ...base, outcome: 'collection-failed', seen: 0, publish: EMPTY_REPORT, stateBytes: undefined };
  }

  // 1. Read (before the pull, when the output did: see readFinishedJobsState).
  const {
    decoded,
    version: readVersion,
    seenBefore,
    pruned,
  } = await (options.read?.() ?? readFinishedJobsState(store, horizonMs));
  const firstRun = decoded === undefined;
  // A first run's set: the one the pull recorded into (events/output.ts), or one sized once for every job gathered.
  const state: EventsState = decoded ?? {
    ...emptyState(nowMs),
    seen: finished.recordedSeen ?? new SeenIds(finished.size),
  };
  const migrated = decoded !== undefined && decoded.version !== STATE_VERSION;
  const discarded = decoded?.discarded ?? 0;
  if (discarded > 0) {
    logger?.warn(
      'finished-job events: dropped seen ids and pending events whose finish time no state can hold (impossible runtimes)',
      {
        state: store.description,
        discarded,
      },
    );
  }
  if (state.lease !== undefined && state.lease.expiresAtMs > nowMs) {
    logger?.info('finished-job events: another run holds the state, publishing none', {
      state: store.description,
      leaseExpiresAt: new Date(state.lease.expiresAtMs).toISOString(),
    });
    return {
      ...base,
      firstRun,
      discarded,
      outcome: 'busy',
      seen: seenBefore,
      publish: EMPTY_REPORT,
      stateBytes: undefined,
    };
  }
  const crashed = state.lease !== undefined;

  // 2. The batch. The state read is changed in place (no copy: it may hold millions of ids); `seenBefore` is
  // what a run that loses the claim reports.
  const seen = state.seen;
  const pending: FinishedEvent[] = [];
  const dropped: FinishedEvent[] = [];
  const latestMs = nowMs + MAX_CLOCK_SKEW_MS;
  for (const e of state.pending)
    (e.finishedAtMs >= horizonMs && e.finishedAtMs <= latestMs ? pending : dropped).push(e);
  if (dropped.length > 0) {
    // Before the horizon: too late for CloudWatch. After now (+ skew): an impossible runtime a version 1 state kept.
    logger?.warn(
      'finished-job events: giving up unpublished events older than EVENTS_RETENTION or finishing after now',
      {
        state: store.description,
        dropped: dropped.length,
        firstId: dropped[0]?.id,
      },
    );
  }
  const pendingIds = new Set(pending.map((e) => e.id));
  const fold = workflowFolding(collection.snapshot);
  const backfillStartMs = nowMs - options.backfillSeconds * 1000;
  const fresh: FinishedEvent[] = [];
  let recordedUnpublished = firstRun ? finished.recorded : 0;
  // By key (key-table.ts): a job the state has seen — nearly all of them — costs no object and no string.
  for (let e = 0; e < finished.size; e++) {
    const a = finished.keyWord(e, 0);
    const b = finished.keyWord(e, 1);
    const c = finished.keyWord(e, 2);
    const d = finished.keyWord(e, 3);
    if (seen.hasKey(a, b, c, d)) continue;
    const job = finished.job(e);
    if (pendingIds.has(job.id)) continue;
    if (firstRun && job.finishedAtMs < backfillStartMs) {
      seen.addKey(a, b, c, d, finishHour(job.finishedAtMs));
      recordedUnpublished++;
      continue;
    }
    fresh.push({
      id: job.id,
      status: job.status,
      workflow: fold(job.workflowId),
      runtimeSeconds: job.runtimeSeconds,
      finishedAtMs: job.finishedAtMs,
    });
  }
  // The pull's jobs are not needed any more: not held while the state is encoded and written.
  finished.release();
  const batch = [...pending, ...fresh];

  // The outcome events (docs/events.md): jobs whose details are known in this collection and not published yet,
  // under the same rules (horizon, first-run backfill) and the same claim, publish and commit as the jobs above.
  const details = state.details ?? emptyDetailsState();
  const detailsSeen = details.seen;
  const outcomesPruned = detailsSeen.prune(horizonMs);
  const outcomesPending: OutcomeEvent[] = [];
  let outcomesDropped = 0;
  for (const e of details.pending) {
    if (e.finishedAtMs >= horizonMs && e.finishedAtMs <= latestMs) outcomesPending.push(e);
    else outcomesDropped++;
  }
  const outcomesPendingIds = new Set(outcomesPending.map((e) => e.id));
  const freshOutcomes: OutcomeEvent[] = [];
  let outcomesRecorded = 0;
  for (const job of collection.details?.jobs ?? []) {
    if (job.finishedAtMs < horizonMs || job.finishedAtMs > latestMs) continue;
    if (detailsSeen.has(job.id) || outcomesPendingIds.has(job.id)) continue;
    if (firstRun && job.finishedAtMs < backfillStartMs) {
      detailsSeen.add(job.id, job.finishedAtMs);
      outcomesRecorded++;
      continue;
    }
    freshOutcomes.push({
      id: job.id,
      workflow: fold(job.workflowId),
      finishedAtMs: job.finishedAtMs,
      filesFailed: job.filesFailed,
      completedWithErrors: job.completedWithErrors,
    });
  }
  const outcomeBatch = [...outcomesPending, ...freshOutcomes];
  const outcomesChanged = outcomesPruned > 0 || outcomesDropped > 0 || outcomesRecorded > 0;
  const counts = {
    ...base,
    firstRun,
    newJobs: fresh.length,
    retried: crashed ? 0 : pending.length,
    recovered: crashed ? pending.length : 0,
    recordedUnpublished,
    dropped: dropped.length,
    pruned,
    discarded,
  };

  if (batch.length === 0 && outcomeBatch.length === 0) {
    // Nothing to claim: publish the zeros, and save the state only when it changed (first run, pruning …).
    const { report } = await publishUnits(renderEventUnits([], { nowMs }), nowMs, options);
    let stateBytes: number | undefined;
    if (firstRun || pruned > 0 || dropped.length > 0 || crashed || migrated || discarded > 0 || outcomesChanged) {
      const bytes = encodeStateBytes({
        createdAtMs: state.createdAtMs,
        updatedAtMs: nowMs,
        seen,
        pending: [],
        details: { seen: detailsSeen, pending: [] },
      });
      try {
        await store.write(bytes, readVersion);
        stateBytes = bytes.length;
      } catch (error) {
        if (!(error instanceof StateConflictError)) throw error;
        logger?.info('finished-job events: another run updated the state first', { state: store.description });
      }
    }
    return { ...counts, outcome: 'nothing-new', seen: seen.size, publish: report, stateBytes };
  }

  // 3. Claim.
  const owner = options.owner ?? randomUUID();
  const leaseMs = (options.leaseSeconds ?? DEFAULT_LEASE_SECONDS) * 1000;
  // The claim's buffer is reused for the commit (a state of 500k ids is 11 MB): a store keeps nothing it wrote.
  const claimBytes = encodeStateBytes({
    createdAtMs: state.createdAtMs,
    updatedAtMs: nowMs,
    seen,
    pending: batch,
    details: { seen: detailsSeen, pending: outcomeBatch },
    lease: { owner, expiresAtMs: nowMs + leaseMs },
  });
  let claimVersion: string;
  try {
    claimVersion = await store.write(claimBytes, readVersion);
  } catch (error) {
    if (!(error instanceof StateConflictError)) throw error;
    logger?.info('finished-job events: another run claimed the state first, publishing none', {
      state: store.description,
    });
    return {
      ...counts,
      newJobs: 0,
      retried: 0,
      recovered: 0,
      recordedUnpublished: 0,
      outcome: 'conflict',
      seen: seenBefore,
      publish: EMPTY_REPORT,
      stateBytes: undefined,
    };
  }
  if (crashed) {
    logger?.warn('finished-job events: publishing again the batch of a run that did not commit (possible duplicates)', {
      state: store.description,
      recovered: pending.length,
    });
  }

  // 4. Publish.
  const units = [...renderEventUnits(batch, { nowMs }), ...renderOutcomeUnits(outcomeBatch, nowMs)];
  const { report, published, failed, publishedOutcomes, failedOutcomes } = await publishUnits(units, nowMs, options);
  await options.beforeCommit?.(published);

  // 5. Commit.
  for (const e of published) seen.add(e.id, e.finishedAtMs);
  for (const e of publishedOutcomes) detailsSeen.add(e.id, e.finishedAtMs);
  const commitBytes = encodeStateBytes(
    {
      createdAtMs: state.createdAtMs,
      updatedAtMs: nowMs,
      seen,
      pending: failed,
      details: { seen: detailsSeen, pending: failedOutcomes },
    },
    claimBytes,
  );
  try {
    await store.write(commitBytes, claimVersion);
  } catch (error) {
    if (!(error instanceof StateConflictError)) throw error;
    throw new StateConflictError(
      store.description,
      `${published.length} finished jobs were published, but another run took the state over before they were recorded ` +
        `(the ${leaseMs / 1000} s lease expired?): they will be published again`,
    );
  }
  return {
    ...counts,
    outcome: 'published',
    published: published.length,
    released: failed.length,
    seen: seen.size,
    publish: report,
    stateBytes: commitBytes.length,
    outcomes: { batch: outcomeBatch.length, published: publishedOutcomes.length, released: failedOutcomes.length },
  };
}

/** A state as read for a run: decoded, and pruned to the run's horizon. */
export interface StateRead {
  /** Undefined when there is no state yet (the first run). */
  readonly decoded: DecodedState | undefined;
  /** The version to write against (undefined: there is none yet). */
  readonly version: string | undefined;
  /** Seen ids as stored, before pruning: what a run that publishes nothing reports. */
  readonly seenBefore: number;
  /** Seen ids forgotten: their jobs finished before `horizonMs`. */
  readonly pruned: number;
}

/**
 * Reads the stored state, decodes it and forgets the seen ids before `horizonMs` (the run's: FinishedJobs leaves
 * out jobs that finished before it too). The bytes live only here: a state of 500k ids is 11 MB of them, garbage
 * as soon as it is decoded. Throws StateCorruptError for an unreadable state, and whatever the store throws.
 */
export async function readFinishedJobsState(store: StateStore, horizonMs: number): Promise<StateRead> {
  const loaded = await store.read();
  if (loaded === undefined) return { decoded: undefined, version: undefined, seenBefore: 0, pruned: 0 };
  const decoded = decodeState(loaded.bytes, store.description);
  const seenBefore = decoded.seen.size;
  return { decoded, version: loaded.version, seenBefore, pruned: decoded.seen.prune(horizonMs) };
}

/** Throws a PublishError when any event datum was not published (so the Lambda invocation fails). */
export function assertFinishedJobsPublished(report: FinishedJobsReport): void {
  const p = report.publish;
  if (p.failed.length > 0 || p.invalid.length > 0) throw new PublishError(p);
}

/** The report as one flat log/summary object. */
export function summarizeFinishedJobs(report: FinishedJobsReport): Record<string, unknown> {
  return {
    outcome: report.outcome,
    firstRun: report.firstRun,
    newJobs: report.newJobs,
    retried: report.retried,
    recovered: report.recovered,
    recordedUnpublished: report.recordedUnpublished,
    published: report.published,
    released: report.released,
    dropped: report.dropped,
    discarded: report.discarded,
    seen: report.seen,
    datums: report.publish.total,
    requests: report.publish.requests,
    failed: report.publish.failed.length,
    invalid: report.publish.invalid.length,
    stateBytes: report.stateBytes,
    ...(report.outcomes !== undefined && {
      outcomesPublished: report.outcomes.published,
      outcomesReleased: report.outcomes.released,
    }),
  };
}
