/**
 * The finished-job events (docs/events.md) as a push output (outputs/push.ts): the jobs that finished are
 * gathered from the pull itself (onJob), then published once each across runs (run.ts) after the snapshot.
 * Whatever goes wrong here (state unreadable, store down, PutMetricData refused) is this output's problem:
 * the snapshot has been published already.
 */
import type { Logger } from '../log.js';
import { PublishError, type CloudWatchClientLike } from '../outputs/cloudwatch/publisher.js';
import type { PushOutput, PushReport } from '../outputs/push.js';
import type { EventsConfig } from './config.js';
import { FinishedJobs } from './finished.js';
import { publishFinishedJobs, readState, summarizeFinishedJobs, type FinishedJobsReport } from './run.js';
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
  /** The state read before the collection (prepare), used by publish instead of a second read. */
  let preRead: Awaited<ReturnType<typeof readState>> | undefined;
  return {
    name: 'finished-job events',
    onJob: finished.add,
    async prepare() {
      try {
        preRead = await readState(options.store);
      } catch {
        return {}; // an unreadable state: publish reads it again and reports it
      }
      const details = preRead.decoded?.details;
      if (details === undefined) return {};
      const pendingIds = new Set(details.pending.map((e) => e.id));
      // Published, or claimed and retried from the state: their details are not requested again.
      return { detailsSettled: (jobId: string) => details.seen.has(jobId) || pendingIds.has(jobId) };
    },
    async publish(collection): Promise<PushReport> {
      let report: FinishedJobsReport;
      try {
        const client = await options.client?.();
        const pre = preRead;
        preRead = undefined; // read once, used once
        report = await publishFinishedJobs(finished, collection, {
          ...(pre !== undefined && { preRead: pre }),
          store: options.store,
          namespace: options.namespace,
          backfillSeconds: options.config.backfillSeconds,
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
