/**
 * Lambda handler run on a schedule by EventBridge: one fresh collection (no cache), published to CloudWatch.
 * Thin wiring: the exporter and the CloudWatch client live across warm invocations; the AWS SDK is imported
 * lazily by the publisher, on the first publish, never at module load.
 *
 * Outcomes:
 * - collection succeeded, everything published → returns the summary;
 * - the pull failed (API down, 401, timeout …) → CollectorUp 0 (and CollectionDuration) are published and
 *   the invocation returns normally. This is deliberate: CollectorUp is the signal, and the stale-data alarm
 *   watches it (missing data treated as breaching). Throwing would also make Lambda retry an async
 *   invocation (EventBridge invokes asynchronously, twice more by default), tripling the pull on an API that is
 *   already failing, and would raise Lambda's Errors metric for a problem that is not this function's;
 * - publishing was incomplete (a request refused after the SDK's retries, or an invalid datum) → everything
 *   that could be published has been, then the invocation throws a PublishError, so Lambda's own Errors
 *   metric fires (nothing else could report that CloudWatch itself was not reachable);
 * - configuration error → throws at once (no namespace to publish to): Errors fires until it is fixed.
 *
 * Finished-job events (docs/events.md): when STATE_BUCKET is set, the same invocation also publishes
 * JobsFinished / JobRuntime for the jobs that finished since the last run, from the same pull (the collector's
 * onJob hook), after the snapshot is published, with the state in s3://STATE_BUCKET/STATE_KEY. Unset: events
 * are off (logged once per container). A failure of the events step (state unreadable, S3 down, PutMetricData
 * refused) fails the invocation after the snapshot has been published.
 */
import type { ScheduledEvent } from 'aws-lambda';
import { assertPublished, createCloudWatchClient, type CloudWatchClientLike } from '../lib/cloudwatch/publisher.js';
import { publishCollection } from '../lib/cloudwatch/run.js';
import { loadCloudWatchSettings, type CloudWatchMetricSettings } from '../lib/cloudwatch/settings.js';
import { loadEventsConfig, type EventsConfig } from '../lib/events/config.js';
import { FinishedJobs } from '../lib/events/finished.js';
import { assertFinishedJobsPublished, publishFinishedJobs, summarizeFinishedJobs, type FinishedJobsReport } from '../lib/events/run.js';
import { S3StateStore } from '../lib/events/s3-store.js';
import { createExporter, type Exporter } from '../lib/exporter.js';

export interface CollectSummary {
  readonly namespace: string;
  readonly collectorUp: boolean;
  /** Why the collection failed (bounded set), when it did. */
  readonly errorKind?: string;
  /** Datums rendered. */
  readonly datums: number;
  readonly requests: number;
  readonly published: number;
  readonly failed: number;
  readonly invalid: number;
  readonly collectionSeconds: number;
  /** Finished-job events of this run (only when STATE_BUCKET is set). */
  readonly events?: Record<string, unknown>;
}

let exporter: Exporter | undefined;
let client: Promise<CloudWatchClientLike> | undefined;
let events: { readonly config: EventsConfig; readonly store: S3StateStore | undefined; readonly metrics: CloudWatchMetricSettings } | undefined;

/** The CloudWatch client from the SDK's standard environment (AWS_REGION, credentials, AWS_ENDPOINT_URL …), made once. */
function cloudWatchClient(): Promise<CloudWatchClientLike> {
  client ??= createCloudWatchClient().catch((error: unknown) => {
    client = undefined;
    throw error;
  });
  return client;
}

/** Events configuration and state store, made once per container; logs once when events are off. */
function eventsSetup(exp: Exporter): NonNullable<typeof events> {
  if (events === undefined) {
    const config = loadEventsConfig();
    const store = config.stateBucket === undefined ? undefined : new S3StateStore({ bucket: config.stateBucket, key: config.stateKey });
    if (store === undefined) exp.logger.info('finished-job events off: STATE_BUCKET is not set (docs/events.md)');
    // Per-workflow metrics the events make redundant are off by default with them (lib/cloudwatch/settings.ts).
    events = { config, store, metrics: loadCloudWatchSettings(process.env, { eventsOn: store !== undefined }) };
  }
  return events;
}

export async function handler(event: ScheduledEvent): Promise<CollectSummary> {
  exporter ??= createExporter();
  const { config, logger } = exporter;
  const { config: eventsConfig, store, metrics } = eventsSetup(exporter);
  const nowMs = Date.now();
  const finished = store === undefined ? undefined : new FinishedJobs({ nowMs, retentionSeconds: eventsConfig.retentionSeconds });
  const collection = await exporter.collectNow({ nowMs, ...(finished !== undefined && { onJob: finished.add }) });
  const cw = await cloudWatchClient();
  const report = await publishCollection(collection, {
    namespace: config.cloudwatchNamespace,
    quantiles: config.quantiles,
    ...metrics,
    client: cw,
  });
  // Events after the snapshot: a problem with them never holds the snapshot back.
  let eventsReport: FinishedJobsReport | undefined;
  let eventsError: unknown;
  if (finished !== undefined && store !== undefined) {
    try {
      eventsReport = await publishFinishedJobs(finished, collection, {
        store,
        namespace: config.cloudwatchNamespace,
        backfillSeconds: eventsConfig.backfillSeconds,
        client: cw,
        logger,
      });
    } catch (error) {
      eventsError = error;
    }
  }
  const summary: CollectSummary = {
    namespace: config.cloudwatchNamespace,
    collectorUp: collection.ok,
    ...(!collection.ok && { errorKind: collection.errorKind }),
    datums: report.total,
    requests: report.requests,
    published: report.published,
    failed: report.failed.length,
    invalid: report.invalid.length,
    collectionSeconds: collection.durationSeconds,
    ...(eventsReport !== undefined && { events: summarizeFinishedJobs(eventsReport) }),
  };
  const complete = report.failed.length === 0 && report.invalid.length === 0;
  if (complete) {
    logger.info('cloudwatch publish', { event: event.id, ...summary });
  } else {
    logger.error('cloudwatch publish incomplete', {
      event: event.id,
      ...summary,
      firstError: report.failed[0]?.error,
      firstInvalid: report.invalid[0] && `${report.invalid[0].metricName}: ${report.invalid[0].reason}`,
    });
  }
  if (eventsError !== undefined) {
    const message = eventsError instanceof Error ? `${eventsError.name}: ${eventsError.message}` : String(eventsError);
    logger.error('finished-job events failed', { event: event.id, error: logger.scrub(message) });
  } else if (eventsReport !== undefined && (eventsReport.publish.failed.length > 0 || eventsReport.publish.invalid.length > 0)) {
    logger.error('finished-job events incomplete', {
      event: event.id,
      ...summarizeFinishedJobs(eventsReport),
      firstError: eventsReport.publish.failed[0]?.error,
      firstInvalid: eventsReport.publish.invalid[0] && `${eventsReport.publish.invalid[0].metricName}: ${eventsReport.publish.invalid[0].reason}`,
    });
  }
  assertPublished(report);
  if (eventsError !== undefined) throw eventsError;
  if (eventsReport !== undefined) assertFinishedJobsPublished(eventsReport);
  return summary;
}
