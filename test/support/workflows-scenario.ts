/**
 * Issue 17's test account: a workflow list (every predefined schedule, several entries, inactive, no schedule, an
 * invalid cron, one created and one updated after their last fire time, hostile names and words, broken records)
 * and a job list built around it, both relative to a given "now"; and an independent reference for what the
 * exporter must report: a brute-force cron matcher (minute by minute, UTC, the forms used here only) that shares
 * no code with lib/aggregate/schedule.ts (croner).
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Workflow ids of the scenario (UUID-like, so every output keeps them as they are). */
export const WF = {
  every15: '5c0e0000-0000-4000-8000-000000000015',
  hourly: '5c0e0000-0000-4000-8000-000000000001',
  every2h: '5c0e0000-0000-4000-8000-000000000002',
  every4h: '5c0e0000-0000-4000-8000-000000000004',
  every6h: '5c0e0000-0000-4000-8000-000000000006',
  every8h: '5c0e0000-0000-4000-8000-000000000008',
  every10h: '5c0e0000-0000-4000-8000-000000000010',
  every12h: '5c0e0000-0000-4000-8000-000000000012',
  daily: '5c0e0000-0000-4000-8000-0000000000d1',
  weekly: '5c0e0000-0000-4000-8000-0000000000e7',
  monthly: '5c0e0000-0000-4000-8000-0000000000f1',
  multi: '5c0e0000-0000-4000-8000-0000000000aa',
  inactive: '5c0e0000-0000-4000-8000-0000000000b0',
  noSchedule: '5c0e0000-0000-4000-8000-0000000000c0',
  absent: '5c0e0000-0000-4000-8000-0000000000c1',
  invalidCron: '5c0e0000-0000-4000-8000-0000000000bd',
  wrongShape: '5c0e0000-0000-4000-8000-0000000000be',
  hostile: '5c0e0000-0000-4000-8000-0000000000ff',
  paused: '5c0e0000-0000-4000-8000-0000000000fe',
  /** In the job list only. */
  unlisted: '5c0e0000-0000-4000-8000-00000000dead',
} as const;

export const HOSTILE_NAME = `Quote " back\\slash\nnew line 🚀 ${'ö'.repeat(300)}`;

/** A workflow record of the API (WorkflowInformation), as the scenario lists it. */
export interface ListedWorkflow {
  readonly id: string;
  readonly name: string;
  readonly status?: string;
  readonly workflow_type?: string | null;
  readonly created_at: string;
  readonly updated_at?: string | null;
  readonly schedule?: unknown;
}

const iso = (ms: number) => new Date(ms).toISOString();
const cron = (...entries: string[]) => ({ crontab_entries: entries.map((cron_expression) => ({ cron_expression })) });

/**
 * The workflow list at `nowMs`. Fire times below are those of the fixed now of test/schedule-health.test.ts
 * (2026-11-29T12:07:30Z, a Sunday, grace 15 min); at another now the reference still holds, only the outcomes move.
 */
export function scenarioWorkflows(nowMs: number): unknown[] {
  const longAgo = iso(nowMs - 60 * DAY);
  const w = (id: string, name: string, schedule: unknown, extra: Partial<ListedWorkflow> = {}): ListedWorkflow => ({
    id,
    name,
    status: 'active',
    workflow_type: 'basic',
    created_at: longAgo,
    updated_at: null,
    schedule,
    ...extra,
  });
  const hourStart = Math.floor(nowMs / HOUR) * HOUR;
  return [
    w(WF.every15, 'Every 15 minutes', cron('*/15 * * * *'), { workflow_type: 'advanced' }),
    w(WF.hourly, 'Hourly', cron('0 * * * *'), { workflow_type: 'platinum' }),
    w(WF.every2h, 'Every 2 hours', cron('0 */2 * * *')),
    w(WF.every4h, 'Every 4 hours', cron('0 */4 * * *')),
    w(WF.every6h, 'Every 6 hours', cron('0 */6 * * *'), { workflow_type: 'custom' }),
    w(WF.every8h, 'Every 8 hours (never ran)', cron('0 */8 * * *')),
    // Created after its last fire time (10:00 at the fixed now): it cannot have missed it.
    w(WF.every10h, 'Every 10 hours (new)', cron('0 */10 * * *'), { created_at: iso(hourStart - 90 * MINUTE) }),
    // Updated after its last fire time (00:00): the schedule may have just been set.
    w(WF.every12h, 'Every 12 hours (updated)', cron('0 */12 * * *'), { updated_at: iso(hourStart - 7 * HOUR) }),
    w(WF.daily, 'Daily', cron('0 0 * * *'), { workflow_type: null }),
    w(WF.weekly, 'Weekly', cron('0 0 * * 0')),
    w(WF.monthly, 'Monthly', cron('0 0 1 * *')),
    w(WF.multi, 'Two entries', cron('30 11 * * *', '0 9 * * 1-5')),
    w(WF.inactive, 'Switched off', cron('0 * * * *'), { status: 'inactive' }),
    w(WF.noSchedule, 'On demand', null),
    (() => {
      const { schedule: _s, status: _t, ...rest } = w(WF.absent, 'No schedule key, no status', undefined);
      return rest;
    })(),
    w(WF.invalidCron, 'Invalid cron', cron('every day at noon')),
    w(WF.wrongShape, 'Wrong shape', 'daily'),
    w(WF.hostile, HOSTILE_NAME, cron('0 * * * *'), { workflow_type: 'diamond "cut"' }),
    w(WF.paused, 'Paused', cron('*/15 * * * *'), { status: 'paused' }),
    // Left out, by reason: not an object, no id, a created_at that is not a date-time, a second every15.
    42,
    { name: 'no id', status: 'active', created_at: longAgo },
    { id: '5c0e0000-0000-4000-8000-0000000000cc', name: 'bad date', status: 'active', created_at: 'yesterday' },
    w(WF.every15, 'Duplicate of every15', null),
  ];
}

