/**
 * A fake Unstructured Platform API for tests (shared/reference/unstructured-jobs-api.md), on 127.0.0.1:0.
 *
 * Default behaviour, like the real service: `GET /api/v1/jobs/` checks `unstructured-api-key`, applies the
 * `workflow_id` and `status` filters (exact, case-sensitive match) and streams the job list as a JSON array
 * in chunks. A scenario queue overrides that: each request consumes the next scenario (answered without the
 * key check); when the queue is empty the default behaviour resumes.
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';

export const FAKE_API_KEY = 'fake-key-7c1d0e2b9a5f4c3e8d6b';

/** The wording of the real service for a missing key (API reference). */
export const MISSING_KEY_DETAIL = 'API key is missing, please provide an API key in the header.';
/** Wording for a wrong key: inferred, the reference does not show it. */
export const INVALID_KEY_DETAIL = 'API key is invalid.';

/** A pydantic v2 validation error, as FastAPI sends it with 422. */
export const PYDANTIC_422_BODY = {
  detail: [
    {
      type: 'uuid_parsing',
      loc: ['query', 'workflow_id'],
      msg: 'Input should be a valid UUID, invalid character: expected an optional prefix of `urn:uuid:` followed by [0-9a-fA-F-], found `x` at 1',
      input: 'xyz',
    },
    { type: 'string_type', loc: ['query', 'status'], msg: 'Input should be a valid string', input: 3 },
  ],
} as const;

export type JobsSource = readonly object[] | (() => Iterable<object>);
export type WorkflowsSource = readonly unknown[];

export type Scenario =
  /** A status with a JSON body (or a string body sent as-is with `contentType`). */
  | {
      readonly kind: 'status';
      readonly status: number;
      readonly body?: unknown;
      readonly contentType?: string;
      readonly headers?: Readonly<Record<string, string>>;
    }
  /** Any status, content-type and raw body (invalid JSON, a 200 object, text/html …). */
  | { readonly kind: 'raw'; readonly status: number; readonly contentType: string; readonly body: string }
  /** Accepts the request and never answers. */
  | { readonly kind: 'stall-headers' }
  /** 200 and the first `afterBytes` of the job list, then silence (connection kept open). */
  | { readonly kind: 'stall-body'; readonly afterBytes: number }
  /** The job list, `bytesPerTick` bytes every `intervalMs`. */
  | { readonly kind: 'trickle'; readonly intervalMs: number; readonly bytesPerTick: number }
  /** content-length of the whole job list, only `afterBytes` of it sent, then the socket destroyed. */
  | { readonly kind: 'truncate'; readonly afterBytes: number }
  /** The job list compressed, with `content-encoding`. */
  | { readonly kind: 'compressed'; readonly encoding: 'gzip' | 'deflate' }
  /** The socket is reset as soon as the request arrives. */
  | { readonly kind: 'reset' };

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly headers: IncomingHttpHeaders;
}

/**
 * What `GET /api/v1/jobs/{id}/details` and `…/failed-files` answer (after the key check): a scenario (`status`
 * with a JSON body for a normal answer), or undefined for 404. These paths never consume the scenario queue.
 */
export type DetailsHandler = (jobId: string, resource: 'details' | 'failed-files') => Scenario | undefined;

export interface FakeApiOptions {
  readonly apiKey?: string;
  readonly jobs?: JobsSource;
  /** Issue 17: what `GET /api/v1/workflows/` lists (default none); any JSON values, broken records included. */
  readonly workflows?: WorkflowsSource;
  /**
   * How `GET /api/v1/workflows/` pages (`page` from 1, `page_size`): its default page size (default: all on page 1,
   * later pages empty), or `'ignore'` for a server that answers every page with the whole list.
   */
  readonly workflowsPageSize?: number | 'ignore';
  readonly details?: DetailsHandler;
  /** Size of each body write when streaming the list. */
  readonly chunkBytes?: number;
}

