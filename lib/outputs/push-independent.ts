/**
 * An output whose throw must not hold back the outputs after it: in the scheduled run with remote write on,
 * CloudWatch and remote write are two independent destinations, and a CloudWatch that cannot even be called (no
 * SDK, a malformed namespace) must not keep the samples from Prometheus. The throw becomes the output's `problem`:
 * it is still logged and still thrown by reportToLog once every output has run (push.ts).
 */
import type { PushOutput, PushReport } from './push.js';

export function independent(output: PushOutput): PushOutput {
  return {
    name: output.name,
    ...(output.onJob !== undefined && { onJob: output.onJob }),
    ...(output.prepare !== undefined && { prepare: output.prepare }),
    async publish(collection): Promise<PushReport> {
      try {
        return await output.publish(collection);
      } catch (error) {
        const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        return {
          summary: {},
          problem: {
            message: `${output.name} failed: ${reason}`,
            log: { message: `${output.name} failed`, fields: { error: reason } },
            error,
          },
        };
      }
    },
  };
}
