/**
 * The embedded demo: an in-process simulated Unstructured API on 127.0.0.1, started by `npm start` when no
 * API key is configured, so the exporter shows live-looking metrics at once. Same wire format as the real
 * `GET /api/v1/jobs/` (JSON array, application/json, `unstructured-api-key` checked, `workflow_id` and
 * `status` filters). Dependency-free: it ships in the CLI bundle.
 *
 * Simulation: each workflow creates jobs at its own rate (a Poisson process with a daily rhythm, or a
 * fixed schedule). Everything about a job (queue delay, runtime, outcome, type) is drawn once from a seeded
 * PRNG when it is created; its status at any instant then follows from the clock alone:
 * SCHEDULED → IN_PROGRESS → COMPLETED / FAILED / STOPPED. The same seed and start time give the same jobs.
 */
import { mulberry32 } from './common/mulberry32.js';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { demoDetails, demoFailedFiles } from './demo-details.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** History generated at start, so rates, runtimes and failure ratios look real on the first scrape. */
const PREFILLED_HISTORY_MS = 2 * DAY_MS;
/** Jobs older than this are dropped: keeps memory and the response (~4k jobs, ~2 MB) bounded. */
const RETENTION_MS = 7 * DAY_MS;
/** Hard cap on top of the retention, should a clock jump make generation burst. */
const MAX_JOBS = 20_000;
/** Longest simulated run: the demo promises "seconds to an hour", with a little tail beyond. */
const MAX_RUNTIME_S = 5_400;

export interface DemoApiOptions {
  /** PRNG seed; the same seed and start time give the same jobs. */
  readonly seed?: number;
  /** Clock in epoch ms (tests move it forward). */
  readonly now?: () => number;
}

export interface DemoApi {
  /** Base URL without `/api/v1`. */
  readonly url: string;
  readonly apiKey: string;
  close(): Promise<void>;
}

interface DemoWorkflow {
  readonly id: string;
  readonly name: string;
  /** Mean arrivals per hour (Poisson), or undefined for a fixed schedule. */
  readonly perHour?: number;
  /** Fixed schedule period (job_type scheduled). */
  readonly everyMinutes?: number;
  readonly failRate: number;
  readonly stopRate: number;
  /** Share of runs that hang IN_PROGRESS for hours before being stopped (feeds stuck-job alerts). */
  readonly hangRate: number;
  readonly medianRuntimeS: number;
  /** Spread of the log-normal runtime. */
  readonly sigma: number;
  /** Job types with weights; undefined stands for a record without `job_type` (older API versions). */
  readonly jobTypes: ReadonlyArray<readonly [string | undefined, number]>;
  readonly destination: string;
  /** Issue 17: its cron schedule in `GET /api/v1/workflows/` (none: on demand only). */
  readonly schedule?: string;
  /** `inactive` for a workflow switched off; default `active`. */
  readonly state?: 'active' | 'inactive';
  readonly workflowType?: string;
  /** Its jobs stop this long before the demo started: a schedule that silently stopped running, or a switched-off one. */
  readonly silentForMs?: number;
}

