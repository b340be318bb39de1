/**
 * Names and HELP texts of the workflow inventory and schedule health metrics (issue 17): a public contract
 * (README, docs/alerts.md, alerts/, dashboards/). Shared by the renderer and its oracle.
 */
export const WORKFLOW_METRICS = {
  up: 'unstructured_workflows_up',
  skipped: 'unstructured_workflow_records_skipped',
  invalid: 'unstructured_workflows_schedule_invalid',
  info: 'unstructured_workflow_info',
  lastRun: 'unstructured_workflow_last_run_timestamp_seconds',
  lastSuccess: 'unstructured_workflow_last_success_timestamp_seconds',
  missed: 'unstructured_workflow_schedule_missed',
  nextRun: 'unstructured_workflow_next_run_timestamp_seconds',
  expectedRun: 'unstructured_workflow_expected_run_timestamp_seconds',
} as const;

export const WORKFLOW_HELP = {
  workflowsUp:
    'Whether the last request of the workflow list (GET /api/v1/workflows/) succeeded (1) or failed (0); job metrics do not depend on it.',
  workflowSkipped: 'Workflow records left out of the last workflow list, by reason.',
  scheduleInvalid:
    'Listed workflows whose schedule could not be read (not a cron expression croner accepts, or a wrong shape).',
  info: 'Each workflow the workflows API lists, with its state, type and cron entries (joined with ";", or none); always 1.',
  lastRun: 'created_at of the newest job of the workflow in the job list (Unix time).',
  lastSuccess: 'Latest end (created_at + runtime) of a COMPLETED job of the workflow with a valid runtime (Unix time).',
  missed:
    'For an active workflow with a valid schedule: 1 when no job was created for its last expected run (the latest fire time at or before now - SCHEDULE_GRACE, from 2 minutes before it), else 0.',
  nextRun: 'Next fire time of an active workflow with a valid schedule (Unix time, SCHEDULE_TIMEZONE).',
  expectedRun:
    'The run unstructured_workflow_schedule_missed judges: the latest fire time at or before now - SCHEDULE_GRACE (Unix time); absent before the first.',
} as const;
