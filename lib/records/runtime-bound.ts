/**
 * The one bound a runtime has besides its grammar: a job cannot have run longer than it has existed. A job
 * created at `created_at` that ran for `runtime` finished at `created_at + runtime`, which cannot be after now.
 * A runtime breaking that (`P1100000000000Y`, pydantic's `timedelta.max`, or 400 days for a job created an hour
 * ago) is no runtime of this job: the job is counted, its runtime is left out of every runtime statistic and
 * of the finished-job events, and `unstructured_job_runtime_longer_than_age` counts it. toJob and
 * JobRecordScanner both apply it through this function (test/fast-path.test.ts holds them equal).
 */

/**
 * How far after our "now" a job may seem to finish: the API's clock (created_at) and ours may disagree by this
 * much. 5 minutes (issue 15), the default maximum clock skew of Kerberos (MIT krb5 `clockskew`, 300 s): far
 * beyond what NTP-synced clocks drift, far below any runtime worth telling apart from a real one.
 */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;

/**
 * True when a job created at `createdAtMs` (epoch ms) can have run for `runtimeSeconds` by `nowMs`: it
 * finished (created_at + runtime) no more than MAX_CLOCK_SKEW_MS after now. `runtimeSeconds` is a parsed,
 * finite, non-negative duration.
 */
export function finishesByNow(createdAtMs: number, runtimeSeconds: number, nowMs: number): boolean {
  return createdAtMs + runtimeSeconds * 1000 <= nowMs + MAX_CLOCK_SKEW_MS;
}