const WORKFLOWS: readonly DemoWorkflow[] = [
  {
    id: '3f6c2a1e-8b4d-4c7a-9e21-5d0b7f3a6c01',
    name: 'Invoices → S3',
    perHour: 14,
    failRate: 0.03,
    stopRate: 0.01,
    hangRate: 0,
    medianRuntimeS: 40,
    sigma: 0.7,
    jobTypes: [
      ['ephemeral', 9],
      ['persistent', 1],
    ],
    destination: 's3',
  },
  {
    id: '3f6c2a1e-8b4d-4c7a-9e21-5d0b7f3a6c02',
    name: 'Contracts (legal) → Pinecone',
    perHour: 4,
    failRate: 0.08,
    stopRate: 0.02,
    hangRate: 0.01,
    medianRuntimeS: 420,
    sigma: 0.8,
    jobTypes: [
      ['ephemeral', 7],
      ['template', 1],
    ],
    destination: 'pinecone',
  },
  {
    id: '3f6c2a1e-8b4d-4c7a-9e21-5d0b7f3a6c03',
    name: 'Support tickets → Elasticsearch',
    everyMinutes: 15,
    schedule: '*/15 * * * *',
    workflowType: 'advanced',
    failRate: 0.02,
    stopRate: 0,
    hangRate: 0,
    medianRuntimeS: 90,
    sigma: 0.4,
    jobTypes: [['scheduled', 1]],
    destination: 'elasticsearch',
  },
  {
    id: '3f6c2a1e-8b4d-4c7a-9e21-5d0b7f3a6c04',
    name: 'Résumés → Weaviate (Zürich)',
    perHour: 2,
    failRate: 0.15,
    stopRate: 0.03,
    hangRate: 0,
    medianRuntimeS: 200,
    sigma: 0.9,
    jobTypes: [['ephemeral', 1]],
    destination: 'weaviate',
  },
  {
    id: '3f6c2a1e-8b4d-4c7a-9e21-5d0b7f3a6c05',
    name: 'Quarterly reports → Snowflake',
    perHour: 0.25,
    failRate: 0.05,
    stopRate: 0.05,
    hangRate: 0.02,
    medianRuntimeS: 1_500,
    sigma: 0.5,
    jobTypes: [['persistent', 1]],
    destination: 'snowflake',
  },
  {
    id: '3f6c2a1e-8b4d-4c7a-9e21-5d0b7f3a6c06',
    name: 'SharePoint sync "HR"',
    perHour: 1,
    failRate: 0.35,
    stopRate: 0.02,
    hangRate: 0,
    medianRuntimeS: 60,
    sigma: 1.1,
    jobTypes: [
      ['ephemeral', 2],
      [undefined, 1],
    ],
    destination: 'databricks_volumes',
  },
  // Issue 17: a scheduled workflow that stopped running three hours before the demo started (its schedule is
  // missed at every scrape), and one switched off a day and a half before, with its daily schedule still set.
  {
    id: '3f6c2a1e-8b4d-4c7a-9e21-5d0b7f3a6c07',
    name: 'Hourly CRM export → Postgres',
    everyMinutes: 60,
    schedule: '0 * * * *',
    workflowType: 'basic',
    silentForMs: 3 * HOUR_MS,
    failRate: 0.05,
    stopRate: 0,
    hangRate: 0,
    medianRuntimeS: 120,
    sigma: 0.5,
    jobTypes: [['scheduled', 1]],
    destination: 'postgres',
  },
  {
    id: '3f6c2a1e-8b4d-4c7a-9e21-5d0b7f3a6c08',
    name: 'Daily archive → Azure Blob (paused)',
    everyMinutes: 24 * 60,
    schedule: '0 0 * * *',
    state: 'inactive',
    workflowType: 'platinum',
    silentForMs: 36 * HOUR_MS,
    failRate: 0,
    stopRate: 0,
    hangRate: 0,
    medianRuntimeS: 600,
    sigma: 0.3,
    jobTypes: [['scheduled', 1]],
    destination: 'azure',
  },
];

/** When each demo workflow was created, before the demo started (its inventory record). */
const CREATED_BEFORE_START_MS = 30 * DAY_MS;

/** The record `GET /api/v1/workflows/` would return for a demo workflow (WorkflowInformation). */
function toWorkflowRecord(wf: DemoWorkflow, startMs: number): Record<string, unknown> {
  return {
    id: wf.id,
    name: wf.name,
    status: wf.state ?? 'active',
    created_at: new Date(startMs - CREATED_BEFORE_START_MS).toISOString(),
    updated_at: null,
    workflow_type: wf.workflowType ?? null,
    schedule: wf.schedule === undefined ? null : { crontab_entries: [{ cron_expression: wf.schedule }] },
    sources: [`${wf.id.slice(0, 24)}5ec000000001`],
    destinations: [`${wf.id.slice(0, 24)}d35700000001`],
    workflow_nodes: [],
    reprocess_all: false,
  };
}

