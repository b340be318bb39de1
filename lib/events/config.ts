/**
 * Configuration of the finished-job events (docs/events.md): where the state lives, how far back jobs count.
 * Validated once at start, with errors that name the variable (ConfigError).
 */
import { ConfigError, optionalSetting, parseDurationSetting, type Env } from '../config.js';

export const DEFAULT_STATE_KEY = 'state/finished-jobs.json';
/** Default EVENTS_RETENTION: a job first seen up to 7 days after it finished is still published. */
export const DEFAULT_RETENTION_SECONDS = 7 * 86_400;
/** Default EVENTS_BACKFILL: a new stack publishes the jobs that finished within the last hour, no older history. */
export const DEFAULT_BACKFILL_SECONDS = 3_600;
/**
 * EVENTS_RETENTION bounds. At most 13 days: CloudWatch refuses data points older than 2 weeks, and every event is
 * timestamped at its finish time (a day of margin for slow runs and clock skew). At least 1 hour: below that, a
 * job first seen a little late (one missed schedule) would never be published.
 */
export const RETENTION_BOUNDS_SECONDS = { min: 3_600, max: 13 * 86_400 } as const;

export interface EventsConfig {
  /** STATE_BUCKET: S3 bucket of the state object; undefined = events off (unless the CLI gives --state). */
  readonly stateBucket: string | undefined;
  /** STATE_KEY: key of the state object. */
  readonly stateKey: string;
  /** EVENTS_RETENTION: jobs that finished longer ago than this are never published, and forgotten. */
  readonly retentionSeconds: number;
  /** EVENTS_BACKFILL: with no state yet, only jobs that finished within this are published (0 = none). */
  readonly backfillSeconds: number;
}

/** S3 bucket naming rules (general purpose buckets): 3–63 of a-z 0-9 . -, starting and ending with a letter or digit. */
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function validateBucketName(variable: string, name: string): string {
  if (!BUCKET_NAME.test(name) || name.includes('..') || /^\d+\.\d+\.\d+\.\d+$/.test(name)) {
    throw new ConfigError(
      variable,
      `not an S3 bucket name: ${JSON.stringify(name)} (3–63 characters: lower-case letters, digits, "." and "-", starting and ending with a letter or digit)`,
    );
  }
  return name;
}

export function validateObjectKey(variable: string, key: string): string {
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes < 1 || bytes > 1024) throw new ConfigError(variable, `an S3 key has 1–1024 bytes, got ${bytes}`);
  if (key.startsWith('/')) throw new ConfigError(variable, `must not start with "/" (got ${JSON.stringify(key)})`);
  if (/[\u0000-\u001f\u007f]/.test(key)) throw new ConfigError(variable, 'must not contain control characters');
  return key;
}

function duration(env: Env, variable: string, fallback: number, min: number, max: number): number {
  const raw = optionalSetting(env, variable);
  if (raw === undefined) return fallback;
  const seconds = parseDurationSetting(variable, raw);
  if (seconds < min || seconds > max) {
    throw new ConfigError(
      variable,
      `must be between ${describeSeconds(min)} and ${describeSeconds(max)}, got ${JSON.stringify(env[variable])}`,
    );
  }
  return seconds;
}

function describeSeconds(s: number): string {
  if (s === 0) return '0';
  if (s % 86_400 === 0) return `${s / 86_400}d`;
  if (s % 3_600 === 0) return `${s / 3_600}h`;
  if (s % 60 === 0) return `${s / 60}m`;
  return `${s}s`;
}

export function loadEventsConfig(env: Env = process.env): EventsConfig {
  const bucket = optionalSetting(env, 'STATE_BUCKET');
  const retentionSeconds = duration(
    env,
    'EVENTS_RETENTION',
    DEFAULT_RETENTION_SECONDS,
    RETENTION_BOUNDS_SECONDS.min,
    RETENTION_BOUNDS_SECONDS.max,
  );
  const backfillSeconds = duration(
    env,
    'EVENTS_BACKFILL',
    Math.min(DEFAULT_BACKFILL_SECONDS, retentionSeconds),
    0,
    retentionSeconds,
  );
  return {
    stateBucket: bucket === undefined ? undefined : validateBucketName('STATE_BUCKET', bucket),
    stateKey: validateObjectKey('STATE_KEY', optionalSetting(env, 'STATE_KEY') ?? DEFAULT_STATE_KEY),
    retentionSeconds,
    backfillSeconds,
  };
}
