/**
 * One collection: pull → validate → aggregate → Collection. Never throws: every failure becomes a
 * CollectionFailure with a bounded `errorKind` and a one-line message free of secrets.
 */
import type { WorkflowNames } from './aggregate/workflow-names.js';
import { Aggregator, MAX_TRACKED_WORKFLOWS } from './aggregate/aggregator.js';
import type { Snapshot } from './aggregate/snapshot.js';
import type { Collection } from './collection.js';
import { ConfigError, type Config } from './config.js';
import type { Logger } from './log.js';
import type { Job } from './records/job.js';
import { JobRecordScanner } from './records/scanner.js';
import { toJob } from './records/to-job.js';
import type { SecretSource } from './secrets.js';
import { PullError } from './pull/pull-error.js';
import { pullJobs } from './pull/unstructured-api.js';
import { VERSION } from './version.js';
import { startWorkflowsRequest } from './collect-workflows.js';
import type { pullWorkflows } from './pull/workflows.js';
import { type KnownDetails, MAX_REMEMBERED_DETAILS } from './details/known-details.js';
import {
  DEFAULT_DETAILS_CONCURRENCY,
  DEFAULT_DETAILS_MAX_REQUESTS,
  DetailsCandidates,
  runDetailsStage,
  type JobDetailsReport,
} from './details/stage.js';

export interface CollectorDeps {
  readonly config: Config;
  readonly apiKey: SecretSource;
  readonly logger: Logger;
  /** Clock for "now" when the caller does not pass one. */
  readonly now?: () => number;
  /** Replaces the HTTP pull (tests of the wiring). */
  readonly pull?: typeof pullJobs;
  /**
   * Replaces the workflows request (issue 17). When `pull` is replaced and this is not, no workflows request is
   * made: a wiring test with its own pull never reaches the network.
   */
  readonly pullWorkflows?: typeof pullWorkflows;
  /** The names of the last successful workflows request, for collections whose request fails (issue 17). */
  readonly workflowNames?: WorkflowNames;
  /** The details remembered across collections; without it (or with JOB_DETAILS=off) no details are fetched. */
  readonly details?: KnownDetails;
  /** Replaces the details requests (tests of the wiring). */
  readonly getDetails?: Parameters<typeof runDetailsStage>[0]['get'];
}

export interface CollectOptions {
  /** "now" of the collection (epoch ms); default the clock. */
  readonly nowMs?: number;
  /**
   * Called with every valid job the aggregation counted or saw again (duplicates included), in response
   * order: a second consumer of the same pass over the stream (finished-job events), no second pull.
   */
  readonly onJob?: (job: Job) => void;
  /**
   * Jobs whose details the finished-job events have published (their state): not requested again
   * (lib/events/output.ts reads the state before the collection).
   */
  readonly detailsSettled?: (jobId: string) => boolean;
}

