import type { Job } from '../../lib/records/job.js';

export const NOW_MS = Date.parse('2026-11-29T12:00:00Z');

let counter = 0;
/** A valid Job with sensible defaults; override what the test is about. */
export function job(overrides: Partial<Job> = {}): Job {
  counter++;
  return {
    id: `job-${counter}`,
    workflowId: 'wf-a',
    workflowName: 'Workflow A',
    status: 'COMPLETED',
    jobType: 'ephemeral',
    createdAtMs: NOW_MS - 3_600_000,
    runtimeSeconds: 60,
    runtimeInvalid: false,
    runtimeLongerThanAge: false,
    ...overrides,
  };
}
