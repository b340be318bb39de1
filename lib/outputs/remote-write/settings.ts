/**
 * Remote-write settings (docs/remote-write.md), read from the environment like every other setting. The output is
 * on when REMOTE_WRITE_URL is set. Secrets (a bearer token, a basic-auth password) come directly or, deployed, from
 * SSM by their `_PARAM` twin, as UNSTRUCTURED_API_KEY does (lib/secrets.ts); no message quotes a value.
 */
import { hostname } from 'node:os';
import { ConfigError, type Env, isLoopbackHost, optionalSetting, parseDurationSetting } from '../../config.js';

export const REMOTE_WRITE_VARIABLES = {
  url: 'REMOTE_WRITE_URL',
  allowInsecure: 'ALLOW_INSECURE_REMOTE_WRITE_URL',
  bearerToken: 'REMOTE_WRITE_BEARER_TOKEN',
  username: 'REMOTE_WRITE_USERNAME',
  password: 'REMOTE_WRITE_PASSWORD',
  sigv4Region: 'REMOTE_WRITE_SIGV4_REGION',
  job: 'REMOTE_WRITE_JOB',
  instance: 'REMOTE_WRITE_INSTANCE',
  deadline: 'REMOTE_WRITE_DEADLINE',
  timeout: 'REMOTE_WRITE_TIMEOUT',
} as const;

/**
 * The whole push, retries included, gives up after this. The scheduled function's timeout (60 s) holds the pull
 * (PULL_DEADLINE 40 s), CloudWatch and this: 15 s leaves room for both outputs after a slow pull.
 */
export const DEFAULT_REMOTE_WRITE_DEADLINE_MS = 15_000;
/** One request (one attempt) gives up after this, or sooner when the deadline is nearer. */
export const DEFAULT_REMOTE_WRITE_TIMEOUT_MS = 5_000;

/** The `job` label a scrape would add, named as the dashboards' $job variable reads it. */
export const DEFAULT_REMOTE_WRITE_JOB = 'unstructured-jobs-exporter';

export type RemoteWriteAuth =
  | { readonly kind: 'none' }
  | { readonly kind: 'bearer'; readonly token: string | undefined; readonly tokenParam: string | undefined }
  | {
      readonly kind: 'basic';
      readonly username: string;
      readonly password: string | undefined;
      readonly passwordParam: string | undefined;
    }
  | { readonly kind: 'sigv4'; readonly region: string };

export interface RemoteWriteSettings {
  /** The receiver's URL (https, or http to loopback / when allowed). */
  readonly url: string;
  readonly auth: RemoteWriteAuth;
  /** The `job` and `instance` labels added to every series (a scrape adds them too; the dashboards filter on job). */
  readonly job: string;
  readonly instance: string;
  readonly deadlineMs: number;
  readonly timeoutMs: number;
}

/** A secret variable: unset is "not configured", set and blank is an error (as lib/config.ts's secrets). */
function secret(env: Env, variable: string): string | undefined {
  const raw = env[variable];
  if (raw === undefined) return undefined;
  if (raw.trim() === '') throw new ConfigError(variable, 'is set but empty; give the value, or unset the variable');
  return raw.trim();
}

function duration(env: Env, variable: string, fallbackMs: number): number {
  const raw = optionalSetting(env, variable);
  if (raw === undefined) return fallbackMs;
  const seconds = parseDurationSetting(variable, raw);
  if (!(seconds > 0)) throw new ConfigError(variable, `must be greater than 0, got ${JSON.stringify(raw)}`);
  return seconds * 1000;
}

/**
 * `https://…`, or `http://` to a loopback host only unless ALLOW_INSECURE_REMOTE_WRITE_URL=true (the token or the
 * password travels in a header, the samples in the body). No credentials, query or fragment: credentials belong in
 * their own settings, where they are kept out of logs. The value is never quoted (it may hold credentials).
 */
