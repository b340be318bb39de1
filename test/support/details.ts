/**
 * Jobs with details for the details tests: a job list, what the fake API answers for each job's details and
 * failed files (test/support/fake-api.ts DetailsHandler), and the expected figures computed independently of
 * lib/details/ — straight from the generated data, with plain loops.
 */
import { mulberry32 } from '../../lib/common/mulberry32.js';
import type { DetailsHandler, Scenario } from './fake-api.js';

/** How a job's details endpoint behaves. */
export type Behaviour = 'ok' | 'not-found' | 'error-500' | 'stall' | 'invalid-json' | 'not-an-object';

export interface GeneratedJob {
  readonly record: Record<string, unknown>;
  readonly behaviour: Behaviour;
  /** Undefined for not terminal or no runtime. */
  readonly finishedAtMs: number | undefined;
  readonly details?: Record<string, unknown>;
  readonly failedFiles?: { document: string; error: string }[];
}

const HOSTILE_NODE_TYPES = [
  'partition',
  'chunk',
  'embed',
  'destination',
  'type "quoted" \\ back\nslash',
  '</script><b>x</b>',
  null,
  undefined,
  'x'.repeat(65), // longer than MAX_DETAIL_LABEL_CHARS: "other"
] as const;
const SUBTYPES = ['unstructured_api', 's3', 'by_title', null, undefined, 'Zürich 日本語'] as const;
const PROCESSING = ['SUCCESS', 'COMPLETED_WITH_ERRORS', 'FAILED', 'STOPPED', 'weird_new_status'] as const;

/** A deterministic pseudo-random source (mulberry32). */
export const random = mulberry32;

const pick = <T>(rand: () => number, values: readonly T[]): T => values[Math.floor(rand() * values.length)] as T;