/** [workflow, status, created_at relative to the start of now's hour (ms), runtime] */
type JobSpec = readonly [string, string, number, string | null];

/** The job list at `nowMs`: built around the workflow list (names in the jobs are stale: the API's win). */
export function scenarioJobs(nowMs: number): Record<string, unknown>[] {
  const h = Math.floor(nowMs / HOUR) * HOUR;
  const day = Math.floor(nowMs / DAY) * DAY;
  const specs: JobSpec[] = [
    [WF.every15, 'COMPLETED', -15 * MINUTE + 5_000, 'PT1M'], // 11:45:05
    [WF.every15, 'COMPLETED', -30 * MINUTE + 3_000, 'PT2M30.5S'],
    [WF.every15, 'IN_PROGRESS', 5_000, null], // 12:00:05
    [WF.hourly, 'COMPLETED', -3 * HOUR + 10_000, 'PT5M'], // 09:00:10: 10:00 and 11:00 missed
    [WF.every2h, 'COMPLETED', -2 * HOUR - 90_000, 'PT1M'], // 09:58:30: 90 s before 10:00, counts
    [WF.every4h, 'COMPLETED', -4 * HOUR - 150_000, 'PT1M'], // 07:57:30: 150 s before 08:00, too early
    [WF.every6h, 'COMPLETED', -7 * HOUR, 'PT10M'], // 05:00, success ends 05:10
    [WF.every6h, 'FAILED', -6 * HOUR + MINUTE, 'PT30S'], // 06:01: a run, not a success
    [WF.every6h, 'COMPLETED', -6 * HOUR + 2 * MINUTE, null], // no runtime: not a success
    [WF.every6h, 'COMPLETED', -10 * MINUTE, 'PT3H'], // 11:50 + 3 h: ends after now, left out
    [WF.daily, 'COMPLETED', day - h + 40_000, 'PT20M'], // 00:00:40
    [WF.daily, 'STOPPED', day - h - DAY + 40_000, 'PT1M'],
    [WF.weekly, 'COMPLETED', day - h - 7 * DAY + 60_000, 'PT1H'], // a week ago: today's 00:00 missed
    [WF.monthly, 'COMPLETED', Date.UTC(2026, 10, 1, 0, 3) - h, 'P1DT2H'], // 1 Nov 00:03 (at the fixed now)
    [WF.multi, 'COMPLETED', -30 * MINUTE + 20_000, 'PT4M'], // 11:30:20
    [WF.inactive, 'COMPLETED', -5 * DAY, 'PT1M'],
    [WF.noSchedule, 'FAILED', -20 * MINUTE, 'PT1M'],
    [WF.noSchedule, 'SCHEDULED', -MINUTE, null],
    [WF.invalidCron, 'COMPLETED', -2 * HOUR, 'PT1M'],
    [WF.hostile, 'COMPLETED', -HOUR, 'PT15S'], // 11:00:00
    [WF.hostile, 'COMPLETED', 0, 'PT1S'], // 12:00:00
    [WF.paused, 'COMPLETED', -3 * DAY, 'PT1M'],
    [WF.unlisted, 'COMPLETED', -4 * HOUR, 'PT2M'],
    [WF.unlisted, 'FAILED', -30 * MINUTE, 'PT1M'],
  ];
  const jobs: Record<string, unknown>[] = specs.map(([workflowId, status, offset, runtime], i) => ({
    id: `6b1e0c3b-0000-4000-8000-${String(i).padStart(12, '0')}`,
    workflow_id: workflowId,
    workflow_name: `stale name ${i}`,
    status,
    created_at: iso(h + offset),
    runtime,
    job_type: 'scheduled',
  }));
  jobs.push({ id: 'broken', status: 'COMPLETED' }); // no workflow_id: skipped, never a run
  return jobs;
}

