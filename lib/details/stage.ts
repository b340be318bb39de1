/**
 * The details stage of a collection (docs/architecture.md): after the list is pulled and aggregated, the
 * details of every terminal job that finished inside the runtime window (the window and validity rule of
 * unstructured_job_runtime_recent_seconds) are fetched once, remembered (known-details.ts), and summed into a
 * JobDetailsReport that every output reads from the Collection.
 *
 * Never fails the collection: a details request that fails is counted (`errors`), logged once per collection
 * (the first message and the count), and left for a later collection (a 404 is not retried). Requests run at
 * most `concurrency` at a time and at most `maxRequests` per collection, newest jobs first; what the budget
 * leaves is fetched by the next collections.
 */
import type { Logger } from '../log.js';
import type { Snapshot } from '../aggregate/snapshot.js';
import { loadYoungGenerationHold } from '../pull/gc-nudge.js';
import { PullError } from '../pull/pull-error.js';
import { getJobResource, type DetailsRequestOptions } from '../pull/job-details.js';
import { KNOWN_PROCESSING_STATUSES, OTHER_WORKFLOW_ID, TERMINAL_PROCESSING_STATUSES } from '../vocabulary.js';
import type { DetailsCandidate, DetailsCandidates } from './candidates.js';
import { type FailedDocument, type KnownDetails, MAX_REMEMBERED_DETAILS, type NodeShape } from './known-details.js';
import { DetailsBodyError, OTHER_LABEL, toFailedFiles, toJobDetails } from './records.js';

/** Distinct unknown processing statuses exported; past it, OTHER_LABEL (like job statuses: MAX_UNKNOWN_STATUSES). */
export const MAX_UNKNOWN_PROCESSING_STATUSES = 20;
/** Distinct (node type, subtype) pairs exported per collection; past it, other/other. */
export const MAX_NODE_KINDS = 100;
export const DEFAULT_DETAILS_CONCURRENCY = 4;
/** processing_status values of a job still running (KNOWN_PROCESSING_STATUSES that are not terminal). */
const NOT_FINAL_PROCESSING_STATUSES: ReadonlySet<string> = new Set(
  KNOWN_PROCESSING_STATUSES.filter((s) => !(TERMINAL_PROCESSING_STATUSES as readonly string[]).includes(s)),
);
export const DEFAULT_DETAILS_MAX_REQUESTS = 200;

export { DetailsCandidates, type DetailsCandidate } from './candidates.js';

/** Outcomes of one group of jobs (a workflow, the folded rest, or the total). */
export interface Outcomes {
  /** Jobs by processing_status; every TERMINAL_PROCESSING_STATUSES value present (0 where none). */
  readonly byStatus: Record<string, number>;
  /** By node kind, sorted by type then subtype. */
  readonly nodes: readonly { nodeType: string; nodeSubtype: string; success: number; failure: number }[];
}

/** A job whose details are known in this collection (what the finished-job events publish). */
export interface KnownOutcome {
  readonly id: string;
  readonly workflowId: string;
  readonly finishedAtMs: number;
  readonly filesFailed: number;
  readonly completedWithErrors: boolean;
}

/** What the details stage adds to a collection (lib/collection.ts). */
export interface JobDetailsReport {
  /** Parallel to `snapshot.workflows` (the same MAX_WORKFLOWS folding). */
  readonly workflows: readonly Outcomes[];
  readonly total: Outcomes;
  /** Jobs finished inside the window whose details are known. */
  readonly known: number;
  /** Jobs finished inside the window whose details are not known yet (budget, errors, over the memory bound). */
  readonly pending: number;
  /** Jobs whose details answered 404 (never known; not requested again). */
  readonly unavailable: number;
  /** Jobs whose details the finished-job events already published (state-backed runs): not requested again. */
  readonly publishedEarlier: number;
  /** Requests sent in this collection (details and failed files). */
  readonly requests: number;
  /** Of those, the ones that failed. */
  readonly errors: number;
  /** The most recent failed documents, newest first (MAX_FAILED_DOCUMENTS); empty when hidden. */
  readonly failedDocuments: readonly FailedDocument[];
  /** FAILED_DOCUMENTS=hide: document names and errors are not shown (counts only). */
  readonly failedDocumentsHidden: boolean;
  /** Every job whose details are known, for the finished-job events. */
  readonly jobs: readonly KnownOutcome[];
}

export interface DetailsStageOptions {
  readonly snapshot: Snapshot;
  /** Sorted newest first by the stage (no more adds after it). */
  readonly candidates: DetailsCandidates;
  readonly memory: KnownDetails;
  readonly request: Omit<DetailsRequestOptions, 'deadlineAt'>;
  /** The stage's deadline: no request starts past it (PULL_DEADLINE from the stage's start). */
  readonly deadlineMs: number;
  readonly concurrency: number;
  readonly maxRequests: number;
  readonly logger: Logger;
  /** Jobs whose details were published by the finished-job events (their state): not requested. */
  readonly settled?: (jobId: string) => boolean;
  /** Test seam: replaces the HTTP request. */
  readonly get?: typeof getJobResource;
  /** FAILED_DOCUMENTS=hide. */
  readonly hideDocuments?: boolean;
}

