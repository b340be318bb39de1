/**
 * The embedded demo's job details and failed files (`GET /api/v1/jobs/{id}/details`, `…/failed-files`), so that
 * `npm start` shows outcomes, node files and failed documents. Everything is drawn from the job's id (a seeded
 * PRNG per job): the same job always has the same details, and generating them consumes nothing of the job
 * list's own simulation.
 *
 * A finished COMPLETED job is SUCCESS, or, for a share that grows with its workflow's failure rate,
 * COMPLETED_WITH_ERRORS with a few documents failing at the partitioner or the embedder (the list still says
 * COMPLETED); a FAILED job failed every document at one node; a STOPPED one left documents `ready`.
 */
import { mulberry32 } from './common/mulberry32.js';

/** What the demo knows of a job to make its details. */
export interface DemoDetailsJob {
  readonly id: string;
  /** COMPLETED, FAILED, STOPPED, or a pending status. */
  readonly status: string;
  readonly failRate: number;
  readonly destination: string;
}

/** mulberry32 seeded from the id (FNV-1a). */
function randomFor(id: string): () => number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return mulberry32(h);
}

const ERRORS = [
  'PDF is encrypted: a password is required to open it',
  'Partitioning timed out after 300 s',
  'Unsupported file type: application/x-msdownload',
  'Embedding request rejected: input exceeds the model context length (8192 tokens)',
  'Image could not be decoded (truncated JPEG data)',
] as const;

interface Plan {
  readonly processingStatus: string;
  readonly documents: number;
  /** Index of the node where documents failed (1 partition, 3 embed), and how many. */
  readonly failedAt: number;
  readonly failed: number;
  /** Documents a STOPPED job never processed. */
  readonly unprocessed: number;
}

function plan(job: DemoDetailsJob): Plan {
  const random = randomFor(job.id);
  const documents = 3 + Math.floor(random() * 18);
  const roll = random();
  const failedAt = random() < 0.7 ? 1 : 3;
  if (job.status === 'FAILED')
    return { processingStatus: 'FAILED', documents, failedAt, failed: documents, unprocessed: 0 };
  if (job.status === 'STOPPED') {
    const unprocessed = 1 + Math.floor(random() * documents);
    return { processingStatus: 'STOPPED', documents, failedAt, failed: 0, unprocessed };
  }
  if (job.status === 'COMPLETED' && roll < Math.min(0.6, job.failRate * 3 + 0.05)) {
    const failed = 1 + Math.floor(random() * Math.max(1, Math.floor(documents / 3)));
    return { processingStatus: 'COMPLETED_WITH_ERRORS', documents, failedAt, failed, unprocessed: 0 };
  }
  if (job.status === 'COMPLETED')
    return { processingStatus: 'SUCCESS', documents, failedAt, failed: 0, unprocessed: 0 };
  return { processingStatus: job.status, documents, failedAt, failed: 0, unprocessed: documents };
}

/** The details body of a job. */
export function demoDetails(job: DemoDetailsJob): Record<string, unknown> {
  const p = plan(job);
  const nodes: [string, string, string][] = [
    ['Source', 'source', 'local'],
    ['Partitioner', 'partition', 'unstructured_api'],
    ['Chunker', 'chunk', 'chunk_by_title'],
    ['Embedder', 'embed', 'openai'],
    ['Destination', 'destination', job.destination],
  ];
  let flowing = p.documents - p.unprocessed;
  const node_stats = nodes.map(([node_name, node_type, node_subtype], i) => {
    const failure = i === p.failedAt ? Math.min(p.failed, flowing) : 0;
    const success = flowing - failure;
    flowing = success;
    return {
      node_name,
      node_type,
      node_subtype,
      ready: i === 0 ? p.unprocessed : 0,
      in_progress: 0,
      success,
      failure,
    };
  });
  return {
    id: job.id,
    processing_status: p.processingStatus,
    node_stats,
    message: p.failed > 0 ? `${p.failed} of ${p.documents} documents failed` : null,
  };
}

/** The failed-files body of a job. */
export function demoFailedFiles(job: DemoDetailsJob): Record<string, unknown> {
  const p = plan(job);
  const random = randomFor(`${job.id}/failed`);
  const failed_files = Array.from({ length: p.failed }, (_, k) => ({
    document: `${job.id.slice(0, 8)}-document-${k + 1}.pdf`,
    error: ERRORS[Math.floor(random() * ERRORS.length)] as string,
  }));
  return { failed_files };
}
