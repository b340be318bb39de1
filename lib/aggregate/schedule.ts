/**
 * When a cron schedule should have fired, and when it fires next. The cron text is the API's (free text, any
 * valid expression, shared/reference/unstructured-jobs-api.md "Workflows"): it is parsed by croner (pinned in
 * package.json: dependency-free, time zones through Intl), never by hand. Pure: "now" is passed in.
 */
import { Cron } from 'croner';

export interface ScheduleSettings {
  /** A run is expected only this long after its fire time (SCHEDULE_GRACE). */
  readonly graceMs: number;
  /** IANA zone the cron fields are read in (SCHEDULE_TIMEZONE; the API does not document its own). */
  readonly timezone: string;
}

/**
 * A job created this long before the expected fire time still counts as that run: the platform's scheduler and
 * the job's created_at are not documented to agree to the second (issue 17: "at or after that time minus 2 minutes").
 */
export const MISSED_RUN_TOLERANCE_MS = 2 * 60_000;

export interface FireTimes {
  /** Latest fire time at or before now − grace, over every entry; undefined when none has fired yet. */
  readonly expectedMs: number | undefined;
  /** Earliest fire time after now, over every entry; undefined when none will fire again. */
  readonly nextMs: number | undefined;
}

/**
 * The fire times of a schedule of one or more cron entries, or a one-line reason when an entry is not a cron
 * expression croner accepts (or the zone is unknown to this runtime).
 */
export function fireTimes(
  entries: readonly string[],
  nowMs: number,
  settings: ScheduleSettings,
): FireTimes | { readonly problem: string } {
  // previousRuns() is strictly before its date, and fire times fall on whole seconds: the end of the second
  // holding now − grace makes "at or before".
  const before = new Date(Math.floor((nowMs - settings.graceMs) / 1000) * 1000 + 1000);
  const after = new Date(nowMs);
  let expectedMs: number | undefined;
  let nextMs: number | undefined;
  for (const [i, entry] of entries.entries()) {
    try {
      const cron = new Cron(entry, { timezone: settings.timezone, paused: true });
      const previous = cron.previousRuns(1, before)[0]?.getTime();
      const next = cron.nextRun(after)?.getTime() ?? undefined;
      if (previous !== undefined && (expectedMs === undefined || previous > expectedMs)) expectedMs = previous;
      if (next !== undefined && (nextMs === undefined || next < nextMs)) nextMs = next;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return { problem: `cron entry ${i + 1}: ${message.split('\n')[0] ?? message}` };
    }
  }
  return { expectedMs, nextMs };
}

/**
 * Whether the run expected at `expectedMs` is missing: the workflow existed in its present form before it (created,
 * and last updated when that is known, before the fire time) and no job of it was created from
 * MISSED_RUN_TOLERANCE_MS before it on. `lastRunMs`: created_at of its newest job, undefined when it has none.
 */
export function missedRun(
  expectedMs: number | undefined,
  createdAtMs: number,
  updatedAtMs: number | undefined,
  lastRunMs: number | undefined,
): boolean {
  if (expectedMs === undefined) return false;
  if (!(createdAtMs < expectedMs)) return false;
  if (updatedAtMs !== undefined && !(updatedAtMs < expectedMs)) return false;
  return lastRunMs === undefined || lastRunMs < expectedMs - MISSED_RUN_TOLERANCE_MS;
}
