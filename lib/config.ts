/**
 * Configuration: every mode (Lambda, `serve`, `collect`) reads the same environment variables,
 * validated once at start with errors that name the variable.
 */

export const DEFAULT_API_URL = 'https://platform.unstructuredapp.io';
/** Seconds; suits jobs from about a second to a day. */
export const DEFAULT_HISTOGRAM_BUCKETS = [
  1, 2, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 28800, 43200, 86400,
] as const;
export const DEFAULT_QUANTILES = [0.5, 0.9, 0.95, 0.99, 1] as const;
/**
 * MAX_RESPONSE_BYTES: the benchmark's 10^6 jobs are a 451 MB body (docs/performance.md), so 1 GiB lets
 * through accounts of ~2.3 million such jobs, and bounds what the pull holds for any body, the worst being
 * the smallest valid records, one new id each (docs/performance.md, "Memory bounds").
 */
export const DEFAULT_MAX_RESPONSE_BYTES = 1024 ** 3;
/** Bounds of MAX_RESPONSE_BYTES: below 1 KiB no real list fits; above 64 GiB the bound says nothing. */
export const MAX_RESPONSE_BYTES_RANGE = { min: 1024, max: 64 * 1024 ** 3 } as const;
/** `serve`'s defaults (their reasons: lib/outputs/http/server.ts). */
export const DEFAULT_MAX_CONNECTIONS = 256;
export const DEFAULT_SEND_TIMEOUT_MS = 30_000;

export interface Config {
  /** Base URL without a trailing `/` or `/api/v1`. */
  readonly apiUrl: string;
  /** API key given directly (UNSTRUCTURED_API_KEY). */
  readonly apiKey: string | undefined;
  /** SSM parameter name holding the API key (UNSTRUCTURED_API_KEY_PARAM), read at run time. */
  readonly apiKeyParam: string | undefined;
  /** Workflow allow-list (WORKFLOW_IDS); empty means all workflows. */
  readonly workflowIds: readonly string[];
  /** Timeout of one HTTP attempt until the response headers arrive and between body chunks (ms). */
  readonly requestTimeoutMs: number;
  /** The whole pull, retries included, gives up after this (ms). */
  readonly pullDeadlineMs: number;
  /** Retries after the first attempt, on 429, 5xx and connection errors. */
  readonly maxRetries: number;
  /** Body bytes (after decompression) one pull may read, all its requests together; past them it fails. */
  readonly maxResponseBytes: number;
  readonly runtimeWindowSeconds: number;
  readonly maxWorkflows: number;
  readonly histogramBuckets: readonly number[];
  readonly quantiles: readonly number[];
  /** How long a collection is reused by concurrent and subsequent scrapes (ms). */
  readonly cacheTtlMs: number;
  readonly metricsToken: string | undefined;
  readonly metricsTokenParam: string | undefined;
  readonly cloudwatchNamespace: string;
  readonly port: number;
  readonly host: string;
  /** Open connections `serve` allows (MAX_CONNECTIONS). */
  readonly maxConnections: number;
  /** A `serve` response not fully sent within this closes its connection (SEND_TIMEOUT, ms). */
  readonly sendTimeoutMs: number;
  /** Read `GET /api/v1/workflows/` at each collection (WORKFLOWS_API, on unless `off`): issue 17. */
  readonly workflowsApi: boolean;
  /** A scheduled run is expected this long after its fire time (SCHEDULE_GRACE, seconds). */
  readonly scheduleGraceSeconds: number;
  /** IANA zone cron schedules are read in (SCHEDULE_TIMEZONE). */
  readonly scheduleTimezone: string;
  /** Job details of finished jobs (JOB_DETAILS=on|off; lib/details/stage.ts). Absent: on. */
  readonly jobDetails?: boolean;
  /** Details requests in flight at once (DETAILS_CONCURRENCY). Absent: DEFAULT_DETAILS_CONCURRENCY. */
  readonly detailsConcurrency?: number;
  /** Details requests per collection (DETAILS_MAX_REQUESTS). Absent: DEFAULT_DETAILS_MAX_REQUESTS. */
  readonly detailsMaxRequests?: number;
  /** FAILED_DOCUMENTS=hide: the status page and CLI show counts only, no document names or errors. */
  readonly hideFailedDocuments?: boolean;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

const DURATION_UNITS: Readonly<Record<string, number>> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/**
 * Parses "90s", "15m", "24h", "7d", "1h30m", "500ms" (and "0") into seconds. A unit is required: a bare "24" is refused
 * rather than guessed (it was once read as 24 seconds where 24 hours was meant).
 */
export function parseDurationSetting(variable: string, raw: string): number {
  const text = raw.trim();
  if (/^0+(\.0+)?$/.test(text)) return 0; // zero is zero in every unit
  if (/^\d+(\.\d+)?$/.test(text)) {
    throw new ConfigError(
      variable,
      `a duration needs a unit (ms, s, m, h, d or w), like 90s, 15m, 24h or 7d, got ${JSON.stringify(raw)}`,
    );
  }
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/gy;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    total += Number(m[1]) * (DURATION_UNITS[m[2] as string] as number);
    consumed = re.lastIndex;
  }
  if (text === '' || consumed !== text.length) {
    throw new ConfigError(variable, `expected a duration like 90s, 15m, 24h or 7d, got ${JSON.stringify(raw)}`);
  }
  return total;
}