export async function collect(deps: CollectorDeps, options: CollectOptions = {}): Promise<Collection> {
  const { nowMs, onJob } = options;
  const started = performance.now();
  const clock = deps.now ?? Date.now;
  const finish = () => ({ durationSeconds: (performance.now() - started) / 1000, finishedAtMs: clock() });
  const { config, logger } = deps;
  try {
    const key = await deps.apiKey.get();
    if (key === undefined) {
      throw new ConfigError('UNSTRUCTURED_API_KEY', 'not set (nor UNSTRUCTURED_API_KEY_PARAM): no API key to send');
    }
    logger.addSecret(key);
    const now = nowMs ?? clock();
    const aggregator = new Aggregator({
      nowMs: now,
      runtimeWindowSeconds: config.runtimeWindowSeconds,
      maxWorkflows: config.maxWorkflows,
      histogramBuckets: config.histogramBuckets,
      quantiles: config.quantiles,
    });
    const allow = config.workflowIds.length > 0 ? new Set(config.workflowIds) : undefined;
    // The workflow list is read beside the job list (collect-workflows.ts): its failure fails nothing else.
    const workflows = startWorkflowsRequest(deps, key, allow);
    const memory = config.jobDetails === false ? undefined : deps.details;
    // Bounded by what the stage can remember (candidates.ts): older candidates are only counted.
    const candidates =
      memory === undefined
        ? undefined
        : new DetailsCandidates(now, config.runtimeWindowSeconds, Math.min(memory.max, MAX_REMEMBERED_DETAILS));
    // Fast path: most records are read straight from the response bytes, with the same rules as toJob
    // (records/to-job.ts); the rest come to onRecord below as JSON.parse made them. Both judge runtimes against
    // the aggregation's "now" (records/runtime-bound.ts).
    const scanner = new JobRecordScanner((job) => {
      if (job.reason !== undefined) aggregator.skip(job.reason);
      else if (allow === undefined || allow.has(job.workflowId)) {
        const fresh = aggregator.addScanned(job);
        onJob?.(job.toJob());
        // Only the window's finished jobs are kept for the details, by their fields (no Job, no workflow name, no
        // id string); first sightings only, so a duplicate is counted once, as in the aggregation.
        if (fresh && candidates?.wants(job.status, job.createdAtMs, job.runtime) === true) candidates.addScanned(job);
      }
    }, now);
    const stats = await workflows.during(() =>
      (deps.pull ?? pullJobs)(
        config,
        (raw) => {
          const job = toJob(raw, now);
          if (typeof job === 'string') aggregator.skip(job);
          // The API filtered by workflow_id already; this guards against an upstream that ignores the filter.
          else if (allow === undefined || allow.has(job.workflowId)) {
            const fresh = aggregator.add(job);
            onJob?.(job);
            if (fresh) candidates?.add(job);
          }
        },
        // An element over the stream's element limit is passed over unread and counted (never the whole pull lost).
        {
          apiKey: key,
          version: VERSION,
          objectScanner: scanner,
          onOversizedRecord: () => aggregator.skip('too_large'),
        },
      ),
    );
    const workflowInventory = await workflows.finish(aggregator, now);
    const jobSnapshot = aggregator.snapshot();
    const snapshot = workflowInventory === undefined ? jobSnapshot : { ...jobSnapshot, workflowInventory };
    aggregator.release();
    scanner.release();
    const details =
      memory === undefined || candidates === undefined
        ? undefined
        : await collectDetails(deps, memory, snapshot, candidates, key, options.detailsSettled);
    const done = finish();
    if (snapshot.workflowsUntracked > 0) {
      logger.warn(
        'more workflows than are tracked one by one: those first seen after the limit are folded into "other" on arrival (counted, never exported)',
        {
          maxTrackedWorkflows: MAX_TRACKED_WORKFLOWS,
          untracked: snapshot.workflowsUntracked,
        },
      );
    }
    logger.info('collection succeeded', {
      jobsFetched: snapshot.jobsFetched,
      skipped: snapshot.recordsSkipped,
      runtimeUnparsable: snapshot.runtimeUnparsable,
      runtimeLongerThanAge: snapshot.runtimeLongerThanAge,
      workflows: snapshot.workflowsSeen,
      attempts: stats.attempts,
      bytes: stats.bytes,
      durationSeconds: done.durationSeconds,
    });
    return { ok: true, snapshot, ...done, ...(details !== undefined && { details }) };
  } catch (error) {
    const done = finish();
    const { kind, message } = describeFailure(error);
    const safe = logger.scrub(message);
    logger.error('collection failed', { errorKind: kind, error: safe, durationSeconds: done.durationSeconds });
    return { ok: false, errorKind: kind, errorMessage: safe, ...done };
  }
}

/** The details stage (lib/details/stage.ts): whatever happens there, the job metrics stand. */
async function collectDetails(
  deps: CollectorDeps,
  memory: KnownDetails,
  snapshot: Snapshot,
  candidates: DetailsCandidates,
  apiKey: string,
  settled: ((jobId: string) => boolean) | undefined,
): Promise<JobDetailsReport | undefined> {
  const { config, logger } = deps;
  try {
    return await runDetailsStage({
      snapshot,
      candidates,
      memory,
      request: {
        apiUrl: config.apiUrl,
        apiKey,
        userAgent: `unstructured-jobs-exporter/${VERSION}`,
        requestTimeoutMs: config.requestTimeoutMs,
        maxRetries: config.maxRetries,
      },
      deadlineMs: config.pullDeadlineMs,
      concurrency: config.detailsConcurrency ?? DEFAULT_DETAILS_CONCURRENCY,
      maxRequests: config.detailsMaxRequests ?? DEFAULT_DETAILS_MAX_REQUESTS,
      logger,
      ...(settled !== undefined && { settled }),
      ...(deps.getDetails !== undefined && { get: deps.getDetails }),
      hideDocuments: config.hideFailedDocuments === true,
    });
  } catch (error) {
    // A bug of the stage, not of the pull: logged, and the collection goes on without details.
    logger.error('job details stage failed', {
      error: logger.scrub(error instanceof Error ? `${error.name}: ${error.message}` : String(error)),
    });
    return undefined;
  }
}

function describeFailure(error: unknown): { kind: string; message: string } {
  if (error instanceof PullError) return { kind: error.kind, message: error.message };
  if (error instanceof ConfigError) return { kind: 'config', message: error.message };
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return { kind: 'internal', message: message.split('\n')[0] ?? message };
}