// ---------------------------------------------------------------------------------------------------------
// The reference: brute-force cron matching, minute by minute (UTC), for `*`, `*/n`, `a`, `a-b` and lists.

const FIELD_RANGES: ReadonlyArray<readonly [number, number]> = [
  [0, 59],
  [0, 23],
  [1, 31],
  [1, 12],
  [0, 7],
];

function fieldSet(text: string, [lo, hi]: readonly [number, number]): Set<number> | undefined {
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const step = /^\*\/(\d+)$/.exec(part);
    const range = /^(\d+)-(\d+)$/.exec(part);
    if (part === '*') for (let v = lo; v <= hi; v++) out.add(v);
    else if (step !== null) for (let v = lo; v <= hi; v += Number(step[1])) out.add(v);
    else if (range !== null) for (let v = Number(range[1]); v <= Number(range[2]); v++) out.add(v);
    else if (/^\d+$/.test(part) && Number(part) >= lo && Number(part) <= hi) out.add(Number(part));
    else return undefined;
  }
  return out;
}

/** A 5-field expression as a minute test (day of month OR day of week when both are restricted); undefined: invalid. */
export function referenceMatcher(expression: string): ((ms: number) => boolean) | undefined {
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== 5) return undefined;
  const sets = parts.map((p, i) => fieldSet(p, FIELD_RANGES[i] as readonly [number, number]));
  if (sets.some((s) => s === undefined)) return undefined;
  const [min, hour, dom, month, dow] = sets as Set<number>[];
  if (dow?.has(7)) dow.add(0);
  const domAll = parts[2] === '*';
  const dowAll = parts[4] === '*';
  return (ms) => {
    const d = new Date(ms);
    const dayOk =
      domAll || dowAll
        ? (dom as Set<number>).has(d.getUTCDate()) && (dow as Set<number>).has(d.getUTCDay())
        : (dom as Set<number>).has(d.getUTCDate()) || (dow as Set<number>).has(d.getUTCDay());
    return (
      (min as Set<number>).has(d.getUTCMinutes()) &&
      (hour as Set<number>).has(d.getUTCHours()) &&
      (month as Set<number>).has(d.getUTCMonth() + 1) &&
      dayOk
    );
  };
}

/** Latest matching minute at or before `ms`, and first after `nowMs`, scanning up to 62 days. */
export function referenceFireTimes(
  entries: readonly string[],
  atOrBeforeMs: number,
  afterMs: number,
): { expectedMs: number | undefined; nextMs: number | undefined } | undefined {
  const matchers = entries.map(referenceMatcher);
  if (matchers.length === 0 || matchers.some((m) => m === undefined)) return undefined;
  const any = (ms: number) => matchers.some((m) => (m as (ms: number) => boolean)(ms));
  let expectedMs: number | undefined;
  for (let t = Math.floor(atOrBeforeMs / MINUTE) * MINUTE; t > atOrBeforeMs - 62 * DAY; t -= MINUTE)
    if (any(t)) {
      expectedMs = t;
      break;
    }
  let nextMs: number | undefined;
  for (let t = Math.floor(afterMs / MINUTE) * MINUTE + MINUTE; t < afterMs + 62 * DAY; t += MINUTE)
    if (any(t)) {
      nextMs = t;
      break;
    }
  return { expectedMs, nextMs };
}

// ---------------------------------------------------------------------------------------------------------
// The independent computation of every workflow metric from the two lists.

const GRACE_MS = 15 * 60_000;
const TOLERANCE_MS = 2 * 60_000;
/** records/runtime-bound.ts: a runtime may end at most this long after now. */
const CLOCK_SKEW_MS = 5 * 60_000;

export interface Rec {
  [key: string]: unknown;
}

/** ISO 8601 durations of the forms the scenario uses: P[nD][T[nH][nM][n[.n]S]]. */
function seconds(text: unknown): number | undefined {
  if (typeof text !== 'string') return undefined;
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:([\d.]+)S)?)?$/.exec(text);
  if (m === null) return undefined;
  return Number(m[1] ?? 0) * 86_400 + Number(m[2] ?? 0) * 3_600 + Number(m[3] ?? 0) * 60 + Number(m[4] ?? 0);
}

