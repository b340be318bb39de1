import { afterEach, describe, expect, it } from 'vitest';
import { formatPydanticDuration, startDemoApi, type DemoApi } from '../lib/demo-api.js';

const START_MS = Date.parse('2026-11-29T12:00:00Z');
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const STATUSES = ['SCHEDULED', 'IN_PROGRESS', 'COMPLETED', 'STOPPED', 'FAILED'];
const TERMINAL = ['COMPLETED', 'STOPPED', 'FAILED'];
const JOB_TYPES = ['ephemeral', 'persistent', 'scheduled', 'template'];
const PYDANTIC_DURATION = /^P(?:\d+Y)?(?:\d+D)?(?:T(?:\d+H)?(?:\d+M)?(?:\d+(?:\.\d{1,6})?S)?)?$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

type Rec = Record<string, unknown>;

let demos: DemoApi[] = [];
afterEach(async () => {
  await Promise.all(demos.map((d) => d.close()));
  demos = [];
});

async function start(seed: number, clock: { ms: number }): Promise<DemoApi> {
  const demo = await startDemoApi({ seed, now: () => clock.ms });
  demos.push(demo);
  return demo;
}

/** `key` null sends no key header. */
async function list(
  demo: DemoApi,
  query = '',
  key: string | null = demo.apiKey,
): Promise<{ status: number; type: string | null; body: unknown }> {
  const res = await fetch(`${demo.url}/api/v1/jobs/${query}`, {
    headers: key === null ? {} : { 'unstructured-api-key': key },
  });
  return { status: res.status, type: res.headers.get('content-type'), body: await res.json() };
}

async function jobs(demo: DemoApi, query = ''): Promise<Rec[]> {
  const { status, body } = await list(demo, query);
  expect(status).toBe(200);
  expect(Array.isArray(body)).toBe(true);
  return body as Rec[];
}

/** Every problem with a record, as text (empty when it has the documented shape). */
function shapeProblems(r: Rec, nowMs: number): string[] {
  const problems: string[] = [];
  if (typeof r.id !== 'string' || !UUID.test(r.id)) problems.push('id');
  if (typeof r.workflow_id !== 'string' || !UUID.test(r.workflow_id)) problems.push('workflow_id');
  if (typeof r.workflow_name !== 'string' || r.workflow_name === '') problems.push('workflow_name');
  if (typeof r.status !== 'string' || !STATUSES.includes(r.status)) problems.push('status');
  const created =
    typeof r.created_at === 'string' && /(Z|[+-]\d\d:\d\d)$/.test(r.created_at) ? Date.parse(r.created_at) : NaN;
  if (!(created <= nowMs)) problems.push('created_at');
  const terminal = TERMINAL.includes(String(r.status));
  if (terminal && (typeof r.runtime !== 'string' || !PYDANTIC_DURATION.test(r.runtime))) problems.push('runtime');
  if (!terminal && r.runtime !== null && r.runtime !== undefined) problems.push('runtime on a pending job');
  if (r.input_file_ids !== null && !Array.isArray(r.input_file_ids)) problems.push('input_file_ids');
  if (r.output_node_files !== null && !Array.isArray(r.output_node_files)) problems.push('output_node_files');
  if ('job_type' in r && !JOB_TYPES.includes(String(r.job_type))) problems.push('job_type');
  return problems;
}

