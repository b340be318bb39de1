/**
 * Validation of one API record (JobInformation, see shared/reference/unstructured-jobs-api.md) into a Job: the
 * reference path. A record that cannot be counted yields the SkipReason that says why; a record with a bad
 * `runtime` (unparsable, negative, or longer than the job has existed by `nowMs`) is still counted (its status and
 * age are sound) but kept out of runtime statistics.
 * JobRecordScanner (scanner.ts) applies the same rules to the bytes; test/fast-path.test.ts holds them equal.
 */
import { parseIsoDuration } from './duration.js';
import type { Job } from './job.js';
import { parseRfc3339 } from './rfc3339.js';
import { finishesByNow } from './runtime-bound.js';
import { DEFAULT_JOB_TYPE, type SkipReason } from '../vocabulary.js';

/**
 * Longest `id` / `workflow_id` accepted. Both are UUIDs (36 characters); 256 leaves room for other id
 * schemes while refusing a value that would make a huge metric label or map key.
 */
export const MAX_ID_LENGTH = 256;

/** `nowMs`: the collection's "now" (epoch ms), which a runtime must not end after (runtime-bound.ts). */
export function toJob(raw: unknown, nowMs: number): Job | SkipReason {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return 'not_an_object';
  const record = raw as Record<string, unknown>;

  const id = record.id;
  if (!isId(id)) return 'invalid_id';
  const workflowId = record.workflow_id;
  if (!isId(workflowId)) return 'invalid_workflow_id';
  const status = record.status;
  // Unknown statuses are kept as sent: older API versions used other strings and new ones may appear.
  if (typeof status !== 'string' || status.length === 0) return 'invalid_status';
  const createdAt = record.created_at;
  const createdAtMs = typeof createdAt === 'string' ? parseRfc3339(createdAt) : NaN;
  if (Number.isNaN(createdAtMs)) return 'invalid_created_at';

  // Required by the schema, but a missing name must not lose the job: the id names the workflow then.
  const name = record.workflow_name;
  const workflowName = typeof name === 'string' ? name : workflowId;

  // The schema says absent means the default and does not allow null; anything unusable counts as the default.
  const type = record.job_type;
  const jobType = typeof type === 'string' && type.length > 0 ? type : DEFAULT_JOB_TYPE;

  // Absent or null right after creation: no runtime yet, which is not an error.
  const runtime = record.runtime;
  let runtimeSeconds: number | undefined;
  let runtimeInvalid = false;
  let runtimeLongerThanAge = false;
  if (runtime !== undefined && runtime !== null) {
    const seconds = typeof runtime === 'string' ? parseIsoDuration(runtime) : NaN;
    if (!(Number.isFinite(seconds) && seconds >= 0)) runtimeInvalid = true;
    else if (!finishesByNow(createdAtMs, seconds, nowMs)) runtimeLongerThanAge = true;
    else runtimeSeconds = seconds;
  }

  return {
    id,
    workflowId,
    workflowName,
    status,
    jobType,
    createdAtMs,
    runtimeSeconds,
    runtimeInvalid,
    runtimeLongerThanAge,
  };
}

export function isId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_ID_LENGTH;
}