function uuid(n: number, prefix: string): string {
  return `${prefix}-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
}

/** `count` jobs over `workflows` workflows, created before `nowMs`; each with a details behaviour. */
export function generateJobs(
  nowMs: number,
  options: { count: number; workflows: number; seed: number; behaviours?: readonly Behaviour[] },
): GeneratedJob[] {
  const rand = random(options.seed);
  const behaviours = options.behaviours ?? ['ok', 'ok', 'ok', 'ok', 'ok', 'not-found', 'error-500', 'invalid-json'];
  const out: GeneratedJob[] = [];
  for (let i = 0; i < options.count; i++) {
    const w = Math.floor(rand() * options.workflows);
    const status = pick(rand, ['COMPLETED', 'COMPLETED', 'FAILED', 'STOPPED', 'IN_PROGRESS', 'SCHEDULED']);
    const ageS = Math.floor(rand() * 2 * 86400); // half the jobs outside a 24 h window
    const runtimeS = Math.floor(rand() * 600);
    const createdAtMs = nowMs - ageS * 1000;
    const terminal = status === 'COMPLETED' || status === 'FAILED' || status === 'STOPPED';
    const hasRuntime = terminal && runtimeS <= ageS;
    const record: Record<string, unknown> = {
      id: uuid(i, '11111111-2222'),
      workflow_id: uuid(w, 'aaaaaaaa-bbbb'),
      workflow_name: `wf ${w} "x"`,
      status,
      created_at: new Date(createdAtMs).toISOString(),
      ...(hasRuntime && { runtime: `PT${runtimeS}S` }),
    };
    const nodes = Array.from({ length: 1 + Math.floor(rand() * 4) }, () => {
      const node: Record<string, unknown> = {
        node_name: pick(rand, ['a', 'b\n"c"']),
        ready: 0,
        in_progress: 0,
        success: Math.floor(rand() * 20),
        failure: rand() < 0.4 ? Math.floor(rand() * 5) : 0,
      };
      const type = pick(rand, HOSTILE_NODE_TYPES);
      const subtype = pick(rand, SUBTYPES);
      if (type !== undefined) node.node_type = type;
      if (subtype !== undefined) node.node_subtype = subtype;
      return node;
    });
    const details = {
      id: record.id,
      processing_status: pick(rand, PROCESSING),
      node_stats: nodes,
      ...(rand() < 0.5 && { message: 'm'.repeat(100) }),
    };
    const failures = nodes.reduce((n, node) => n + (node.failure as number), 0);
    const failedFiles = Array.from({ length: failures }, (_, k) => ({
      document: `doc-${i}-${k} <script>"x"</script>.pdf`,
      error: `Error ${k}: partition failed\nline two & <b>`,
    }));
    out.push({
      record,
      behaviour: pick(rand, behaviours),
      finishedAtMs: hasRuntime ? createdAtMs + runtimeS * 1000 : undefined,
      details,
      failedFiles,
    });
  }
  return out;
}

/** What the fake API answers for these jobs. */
export function detailsHandler(jobs: readonly GeneratedJob[], counts?: Map<string, number>): DetailsHandler {
  const byId = new Map(jobs.map((j) => [j.record.id as string, j]));
  return (jobId, resource) => {
    counts?.set(`${jobId} ${resource}`, (counts.get(`${jobId} ${resource}`) ?? 0) + 1);
    const job = byId.get(jobId);
    if (job === undefined) return undefined;
    const json = (body: unknown): Scenario => ({ kind: 'status', status: 200, body });
    if (resource === 'failed-files')
      return job.behaviour === 'ok' ? json({ failed_files: job.failedFiles }) : undefined;
    switch (job.behaviour) {
      case 'ok':
        return json(job.details);
      case 'not-found':
        return undefined;
      case 'error-500':
        return { kind: 'status', status: 500, body: 'Internal Server Error', contentType: 'text/plain' };
      case 'stall':
        return { kind: 'stall-headers' };
      case 'invalid-json':
        return { kind: 'raw', status: 200, contentType: 'application/json', body: '{"processing_status": "SUC' };
      case 'not-an-object':
        return json([1, 2, 3]);
    }
  };
}

/** The label of a node type or subtype, computed independently (absent/null → unknown, > 64 chars → other). */
function label(value: unknown): string {
  if (typeof value !== 'string') return 'unknown';
  if (value.length > 64) return 'other';
  return value === '' ? 'unknown' : value;
}

export interface ExpectedOutcomes {
  /** workflow id → processing status → jobs. */
  readonly outcomes: Map<string, Map<string, number>>;
  /** workflow id → `type|subtype|outcome` → files. */
  readonly nodeFiles: Map<string, Map<string, number>>;
  readonly pending: number;
  /** Jobs in the window whose details requests fail (every collection). */
  readonly failing: number;
}

/** The figures of one collection at `nowMs` with a 24 h window, every workflow exported, budget not limiting. */
export function expectedOutcomes(
  jobs: readonly GeneratedJob[],
  nowMs: number,
  windowSeconds: number,
): ExpectedOutcomes {
  const outcomes = new Map<string, Map<string, number>>();
  const nodeFiles = new Map<string, Map<string, number>>();
  let pending = 0;
  let failing = 0;
  for (const job of jobs) {
    if (job.finishedAtMs === undefined || job.finishedAtMs < nowMs - windowSeconds * 1000) continue;
    const wf = job.record.workflow_id as string;
    if (!outcomes.has(wf)) {
      outcomes.set(wf, new Map(['SUCCESS', 'COMPLETED_WITH_ERRORS', 'FAILED', 'STOPPED'].map((s) => [s, 0])));
      nodeFiles.set(wf, new Map());
    }
    if (job.behaviour === 'not-found') continue;
    if (job.behaviour !== 'ok') {
      pending++;
      failing++;
      continue;
    }
    const d = job.details as { processing_status: string; node_stats: Record<string, unknown>[] };
    const o = outcomes.get(wf) as Map<string, number>;
    o.set(d.processing_status, (o.get(d.processing_status) ?? 0) + 1);
    const files = nodeFiles.get(wf) as Map<string, number>;
    for (const node of d.node_stats) {
      for (const outcome of ['success', 'failure'] as const) {
        const key = `${label(node.node_type)}|${label(node.node_subtype)}|${outcome}`;
        files.set(key, (files.get(key) ?? 0) + (node[outcome] as number));
      }
    }
  }
  return { outcomes, nodeFiles, pending, failing };
}