export async function runDetailsStage(options: DetailsStageOptions): Promise<JobDetailsReport> {
  const { memory, logger, candidates } = options;
  const get = options.get ?? getJobResource;
  const now = options.request.now ?? Date.now;
  const deadlineAt = now() + options.deadlineMs;
  const request: DetailsRequestOptions = { ...options.request, deadlineAt };
  // Newest first: the budget goes to the jobs people look at first, the rest follows in later collections.
  // In place, and over the kept candidates only (candidates.ts): no copy of the list is made.
  candidates.sortNewestFirst();
  const inMemory = Math.min(candidates.size, memory.max, MAX_REMEMBERED_DETAILS);
  const overBound = candidates.count - inMemory;
  memory.retainOnly(candidates.ids(inMemory));

  /** What candidate i needs: a request of its details, of its failed files, or nothing. */
  const needs = (id: string): 'details' | 'failed-files' | undefined => {
    if (memory.isGone(id)) return undefined;
    const entry = memory.get(id);
    if (entry === undefined) return options.settled?.(id) === true ? undefined : 'details';
    return entry.failedFilesKnown ? undefined : 'failed-files';
  };

  // The bodies' texts leave the process by the outputs, not by the logger: scrubbed as they are kept.
  const scrub = (text: string): string => logger.scrub(text);
  let requests = 0;
  let errors = 0;
  let firstError: string | undefined;
  const failed = (error: unknown, c: DetailsCandidate, what: string): void => {
    errors++;
    if (error instanceof PullError && error.kind === 'not_found' && what === 'details') memory.forget404(c.id);
    if (firstError === undefined) {
      const text = error instanceof Error ? error.message : String(error);
      firstError = logger.scrub(`${what} of job ${c.id}: ${text}`);
    }
  };
  const fetchFailedFiles = async (c: DetailsCandidate): Promise<void> => {
    requests++;
    try {
      const files = toFailedFiles(await get(c.id, 'failed-files', request), scrub);
      memory.addFailedFiles(c, files.files);
    } catch (error) {
      if (!(error instanceof PullError || error instanceof DetailsBodyError)) throw error;
      // A failed-files list that is not there (404) or too large for good: the counts still come from details.
      if (error instanceof PullError && (error.kind === 'not_found' || error.kind === 'too_large'))
        memory.addFailedFiles(c, []);
      failed(error, c, 'failed-files');
    }
  };
  // The work is found as the workers go (no list of it): only the first maxRequests of it are ever reached.
  let next = 0;
  while (next < inMemory && needs(candidates.idAt(next)) === undefined) next++;
  const worker = async (): Promise<void> => {
    while (next < inMemory) {
      if (requests >= options.maxRequests || now() >= deadlineAt) return;
      const i = next++;
      const id = candidates.idAt(i);
      const what = needs(id);
      if (what === undefined) continue;
      const c = candidates.at(i, id);
      if (what === 'failed-files') {
        await fetchFailedFiles(c);
        continue;
      }
      requests++;
      let entry: ReturnType<KnownDetails['remember']>;
      try {
        const details = toJobDetails(await get(c.id, 'details', request), scrub);
        // Details not final yet (they catch up after the list) are not the job's outcome: remembered, they would
        // stay for good and be published once. Left pending, asked again by the next collection.
        if (NOT_FINAL_PROCESSING_STATUSES.has(details.processingStatus)) continue;
        entry = memory.remember(c.id, details);
      } catch (error) {
        if (!(error instanceof PullError || error instanceof DetailsBodyError)) throw error;
        failed(error, c, 'details');
        continue;
      }
      if (entry !== undefined && !entry.failedFilesKnown && requests < options.maxRequests) await fetchFailedFiles(c);
    }
  };
  const concurrency = Math.max(1, options.concurrency);
  // The young generation is held for the requests as for the pull (lib/pull/gc-nudge.ts): without it, the transport
  // objects surviving scavenges made V8 double the new space, and RSS stayed ~40 MB up (test/reliability-serve.test.ts).
  const release = next >= inMemory ? undefined : (await loadYoungGenerationHold())();
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    release?.();
  }
  if (errors > 0) {
    logger.warn('job details requests failed (job metrics unaffected; retried by a later collection, 404 excepted)', {
      errors,
      requests,
      firstError,
    });
  }
  return summarize(options.snapshot, candidates, memory, {
    inMemory,
    overBound,
    requests,
    errors,
    ...(options.settled !== undefined && { settled: options.settled }),
    hideDocuments: options.hideDocuments === true,
  });
}

/**
 * The sums of a collection, from what `memory` knows of the first `counts.inMemory` candidates (sorted newest first).
 * Pure: the equality tests' subject. `memory` holds only jobs of the window (retainOnly), so its failed documents are.
 */