type Outcome = 'COMPLETED' | 'FAILED' | 'STOPPED';

interface SimJob {
  readonly id: string;
  readonly workflow: DemoWorkflow;
  readonly createdMs: number;
  readonly startMs: number;
  readonly endMs: number;
  readonly outcome: Outcome;
  readonly jobType: string | undefined;
  readonly inputFiles: number;
}

/** Formats seconds the way pydantic v2 serialises a timedelta: `PT2M30.456S`, `P1DT2H`, `PT0S`. */
export function formatPydanticDuration(seconds: number): string {
  let micros = Math.round(Math.abs(seconds) * 1e6);
  const sign = seconds < 0 ? '-' : '';
  const take = (unit: number) => {
    const n = Math.floor(micros / unit);
    micros -= n * unit;
    return n;
  };
  const days = take(86_400e6);
  const years = Math.floor(days / 365);
  const restDays = days - years * 365;
  const hours = take(3_600e6);
  const minutes = take(60e6);
  const secs = take(1e6);
  const fraction = micros === 0 ? '' : `.${String(micros).padStart(6, '0').replace(/0+$/, '')}`;
  const date = `${years ? `${years}Y` : ''}${restDays ? `${restDays}D` : ''}`;
  const time = `${hours ? `${hours}H` : ''}${minutes ? `${minutes}M` : ''}${secs || fraction ? `${secs}${fraction}S` : ''}`;
  if (date === '' && time === '') return 'PT0S';
  return `${sign}P${date}${time === '' ? '' : `T${time}`}`;
}

/** Busier in the (UTC) working day: a factor between 0.3 and 1.7. */
function dailyRhythm(ms: number): number {
  const hour = (ms % DAY_MS) / HOUR_MS;
  return 1 + 0.7 * Math.sin((2 * Math.PI * (hour - 9)) / 24);
}
const MAX_RHYTHM = 1.7;

class WorkflowSimulation {
  readonly #workflow: DemoWorkflow;
  readonly #random: () => number;
  #nextMs: number;
  /** No job is created after this (silentForMs). */
  readonly #untilMs: number;

  constructor(workflow: DemoWorkflow, seed: number, fromMs: number, startMs: number) {
    this.#workflow = workflow;
    this.#untilMs = workflow.silentForMs === undefined ? Number.POSITIVE_INFINITY : startMs - workflow.silentForMs;
    this.#random = mulberry32(seed);
    if (workflow.everyMinutes !== undefined) {
      const period = workflow.everyMinutes * 60_000;
      this.#nextMs = Math.ceil(fromMs / period) * period;
    } else {
      this.#nextMs = fromMs;
      this.#advanceArrival();
    }
  }

