/**
 * One collection → CloudWatch: render the datums and publish them. The SDK stays lazily imported (inside the
 * publisher), so importing this module costs nothing until something is published.
 */
import type { Collection } from '../../collection.js';
import { renderDatums } from './datums.js';
import { publishDatums, type CloudWatchClientLike, type PublishReport } from './publisher.js';
import type { CloudWatchMetricSettings } from './settings.js';

export interface PublishCollectionOptions extends Partial<CloudWatchMetricSettings> {
  /** CloudWatch namespace (CLOUDWATCH_NAMESPACE). */
  readonly namespace: string;
  /** Runtime quantiles to publish (the configured QUANTILES); only 0.5, 0.9, 0.95, 0.99 and 1 have a metric. */
  readonly quantiles: readonly number[];
  /** Default: a client from the SDK's standard environment, created once per process (see publisher.ts). */
  readonly client?: CloudWatchClientLike;
  /** Clock for the timestamp window check (default Date.now). */
  readonly now?: () => number;
  /** Requests in flight at once (default DEFAULT_CONCURRENCY). */
  readonly concurrency?: number;
}

/** Publishes a collection; never throws for a request CloudWatch refused (see the report, and assertPublished). */
export async function publishCollection(
  collection: Collection,
  options: PublishCollectionOptions,
): Promise<PublishReport> {
  const datums = renderDatums(collection, {
    quantiles: options.quantiles,
    ...(options.workflowRuntimeQuantiles !== undefined && {
      workflowRuntimeQuantiles: options.workflowRuntimeQuantiles,
    }),
    ...(options.workflowTerminalJobs !== undefined && { workflowTerminalJobs: options.workflowTerminalJobs }),
  });
  return publishDatums(datums, {
    namespace: options.namespace,
    ...(options.client !== undefined && { client: options.client }),
    ...(options.now !== undefined && { now: options.now }),
    ...(options.concurrency !== undefined && { concurrency: options.concurrency }),
  });
}
