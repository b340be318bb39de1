/**
 * The workflow list: `GET {apiUrl}/api/v1/workflows/`, first with no paging parameters, as the API's own
 * examples make it, then `?page=2`, `?page=3` … while pages bring workflows not seen yet: the endpoint pages with
 * a server default page size it does not document (shared/reference/unstructured-jobs-api.md, "Workflows"), and a
 * workflow on an unread page would go silently unjudged, the very silence schedule health is for. A server that
 * ignores `page` answers page 2 with page 1 again: nothing new, the read ends (2 requests). Every page goes through
 * the job list's client (unstructured-api.ts: retries, gzip, the API key kept out of every message) under one
 * deadline, into bounded Workflow records (records/workflow.ts). Its failure, on any page, is its own (a
 * PullError): the caller keeps it apart from the job list's, and a partial list is never judged.
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
/**
 * Pages read per collection. The API's default page size is not documented; at 100 a page this reads
 * MAX_LISTED_WORKFLOWS. Past it the read ends with what it has, and the log line says the page budget was spent.
 */
export const MAX_WORKFLOW_PAGES = 100;

export interface WorkflowList {
  /** In the response's order, first sighting of each id kept. */
  readonly workflows: Workflow[];
  readonly recordsSkipped: Record<WorkflowSkipReason, number>;
  /** Requests (pages) read; `stats.attempts` counts their retries too. */
  readonly pages: number;
  /** True when MAX_WORKFLOW_PAGES ended the read while pages still brought new workflows. */
  readonly pageBudgetSpent: boolean;
  readonly stats: PullStats;
}

type WorkflowsPullConfig = Pick<
  Config,
  'apiUrl' | 'requestTimeoutMs' | 'pullDeadlineMs' | 'maxRetries' | 'maxResponseBytes'
>;

export async function pullWorkflows(
  config: WorkflowsPullConfig,
  options: Omit<PullOptions, 'objectScanner' | 'onOversizedRecord' | 'endpoint' | 'query'>,
): Promise<WorkflowList> {
  const now = options.now ?? Date.now;
  const deadlineAt = now() + config.pullDeadlineMs;
  const workflows: Workflow[] = [];
  const seen = new Set<string>();
  const recordsSkipped = noWorkflowSkips();
  const stats: PullStats = { attempts: 0, bytes: 0, elements: 0, statusCode: 0 };
  let firstPageLength = 0;
  let pages = 0;
  for (let page = 1; ; page++) {
    // A page is judged whole before it counts: a repeat of page 1 (paging ignored) adds no `duplicate_id`.
    const records: (Workflow | WorkflowSkipReason)[] = [];
    let tooLarge = 0;
    const pageStats = await pullJobs(
      {
        ...config,
        workflowIds: [],
        pullDeadlineMs: Math.max(0, deadlineAt - now()),
        maxResponseBytes: Math.min(config.maxResponseBytes, MAX_WORKFLOWS_RESPONSE_BYTES),
      },
      (raw) => {
        if (records.length < MAX_LISTED_WORKFLOWS) records.push(toWorkflow(raw));
        else recordsSkipped.over_limit++;
      },
      {
        ...options,
        endpoint: 'workflows/',
        ...(page > 1 && { query: `page=${page}` }),
        onOversizedRecord: () => tooLarge++,
      },
    );
    pages = page;
    stats.attempts += pageStats.attempts;
    stats.bytes += pageStats.bytes;
    stats.elements += pageStats.elements;
    stats.statusCode = pageStats.statusCode;
    const listed = records.length + tooLarge;
    const fresh = records.some((r) => typeof r !== 'string' && !seen.has(r.id));
    if (page > 1 && !fresh) break;
    recordsSkipped.too_large += tooLarge;
    for (const workflow of records) {
      if (typeof workflow === 'string') recordsSkipped[workflow]++;
      else if (seen.has(workflow.id)) recordsSkipped.duplicate_id++;
      else if (workflows.length >= MAX_LISTED_WORKFLOWS) recordsSkipped.over_limit++;
      else {
        seen.add(workflow.id);
        workflows.push(workflow);
      }
    }
    if (page === 1) firstPageLength = listed;
    // An empty or short page is the last; a full list ends the read (what follows would be over the limit).
    if (listed === 0 || listed < firstPageLength || workflows.length >= MAX_LISTED_WORKFLOWS) break;
    if (page >= MAX_WORKFLOW_PAGES) {
      return { workflows, recordsSkipped, pages, pageBudgetSpent: true, stats };
    }
  }
  return { workflows, recordsSkipped, pages, pageBudgetSpent: false, stats };
}
