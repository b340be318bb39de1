/**
 * The workflow list: `GET {apiUrl}/api/v1/workflows/`, one request with no paging parameters, as the API's own
 * examples make it (shared/reference/unstructured-jobs-api.md, "Workflows"), through the job list's client
 * (unstructured-api.ts: retries, deadline, gzip, the API key kept out of every message), into bounded
 * Workflow records (records/workflow.ts). Its failure is its own (a PullError): the caller keeps it apart from
 * the job list's.
 */
import { noWorkflowSkips, toWorkflow, type Workflow, type WorkflowSkipReason } from '../records/workflow.js';
import { type PullOptions, type PullStats, pullJobs } from './unstructured-api.js';
import type { Config } from '../config.js';

/**
 * Workflows kept from one response; past it, records are counted (`over_limit`) and dropped. Each listed
 * workflow costs up to five series and a row of the aggregation (~120 bytes); 10,000 is beyond any account the
 * API's examples suggest, and keeps the inventory a few MB at most.
 */
export const MAX_LISTED_WORKFLOWS = 10_000;
/**
 * Body bytes of the workflows response (after decompression). A workflow record carries its DAG nodes and their
 * settings, a few KB; 64 MiB holds MAX_LISTED_WORKFLOWS records of 6 KB. Records are parsed one at a time and
 * only bounded fields kept, so this bounds the time spent more than the memory.
 */
export const MAX_WORKFLOWS_RESPONSE_BYTES = 64 * 1024 ** 2;

export interface WorkflowList {
  /** In the response's order, first sighting of each id kept. */
  readonly workflows: Workflow[];
  readonly recordsSkipped: Record<WorkflowSkipReason, number>;
  readonly stats: PullStats;
}

type WorkflowsPullConfig = Pick<
  Config,
  'apiUrl' | 'requestTimeoutMs' | 'pullDeadlineMs' | 'maxRetries' | 'maxResponseBytes'
>;

export async function pullWorkflows(
  config: WorkflowsPullConfig,
  options: Omit<PullOptions, 'objectScanner' | 'onOversizedRecord' | 'endpoint'>,
): Promise<WorkflowList> {
  const workflows: Workflow[] = [];
  const seen = new Set<string>();
  const recordsSkipped = noWorkflowSkips();
  const stats = await pullJobs(
    {
      ...config,
      workflowIds: [],
      maxResponseBytes: Math.min(config.maxResponseBytes, MAX_WORKFLOWS_RESPONSE_BYTES),
    },
    (raw) => {
      const workflow = toWorkflow(raw);
      if (typeof workflow === 'string') recordsSkipped[workflow]++;
      else if (seen.has(workflow.id)) recordsSkipped.duplicate_id++;
      else if (workflows.length >= MAX_LISTED_WORKFLOWS) recordsSkipped.over_limit++;
      else {
        seen.add(workflow.id);
        workflows.push(workflow);
      }
    },
    { ...options, endpoint: 'workflows/', onOversizedRecord: () => recordsSkipped.too_large++ },
  );
  return { workflows, recordsSkipped, stats };
}
