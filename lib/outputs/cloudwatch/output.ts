/**
 * The snapshot's CloudWatch metrics as a push output (push.ts): every collection, a failed one included
 * (CollectorUp 0, which the stale-data alarm watches), is rendered and published to the namespace.
 */
import type { PushOutput, PushReport } from '../push.js';
import type { CloudWatchClientLike, PublishReport } from './publisher.js';
import { PublishError } from './publisher.js';
import { publishCollection } from './run.js';
import type { CloudWatchMetricSettings } from './settings.js';

export interface CloudWatchOutputOptions extends Partial<CloudWatchMetricSettings> {
  /** CLOUDWATCH_NAMESPACE. */
  readonly namespace: string;
  /** The configured QUANTILES. */
  readonly quantiles: readonly number[];
  /** The client to publish with (made once per container); default the publisher's own. */
  readonly client?: () => Promise<CloudWatchClientLike>;
}

export function cloudWatchOutput(options: CloudWatchOutputOptions): PushOutput {
  const { namespace } = options;
  return {
    name: 'cloudwatch',
    async publish(collection): Promise<PushReport> {
      const client = await options.client?.();
      const report = await publishCollection(collection, {
        namespace,
        quantiles: options.quantiles,
        ...(options.workflowRuntimeQuantiles !== undefined && {
          workflowRuntimeQuantiles: options.workflowRuntimeQuantiles,
        }),
        ...(options.workflowTerminalJobs !== undefined && { workflowTerminalJobs: options.workflowTerminalJobs }),
        ...(client !== undefined && { client }),
      });
      const summary = {
        namespace,
        collectorUp: collection.ok,
        ...(!collection.ok && { errorKind: collection.errorKind }),
        datums: report.total,
        requests: report.requests,
        published: report.published,
        failed: report.failed.length,
        invalid: report.invalid.length,
        collectionSeconds: collection.durationSeconds,
      };
      return {
        summary,
        ...(!collection.ok && { afterFailedPull: 'published CollectorUp 0' }),
        ...(incomplete(report) && { problem: describeProblem(report) }),
      };
    },
  };
}

function incomplete(report: PublishReport): boolean {
  return report.failed.length > 0 || report.invalid.length > 0;
}

function describeProblem(report: PublishReport): NonNullable<PushReport['problem']> {
  const firstInvalid = report.invalid[0] && `${report.invalid[0].metricName}: ${report.invalid[0].reason}`;
  return {
    message: `published ${report.published} of ${report.total} datums to CloudWatch; first problem: ${report.failed[0]?.error ?? firstInvalid}`,
    log: { message: 'cloudwatch publish incomplete', fields: { firstError: report.failed[0]?.error, firstInvalid } },
    error: new PublishError(report),
  };
}