describe('demo API', () => {
  it('serves a pre-filled history of valid records in the real wire format', async () => {
    // Prepare
    const clock = { ms: START_MS };
    const demo = await start(1, clock);

    // Act
    const { status, type, body } = await list(demo);

    // Assess
    expect(status).toBe(200);
    expect(type).toMatch(/^application\/json/);
    const records = body as Rec[];
    expect(records.length).toBeGreaterThan(500); // ~25 jobs/h over the 2 pre-filled days
    expect(records.flatMap((r) => shapeProblems(r, clock.ms).map((p) => `${String(r.id)}: ${p}`))).toEqual([]);
    const oldest = Math.min(...records.map((r) => Date.parse(String(r.created_at))));
    expect(START_MS - oldest).toBeGreaterThan(1.9 * DAY_MS);
    const workflows = new Set(records.map((r) => r.workflow_name));
    expect(workflows.size).toBe(8); // six, and issue 17's stopped hourly one and switched-off daily one
    expect([...workflows].some((name) => /[^\x00-\x7f]/.test(String(name)))).toBe(true);
    const statuses = new Set(records.map((r) => r.status));
    for (const s of TERMINAL) expect(statuses).toContain(s);
    const types = new Set(records.map((r) => r.job_type));
    expect(types.size).toBeGreaterThanOrEqual(4); // several types and records without job_type
    expect(new Set(records.map((r) => r.id)).size).toBe(records.length);
  });

  it('applies the workflow_id and status filters', async () => {
    // Prepare
    const demo = await start(1, { ms: START_MS });
    const all = await jobs(demo);
    const workflowId = String(all[0]?.workflow_id);

    // Act
    const ofWorkflow = await jobs(demo, `?workflow_id=${workflowId}`);
    const failed = await jobs(demo, '?status=FAILED');

    // Assess
    expect(ofWorkflow.length).toBe(all.filter((r) => r.workflow_id === workflowId).length);
    expect(ofWorkflow.every((r) => r.workflow_id === workflowId)).toBe(true);
    expect(failed.length).toBe(all.filter((r) => r.status === 'FAILED').length);
    expect(failed.length).toBeGreaterThan(0);
  });

  it('evolves with the clock: new jobs appear and pending ones finish', async () => {
    // Prepare
    const clock = { ms: START_MS };
    const demo = await start(3, clock);
    const before = await jobs(demo);

    // Act
    clock.ms += 7 * HOUR_MS; // longer than any run: 90 min at most, a hung job 6 h
    const after = await jobs(demo);

    // Assess
    const beforeIds = new Set(before.map((r) => r.id));
    const fresh = after.filter((r) => !beforeIds.has(r.id));
    expect(fresh.length).toBeGreaterThan(70); // ~25 jobs/h
    expect(fresh.every((r) => Date.parse(String(r.created_at)) > START_MS)).toBe(true);
    const afterById = new Map(after.map((r) => [r.id, r]));
    const finished = before.filter((r) => !TERMINAL.includes(String(r.status)));
    expect(finished.length).toBeGreaterThan(0);
    for (const r of finished) expect(TERMINAL).toContain(afterById.get(r.id)?.status);
    const terminalBefore = before.filter((r) => TERMINAL.includes(String(r.status)));
    for (const r of terminalBefore) expect(afterById.get(r.id)).toEqual(r); // history does not change
    expect(after.flatMap((r) => shapeProblems(r, clock.ms))).toEqual([]);
  });

  it('is deterministic for a seed and start time, and differs between seeds', async () => {
    // Prepare
    const a = await start(42, { ms: START_MS });
    const b = await start(42, { ms: START_MS });
    const c = await start(43, { ms: START_MS });

    // Act
    const [ja, jb, jc] = await Promise.all([jobs(a), jobs(b), jobs(c)]);

    // Assess
    expect(jb).toEqual(ja);
    expect(jc.map((r) => r.id)).not.toEqual(ja.map((r) => r.id));
  });

  it('keeps memory bounded: jobs older than 7 days are dropped', async () => {
    // Prepare
    const clock = { ms: START_MS };
    const demo = await start(1, clock);

    // Act
    clock.ms += 30 * DAY_MS;
    const records = await jobs(demo);

    // Assess
    const oldest = Math.min(...records.map((r) => Date.parse(String(r.created_at))));
    expect(clock.ms - oldest).toBeLessThanOrEqual(7 * DAY_MS);
    expect(records.length).toBeLessThan(8_000); // ~25 jobs/h × 168 h ≈ 4,200
    expect(records.length).toBeGreaterThan(2_000);
  });

  it('rejects a missing or wrong key with 401 and a detail, like the real API', async () => {
    // Prepare
    const demo = await start(1, { ms: START_MS });

    // Act
    const missing = await list(demo, '', null);
    const wrong = await list(demo, '', 'not-the-key');

    // Assess
    expect(missing.status).toBe(401);
    expect(missing.body).toEqual({ detail: 'API key is missing, please provide an API key in the header.' });
    expect(wrong.status).toBe(401);
    expect(typeof (wrong.body as Rec).detail).toBe('string');
  });

  it('formats runtimes the way pydantic serialises a timedelta', () => {
    // Prepare
    const cases: Array<[number, string]> = [
      [150, 'PT2M30S'],
      [150.456, 'PT2M30.456S'],
      [3723.456789, 'PT1H2M3.456789S'],
      [93_600, 'P1DT2H'],
      [0, 'PT0S'],
      [0.5, 'PT0.5S'],
      [400 * 86_400, 'P1Y35D'],
      [-5, '-PT5S'],
    ];

    // Act
    const formatted = cases.map(([seconds]) => formatPydanticDuration(seconds));

    // Assess
    expect(formatted).toEqual(cases.map(([, text]) => text));
  });
});
