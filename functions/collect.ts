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
 */
import type { ScheduledEvent } from 'aws-lambda';
import { assertPublished, createCloudWatchClient, type CloudWatchClientLike } from '../lib/cloudwatch/publisher.js';
import { publishCollection } from '../lib/cloudwatch/run.js';
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
}

let exporter: Exporter | undefined;
let client: Promise<CloudWatchClientLike> | undefined;

/** The CloudWatch client from the SDK's standard environment (AWS_REGION, credentials, AWS_ENDPOINT_URL …), made once. */
function cloudWatchClient(): Promise<CloudWatchClientLike> {
  client ??= createCloudWatchClient().catch((error: unknown) => {
    client = undefined;
    throw error;
  });
  return client;
}

export async function handler(event: ScheduledEvent): Promise<CollectSummary> {
  exporter ??= createExporter();
  const { config, logger } = exporter;
  const collection = await exporter.collectNow();
  const report = await publishCollection(collection, {
    namespace: config.cloudwatchNamespace,
    quantiles: config.quantiles,
    client: await cloudWatchClient(),
  });
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
  assertPublished(report);
  return summary;
}
