/**
 * A job's details and failed files (`GET /api/v1/jobs/{id}/details`, `…/failed-files`; shared reference
 * unstructured-jobs-api.md, "Job details") → small bounded records. The bodies are the API's free text: node
 * names, types, errors and document names may be anything, so every string kept is cut, made one line and
 * well-formed here, and the number of nodes and documents kept per job is bounded. Label bounding across jobs
 * (how many distinct node types or statuses are exported) is the aggregation's (outcomes.ts).
 */
import { cutText, oneLine, wellFormed } from '../common/text.js';
import { UNKNOWN_NODE_LABEL } from '../vocabulary.js';

/** Longest processing status, node type or subtype kept as given; a longer one is OTHER_LABEL (like job statuses). */
export const MAX_DETAIL_LABEL_CHARS = 64;
/** The folded rest of node types/subtypes and processing statuses past their bounds. */
export const OTHER_LABEL = 'other';
/**
 * Distinct (type, subtype) pairs kept per job: a workflow DAG has a handful of nodes (source, partitioner,
 * chunker, embedder, destination); past this, the rest of one job's nodes is summed under other/other.
 */
export const MAX_NODES_PER_JOB = 32;
/** Failed documents kept per job: the status page shows the 50 most recent of all jobs (MAX_FAILED_DOCUMENTS). */
export const MAX_FAILED_DOCUMENTS_PER_JOB = 50;
/** Longest document name and error shown, in code points (both are free text of any length). */
export const MAX_DOCUMENT_CHARS = 200;
export const MAX_ERROR_CHARS = 300;

/** Files of one node kind in a job's details (summed over the job's nodes of that type and subtype). */
export interface NodeFiles {
  readonly nodeType: string;
  readonly nodeSubtype: string;
  readonly success: number;
  readonly failure: number;
}

/** What the exporter keeps of a job's details. */
export interface JobDetails {
  /** `processing_status` as sent, made well-formed; OTHER_LABEL when longer than MAX_DETAIL_LABEL_CHARS. */
  readonly processingStatus: string;
  /** By (type, subtype), in first-seen order; at most MAX_NODES_PER_JOB entries. */
  readonly nodes: readonly NodeFiles[];
  /** Sum of `failure` over every node (what FilesFailed publishes). */
  readonly filesFailed: number;
  readonly filesSucceeded: number;
}

export interface FailedFile {
  readonly document: string;
  readonly error: string;
}

/** The failed files of a job as kept: at most MAX_FAILED_DOCUMENTS_PER_JOB, and how many the body listed. */
export interface FailedFiles {
  readonly files: readonly FailedFile[];
  readonly total: number;
}

/** A body the exporter cannot use: why, in a few words (never the body itself). */
export class DetailsBodyError extends Error {
  override readonly name = 'DetailsBodyError';
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A count of files: a non-negative safe integer. */
const isCount = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

/**
 * Removes registered secrets from a text (Logger.scrub): an upstream may echo the API key in any text of a body,
 * and these texts reach the exposition, the status page and the JSON, which the logger's scrubbing never sees.
 */
export type Scrub = (text: string) => string;
const asIs: Scrub = (text) => text;

/** A label value from the API: wellFormed, OTHER_LABEL past MAX_DETAIL_LABEL_CHARS, UNKNOWN_NODE_LABEL when absent/null/empty. */
export function detailLabel(value: unknown, scrub: Scrub = asIs): string {
  if (typeof value !== 'string') return UNKNOWN_NODE_LABEL;
  if (value.length > MAX_DETAIL_LABEL_CHARS) return OTHER_LABEL;
  // NUL separates type and subtype in the aggregation's keys (stage.ts): never part of a label.
  const shown = wellFormed(scrub(value)).replace(/\u0000/g, '\uFFFD');
  return shown === '' ? UNKNOWN_NODE_LABEL : shown;
}

/** Free text shown to people: one line, at most `max` code points, well-formed. */
export function shownText(value: string, max: number, scrub: Scrub = asIs): string {
  // Cut first (bounded cost whatever the length), scrub before the last cut (a key cut short is still scrubbed,
  // and [REDACTED] does not push the text past `max`), then one line, then cut again (oneLine only shortens).
  return wellFormed(cutText(oneLine(scrub(cutText(value, max * 4))), max));
}

/**
 * JobDetails from a parsed body; throws DetailsBodyError when it is not one (not an object, no string
 * processing_status, node_stats not an array, a node whose `success` or `failure` is not a count).
 */
export function toJobDetails(raw: unknown, scrub: Scrub = asIs): JobDetails {
  if (!isRecord(raw)) throw new DetailsBodyError('details body is not a JSON object');
  const status = raw.processing_status;
  if (typeof status !== 'string' || status === '')
    throw new DetailsBodyError('details body has no processing_status string');
  const stats = raw.node_stats ?? [];
  if (!Array.isArray(stats)) throw new DetailsBodyError('details node_stats is not an array');
  const byPair = new Map<string, { nodeType: string; nodeSubtype: string; success: number; failure: number }>();
  let filesFailed = 0;
  let filesSucceeded = 0;
  for (const node of stats) {
    if (!isRecord(node)) throw new DetailsBodyError('a details node is not an object');
    const { success, failure } = node;
    if (!isCount(success) || !isCount(failure))
      throw new DetailsBodyError('a details node has no whole, non-negative success and failure counts');
    let nodeType = detailLabel(node.node_type, scrub);
    let nodeSubtype = detailLabel(node.node_subtype, scrub);
    let key = `${nodeType}\u0000${nodeSubtype}`;
    if (!byPair.has(key) && byPair.size >= MAX_NODES_PER_JOB - 1) {
      nodeType = OTHER_LABEL;
      nodeSubtype = OTHER_LABEL;
      key = `${OTHER_LABEL}\u0000${OTHER_LABEL}`;
    }
    let entry = byPair.get(key);
    if (entry === undefined) byPair.set(key, (entry = { nodeType, nodeSubtype, success: 0, failure: 0 }));
    entry.success += success;
    entry.failure += failure;
    filesFailed += failure;
    filesSucceeded += success;
  }
  if (!Number.isSafeInteger(filesFailed) || !Number.isSafeInteger(filesSucceeded))
    throw new DetailsBodyError('details file counts add up past 2^53');
  return {
    processingStatus: status.length > MAX_DETAIL_LABEL_CHARS ? OTHER_LABEL : wellFormed(scrub(status)),
    nodes: [...byPair.values()],
    filesFailed,
    filesSucceeded,
  };
}

/** FailedFiles from a parsed body; throws DetailsBodyError when it is not `{failed_files: [{document, error}]}`. */
export function toFailedFiles(raw: unknown, scrub: Scrub = asIs): FailedFiles {
  if (!isRecord(raw) || !Array.isArray(raw.failed_files))
    throw new DetailsBodyError('failed-files body has no failed_files array');
  const files: FailedFile[] = [];
  for (const entry of raw.failed_files) {
    if (files.length >= MAX_FAILED_DOCUMENTS_PER_JOB) break;
    if (!isRecord(entry)) continue;
    const document = typeof entry.document === 'string' ? shownText(entry.document, MAX_DOCUMENT_CHARS, scrub) : '';
    const error = typeof entry.error === 'string' ? shownText(entry.error, MAX_ERROR_CHARS, scrub) : '';
    files.push({ document: document === '' ? '(unnamed)' : document, error });
  }
  return { files, total: raw.failed_files.length };
}
