/**
 * Lambda handler run on a schedule by EventBridge: one fresh collection (no cache), published to CloudWatch by
 * the push cycle (lib/outputs/push.ts), the same code as `collect --sink cloudwatch`. Thin wiring: the exporter
 * and the CloudWatch client live across warm invocations; the AWS SDK is imported lazily by the publisher, on
 * the first publish, never at module load.
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
 *
 * Prometheus remote write (docs/remote-write.md): when REMOTE_WRITE_URL is set, the same collection is also pushed
 * to that receiver, last, whatever CloudWatch did (a failure of either never stops the other); series that were not
 * delivered fail the invocation after everything else has run, and each output's problem has its own log line.
 */
import type { Context, ScheduledEvent } from 'aws-lambda';
import { loadCloudWatchSettings, type CloudWatchMetricSettings } from '../lib/outputs/cloudwatch/settings.js';
import { loadEventsConfig, type EventsConfig } from '../lib/events/config.js';
import { S3StateStore } from '../lib/events/s3-store.js';
import { createExporter, type Exporter } from '../lib/exporter.js';
import { createCloudWatchClient, type CloudWatchClientLike } from '../lib/outputs/cloudwatch/publisher.js';
import { pushOutputs } from '../lib/outputs/push-outputs.js';
import { reportToLog, runPushCycle } from '../lib/outputs/push.js';
import { loadRemoteWriteSettings, type RemoteWriteSettings } from '../lib/outputs/remote-write/settings.js';
import { VERSION } from '../lib/version.js';

/** The invocation's result: the push outputs' summaries (outputs/cloudwatch/output.ts, events/output.ts). */
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
  /** Remote write of this run (only when REMOTE_WRITE_URL is set): lib/outputs/remote-write/output.ts. */
  readonly remoteWrite?: Record<string, unknown>;
}

let exporter: Exporter | undefined;
let client: Promise<CloudWatchClientLike> | undefined;
let events:
  | {
      readonly config: EventsConfig;
      readonly store: S3StateStore | undefined;
      readonly metrics: CloudWatchMetricSettings;
    }
  | undefined;

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
    const store =
      config.stateBucket === undefined
        ? undefined
        : new S3StateStore({ bucket: config.stateBucket, key: config.stateKey });
    if (store === undefined) exp.logger.info('finished-job events off: STATE_BUCKET is not set (docs/events.md)');
    // Per-workflow metrics the events make redundant are off by default with them (lib/outputs/cloudwatch/settings.ts).
    events = { config, store, metrics: loadCloudWatchSettings(process.env, { eventsOn: store !== undefined }) };
  }
  return events;
}

/** Remote-write settings, read once per container (a configuration error fails every invocation until fixed). */
let remoteWrite: { readonly settings: RemoteWriteSettings | undefined } | undefined;

/**
 * Left of the invocation's timeout for the run's own report (the summary line, the thrown error) after the last push:
 * a push cut by the timeout would end with neither, and with part of its series sent.
 */
export const REPORT_MARGIN_MS = 3_000;

export async function handler(
  event: ScheduledEvent,
  context?: Pick<Context, 'getRemainingTimeInMillis'>,
): Promise<CollectSummary> {
  exporter ??= createExporter();
  const { config, logger } = exporter;
  const { config: eventsConfig, store, metrics } = eventsSetup(exporter);
  remoteWrite ??= { settings: loadRemoteWriteSettings() };
  const remoteWriteSettings = remoteWrite.settings;
  const nowMs = Date.now();
  const runEndsAtMs = context === undefined ? undefined : nowMs + context.getRemainingTimeInMillis() - REPORT_MARGIN_MS;
  const outputs = pushOutputs({
    config,
    nowMs,
    logger,
    cloudWatchClient,
    cloudWatchMetrics: metrics,
    ...(store !== undefined && { events: { config: eventsConfig, store } }),
    ...(remoteWriteSettings !== undefined && {
      remoteWrite: {
        settings: remoteWriteSettings,
        version: VERSION,
        ...(runEndsAtMs !== undefined && { runEndsAtMs }),
      },
    }),
  });
  const run = await runPushCycle({ collect: exporter.collectNow, nowMs, outputs });
  return reportToLog(run, logger, {
    message: 'cloudwatch publish',
    fields: { event: event.id },
  }) as unknown as CollectSummary;
}