export function summarize(
  snapshot: Snapshot,
  candidates: DetailsCandidates,
  memory: KnownDetails,
  counts: {
    inMemory: number;
    overBound: number;
    requests: number;
    errors: number;
    /** Jobs whose details the finished-job events published: counted apart when not known here. */
    settled?: (jobId: string) => boolean;
    hideDocuments?: boolean;
  },
): JobDetailsReport {
  const index = new Map<string, number>();
  snapshot.workflows.forEach((wf, i) => index.set(wf.id, i));
  const otherIndex = index.get(OTHER_WORKFLOW_ID);
  // A workflow not exported is in the folded rest; one whose id is literally "other" is either exported alone
  // (no rest) or folded into the rest (aggregator.ts): in both cases the entry with that id.
  const groupOf = (workflowId: string): number | undefined => index.get(workflowId) ?? otherIndex;
  const statusLabels = new Set<string>(KNOWN_PROCESSING_STATUSES);
  let unknownStatuses = 0;
  const statusLabel = (raw: string): string => {
    if (statusLabels.has(raw)) return raw;
    if (raw === OTHER_LABEL || unknownStatuses >= MAX_UNKNOWN_PROCESSING_STATUSES) return OTHER_LABEL;
    unknownStatuses++;
    statusLabels.add(raw);
    return raw;
  };
  // Node kinds past MAX_NODE_KINDS are other/other; worked out once per shape (shared by the jobs of a DAG).
  const nodeKinds = new Set<string>();
  const OTHER_KEY = `${OTHER_LABEL}\u0000${OTHER_LABEL}`;
  const kindKey = (key: string): string => {
    if (nodeKinds.has(key)) return key;
    if (nodeKinds.size >= MAX_NODE_KINDS - 1) return OTHER_KEY;
    nodeKinds.add(key);
    return key;
  };
  const shapeKeys = new Map<NodeShape, string[]>();
  type Acc = { byStatus: Map<string, number>; nodes: Map<string, { success: number; failure: number }> };
  const newAcc = (): Acc => ({ byStatus: new Map(), nodes: new Map() });
  const groups = snapshot.workflows.map(newAcc);
  const total = newAcc();
  const count = (acc: Acc, status: string, keys: readonly string[], counts: readonly number[]) => {
    acc.byStatus.set(status, (acc.byStatus.get(status) ?? 0) + 1);
    for (let k = 0; k < keys.length; k++) {
      const key = keys[k] as string;
      let cell = acc.nodes.get(key);
      if (cell === undefined) acc.nodes.set(key, (cell = { success: 0, failure: 0 }));
      cell.success += counts[2 * k] as number;
      cell.failure += counts[2 * k + 1] as number;
    }
  };
  let known = 0;
  let unavailable = 0;
  let publishedEarlier = 0;
  const jobs: KnownOutcome[] = [];
  for (let i = 0; i < counts.inMemory; i++) {
    const id = candidates.idAt(i);
    if (memory.isGone(id)) {
      unavailable++;
      continue;
    }
    const entry = memory.get(id);
    if (entry === undefined) {
      if (counts.settled?.(id) === true) publishedEarlier++;
      continue;
    }
    known++;
    const status = statusLabel(entry.processingStatus);
    let keys = shapeKeys.get(entry.shape);
    if (keys === undefined) shapeKeys.set(entry.shape, (keys = entry.shape.keys.map(kindKey)));
    const workflowId = candidates.workflowIdAt(i);
    const g = groupOf(workflowId);
    if (g !== undefined) count(groups[g]!, status, keys, entry.counts);
    count(total, status, keys, entry.counts);
    jobs.push({
      id,
      workflowId,
      finishedAtMs: candidates.finishedAtMsAt(i),
      filesFailed: entry.filesFailed,
      completedWithErrors: entry.processingStatus === 'COMPLETED_WITH_ERRORS',
    });
  }
  const finish = (acc: Acc): Outcomes => {
    const byStatus = Object.create(null) as Record<string, number>;
    for (const s of TERMINAL_PROCESSING_STATUSES) byStatus[s] = 0;
    for (const [s, n] of [...acc.byStatus].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) byStatus[s] = n;
    const nodes = [...acc.nodes].map(([key, cell]) => {
      const [nodeType, nodeSubtype] = key.split('\u0000') as [string, string];
      return { nodeType, nodeSubtype, success: cell.success, failure: cell.failure };
    });
    nodes.sort((a, b) =>
      a.nodeType < b.nodeType
        ? -1
        : a.nodeType > b.nodeType
          ? 1
          : a.nodeSubtype < b.nodeSubtype
            ? -1
            : a.nodeSubtype > b.nodeSubtype
              ? 1
              : 0,
    );
    return { byStatus, nodes };
  };
  return {
    workflows: groups.map(finish),
    total: finish(total),
    known,
    pending: counts.inMemory - known - unavailable - publishedEarlier + counts.overBound,
    unavailable,
    publishedEarlier,
    requests: counts.requests,
    errors: counts.errors,
    failedDocuments:
      counts.hideDocuments === true ? [] : memory.documents().filter((d) => memory.get(d.jobId) !== undefined),
    failedDocumentsHidden: counts.hideDocuments === true,
    jobs,
  };
}