export function checkRemoteWriteUrl(raw: string, allowInsecure: boolean): string {
  const variable = REMOTE_WRITE_VARIABLES.url;
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new ConfigError(variable, 'not a URL (the value is not repeated here: it may hold credentials)');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new ConfigError(variable, `must be http(s), got ${url.protocol}`);
  if (url.username || url.password || url.search || url.hash) {
    throw new ConfigError(
      variable,
      'must not carry credentials, a query or a fragment; use REMOTE_WRITE_BEARER_TOKEN, REMOTE_WRITE_USERNAME/PASSWORD or REMOTE_WRITE_SIGV4_REGION',
    );
  }
  if (url.protocol === 'http:' && !allowInsecure && !isLoopbackHost(url.hostname)) {
    throw new ConfigError(
      variable,
      `http:// would send the samples and credentials in clear text to ${url.host}; use https://, or set ${REMOTE_WRITE_VARIABLES.allowInsecure}=true if the network path is otherwise protected (http:// to 127.0.0.0/8, ::1 or localhost needs no setting)`,
    );
  }
  return url.href;
}

function auth(env: Env): RemoteWriteAuth {
  const v = REMOTE_WRITE_VARIABLES;
  const token = secret(env, v.bearerToken);
  const tokenParam = secret(env, `${v.bearerToken}_PARAM`);
  const username = optionalSetting(env, v.username);
  const password = secret(env, v.password);
  const passwordParam = secret(env, `${v.password}_PARAM`);
  const region = optionalSetting(env, v.sigv4Region);
  const kinds = [
    token !== undefined || tokenParam !== undefined ? 'bearer' : undefined,
    username !== undefined || password !== undefined || passwordParam !== undefined ? 'basic' : undefined,
    region !== undefined ? 'sigv4' : undefined,
  ].filter((k) => k !== undefined);
  if (kinds.length > 1)
    throw new ConfigError(v.url, `one authentication at a time, got ${kinds.join(' and ')} settings`);
  if (token !== undefined && tokenParam !== undefined)
    throw new ConfigError(v.bearerToken, `set it or ${v.bearerToken}_PARAM, not both`);
  if (password !== undefined && passwordParam !== undefined)
    throw new ConfigError(v.password, `set it or ${v.password}_PARAM, not both`);
  if (kinds[0] === 'bearer') return { kind: 'bearer', token, tokenParam };
  if (kinds[0] === 'basic') {
    if (username === undefined) throw new ConfigError(v.username, 'not set; basic auth needs a user name');
    if (username.includes(':')) throw new ConfigError(v.username, 'must not contain ":" (RFC 7617)');
    if (password === undefined && passwordParam === undefined)
      throw new ConfigError(v.password, `not set; basic auth needs it or ${v.password}_PARAM`);
    return { kind: 'basic', username, password, passwordParam };
  }
  if (region !== undefined) {
    if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region))
      throw new ConfigError(v.sigv4Region, `expected an AWS region like us-east-1, got ${JSON.stringify(region)}`);
    return { kind: 'sigv4', region };
  }
  return { kind: 'none' };
}

/** The settings, or undefined when REMOTE_WRITE_URL is unset (remote write off). */
export function loadRemoteWriteSettings(env: Env = process.env): RemoteWriteSettings | undefined {
  const v = REMOTE_WRITE_VARIABLES;
  const raw = optionalSetting(env, v.url);
  if (raw === undefined) return undefined;
  const allowInsecure = (optionalSetting(env, v.allowInsecure) ?? 'false').toLowerCase();
  if (allowInsecure !== 'true' && allowInsecure !== 'false')
    throw new ConfigError(v.allowInsecure, `expected true or false, got ${JSON.stringify(env[v.allowInsecure])}`);
  return {
    url: checkRemoteWriteUrl(raw, allowInsecure === 'true'),
    auth: auth(env),
    job: optionalSetting(env, v.job) ?? DEFAULT_REMOTE_WRITE_JOB,
    // A function's name is what a scrape's host:port would tell: which deployment pushed.
    instance: optionalSetting(env, v.instance) ?? optionalSetting(env, 'AWS_LAMBDA_FUNCTION_NAME') ?? hostname(),
    deadlineMs: duration(env, v.deadline, DEFAULT_REMOTE_WRITE_DEADLINE_MS),
    timeoutMs: duration(env, v.timeout, DEFAULT_REMOTE_WRITE_TIMEOUT_MS),
  };
}
