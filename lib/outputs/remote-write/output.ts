/**
 * Prometheus remote write as a push output (push.ts): every collection, a failed one included (`unstructured_up 0`
 * and `unstructured_collect_error`, never the last good numbers), is rendered as /metrics renders it, read back
 * series by series (series.ts) and sent to REMOTE_WRITE_URL, every sample timestamped at the collection's end.
 * What the receiver refused or never got is a `problem` naming the series, so the outputs after this one still run
 * and the run fails (docs/remote-write.md).
 */
import type { Collection } from '../../collection.js';
import type { Logger } from '../../log.js';
import type { ParameterReader } from '../../secrets.js';
import { renderPrometheus } from '../prometheus/render.js';
import type { PushOutput, PushReport } from '../push.js';
import { type Authorizer, authorizer } from './auth.js';
import { deliver, type DeliveryReport } from './sender.js';
import { exposedSeries } from './series.js';
import type { RemoteWriteSettings } from './settings.js';

export interface RemoteWriteOutputOptions {
  readonly settings: RemoteWriteSettings;
  readonly logger: Logger;
  /** The exporter version (build_info's label, as /metrics has it). */
  readonly version: string;
  /** The embedded demo: build_info is labelled demo="true", as on /metrics. */
  readonly demo?: boolean;
  /** SSM reader for the `_PARAM` secrets; default the SDK's. */
  readonly readParameter?: ParameterReader;
  /** Default from the settings' auth. */
  readonly authorize?: Authorizer;
  /**
   * When the run must be over (epoch ms), whatever REMOTE_WRITE_DEADLINE says: the scheduled Lambda's own timeout,
   * less a margin for its report. What ran before the push (the pull, CloudWatch, the events) has used part of it.
   */
  readonly runEndsAtMs?: number;
}

/** Thrown by the scheduled run when series were not delivered (Lambda's Errors metric then fires). */
export class RemoteWriteError extends Error {
  override readonly name = 'RemoteWriteError';
  constructor(readonly report: DeliveryReport) {
    super(
      `remote write delivered ${report.delivered} of ${report.series} series; ${report.undelivered?.series ?? 0} not delivered: ${report.undelivered?.firstError ?? ''}`,
    );
  }
}

export function remoteWriteOutput(options: RemoteWriteOutputOptions): PushOutput {
  const { settings, logger } = options;
  const authorize = options.authorize ?? authorizer(settings.auth, logger, options.readParameter);
  const host = new URL(settings.url).host;
  return {
    name: 'remote-write',
    async publish(collection: Collection): Promise<PushReport> {
      const startedMs = Date.now();
      const rendered = await renderPrometheus(collection, {
        version: options.version,
        ...(options.demo === true && { demo: true }),
      });
      let report: DeliveryReport;
      try {
        report = await deliver(exposedSeries(rendered.bytes), {
          url: settings.url,
          authorize,
          extraLabels: [
            ['job', settings.job],
            ['instance', settings.instance],
          ],
          timestampMs: collection.finishedAtMs,
          deadlineAtMs: Math.min(startedMs + settings.deadlineMs, options.runEndsAtMs ?? Number.POSITIVE_INFINITY),
          timeoutMs: settings.timeoutMs,
          logger,
        });
      } finally {
        rendered.release();
      }
      const summary = {
        remoteWrite: {
          receiver: host,
          auth: settings.auth.kind,
          series: report.series,
          delivered: report.delivered,
          undelivered: report.undelivered?.series ?? 0,
          requests: report.requests,
          retries: report.retries,
          bytes: report.bytes,
          seconds: (Date.now() - startedMs) / 1000,
        },
      };
      return {
        summary,
        ...(!collection.ok && { afterFailedPull: 'pushed unstructured_up 0 by remote write' }),
        ...(report.undelivered !== undefined && { problem: describeProblem(report, host) }),
      };
    },
  };
}

function describeProblem(report: DeliveryReport, host: string): NonNullable<PushReport['problem']> {
  const u = report.undelivered as NonNullable<DeliveryReport['undelivered']>;
  const byMetric = Object.entries(u.byMetric)
    .map(([name, n]) => `${name} ${n}`)
    .join(', ');
  const more = u.series > u.named.length ? ` and ${u.series - u.named.length} more` : '';
  return {
    message: `remote write to ${host}: ${u.series} of ${report.series} series not delivered (${byMetric}): ${u.firstError}; not delivered: ${u.named.join(' ')}${more}`,
    log: {
      message: 'remote write incomplete',
      fields: {
        receiver: host,
        series: report.series,
        undelivered: u.series,
        undeliveredByMetric: u.byMetric,
        undeliveredSeries: u.named,
        firstError: u.firstError,
      },
    },
    error: new RemoteWriteError(report),
  };
}