export interface FakeApi {
  /** Base URL without `/api/v1`. */
  readonly url: string;
  readonly apiKey: string;
  readonly requests: RecordedRequest[];
  /**
   * Issue 17: requests of `/api/v1/workflows/`, kept apart from `requests` (the job list's), and answered from
   * their own scenario queue: the workflows request runs beside the job list's and must not take its scenarios.
   */
  readonly workflowRequests: RecordedRequest[];
  setJobs(jobs: JobsSource): void;
  setDetails(handler: DetailsHandler | undefined): void;
  /** Replaces the scenario queue. */
  setScenario(scenarios: Scenario | readonly Scenario[]): void;
  setWorkflows(workflows: WorkflowsSource): void;
  /** Replaces the workflows request's scenario queue (the body, where one is sent, is the workflow list). */
  setWorkflowsScenario(scenarios: Scenario | readonly Scenario[]): void;
  close(): Promise<void>;
}

const DEFAULT_CHUNK_BYTES = 16 * 1024;

/** Typical bodies for error statuses, shaped like FastAPI's or a load balancer's. */
export function errorScenario(status: number, headers?: Readonly<Record<string, string>>): Scenario {
  const extra = headers === undefined ? {} : { headers };
  switch (status) {
    case 401:
      return { kind: 'status', status, body: { detail: MISSING_KEY_DETAIL }, ...extra };
    case 403:
      return { kind: 'status', status, body: { detail: 'Not authorized to list jobs of this organization' }, ...extra };
    case 404:
      return { kind: 'status', status, body: { detail: 'Not Found' }, ...extra };
    case 422:
      return { kind: 'status', status, body: PYDANTIC_422_BODY, ...extra };
    case 429:
      return { kind: 'status', status, body: { detail: 'Too Many Requests' }, ...extra };
    case 500:
      return {
        kind: 'status',
        status,
        body: 'Internal Server Error',
        contentType: 'text/plain; charset=utf-8',
        ...extra,
      };
    case 502:
      return {
        kind: 'status',
        status,
        body: '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n',
        contentType: 'text/html',
        ...extra,
      };
    case 503:
      return { kind: 'status', status, body: { detail: 'Service Unavailable' }, ...extra };
    default:
      return { kind: 'status', status, body: { detail: `HTTP ${status}` }, ...extra };
  }
}

