/**
 * The workflows request of one collection (issue 17), beside the job list's: started with it, awaited after it,
 * and kept apart from it. Its failure is a WorkflowInventoryFailure (logged, shown, `unstructured_workflows_up 0`),
 * never a failed collection; a failed job pull aborts it.
 */
import type { Aggregator } from './aggregate/aggregator.js';
import { type WorkflowInventory, workflowInventory } from './aggregate/workflow-health.js';
import type { CollectorDeps } from './collector.js';
import { PullError } from './pull/pull-error.js';
import { pullWorkflows, type WorkflowList } from './pull/workflows.js';
import { VERSION } from './version.js';

export interface WorkflowsRequest {
  /** Runs the job pull; a failed one aborts the workflows request. */
  during<T>(jobPull: () => Promise<T>): Promise<T>;
  /**
   * Once the job list is counted: the listed workflows declared to the aggregation (their names, rows for those
   * with no job), and the inventory built from it. Undefined when WORKFLOWS_API=off.
   */
  finish(aggregator: Aggregator, nowMs: number): Promise<WorkflowInventory | undefined>;
}

type Outcome = { ok: true; list: WorkflowList } | { ok: false; errorKind: string; errorMessage: string };

const OFF: WorkflowsRequest = {
  during: (jobPull) => jobPull(),
  finish: async () => undefined,
};

/** `allow`: the WORKFLOW_IDS allow-list; workflows outside it are not the exporter's to judge. */
export function startWorkflowsRequest(
  deps: CollectorDeps,
  apiKey: string,
  allow: ReadonlySet<string> | undefined,
): WorkflowsRequest {
  const { config, logger } = deps;
  const pull = deps.pullWorkflows ?? (deps.pull === undefined ? pullWorkflows : undefined);
  if (!config.workflowsApi || pull === undefined) return OFF;
  const abort = new AbortController();
  const pending: Promise<Outcome> = pull(config, { apiKey, version: VERSION, signal: abort.signal }).then(
    (list): Outcome => ({ ok: true, list }),
    (error: unknown): Outcome => {
      const errorKind = error instanceof PullError ? error.kind : 'internal';
      const raw = error instanceof Error ? error.message : String(error);
      return { ok: false, errorKind, errorMessage: logger.scrub(raw.split('\n')[0] ?? raw) };
    },
  );
  return {
    async during(jobPull) {
      try {
        return await jobPull();
      } catch (error) {
        abort.abort();
        await pending; // settled, never rejects: nothing left running after a failed collection
        throw error;
      }
    },
    async finish(aggregator, nowMs) {
      const outcome = await pending;
      if (!outcome.ok) {
        // The names of the last success keep the job series where they were (aggregate/workflow-names.ts).
        const last = deps.workflowNames?.last();
        if (last !== undefined) aggregator.declareWorkflows(last.workflows);
        logger.warn('workflows request failed: schedule health not known, job metrics unaffected', {
          errorKind: outcome.errorKind,
          error: outcome.errorMessage,
          namesFrom: last === undefined ? 'the job list' : new Date(last.atMs).toISOString(),
        });
        return { ok: false, errorKind: outcome.errorKind, errorMessage: outcome.errorMessage };
      }
      const listed =
        allow === undefined ? outcome.list.workflows : outcome.list.workflows.filter((w) => allow.has(w.id));
      aggregator.declareWorkflows(listed);
      deps.workflowNames?.remember(listed, nowMs);
      const inventory = workflowInventory(listed, outcome.list.recordsSkipped, (id) => aggregator.runsOf(id), nowMs, {
        graceMs: config.scheduleGraceSeconds * 1000,
        timezone: config.scheduleTimezone,
      });
      const skipped = Object.values(inventory.recordsSkipped).reduce((a, b) => a + b, 0);
      const missed = inventory.workflows.filter((w) => w.missed === true).length;
      if (skipped > 0 || inventory.scheduleInvalid > 0) {
        logger.warn('workflows listed with problems: counted, never fatal', {
          recordsSkipped: skipped,
          scheduleInvalid: inventory.scheduleInvalid,
          firstScheduleProblem: inventory.workflows.find((w) => w.scheduleProblem !== undefined)?.scheduleProblem,
        });
      }
      if (outcome.list.pageBudgetSpent) {
        logger.warn('workflows request read its page budget: workflows on later pages are not judged', {
          pages: outcome.list.pages,
        });
      }
      logger.info('workflows request succeeded', {
        workflows: inventory.workflows.length,
        pages: outcome.list.pages,
        scheduleMissed: missed,
        attempts: outcome.list.stats.attempts,
        bytes: outcome.list.stats.bytes,
      });
      return inventory;
    },
  };
}