function positiveDuration(env: Env, variable: string, fallbackSeconds: number): number {
  const raw = env[variable];
  if (raw === undefined || raw.trim() === '') return fallbackSeconds;
  const seconds = parseDurationSetting(variable, raw);
  if (!(seconds > 0)) throw new ConfigError(variable, `must be greater than 0, got ${JSON.stringify(raw)}`);
  return seconds;
}

const BYTE_UNITS: Readonly<Record<string, number>> = {
  '': 1,
  B: 1,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
};

/** Parses "1073741824", "1GiB", "512MiB", "500MB", "1.5GB" (units as written, optional space) into bytes. */
export function parseByteSize(variable: string, raw: string): number {
  const m = /^(\d+(?:\.\d+)?) ?([A-Za-z]*)$/.exec(raw.trim());
  const unit = m === null ? undefined : BYTE_UNITS[m[2] as string];
  if (m === null || unit === undefined) {
    throw new ConfigError(
      variable,
      `expected a size like 1073741824, 1GiB, 512MiB or 500MB, got ${JSON.stringify(raw)}`,
    );
  }
  return Math.floor(Number(m[1]) * unit);
}

function byteSize(env: Env, variable: string, fallback: number, min: number, max: number): number {
  const raw = env[variable];
  if (raw === undefined || raw.trim() === '') return fallback;
  const bytes = parseByteSize(variable, raw);
  if (bytes < min || bytes > max)
    throw new ConfigError(variable, `must be between ${min} and ${max} bytes, got ${bytes}`);
  return bytes;
}