export async function startFakeApi(options: FakeApiOptions = {}): Promise<FakeApi> {
  const apiKey = options.apiKey ?? FAKE_API_KEY;
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  let jobs: JobsSource = options.jobs ?? [];
  let details: DetailsHandler | undefined = options.details;
  let queue: Scenario[] = [];
  const requests: RecordedRequest[] = [];
  let workflows: WorkflowsSource = options.workflows ?? [];
  let workflowsQueue: Scenario[] = [];
  const workflowRequests: RecordedRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const query = Object.fromEntries(url.searchParams);
    if (url.pathname === '/api/v1/workflows/') {
      workflowRequests.push({ method: req.method ?? '', path: url.pathname, query, headers: req.headers });
      // Elements are serialised one by one with JSON.stringify, whatever they are (a number is a broken record).
      const pageSize = Number(query.page_size ?? options.workflowsPageSize ?? Number.POSITIVE_INFINITY);
      const page = Number(query.page ?? 1);
      const listed = () => {
        const all = workflows as readonly object[];
        if (options.workflowsPageSize === 'ignore') return all;
        if (!Number.isFinite(pageSize)) return page === 1 ? all : [];
        return all.slice((page - 1) * pageSize, page * pageSize);
      };
      const next = workflowsQueue.shift();
      if (next !== undefined) return play(next, res, listed);
      const key = req.headers['unstructured-api-key'];
      if (key === undefined || key === '') return sendJson(res, 401, { detail: MISSING_KEY_DETAIL });
      if (key !== apiKey) return sendJson(res, 401, { detail: INVALID_KEY_DETAIL });
      return void streamJobs(res, listed(), chunkBytes);
    }
    requests.push({ method: req.method ?? '', path: url.pathname, query, headers: req.headers });
    const filtered = () => filterJobs(jobs, query);

    const detail = /^\/api\/v1\/jobs\/([^/]+)\/(details|failed-files)$/.exec(url.pathname);
    if (detail !== null) {
      const key = req.headers['unstructured-api-key'];
      if (key !== apiKey) return sendJson(res, 401, { detail: INVALID_KEY_DETAIL });
      const answer = details?.(decodeURIComponent(detail[1] as string), detail[2] as 'details' | 'failed-files');
      if (answer === undefined) return sendJson(res, 404, { detail: 'Not Found' });
      return play(answer, res, filtered);
    }

    const scenario = queue.shift();
    if (scenario !== undefined) return play(scenario, res, filtered);

    if (url.pathname === '/api/v1/jobs') {
      res.writeHead(307, { location: `/api/v1/jobs/${url.search}` }).end();
      return;
    }
    if (url.pathname !== '/api/v1/jobs/') return sendJson(res, 404, { detail: 'Not Found' });
    if (req.method !== 'GET') return sendJson(res, 405, { detail: 'Method Not Allowed' });
    const key = req.headers['unstructured-api-key'];
    if (key === undefined || key === '') return sendJson(res, 401, { detail: MISSING_KEY_DETAIL });
    if (key !== apiKey) return sendJson(res, 401, { detail: INVALID_KEY_DETAIL });
    void streamJobs(res, filtered(), chunkBytes);
  });

  function play(scenario: Scenario, res: ServerResponse, filtered: () => Iterable<object>): void {
    switch (scenario.kind) {
      case 'status': {
        const text = typeof scenario.body === 'string' ? scenario.body : JSON.stringify(scenario.body ?? null);
        const contentType = scenario.contentType ?? 'application/json';
        res.writeHead(scenario.status, { 'content-type': contentType, ...scenario.headers }).end(text);
        return;
      }
      case 'raw':
        res.writeHead(scenario.status, { 'content-type': scenario.contentType }).end(scenario.body);
        return;
      case 'stall-headers':
        return;
      case 'stall-body': {
        const body = serialize(filtered());
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write(body.subarray(0, scenario.afterBytes));
        return;
      }
      case 'trickle': {
        const body = serialize(filtered());
        res.writeHead(200, { 'content-type': 'application/json' });
        let offset = 0;
        const timer = setInterval(() => {
          if (res.destroyed) return stop();
          res.write(body.subarray(offset, offset + scenario.bytesPerTick));
          offset += scenario.bytesPerTick;
          if (offset >= body.length) {
            stop();
            res.end();
          }
        }, scenario.intervalMs);
        const stop = () => {
          clearInterval(timer);
          timers.delete(timer);
        };
        timers.add(timer);
        return;
      }
      case 'truncate': {
        const body = serialize(filtered());
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(body.length) });
        res.write(body.subarray(0, scenario.afterBytes), () => res.socket?.destroy());
        return;
      }
      case 'compressed': {
        const body = serialize(filtered());
        const packed = scenario.encoding === 'gzip' ? zlib.gzipSync(body) : zlib.deflateSync(body);
        res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': scenario.encoding }).end(packed);
        return;
      }
      case 'reset':
        res.socket?.resetAndDestroy();
        return;
    }
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    apiKey,
    requests,
    workflowRequests,
    setJobs(next) {
      jobs = next;
    },
    setWorkflows(next) {
      workflows = next;
    },
    setWorkflowsScenario(scenarios) {
      workflowsQueue = Array.isArray(scenarios) ? [...(scenarios as readonly Scenario[])] : [scenarios as Scenario];
    },
    setDetails(handler) {
      details = handler;
    },
    setScenario(scenarios) {
      queue = Array.isArray(scenarios) ? [...(scenarios as readonly Scenario[])] : [scenarios as Scenario];
    },
    async close() {
      for (const timer of timers) clearInterval(timer);
      timers.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

function* filterJobs(jobs: JobsSource, query: Readonly<Record<string, string>>): Iterable<object> {
  const source = typeof jobs === 'function' ? jobs() : jobs;
  const { workflow_id: workflowId, status } = query;
  for (const job of source) {
    const record = job as Record<string, unknown>;
    if (workflowId !== undefined && record.workflow_id !== workflowId) continue;
    if (status !== undefined && record.status !== status) continue;
    yield job;
  }
}

function serialize(jobs: Iterable<object>): Buffer {
  return Buffer.from(`[${Array.from(jobs, (job) => JSON.stringify(job)).join(',')}]`, 'utf8');
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/** Serialises element by element and respects backpressure: memory stays at about one chunk. */
async function streamJobs(res: ServerResponse, jobs: Iterable<object>, chunkBytes: number): Promise<void> {
  res.writeHead(200, { 'content-type': 'application/json' });
  let pending = '[';
  let first = true;
  for (const job of jobs) {
    pending += (first ? '' : ',') + JSON.stringify(job);
    first = false;
    if (pending.length >= chunkBytes) {
      if (!res.write(pending)) {
        // Remove the listener that did not fire, or a long stream piles up 'close' listeners.
        const ok = await new Promise<boolean>((resolve) => {
          const onDrain = () => {
            res.off('close', onClose);
            resolve(true);
          };
          const onClose = () => {
            res.off('drain', onDrain);
            resolve(false);
          };
          res.once('drain', onDrain);
          res.once('close', onClose);
        });
        if (!ok) return;
      }
      pending = '';
      if (res.destroyed) return;
    }
  }
  res.end(`${pending}]`);
}

// ---------------------------------------------------------------------------------------------------------
// sampleJobs: a hand-written list exercising every awkward field. Expected figures are computed by hand.
// ---------------------------------------------------------------------------------------------------------

/** The reference "now" for sampleJobs(); created_at values are written relative to it. */
export const SAMPLE_NOW = '2026-11-29T12:00:00Z';
export const SAMPLE_NOW_MS = Date.parse(SAMPLE_NOW);

/** The seven workflows of sampleJobs(), with their (hostile) names. */
export const SAMPLE_WORKFLOWS = {
  quotes: { id: '6b1f0c52-3f7e-4d3a-9a51-1f0c2e6d9a01', name: 'Invoices "Q4" \\ archive' },
  newline: { id: '6b1f0c52-3f7e-4d3a-9a51-1f0c2e6d9a02', name: 'Contracts\nlegal' },
  script: { id: '6b1f0c52-3f7e-4d3a-9a51-1f0c2e6d9a03', name: '</script><script>alert(1)</script>' },
  unicode: { id: '6b1f0c52-3f7e-4d3a-9a51-1f0c2e6d9a04', name: 'Résumés → Weaviate (Zürich) 日本語' },
  long: { id: '6b1f0c52-3f7e-4d3a-9a51-1f0c2e6d9a05', name: `Long ${'n'.repeat(1995)}` }, // 5 + 1995 = 2000 chars
  sharedA: { id: '6b1f0c52-3f7e-4d3a-9a51-1f0c2e6d9a06', name: 'Shared name' },
  sharedB: { id: '6b1f0c52-3f7e-4d3a-9a51-1f0c2e6d9a07', name: 'Shared name' },
} as const;

const OUTPUT_FILES = [
  {
    node_id: 'n1a2b3c4-5d6e-7f8a-9b0c-1d2e3f4a5b6c',
    file_id: 'output-001.json',
    node_type: 'destination',
    node_subtype: 's3',
  },
];

/**
 * 20 records: 17 valid (j01–j17), then 3 invalid ones. Comments give each created_at as an offset from
 * SAMPLE_NOW and the runtime in seconds.
 */
export function sampleJobs(): Record<string, unknown>[] {
  const w = SAMPLE_WORKFLOWS;
  const job = (n: string, wf: { id: string; name: string }, fields: Record<string, unknown>) => ({
    id: `0e9d7c6b-5a4f-4e3d-8c2b-1a09f8e7d0${n}`,
    workflow_id: wf.id,
    workflow_name: wf.name,
    ...fields,
  });
  return [
    // quotes workflow: 4 jobs
    job('01', w.quotes, {
      status: 'COMPLETED',
      created_at: '2026-11-29T11:00:00Z',
      runtime: 'PT2M30S',
      input_file_ids: ['f-1', 'f-2'],
      output_node_files: OUTPUT_FILES,
      job_type: 'ephemeral',
    }), // −1 h, 150 s
    job('02', w.quotes, {
      status: 'COMPLETED',
      created_at: '2026-11-29T10:00:00Z',
      runtime: 'PT2M30.456S',
      input_file_ids: null,
      output_node_files: null,
    }), // −2 h, 150.456 s, job_type absent
    job('03', w.quotes, {
      status: 'FAILED',
      created_at: '2026-11-29T09:00:00Z',
      runtime: 'PT1H2M3.456789S',
      job_type: 'persistent',
    }), // −3 h, 3723.456789 s, file fields absent
    job('04', w.quotes, {
      status: 'IN_PROGRESS',
      created_at: '2026-11-29T11:30:00Z',
      runtime: null,
      job_type: 'ephemeral',
    }), // −30 min
    // newline workflow: 3 jobs
    job('05', w.newline, {
      status: 'COMPLETED',
      created_at: '2026-11-27T12:00:00Z',
      runtime: 'P1DT2H',
      job_type: 'scheduled',
    }), // −2 d, 93600 s
    job('06', w.newline, {
      status: 'STOPPED',
      created_at: '2026-11-29T11:50:00Z',
      runtime: 'PT0S',
      job_type: 'template',
    }), // −10 min, 0 s
    job('07', w.newline, { status: 'SCHEDULED', created_at: '2026-11-29T11:55:00Z', job_type: 'scheduled' }), // −5 min, runtime absent
    // script workflow: 3 jobs
    job('08', w.script, { status: 'COMPLETED', created_at: '2026-11-29T11:40:00Z', runtime: 'PT0.5S' }), // −20 min, 0.5 s, job_type absent
    job('09', w.script, {
      status: 'FAILED',
      created_at: '2026-11-29T11:20:00Z',
      runtime: '-PT5S',
      job_type: 'persistent',
    }), // −40 min, negative: unparsable
    job('10', w.script, {
      status: 'COMPLETED',
      created_at: '2026-11-29T11:10:00Z',
      runtime: 'about five minutes',
      job_type: 'ephemeral',
    }), // −50 min, garbage
    // unicode workflow: 3 jobs
    job('11', w.unicode, {
      status: 'COMPLETED',
      created_at: '2025-10-24T12:00:00Z',
      runtime: 'P1Y35D',
      job_type: 'template',
    }), // −401 d, 400 d = 34560000 s
    job('12', w.unicode, { status: 'active', created_at: '2026-11-22T12:00:00Z', runtime: null }), // −7 d, unknown status, job_type absent
    job('13', w.unicode, { status: 'IN_PROGRESS', created_at: '2026-11-29T10:00:00.000000Z', job_type: 'persistent' }), // −2 h (microsecond form)
    // long-name workflow: 2 jobs
    job('14', w.long, {
      status: 'SCHEDULED',
      created_at: '2026-11-29T10:30:00+00:00',
      runtime: null,
      job_type: 'scheduled',
    }), // −90 min (+00:00 form)
    job('15', w.long, { status: 'COMPLETED', created_at: '2026-11-29T11:00:00.123Z', runtime: 'PT2M30S' }), // −59 min 59.877 s, 150 s, job_type absent
    // two workflows sharing one name: 1 job each
    job('16', w.sharedA, {
      status: 'COMPLETED',
      created_at: '2026-11-29T11:00:00Z',
      runtime: 'PT2M30S',
      job_type: 'ephemeral',
    }), // −1 h, 150 s
    job('17', w.sharedB, {
      status: 'FAILED',
      created_at: '2026-11-29T13:00:00+02:00',
      runtime: 'PT0.5S',
      job_type: 'ephemeral',
    }), // 11:00Z = −1 h, 0.5 s
    // invalid records: skipped, not counted
    {
      workflow_id: w.quotes.id,
      workflow_name: w.quotes.name,
      status: 'COMPLETED',
      created_at: '2026-11-29T11:00:00Z',
      runtime: 'PT1S',
    }, // missing id
    job('19', w.newline, { status: 3, created_at: '2026-11-29T11:00:00Z' }), // numeric status
    job('20', w.script, { status: 'COMPLETED', created_at: '2026-11-29T11:00:00', runtime: 'PT1S' }), // created_at without offset
  ];
}

/**
 * sampleJobs() moved in time so that its "now" is `nowMs` (rounded down to the second), for a peer that keeps its
 * own clock and cannot be given `--now`: a spawned server, or the CLI publishing to CloudWatch (datums are
 * stamped with the collection's "now", and CloudWatch takes none older than two weeks). Every created_at keeps
 * its written form (fraction, `Z`, `+00:00`, `+02:00`); the one without an offset stays invalid. The shift is
 * whole seconds, so the expected figures (SAMPLE_EXPECTED) are unchanged at that "now".
 */
export function sampleJobsAt(nowMs: number): Record<string, unknown>[] {
  const shiftMs = Math.floor((nowMs - SAMPLE_NOW_MS) / 1000) * 1000;
  return sampleJobs().map((j) =>
    typeof j.created_at === 'string' ? { ...j, created_at: shiftTimestamp(j.created_at, shiftMs) } : j,
  );
}

/** An RFC 3339 date-time moved by whole seconds, written in its own offset with its own fraction. */
function shiftTimestamp(text: string, shiftMs: number): string {
  const m = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|([+-])(\d\d):(\d\d))$/.exec(text);
  if (m === null) return text; // invalid as written: stays invalid
  const [, fraction = '', zone, sign, hours, minutes] = m;
  const offsetMs = zone === 'Z' ? 0 : (sign === '-' ? -1 : 1) * (Number(hours) * 60 + Number(minutes)) * 60_000;
  // The wall-clock time in that offset, read off a UTC rendering of the instant moved by the offset.
  const wall = new Date(Date.parse(text) + shiftMs + offsetMs).toISOString().slice(0, 19);
  return `${wall}${fraction}${zone}`;
}

/**
 * What a correct validation + aggregation makes of sampleJobs() at SAMPLE_NOW, computed by hand:
 * - byStatus: COMPLETED j01 j02 j05 j08 j10 j11 j15 j16 = 8; FAILED j03 j09 j17 = 3; STOPPED j06 = 1;
 *   IN_PROGRESS j04 j13 = 2; SCHEDULED j07 j14 = 2; active j12 = 1 (17 in all).
 * - byJobType (absent = ephemeral): ephemeral j01 j02 j04 j08 j10 j12 j15 j16 j17 = 9;
 *   persistent j03 j09 j13 = 3; scheduled j05 j07 j14 = 3; template j06 j11 = 2.
 * - runtime (valid, terminal): COMPLETED j01 150 + j02 150.456 + j05 93600 + j08 0.5 + j11 34560000
 *   + j15 150 + j16 150 = 34654200.956 over 7 (j10 unparsable); FAILED j03 3723.456789 + j17 0.5
 *   = 3723.956789 over 2 (j09 negative); STOPPED j06 0 over 1. runtimeUnparsable: j09, j10 = 2.
 * - oldest pending age: SCHEDULED j14 (−90 min) = 5400 s; IN_PROGRESS j13 (−2 h) = 7200 s.
 * - skipped: invalid_id 1, invalid_status 1, invalid_created_at 1.
 */
export const SAMPLE_EXPECTED = {
  jobsFetched: 20,
  counted: 17,
  workflowsSeen: 7,
  recordsSkipped: {
    not_an_object: 0,
    invalid_id: 1,
    invalid_workflow_id: 0,
    invalid_status: 1,
    invalid_created_at: 1,
    duplicate_id: 0,
    too_large: 0,
  },
  byStatus: { SCHEDULED: 2, IN_PROGRESS: 2, COMPLETED: 8, STOPPED: 1, FAILED: 3, active: 1 },
  byJobType: { ephemeral: 9, persistent: 3, scheduled: 3, template: 2 },
  runtimeUnparsable: 2,
  runtime: {
    COMPLETED: { count: 7, sum: 34654200.956 },
    FAILED: { count: 2, sum: 3723.956789 },
    STOPPED: { count: 1, sum: 0 },
  },
  oldestAgeSeconds: { SCHEDULED: 5400, IN_PROGRESS: 7200 },
  pending: { SCHEDULED: 2, IN_PROGRESS: 2 },
  /** Valid jobs per workflow key of SAMPLE_WORKFLOWS. */
  jobsPerWorkflow: { quotes: 4, newline: 3, script: 3, unicode: 3, long: 2, sharedA: 1, sharedB: 1 },
} as const;
