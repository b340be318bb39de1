/**
 * The details remembered between collections (`serve`, the /metrics Lambda, a warm scheduled Lambda): a finished
 * job's details never change, so each is requested once while it is remembered. Bounded twice:
 * - only jobs of the current runtime window are kept (retainOnly, at every collection: a job that left the window
 *   never comes back into it);
 * - at most MAX_REMEMBERED_DETAILS jobs (the stage never asks for more: older jobs of a window holding more are
 *   left out and counted as pending).
 * Failed documents are not kept per job: only the MAX_FAILED_DOCUMENTS most recent of all jobs (what the status
 * page shows), so a job with thousands of failures costs no more than one without.
 * Memory: ~300 bytes a job (a UUID key, a small record, its nodes' counts; labels are interned), so ~15 MB at
 * the bound (docs/performance.md, "Memory bounds").
 */
import type { FailedFile, JobDetails, NodeFiles } from './records.js';

/** Jobs whose details are remembered at most (see the top of the file). */
export const MAX_REMEMBERED_DETAILS = 50_000;
/** Failed documents shown (status page, `collect --format json`): the most recent of all jobs. */
export const MAX_FAILED_DOCUMENTS = 50;
/** Distinct label strings interned (statuses); past it, strings are kept as they come. */
const MAX_INTERNED_LABELS = 4096;
/** Distinct node shapes shared between jobs; past it, each job keeps its own. */
const MAX_SHAPES = 4096;

/**
 * The node kinds of a job, in order: shared by every job of the same DAG (most jobs of a workflow), so that a job
 * keeps only its counts. `keys[k]` is `type NUL subtype`, the aggregation's key.
 */
export interface NodeShape {
  readonly types: readonly string[];
  readonly subtypes: readonly string[];
  readonly keys: readonly string[];
}

export interface RememberedDetails {
  readonly processingStatus: string;
  readonly shape: NodeShape;
  /** success and failure of node k at 2k and 2k + 1 (small integers: a plain array of them is compact). */
  readonly counts: readonly number[];
  readonly filesFailed: number;
  /** False while the job has failures but its failed files are not known yet (requested again later). */
  failedFilesKnown: boolean;
}

/** The nodes of a remembered job, as parsed. */
export function nodesOf(entry: RememberedDetails): NodeFiles[] {
  return entry.shape.keys.map((_, k) => ({
    nodeType: entry.shape.types[k] as string,
    nodeSubtype: entry.shape.subtypes[k] as string,
    success: entry.counts[2 * k] as number,
    failure: entry.counts[2 * k + 1] as number,
  }));
}

/** One failed document as shown. */
export interface FailedDocument {
  readonly jobId: string;
  readonly workflowId: string;
  readonly finishedAtMs: number;
  /** The job's nodes that failed files, as `type/subtype` (the failed-files list does not say which node). */
  readonly node: string;
  readonly document: string;
  readonly error: string;
}

export class KnownDetails {
  readonly max: number;
  #entries = new Map<string, RememberedDetails>();
  /** Jobs whose details answered 404: not requested again while remembered. */
  #gone = new Set<string>();
  readonly #labels = new Map<string, string>();
  readonly #shapes = new Map<string, NodeShape>();
  /** Newest first, at most MAX_FAILED_DOCUMENTS. */
  #documents: FailedDocument[] = [];

  constructor(max = MAX_REMEMBERED_DETAILS) {
    this.max = max;
  }

  get size(): number {
    return this.#entries.size + this.#gone.size;
  }

  get(jobId: string): RememberedDetails | undefined {
    return this.#entries.get(jobId);
  }

  isGone(jobId: string): boolean {
    return this.#gone.has(jobId);
  }

  /** Remembers a job's details (false when full: the caller leaves it pending). */
  remember(jobId: string, details: JobDetails): RememberedDetails | undefined {
    if (!this.#entries.has(jobId) && this.size >= this.max) return undefined;
    const counts: number[] = [];
    for (const n of details.nodes) counts.push(n.success, n.failure);
    const entry: RememberedDetails = {
      processingStatus: this.#intern(details.processingStatus),
      shape: this.#shape(details.nodes),
      counts,
      filesFailed: details.filesFailed,
      failedFilesKnown: details.filesFailed === 0,
    };
    this.#entries.set(jobId, entry);
    return entry;
  }

  forget404(jobId: string): void {
    if (this.size < this.max) this.#gone.add(jobId);
  }

  /** The failed files of a remembered job: its documents join the most recent ones if recent enough. */
  addFailedFiles(
    job: { readonly id: string; readonly workflowId: string; readonly finishedAtMs: number },
    files: readonly FailedFile[],
  ): void {
    const entry = this.#entries.get(job.id);
    if (entry === undefined) return;
    entry.failedFilesKnown = true;
    const node = nodesOf(entry)
      .filter((n) => n.failure > 0)
      .map((n) => `${n.nodeType}/${n.nodeSubtype}`)
      .join(', ');
    const added = files.map((f, i) => ({ ...f, i }));
    const merged = [
      ...this.#documents.map((d, i) => ({ d, i })),
      ...added.map(({ document, error, i }) => ({
        d: { jobId: job.id, workflowId: job.workflowId, finishedAtMs: job.finishedAtMs, node, document, error },
        i,
      })),
    ];
    // Newest job first; within a job, the API's order.
    merged.sort(
      (a, b) =>
        b.d.finishedAtMs - a.d.finishedAtMs ||
        (a.d.jobId < b.d.jobId ? -1 : a.d.jobId > b.d.jobId ? 1 : 0) ||
        a.i - b.i,
    );
    this.#documents = merged.slice(0, MAX_FAILED_DOCUMENTS).map(({ d }) => d);
  }

  /** The most recent failed documents, newest first. */
  documents(): readonly FailedDocument[] {
    return this.#documents;
  }

  /**
   * Forgets every job not in `jobIds` (those that left the window, or past the bound). The ids are walked once
   * (the stage makes them one by one from its candidates): what they name is moved into new tables.
   */
  retainOnly(jobIds: Iterable<string>): void {
    const entries = new Map<string, RememberedDetails>();
    const gone = new Set<string>();
    for (const id of jobIds) {
      const entry = this.#entries.get(id);
      if (entry !== undefined) entries.set(id, entry);
      else if (this.#gone.has(id)) gone.add(id);
    }
    this.#entries = entries;
    this.#gone = gone;
    this.#documents = this.#documents.filter((d) => entries.has(d.jobId));
  }

  #shape(nodes: readonly NodeFiles[]): NodeShape {
    const keys = nodes.map((n) => `${n.nodeType}\u0000${n.nodeSubtype}`);
    const id = keys.join('\u0001');
    const known = this.#shapes.get(id);
    if (known !== undefined) return known;
    const shape: NodeShape = { types: nodes.map((n) => n.nodeType), subtypes: nodes.map((n) => n.nodeSubtype), keys };
    if (this.#shapes.size < MAX_SHAPES) this.#shapes.set(id, shape);
    return shape;
  }

  #intern(label: string): string {
    const known = this.#labels.get(label);
    if (known !== undefined) return known;
    if (this.#labels.size < MAX_INTERNED_LABELS) this.#labels.set(label, label);
    return label;
  }
}