function integer(env: Env, variable: string, fallback: number, min: number, max: number): number {
  const raw = env[variable];
  if (raw === undefined || raw.trim() === '') return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(variable, `expected a whole number, got ${JSON.stringify(raw)}`);
  const value = Number(raw.trim());
  if (value < min || value > max) throw new ConfigError(variable, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

function numberList(
  env: Env,
  variable: string,
  fallback: readonly number[],
  check: (n: number) => boolean,
  what: string,
): number[] {
  const raw = env[variable];
  if (raw === undefined || raw.trim() === '') return [...fallback];
  const parts = raw.split(',').map((p) => p.trim());
  const values = parts.map(Number);
  values.forEach((v, i) => {
    if (parts[i] === '' || !Number.isFinite(v) || !check(v)) {
      throw new ConfigError(variable, `${JSON.stringify(parts[i])} is not ${what}`);
    }
  });
  for (let i = 1; i < values.length; i++) {
    if ((values[i] as number) <= (values[i - 1] as number))
      throw new ConfigError(variable, 'values must be strictly ascending');
  }
  return values;
}

/** The variable's value, trimmed; undefined when it is unset or blank (blank means "use the default"). */
export function optionalSetting(env: Env, variable: string): string | undefined {
  const raw = env[variable];
  return raw === undefined || raw.trim() === '' ? undefined : raw.trim();
}

/**
 * A secret (or the SSM parameter naming one): unset is "not configured", but set and blank is an error.
 * A blank value is what a failed secret injection looks like, and reading it as "unset" would silently
 * turn on the demo or turn off the metrics token.
 */
function secret(env: Env, variable: string): string | undefined {
  const raw = env[variable];
  if (raw === undefined) return undefined;
  if (raw.trim() === '') throw new ConfigError(variable, 'is set but empty; give the value, or unset the variable');
  return raw.trim();
}

/**
 * The metrics token: a secret, and printable ASCII. HTTP header values reach the server as Latin-1 bytes, so a
 * token with other characters could never equal a `Bearer` header (only basic auth, base64-encoded, carries
 * UTF-8): refused at start rather than locking every scraper out. The message never shows the value.
 */
function metricsToken(env: Env): string | undefined {
  const token = secret(env, 'METRICS_TOKEN');
  if (token !== undefined) checkMetricsToken('METRICS_TOKEN', token);
  return token;
}

/** Throws the ConfigError `variable` gets for a token that cannot travel in a Bearer header (see metricsToken). */
export function checkMetricsToken(variable: string, token: string): void {
  if (!PRINTABLE_ASCII.test(token)) {
    throw new ConfigError(
      variable,
      'holds a character outside printable ASCII (space to ~), which an HTTP Bearer header cannot carry; choose a token of ASCII letters, digits and punctuation (e.g. openssl rand -hex 32)',
    );
  }
}

const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;

/** `true` or `false` (any case); unset or blank is `fallback`. */
function boolean(env: Env, variable: string, fallback: boolean): boolean {
  const raw = optionalSetting(env, variable);
  if (raw === undefined) return fallback;
  const value = raw.toLowerCase();
  if (value !== 'true' && value !== 'false')
    throw new ConfigError(variable, `expected true or false, got ${JSON.stringify(raw)}`);
  return value === 'true';
}

/** The variables that point the exporter at an account; with none of them set, `serve` runs the demo. */
export const ACCOUNT_VARIABLES = [
  'UNSTRUCTURED_API_KEY',
  'UNSTRUCTURED_API_KEY_PARAM',
  'UNSTRUCTURED_API_URL',
] as const;

/**
 * Whether `serve` runs the embedded demo: only when no account variable is set at all. An API URL without a
 * key is a configuration error (the user meant an account), never the demo.
 */
export function wantsDemo(env: Env): boolean {
  if (ACCOUNT_VARIABLES.every((variable) => env[variable] === undefined)) return true;
  requireApiKey(env);
  return false;
}

/** Throws the configuration error a command that needs an account gives when no API key is configured. */
export function requireApiKey(env: Env, hint = ''): void {
  if (secret(env, 'UNSTRUCTURED_API_KEY') === undefined && secret(env, 'UNSTRUCTURED_API_KEY_PARAM') === undefined) {
    const url = env.UNSTRUCTURED_API_URL === undefined ? '' : ' (UNSTRUCTURED_API_URL is set)';
    throw new ConfigError('UNSTRUCTURED_API_KEY', `not set${url}; set it or UNSTRUCTURED_API_KEY_PARAM${hint}`);
  }
}

/**
 * Accepts `https://host`, `https://host/`, `https://host/api/v1` and `https://host/api/v1/`; `http://` only for a
 * loopback host (isLoopbackHost) unless `allowInsecure` (ALLOW_INSECURE_API_URL=true): the API key travels in a
 * request header, in clear text over http. No message quotes the value, which may hold credentials.
 */
export function normalizeApiUrl(raw: string, allowInsecure = false): string {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new ConfigError(
      'UNSTRUCTURED_API_URL',
      'not a URL (the value is not repeated here: it may hold credentials); expected https://host[/api/v1]',
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigError('UNSTRUCTURED_API_URL', `must be http(s), got ${url.protocol}`);
  }
  if (url.search || url.hash || url.username || url.password) {
    throw new ConfigError('UNSTRUCTURED_API_URL', 'must not carry a query, fragment or credentials');
  }
  if (url.protocol === 'http:' && !allowInsecure && !isLoopbackHost(url.hostname)) {
    throw new ConfigError(
      'UNSTRUCTURED_API_URL',
      `http:// would send the API key in clear text to ${url.host}; use https://, or set ALLOW_INSECURE_API_URL=true if the network path is otherwise protected (http:// to 127.0.0.0/8, ::1 or localhost needs no setting)`,
    );
  }
  const path = url.pathname.replace(/\/+$/, '').replace(/\/api\/v1$/, '');
  return `${url.origin}${path}`;
}

/**
 * A host the key cannot leave the machine for: `localhost`, 127.0.0.0/8 and ::1, as the WHATWG URL parser
 * writes them (it turns `127.1` or `0x7f.0.0.1` into `127.0.0.1`, `[::1]`'s other spellings into `[::1]`, and
 * lower-cases names).
 */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/** JOB_DETAILS, DETAILS_CONCURRENCY, DETAILS_MAX_REQUESTS, FAILED_DOCUMENTS (issue 16; lib/details/). */
function loadDetailsConfig(env: Env) {
  const choice = (variable: string, values: readonly string[], fallback: string): string => {
    const raw = optionalSetting(env, variable)?.toLowerCase() ?? fallback;
    if (!values.includes(raw))
      throw new ConfigError(variable, `expected ${values.join(' or ')}, got ${JSON.stringify(env[variable])}`);
    return raw;
  };
  return {
    jobDetails: choice('JOB_DETAILS', ['on', 'off'], 'on') === 'on',
    detailsConcurrency: integer(env, 'DETAILS_CONCURRENCY', 4, 1, 64),
    detailsMaxRequests: integer(env, 'DETAILS_MAX_REQUESTS', 200, 0, 100_000),
    hideFailedDocuments: choice('FAILED_DOCUMENTS', ['show', 'hide'], 'show') === 'hide',
  };
}

const UUIDISH = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

export function loadConfig(env: Env = process.env): Config {
  const workflowIds = (optionalSetting(env, 'WORKFLOW_IDS') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const id of workflowIds) {
    if (!UUIDISH.test(id)) throw new ConfigError('WORKFLOW_IDS', `not a workflow id: ${JSON.stringify(id)}`);
  }
  const host = optionalSetting(env, 'HOST') ?? '0.0.0.0';
  return {
    apiUrl: normalizeApiUrl(
      optionalSetting(env, 'UNSTRUCTURED_API_URL') ?? DEFAULT_API_URL,
      boolean(env, 'ALLOW_INSECURE_API_URL', false),
    ),
    apiKey: secret(env, 'UNSTRUCTURED_API_KEY'),
    apiKeyParam: secret(env, 'UNSTRUCTURED_API_KEY_PARAM'),
    workflowIds: [...new Set(workflowIds)],
    requestTimeoutMs: positiveDuration(env, 'REQUEST_TIMEOUT', 10) * 1000,
    pullDeadlineMs: positiveDuration(env, 'PULL_DEADLINE', 25) * 1000,
    maxRetries: integer(env, 'MAX_RETRIES', 3, 0, 10),
    maxResponseBytes: byteSize(
      env,
      'MAX_RESPONSE_BYTES',
      DEFAULT_MAX_RESPONSE_BYTES,
      MAX_RESPONSE_BYTES_RANGE.min,
      MAX_RESPONSE_BYTES_RANGE.max,
    ),
    runtimeWindowSeconds: positiveDuration(env, 'RUNTIME_WINDOW', 86400),
    maxWorkflows: integer(env, 'MAX_WORKFLOWS', 50, 1, 100_000),
    histogramBuckets: numberList(
      env,
      'HISTOGRAM_BUCKETS',
      DEFAULT_HISTOGRAM_BUCKETS,
      (n) => n > 0,
      'a positive number of seconds',
    ),
    quantiles: numberList(env, 'QUANTILES', DEFAULT_QUANTILES, (n) => n >= 0 && n <= 1, 'a quantile between 0 and 1'),
    cacheTtlMs: positiveDuration(env, 'CACHE_TTL', 30) * 1000,
    metricsToken: metricsToken(env),
    metricsTokenParam: secret(env, 'METRICS_TOKEN_PARAM'),
    cloudwatchNamespace: optionalSetting(env, 'CLOUDWATCH_NAMESPACE') ?? 'Unstructured/Jobs',
    port: integer(env, 'PORT', 9464, 0, 65535),
    host,
    maxConnections: integer(env, 'MAX_CONNECTIONS', DEFAULT_MAX_CONNECTIONS, 1, 100_000),
    sendTimeoutMs: positiveDuration(env, 'SEND_TIMEOUT', DEFAULT_SEND_TIMEOUT_MS / 1000) * 1000,
    ...scheduleSettings(env),
    ...loadDetailsConfig(env),
  };
}

/** Default SCHEDULE_GRACE (issue 17), seconds: the period of the API's shortest predefined schedule (every 15 minutes). */
export const DEFAULT_SCHEDULE_GRACE_SECONDS = 15 * 60;

/** WORKFLOWS_API, SCHEDULE_GRACE and SCHEDULE_TIMEZONE (issue 17: workflow inventory and schedule health). */
function scheduleSettings(env: Env): Pick<Config, 'workflowsApi' | 'scheduleGraceSeconds' | 'scheduleTimezone'> {
  const api = (optionalSetting(env, 'WORKFLOWS_API') ?? 'on').toLowerCase();
  if (api !== 'on' && api !== 'off')
    throw new ConfigError('WORKFLOWS_API', `expected on or off, got ${JSON.stringify(env.WORKFLOWS_API)}`);
  const raw = env.SCHEDULE_GRACE;
  const grace =
    raw === undefined || raw.trim() === ''
      ? DEFAULT_SCHEDULE_GRACE_SECONDS
      : parseDurationSetting('SCHEDULE_GRACE', raw);
  const timezone = optionalSetting(env, 'SCHEDULE_TIMEZONE') ?? 'UTC';
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch {
    throw new ConfigError(
      'SCHEDULE_TIMEZONE',
      `not a time zone this runtime knows: ${JSON.stringify(timezone)} (an IANA name like UTC or Europe/Berlin)`,
    );
  }
  return { workflowsApi: api === 'on', scheduleGraceSeconds: grace, scheduleTimezone: timezone };
}