/** Last run and last success per workflow id, from the valid records of the job list. */
export function referenceRuns(
  jobs: readonly Rec[],
  nowMs: number,
): Map<string, { run: number; success: number | undefined }> {
  const out = new Map<string, { run: number; success: number | undefined }>();
  for (const j of jobs) {
    if (typeof j.id !== 'string' || typeof j.workflow_id !== 'string' || typeof j.status !== 'string') continue;
    const created = Date.parse(String(j.created_at));
    const runtime = seconds(j.runtime);
    const entry = out.get(j.workflow_id) ?? { run: -Infinity, success: undefined };
    entry.run = Math.max(entry.run, created);
    if (j.status === 'COMPLETED' && runtime !== undefined && created + runtime * 1000 <= nowMs + CLOCK_SKEW_MS)
      entry.success = Math.max(entry.success ?? -Infinity, created + runtime * 1000);
    out.set(j.workflow_id, entry);
  }
  return out;
}

/** A name as every output shows it: at most 200 code points, the last one "…" when cut. */
export function shown(name: string): string {
  const points = [...name];
  return points.length <= 200 ? name : `${points.slice(0, 199).join('').trimEnd()}…`;
}

export interface Expected {
  info: Map<string, Record<string, string>>;
  missed: Map<string, number>;
  nextRun: Map<string, number>;
  expectedRun: Map<string, number>;
}

export function referenceInventory(
  workflows: readonly unknown[],
  jobs: readonly Rec[],
  nowMs: number,
  graceMs = GRACE_MS,
): Expected {
  const runs = referenceRuns(jobs, nowMs);
  const info = new Map<string, Record<string, string>>();
  const missed = new Map<string, number>();
  const nextRun = new Map<string, number>();
  const expectedRun = new Map<string, number>();
  for (const raw of workflows) {
    if (typeof raw !== 'object' || raw === null) continue;
    const w = raw as Rec;
    if (typeof w.id !== 'string' || w.id === '' || info.has(w.id)) continue;
    const created = Date.parse(String(w.created_at));
    if (Number.isNaN(created)) continue;
    const schedule = w.schedule as { crontab_entries?: { cron_expression: string }[] } | string | null | undefined;
    const entries =
      typeof schedule === 'object' && schedule !== null
        ? (schedule.crontab_entries ?? []).map((e) => e.cron_expression)
        : [];
    const wrongShape = typeof schedule === 'string';
    info.set(w.id, {
      workflow_id: w.id,
      workflow_name: shown(String(w.name)),
      state: typeof w.status === 'string' ? w.status : 'unknown',
      workflow_type: typeof w.workflow_type === 'string' ? w.workflow_type : 'none',
      schedule: wrongShape ? 'invalid' : entries.length === 0 ? 'none' : entries.join(';'),
    });
    if (w.status !== 'active' || entries.length === 0) continue;
    const times = referenceFireTimes(entries, nowMs - graceMs, nowMs);
    if (times === undefined) continue; // not a valid schedule
    const updated = typeof w.updated_at === 'string' ? Date.parse(w.updated_at) : undefined;
    const lastRun = runs.get(w.id)?.run;
    const e = times.expectedMs;
    const wasMissed =
      e !== undefined &&
      created < e &&
      (updated === undefined || updated < e) &&
      !(lastRun !== undefined && lastRun >= e - TOLERANCE_MS);
    missed.set(w.id, wasMissed ? 1 : 0);
    if (times.nextMs !== undefined) nextRun.set(w.id, times.nextMs / 1000);
    if (e !== undefined) expectedRun.set(w.id, e / 1000);
  }
  return { info, missed, nextRun, expectedRun };
}

// ---------------------------------------------------------------------------------------------------------
// Reading an exposition back.

export interface ExposedSample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

/** The samples of a Prometheus text exposition, label values unescaped. */
export function parseExposition(text: string): ExposedSample[] {
  const out: ExposedSample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const brace = line.indexOf('{');
    const space = line.lastIndexOf(' ');
    const labels: Record<string, string> = {};
    let name = line.slice(0, space);
    if (brace >= 0 && brace < space) {
      name = line.slice(0, brace);
      let i = brace + 1;
      while (line[i] !== '}') {
        const eq = line.indexOf('=', i);
        const key = line.slice(i, eq);
        i = eq + 2; // past ="
        let value = '';
        while (line[i] !== '"') {
          if (line[i] === '\\') {
            const next = line[i + 1];
            value += next === 'n' ? '\n' : next;
            i += 2;
          } else value += line[i++];
        }
        labels[key] = value;
        i++; // past the closing quote
        if (line[i] === ',') i++;
      }
    }
    const raw = line.slice(space + 1);
    out.push({ name, labels, value: raw === 'Nan' ? Number.NaN : Number(raw) });
  }
  return out;
}
