/**
 * The domain's words, in one place: the job statuses and job types of the Unstructured API, why a record is
 * left out, and the name of the folded rest. Every stage (records, aggregation, outputs) and every public
 * name derived from them (metric labels, CloudWatch dimensions) reads them from here.
 */

/** Job statuses documented by the Unstructured API (shared/seeds/list-jobs.md). */
export const KNOWN_STATUSES = ['SCHEDULED', 'IN_PROGRESS', 'COMPLETED', 'STOPPED', 'FAILED'] as const;
export type KnownStatus = (typeof KNOWN_STATUSES)[number];

/** Statuses after which a job's `runtime` is final. */
export const TERMINAL_STATUSES = ['COMPLETED', 'FAILED', 'STOPPED'] as const;
export type TerminalStatus = (typeof TERMINAL_STATUSES)[number];

/** Statuses whose age is exported (stuck-job alerts). */
export const PENDING_STATUSES = ['SCHEDULED', 'IN_PROGRESS'] as const;
export type PendingStatus = (typeof PENDING_STATUSES)[number];

/** Documented job types; absent means `ephemeral` (the API's default). */
export const KNOWN_JOB_TYPES = ['ephemeral', 'persistent', 'scheduled', 'template'] as const;
export const DEFAULT_JOB_TYPE = 'ephemeral';

/**
 * Why a record was left out of every count. `too_large`: the array element was over the stream's element
 * limit (lib/pull/json-stream.ts, DEFAULT_MAX_ELEMENT_BYTES) and was passed over unread.
 */
export const SKIP_REASONS = [
  'not_an_object',
  'invalid_id',
  'invalid_workflow_id',
  'invalid_status',
  'invalid_created_at',
  'duplicate_id',
  'too_large',
] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

/** The identifier used for workflows folded together by the MAX_WORKFLOWS cap. */
export const OTHER_WORKFLOW_ID = 'other';

/**
 * Processing statuses of a job's details (`GET /api/v1/jobs/{id}/details`, shared/reference
 * unstructured-jobs-api.md "Job details"). COMPLETED_WITH_ERRORS exists only there: the list shows such a job as
 * COMPLETED. The terminal ones are exported for every workflow (0 where none).
 */
export const TERMINAL_PROCESSING_STATUSES = ['SUCCESS', 'COMPLETED_WITH_ERRORS', 'FAILED', 'STOPPED'] as const;
export type TerminalProcessingStatus = (typeof TERMINAL_PROCESSING_STATUSES)[number];
export const KNOWN_PROCESSING_STATUSES = ['SCHEDULED', 'IN_PROGRESS', ...TERMINAL_PROCESSING_STATUSES] as const;

/** What a node did to a file, as exported (`outcome` label of unstructured_job_node_files). */
export const NODE_FILE_OUTCOMES = ['success', 'failure'] as const;

/** A node type or subtype that is absent or null in the details. */
export const UNKNOWN_NODE_LABEL = 'unknown';
