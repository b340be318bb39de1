/**
 * The push outputs of a run, in publishing order: the one list the scheduled Lambda and
 * `collect --sink cloudwatch` share. Adding an output is one line here (docs/architecture.md).
 */
import type { Config } from '../config.js';
import type { EventsConfig } from '../events/config.js';
import { finishedJobsOutput } from '../events/output.js';
import type { StateStore } from '../events/store.js';
import type { Logger } from '../log.js';
import { cloudWatchOutput } from './cloudwatch/output.js';
import type { CloudWatchClientLike } from './cloudwatch/publisher.js';
import type { CloudWatchMetricSettings } from './cloudwatch/settings.js';
import type { PushOutput } from './push.js';
import { independent } from './push-independent.js';
import { remoteWriteOutput } from './remote-write/output.js';
import type { RemoteWriteSettings } from './remote-write/settings.js';

export interface PushSetup {
  readonly config: Config;
  /** "now" of the run, the collection's (the cycle's nowMs); required with events. */
  readonly nowMs?: number;
  readonly logger: Logger;
  /** The CloudWatch client (made once per container); default the publisher's own. */
  readonly cloudWatchClient?: () => Promise<CloudWatchClientLike>;
  /** Which optional per-workflow CloudWatch metrics to publish (outputs/cloudwatch/settings.ts); default all. */
  readonly cloudWatchMetrics?: CloudWatchMetricSettings;
  /** Finished-job events: their settings and state store; undefined when they are off. */
  readonly events?: { readonly config: EventsConfig; readonly store: StateStore };
  /** Prometheus remote write (REMOTE_WRITE_URL); undefined when it is off. */
  readonly remoteWrite?: {
    readonly settings: RemoteWriteSettings;
    readonly version: string;
    readonly demo?: boolean;
    /** The run's hard end (the Lambda's timeout less a margin): remote write's deadline never passes it. */
    readonly runEndsAtMs?: number;
  };
  /** Without CloudWatch (`collect --sink remote-write`). */
  readonly cloudWatch?: false;
}

export function pushOutputs(setup: PushSetup): PushOutput[] {
  const { config, cloudWatchClient: client } = setup;
  const namespace = config.cloudwatchNamespace;
  const outputs: PushOutput[] =
    setup.cloudWatch === false
      ? []
      : [
          cloudWatchOutput({
            namespace,
            quantiles: config.quantiles,
            ...setup.cloudWatchMetrics,
            ...(client && { client }),
          }),
        ];
  if (setup.events !== undefined) {
    // The events' horizon and the collection's window must be measured from the same "now".
    if (setup.nowMs === undefined) throw new TypeError("pushOutputs: finished-job events need the run's nowMs");
    outputs.push(
      finishedJobsOutput({
        ...setup.events,
        nowMs: setup.nowMs,
        namespace,
        logger: setup.logger,
        ...(client && { client }),
      }),
    );
  }
  // Last, and what runs before it cannot stop it: CloudWatch and remote write are independent destinations.
  if (setup.remoteWrite !== undefined)
    return [...outputs.map(independent), remoteWriteOutput({ ...setup.remoteWrite, logger: setup.logger })];
  return outputs;
}