  /** Jobs created in (previous call, toMs], oldest first. */
  *until(toMs: number): Generator<SimJob> {
    while (this.#nextMs <= toMs && this.#nextMs <= this.#untilMs) {
      const createdMs = this.#nextMs;
      if (this.#workflow.everyMinutes !== undefined) this.#nextMs += this.#workflow.everyMinutes * 60_000;
      else this.#advanceArrival();
      yield this.#job(createdMs);
    }
  }

  /** Poisson arrivals thinned by the daily rhythm. */
  #advanceArrival(): void {
    const maxPerMs = ((this.#workflow.perHour ?? 1) * MAX_RHYTHM) / HOUR_MS;
    for (;;) {
      this.#nextMs += -Math.log(1 - this.#random()) / maxPerMs;
      if (this.#random() * MAX_RHYTHM < dailyRhythm(this.#nextMs)) return;
    }
  }

  #normal(): number {
    return Math.sqrt(-2 * Math.log(1 - this.#random())) * Math.cos(2 * Math.PI * this.#random());
  }

  #uuid(): string {
    const hex = Array.from({ length: 4 }, () =>
      ((this.#random() * 4_294_967_296) >>> 0).toString(16).padStart(8, '0'),
    ).join('');
    const variant = ((parseInt(hex[16] ?? '0', 16) & 0x3) | 0x8).toString(16);
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  }

  #job(createdMs: number): SimJob {
    const wf = this.#workflow;
    const random = this.#random;
    const id = this.#uuid();
    const queueS = Math.min(600, Math.max(0.2, 3 * Math.exp(1.1 * this.#normal())));
    let runtimeS = Math.min(MAX_RUNTIME_S, Math.max(0.3, wf.medianRuntimeS * Math.exp(wf.sigma * this.#normal())));
    const roll = random();
    let outcome: Outcome = 'COMPLETED';
    if (roll < wf.hangRate) {
      outcome = 'STOPPED'; // hangs for 2–6 h, then someone stops it
      runtimeS = 7_200 + random() * 14_400;
    } else if (roll < wf.hangRate + wf.failRate) {
      outcome = 'FAILED'; // failures tend to come early
      runtimeS *= 0.05 + 0.95 * random();
    } else if (roll < wf.hangRate + wf.failRate + wf.stopRate) {
      outcome = 'STOPPED';
      runtimeS *= 0.1 + 0.8 * random();
    }
    runtimeS = Math.round(runtimeS * 1000) / 1000;
    const startMs = createdMs + Math.round(queueS * 1000);
    return {
      id,
      workflow: wf,
      createdMs: Math.round(createdMs),
      startMs,
      endMs: startMs + Math.round(runtimeS * 1000),
      outcome,
      jobType: pickWeighted(wf.jobTypes, random()),
      inputFiles: 1 + Math.floor(random() * 4),
    };
  }
}

function pickWeighted<T>(choices: ReadonlyArray<readonly [T, number]>, u: number): T {
  const total = choices.reduce((sum, [, weight]) => sum + weight, 0);
  let left = u * total;
  for (const [value, weight] of choices) {
    left -= weight;
    if (left < 0) return value;
  }
  return (choices[choices.length - 1] as readonly [T, number])[0];
}

/** The record the API would return for `job` at `nowMs`. */
function toRecord(job: SimJob, nowMs: number): Record<string, unknown> {
  const status = nowMs < job.startMs ? 'SCHEDULED' : nowMs < job.endMs ? 'IN_PROGRESS' : job.outcome;
  const done = status === job.outcome;
  const record: Record<string, unknown> = {
    id: job.id,
    workflow_id: job.workflow.id,
    workflow_name: job.workflow.name,
    status,
    created_at: new Date(job.createdMs).toISOString(),
    runtime: done ? formatPydanticDuration((job.endMs - job.startMs) / 1000) : null,
    input_file_ids: Array.from({ length: job.inputFiles }, (_, i) => `${job.id.slice(0, 8)}-input-${i + 1}.pdf`),
    output_node_files:
      status === 'COMPLETED'
        ? [
            {
              node_id: `${job.workflow.id.slice(0, 24)}d35700000001`,
              file_id: `${job.id}.json`,
              node_type: 'destination',
              node_subtype: job.workflow.destination,
            },
          ]
        : null,
  };
  if (job.jobType !== undefined) record.job_type = job.jobType;
  return record;
}

/** All simulated jobs, generated lazily up to "now" and pruned by age. */
class DemoState {
  readonly #simulations: WorkflowSimulation[];
  #jobs: SimJob[] = [];
  #generatedUntil: number;

  constructor(seed: number, startMs: number) {
    const fromMs = startMs - PREFILLED_HISTORY_MS;
    this.#simulations = WORKFLOWS.map(
      (wf, i) => new WorkflowSimulation(wf, (seed * 0x9e3779b1 + i * 0x85ebca6b) >>> 0, fromMs, startMs),
    );
    this.#generatedUntil = fromMs;
  }

  jobsAt(nowMs: number): readonly SimJob[] {
    if (nowMs > this.#generatedUntil) {
      const fresh: SimJob[] = [];
      for (const simulation of this.#simulations) fresh.push(...simulation.until(nowMs));
      fresh.sort((a, b) => a.createdMs - b.createdMs);
      this.#jobs.push(...fresh);
      this.#generatedUntil = nowMs;
    }
    const cutoff = nowMs - RETENTION_MS;
    let drop = 0;
    while (drop < this.#jobs.length && (this.#jobs[drop] as SimJob).createdMs < cutoff) drop++;
    drop = Math.max(drop, this.#jobs.length - MAX_JOBS);
    if (drop > 0) this.#jobs = this.#jobs.slice(drop);
    return this.#jobs;
  }
}

export async function startDemoApi(options: DemoApiOptions = {}): Promise<DemoApi> {
  const now = options.now ?? Date.now;
  const startMs = now();
  const state = new DemoState(options.seed ?? 1, startMs);
  const apiKey = `demo-${randomUUID()}`;
  const workflowList = JSON.stringify(WORKFLOWS.map((wf) => toWorkflowRecord(wf, startMs)));

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://demo');
    if (url.pathname === '/api/v1/workflows/' && req.method === 'GET') {
      if (req.headers['unstructured-api-key'] !== apiKey) return sendJson(res, 401, { detail: 'API key is invalid.' });
      return sendJson(res, 200, undefined, workflowList);
    }
    const detail = /^\/api\/v1\/jobs\/([^/]+)\/(details|failed-files)$/.exec(url.pathname);
    if (detail !== null) return serveDetails(detail[1] as string, detail[2] as string, req.headers, res);
    if (url.pathname !== '/api/v1/jobs/' && url.pathname !== '/api/v1/jobs')
      return sendJson(res, 404, { detail: 'Not Found' });
    if (req.method !== 'GET') return sendJson(res, 405, { detail: 'Method Not Allowed' });
    const key = req.headers['unstructured-api-key'];
    if (key === undefined || key === '') {
      return sendJson(res, 401, { detail: 'API key is missing, please provide an API key in the header.' });
    }
    if (key !== apiKey) return sendJson(res, 401, { detail: 'API key is invalid.' });
    const workflowId = url.searchParams.get('workflow_id');
    const status = url.searchParams.get('status');
    const nowMs = now();
    const parts: string[] = [];
    for (const job of state.jobsAt(nowMs)) {
      if (workflowId !== null && job.workflow.id !== workflowId) continue;
      const record = toRecord(job, nowMs);
      if (status !== null && record.status !== status) continue;
      parts.push(JSON.stringify(record));
    }
    sendJson(res, 200, undefined, `[${parts.join(',')}]`);
  });

  /** A job's details or failed files (lib/demo-details.ts); 404 for a job the demo does not know. */
  function serveDetails(jobId: string, resource: string, headers: IncomingHttpHeaders, res: ServerResponse): void {
    if (headers['unstructured-api-key'] !== apiKey) {
      sendJson(res, 401, { detail: 'API key is invalid.' });
      return;
    }
    const nowMs = now();
    const job = state.jobsAt(nowMs).find((j) => j.id === decodeURIComponent(jobId));
    if (job === undefined) {
      sendJson(res, 404, { detail: 'Not Found' });
      return;
    }
    const status = toRecord(job, nowMs).status as string;
    const known = { id: job.id, status, failRate: job.workflow.failRate, destination: job.workflow.destination };
    sendJson(res, 200, resource === 'details' ? demoDetails(known) : demoFailedFiles(known));
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    apiKey,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown, text = JSON.stringify(body)): void {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}
