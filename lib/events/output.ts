/**
 * The finished-job events (docs/events.md) as a push output (outputs/push.ts): the jobs that finished are
 * gathered from the pull itself (onJob), then published once each across runs (run.ts) after the snapshot.
 * Whatever goes wrong here (state unreadable, store down, PutMetricData refused) is this output's problem:
 * the snapshot has been published already.
 *
 * The state is read before the pull (`prepare`), so that the pull keeps none of the jobs it has seen: a list of
 * the 500k jobs a 7-day state remembers would otherwise be held as columns (~35 MB) beside the decoded state and
 * the state written (issue 15: the collect run's memory). With no state yet, the pull records the jobs older
 * than EVENTS_BACKFILL straight into the first state's set instead. A failure to read it is told by `publish`,
 * like any other, after the snapshot.
 */
import type { Logger } from '../log.js';
import { PublishError, type CloudWatchClientLike } from '../outputs/cloudwatch/publisher.js';
import type { PushOutput, PushReport } from '../outputs/push.js';
import type { EventsConfig } from './config.js';
import { FinishedJobs } from './finished.js';
import { SeenIds } from './seen-ids.js';
import {
  publishFinishedJobs,
  readFinishedJobsState,
  summarizeFinishedJobs,
  type FinishedJobsReport,
  type StateRead,
} from './run.js';
import type { StateStore } from './store.js';

export interface FinishedJobsOutputOptions {
  /** "now" of the run: the collection's. */
  readonly nowMs: number;
  readonly config: EventsConfig;
  readonly store: StateStore;
  /** CLOUDWATCH_NAMESPACE. */
  readonly namespace: string;
  /** Default: the publisher's own client. */
  readonly client?: () => Promise<CloudWatchClientLike>;
  /** Scrubs secrets from the messages, and tells what the run did with the state. */
  readonly logger: Logger;
}

export function finishedJobsOutput(options: FinishedJobsOutputOptions): PushOutput {
  const { logger } = options;
  const finished = new FinishedJobs({ nowMs: options.nowMs, retentionSeconds: options.config.retentionSeconds });
  let read: Promise<StateRead> | undefined;
  return {
    name: 'finished-job events',
    onJob: finished.add,
    async prepare() {
      read = readFinishedJobsState(options.store, finished.horizonMs);
      let decoded: StateRead['decoded'];
      try {
        ({ decoded } = await read);
      } catch {
        return {}; // Told by publish (it awaits the same promise), after the snapshot.
      }
      if (decoded !== undefined) finished.exclude(decoded.seen);
      // No state yet: the jobs older than EVENTS_BACKFILL are recorded as the pull goes, not gathered.
      else finished.recordBefore(finished.nowMs - options.config.backfillSeconds * 1000, new SeenIds());
      const details = decoded?.details;
      if (details === undefined) return {};
      const pendingIds = new Set(details.pending.map((e) => e.id));
      // Published, or claimed and retried from the state: their details are not requested again.
      return { detailsSettled: (jobId: string) => details.seen.has(jobId) || pendingIds.has(jobId) };
    },
    async publish(collection): Promise<PushReport> {
      let report: FinishedJobsReport;
      try {
        const client = await options.client?.();
        report = await publishFinishedJobs(finished, collection, {
          store: options.store,
          namespace: options.namespace,
          backfillSeconds: options.config.backfillSeconds,
          ...(read !== undefined && { read: () => read as Promise<StateRead> }),
          ...(client !== undefined && { client }),
          logger,
        });
      } catch (error) {
        const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        return {
          summary: {},
          problem: {
            message: `finished-job events: ${error instanceof Error ? error.message : String(error)}`,
            log: { message: 'finished-job events failed', fields: { error: logger.scrub(text) } },
            error,
          },
        };
      }
      const summary = summarizeFinishedJobs(report);
      const p = report.publish;
      if (p.failed.length === 0 && p.invalid.length === 0) return { summary: { events: summary } };
      const firstInvalid = p.invalid[0] && `${p.invalid[0].metricName}: ${p.invalid[0].reason}`;
      return {
        summary: { events: summary },
        problem: {
          message: `published ${p.published} of ${p.total} finished-job datums to CloudWatch (${report.released} jobs kept for the next run); first problem: ${p.failed[0]?.error ?? firstInvalid}`,
          log: {
            message: 'finished-job events incomplete',
            fields: { ...summary, firstError: p.failed[0]?.error, firstInvalid },
          },
          error: new PublishError(p),
        },
      };
    },
  };
}
