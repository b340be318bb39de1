/**
 * Reliability, abuse: nobody without the token reads the metrics, and the API key and the token never leave the
 * process — not in logs, error messages, the exposition, the status page, CloudWatch datums or a Lambda response —
 * whatever the upstream sends back (including the key itself) and whatever goes wrong (config errors, SSM down).
 *
 * Covers the local server (the CLI binary, spawned) and the metrics Lambda handler (in-process), each with the
 * token from METRICS_TOKEN and from SSM (moto: METRICS_TOKEN_PARAM + UNSTRUCTURED_API_KEY_PARAM as SecureString).
 * The token check (lib/outputs/http/app.ts `authorized`) compares SHA-256 digests with timingSafeEqual: asserted here by
 * behaviour (every near miss is refused), not by timing.
 * (`npm audit --omit=dev` is `npm run audit`, outside this suite: the registry reachable from CI has no audit endpoint.)
 * The IAM least-privilege check of the packaged template lives in test/deploy-package.test.ts.
 *
 * Results go to test/.artifacts/reliability-security.json (scripts/reliability-report.mjs).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { renderDatums } from '../lib/outputs/cloudwatch/datums.js';
import { ConfigError } from '../lib/config.js';
import { createExporter } from '../lib/exporter.js';
import { authorized } from '../lib/outputs/http/app.js';
import { Logger, MIN_SECRET_LENGTH } from '../lib/log.js';
import { runCli } from './support/cli.js';
import { FAKE_API_KEY, sampleJobs, startFakeApi, type FakeApi, type Scenario } from './support/fake-api.js';
import { clockEnv } from './support/clock.js';
import { FAKE_CREDENTIALS, MOTO_REGION, startMoto, type RunningMoto } from './support/moto.js';
import { startProcess } from './support/processes.js';

const ROOT = new URL('..', import.meta.url).pathname;
const TOKEN = 'tok-9f2c71e04b5a3d68e1f0a7c2';
const SSM_TOKEN = 'ssm-tok-51d0c8e2a7f94b36c0de';
const SSM_KEY = 'ssm-key-e4a9b2c07d1f3865ab12';
const TOKEN_PARAM = '/unstructured-jobs-exporter/metrics-token';
const KEY_PARAM = '/unstructured-jobs-exporter/api-key';
const MISSING_PARAM = '/unstructured-jobs-exporter/not-there';
const ALL_SECRETS = [FAKE_API_KEY, TOKEN, SSM_TOKEN, SSM_KEY];

// ---------------------------------------------------------------------------------------------------------
// Results (read by scripts/reliability-report.mjs)

const checks: Array<{ area: string; check: string; passed: boolean; failure?: string }> = [];
async function recorded(area: string, check: string, body: () => Promise<void> | void): Promise<void> {
  try {
    await body();
    checks.push({ area, check, passed: true });
  } catch (error) {
    checks.push({
      area,
      check,
      passed: false,
      failure: (error instanceof Error ? error.message : String(error)).split('\n')[0] as string,
    });
    throw error;
  }
}

afterAll(() => {
  mkdirSync(new URL('./.artifacts/', import.meta.url), { recursive: true });
  writeFileSync(
    new URL('./.artifacts/reliability-security.json', import.meta.url),
    `${JSON.stringify({ generatedAt: new Date().toISOString(), checks }, null, 2)}\n`,
  );
});

// ---------------------------------------------------------------------------------------------------------
// Helpers

/** The shortest piece of a secret that counts as a leak (MIN_SECRET_LENGTH: what the scrubber removes). */
const LEAK_PIECE_CHARS = MIN_SECRET_LENGTH;

/** Every 6-character piece of a secret found in `text` (a cut-off key is a leak too); empty when none. */
function leaks(text: string, secrets: readonly string[] = ALL_SECRETS): string[] {
  const found: string[] = [];
  for (const secret of secrets) {
    for (let i = 0; i + LEAK_PIECE_CHARS <= secret.length; i++) {
      if (text.includes(secret.slice(i, i + LEAK_PIECE_CHARS))) {
        found.push(secret.slice(i, i + LEAK_PIECE_CHARS));
        break;
      }
    }
  }
  return found;
}

/** The longest run of `secret`'s characters (any substring of it) found in `text`. */
function longestRun(text: string, secret: string): number {
  let best = 0;
  for (let i = 0; i < secret.length; i++) {
    for (let j = i + best + 1; j <= secret.length; j++) {
      if (!text.includes(secret.slice(i, j))) break;
      best = j - i;
    }
  }
  return best;
}

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** Credentials that must be refused, for a given token. */
function nearMisses(token: string): Array<readonly [string, string | undefined]> {
  return [
    ['no Authorization header', undefined],
    ['a wrong token', 'Bearer not-the-token'],
    ['the token plus one character', `Bearer ${token}x`],
    ['the token minus its last character', `Bearer ${token.slice(0, -1)}`],
    ['the token with its last character changed', `Bearer ${token.slice(0, -1)}${token.endsWith('0') ? '1' : '0'}`],
    ['the token in upper case', `Bearer ${token.toUpperCase()}`],
    ['an empty bearer', 'Bearer '],
    ['another scheme', `Token ${token}`],
    ['the token without a scheme', token],
    ['basic auth with a wrong password', basic('prometheus', 'nope')],
    ['basic auth with the token as user name', basic(token, '')],
    ['a 10,000-character token', `Bearer ${'x'.repeat(10_000)}`],
  ];
}
function rightOnes(token: string): Array<readonly [string, string]> {
  return [
    ['Bearer <token>', `Bearer ${token}`],
    ['bearer <token> (scheme in lower case)', `bearer ${token}`],
    ['basic auth with the token as password', basic('prometheus', token)],
  ];
}

interface Reply {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

function urlEvent(path: string, headers: Record<string, string>): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers,
    requestContext: {
      accountId: 'anonymous',
      apiId: 'security',
      domainName: 'security.lambda-url.us-east-1.on.aws',
      domainPrefix: 'security',
      http: { method: 'GET', path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.7', userAgent: 'curl/8' },
      requestId: 'security',
      routeKey: '$default',
      stage: '$default',
      time: new Date().toUTCString(),
      timeEpoch: Date.now(),
    },
    isBase64Encoded: false,
  };
}

/** process.env changes undone by the returned function. */
function setEnv(env: Record<string, string | undefined>): () => void {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  return () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}

/** Every line the in-process Lambda handlers write to stderr (their Logger's default sink). */
const stderr: string[] = [];

/** A fresh (cold) metrics Lambda module, its env applied for as long as the test runs. */
async function coldLambda(
  env: Record<string, string | undefined>,
): Promise<{ call(path: string, headers?: Record<string, string>): Promise<Reply>; restore(): void }> {
  const restore = setEnv({
    UNSTRUCTURED_API_URL: undefined,
    UNSTRUCTURED_API_KEY: undefined,
    UNSTRUCTURED_API_KEY_PARAM: undefined,
    METRICS_TOKEN: undefined,
    METRICS_TOKEN_PARAM: undefined,
    MAX_RETRIES: undefined,
    ...env,
  });
  vi.resetModules();
  const { handler } = await import('../functions/metrics.js');
  return {
    restore,
    async call(path, headers = {}) {
      const out = await handler(urlEvent(path, headers));
      const raw = out.isBase64Encoded ? Buffer.from(out.body ?? '', 'base64') : Buffer.from(out.body ?? '', 'utf8');
      const headersOut = Object.fromEntries(Object.entries(out.headers ?? {}).map(([k, v]) => [k, String(v)]));
      const body = headersOut['content-encoding'] === 'gzip' ? gunzipSync(raw).toString('utf8') : raw.toString('utf8');
      return { status: out.statusCode ?? 200, headers: headersOut, body };
    },
  };
}

// ---------------------------------------------------------------------------------------------------------

let moto: RunningMoto;
let api: FakeApi;
let ssmApi: FakeApi;
let restoreAwsEnv: () => void = () => undefined;

beforeAll(async () => {
  [moto, api, ssmApi] = await Promise.all([
    startMoto(),
    startFakeApi({ jobs: sampleJobs() }),
    startFakeApi({ jobs: sampleJobs(), apiKey: SSM_KEY }),
  ]);
  const ssm = new SSMClient({ region: MOTO_REGION, endpoint: moto.endpoint, credentials: { ...FAKE_CREDENTIALS } });
  try {
    await ssm.send(
      new PutParameterCommand({ Name: TOKEN_PARAM, Value: SSM_TOKEN, Type: 'SecureString', Overwrite: true }),
    );
    await ssm.send(new PutParameterCommand({ Name: KEY_PARAM, Value: SSM_KEY, Type: 'SecureString', Overwrite: true }));
  } finally {
    ssm.destroy();
  }
  // The exporter's SecretSource builds its SSMClient from the standard environment, as in Lambda.
  restoreAwsEnv = setEnv(awsEnv());
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  });
}, 60_000);

afterAll(async () => {
  vi.restoreAllMocks();
  restoreAwsEnv();
  await Promise.all([moto?.stop(), api?.close(), ssmApi?.close()]);
});

function awsEnv(): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: moto.endpoint,
    AWS_REGION: MOTO_REGION,
    AWS_ACCESS_KEY_ID: FAKE_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: FAKE_CREDENTIALS.secretAccessKey,
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

// ---------------------------------------------------------------------------------------------------------

interface Target {
  readonly name: string;
  readonly token: string;
  readonly upstream: () => FakeApi;
  open(): Promise<{
    request(path: string, headers: Record<string, string>): Promise<Reply>;
    output(): string;
    close(): Promise<void>;
  }>;
}

function localServer(name: string, token: string, upstream: () => FakeApi, env: () => Record<string, string>): Target {
  return {
    name,
    token,
    upstream,
    async open() {
      const server = await startProcess(
        process.execPath,
        [join(ROOT, 'bin/unstructured-jobs-exporter.mjs'), 'serve', '--port', '0', '--host', '127.0.0.1'],
        {
          env: {
            PATH: process.env.PATH ?? '',
            ...clockEnv(),
            LOG_LEVEL: 'debug',
            UNSTRUCTURED_API_URL: upstream().url,
            ...env(),
          },
          ready: /listening on (http:\/\/127\.0\.0\.1:\d+)\/metrics/,
          deadlineMs: 30_000,
        },
      );
      const base = server.match[1] as string;
      return {
        async request(path, headers) {
          const response = await fetch(`${base}${path}`, { headers });
          return {
            status: response.status,
            headers: Object.fromEntries(response.headers),
            body: await response.text(),
          };
        },
        output: () => server.output(),
        close: () => server.stop(),
      };
    },
  };
}

function lambda(name: string, token: string, upstream: () => FakeApi, env: () => Record<string, string>): Target {
  return {
    name,
    token,
    upstream,
    async open() {
      stderr.length = 0;
      const cold = await coldLambda({ LOG_LEVEL: 'debug', UNSTRUCTURED_API_URL: upstream().url, ...env() });
      return {
        request: (path, headers) => cold.call(path, headers),
        output: () => stderr.join(''),
        close: async () => cold.restore(),
      };
    },
  };
}

const TARGETS: readonly Target[] = [
  localServer(
    'local server, METRICS_TOKEN',
    TOKEN,
    () => api,
    () => ({ UNSTRUCTURED_API_KEY: FAKE_API_KEY, METRICS_TOKEN: TOKEN }),
  ),
  localServer(
    'local server, token and key from SSM',
    SSM_TOKEN,
    () => ssmApi,
    () => ({ ...awsEnv(), METRICS_TOKEN_PARAM: TOKEN_PARAM, UNSTRUCTURED_API_KEY_PARAM: KEY_PARAM }),
  ),
  lambda(
    'Lambda handler, METRICS_TOKEN',
    TOKEN,
    () => api,
    () => ({ UNSTRUCTURED_API_KEY: FAKE_API_KEY, METRICS_TOKEN: TOKEN }),
  ),
  lambda(
    'Lambda handler, token and key from SSM',
    SSM_TOKEN,
    () => ssmApi,
    () => ({ METRICS_TOKEN_PARAM: TOKEN_PARAM, UNSTRUCTURED_API_KEY_PARAM: KEY_PARAM }),
  ),
];

describe('nobody without the token reads /metrics or /', () => {
  it.each(TARGETS)('$name', { timeout: 60_000 }, async (target) => {
    // Prepare
    const upstream = target.upstream();
    upstream.requests.length = 0;
    const opened = await target.open();
    try {
      // Act: every near miss, on both guarded paths.
      const refused: Array<{ what: string; reply: Reply }> = [];
      for (const path of ['/metrics', '/']) {
        for (const [what, header] of nearMisses(target.token)) {
          refused.push({
            what: `${path} ${what}`,
            reply: await opened.request(path, header === undefined ? {} : { authorization: header }),
          });
        }
      }
      const pullsWhileRefusing = upstream.requests.length;
      const health = await opened.request('/healthz', {});
      const accepted: Array<{ what: string; reply: Reply }> = [];
      for (const path of ['/metrics', '/']) {
        for (const [what, header] of rightOnes(target.token))
          accepted.push({ what: `${path} ${what}`, reply: await opened.request(path, { authorization: header }) });
      }

      // Assess
      await recorded(
        'access',
        `${target.name}: ${refused.length} near-miss credentials on /metrics and / → 401, no upstream pull`,
        () => {
          for (const { what, reply } of refused) {
            expect(reply.status, what).toBe(401);
            expect(reply.headers['www-authenticate'], what).toContain('Bearer');
            expect(leaks(reply.body), what).toEqual([]);
          }
          expect(pullsWhileRefusing).toBe(0);
        },
      );
      await recorded('access', `${target.name}: /healthz answers without the token and tells nothing`, () => {
        expect(health).toMatchObject({ status: 200, body: 'ok\n' });
      });
      await recorded('access', `${target.name}: the right token (bearer, basic) → 200 with real numbers`, () => {
        for (const { what, reply } of accepted) expect(reply.status, what).toBe(200);
        const metrics = accepted.filter((a) => a.what.startsWith('/metrics'));
        for (const { reply } of metrics) expect(reply.body).toMatch(/^unstructured_up 1$/m);
        for (const { reply } of accepted) expect(leaks(reply.body)).toEqual([]);
      });
      await recorded('secrets', `${target.name}: the key and the token are in no log line`, () => {
        expect(leaks(opened.output())).toEqual([]);
      });
    } finally {
      await opened.close();
    }
  });

  it('compares tokens by digest: every near miss is refused, equal tokens accepted, odd input never throws', async () => {
    await recorded('access', 'authorized(): near misses, lengths, unicode and malformed headers', () => {
      // Prepare
      const token = 'Tök€n-ünïcode-🔑-0123456789';
      const odd = [
        '',
        ' ',
        'Bearer',
        'Basic',
        'Basic !!!not-base64!!!',
        `Basic ${Buffer.from('no-colon').toString('base64')}`,
        'Bearer \u0000',
        `Bearer ${'a'.repeat(100_000)}`,
      ];

      // Act + Assess
      for (const [what, header] of nearMisses(token)) expect(authorized(header, token), what).toBe(false);
      for (const [what, header] of rightOnes(token)) expect(authorized(header, token), what).toBe(true);
      for (const header of odd) expect(authorized(header, token)).toBe(false);
      // Same length, one character apart: refused (a length check alone would not see it).
      expect(authorized(`Bearer ${token.slice(0, -1)}X`, token)).toBe(false);
    });
  });
});

// ---------------------------------------------------------------------------------------------------------

interface LeakCase {
  readonly name: string;
  readonly scenarios: readonly Scenario[];
  /** The key the exporter sends (default the one the fake accepts). */
  readonly key?: string;
  readonly kind: string;
}

const KEY = FAKE_API_KEY;
const times = (n: number, s: Scenario): Scenario[] => Array.from({ length: n }, () => s);
const LEAK_CASES: readonly LeakCase[] = [
  { name: 'upstream refuses the key (401)', scenarios: [], key: 'wrong-key-0a1b2c3d4e5f6a7b8c9d', kind: 'auth' },
  {
    name: 'upstream echoes the key in a 403 detail',
    scenarios: [{ kind: 'status', status: 403, body: { detail: `API key ${KEY} is not allowed here` } }],
    kind: 'auth',
  },
  {
    name: 'upstream echoes the key and the token (a proxy echoing headers)',
    scenarios: [
      {
        kind: 'status',
        status: 400,
        body: { detail: `headers: unstructured-api-key=${KEY}; authorization=Bearer ${TOKEN}` },
      },
    ],
    kind: 'invalid_request',
  },
  {
    name: 'upstream echoes the key in a 500 text body, every attempt',
    scenarios: times(3, { kind: 'status', status: 500, body: `bad key: ${KEY}`, contentType: 'text/plain' }),
    kind: 'upstream',
  },
  {
    name: 'upstream echoes the key in a 502 HTML page',
    scenarios: times(3, {
      kind: 'status',
      status: 502,
      body: `<html><body><h1>502</h1><p>key=${KEY}</p></body></html>`,
      contentType: 'text/html',
    }),
    kind: 'upstream',
  },
  {
    name: 'upstream echoes the key in a 422 validation message',
    scenarios: [
      {
        kind: 'status',
        status: 422,
        body: { detail: [{ loc: ['header', 'unstructured-api-key'], msg: `invalid key ${KEY}`, input: KEY }] },
      },
    ],
    kind: 'invalid_request',
  },
  {
    name: 'upstream echoes the key in a 200 error object',
    scenarios: [
      {
        kind: 'raw',
        status: 200,
        contentType: 'application/json',
        body: JSON.stringify({ detail: `key ${KEY} expired` }),
      },
    ],
    kind: 'invalid_response',
  },
  {
    name: 'the key cut in half by the 300-character detail limit',
    scenarios: [{ kind: 'status', status: 403, body: { detail: `${'x'.repeat(285)} ${KEY}` } }],
    kind: 'auth',
  },
  {
    name: 'the key cut in half by the 200-character excerpt of a 200 error object',
    scenarios: [
      {
        kind: 'raw',
        status: 200,
        contentType: 'application/json',
        body: JSON.stringify({ detail: `${'x'.repeat(185)} ${KEY}` }),
      },
    ],
    kind: 'invalid_response',
  },
  {
    name: 'the key inside invalid JSON',
    scenarios: [{ kind: 'raw', status: 200, contentType: 'application/json', body: `[{"id": "${KEY}", oops}]` }],
    kind: 'invalid_response',
  },
];

describe('the key and the token never leave the process', () => {
  it.each(LEAK_CASES)('$name', async (c) => {
    // Prepare
    api.setScenario(c.scenarios);
    const logs: string[] = [];
    const key = c.key ?? KEY;
    const exporter = createExporter({
      env: {
        UNSTRUCTURED_API_URL: api.url,
        UNSTRUCTURED_API_KEY: key,
        METRICS_TOKEN: TOKEN,
        REQUEST_TIMEOUT: '1s',
        PULL_DEADLINE: '3s',
        MAX_RETRIES: '2',
        LOG_LEVEL: 'debug',
      },
      logger: new Logger({ level: 'debug', write: (line) => logs.push(line) }),
    });
    const auth = { authorization: `Bearer ${TOKEN}` };

    // Act
    const metrics = await exporter.app.handle({ method: 'GET', path: '/metrics', headers: auth });
    const status = await exporter.app.handle({ method: 'GET', path: '/', headers: auth });
    const collection = await exporter.cache.get();
    const datums = JSON.stringify(renderDatums(collection));

    // Assess
    await recorded('secrets', `${c.name}: not in logs, error message, exposition, status page or datums`, () => {
      expect(collection.ok).toBe(false);
      if (collection.ok) return;
      expect(collection.errorKind).toBe(c.kind);
      const secrets = [key, TOKEN];
      expect(leaks(logs.join('\n'), secrets), 'logs').toEqual([]);
      expect(leaks(collection.errorMessage, secrets), 'error message').toEqual([]);
      expect(leaks(metrics.body.toString('utf8'), secrets), 'exposition').toEqual([]);
      expect(leaks(status.body.toString('utf8'), secrets), 'status page').toEqual([]);
      expect(leaks(datums, secrets), 'datums').toEqual([]);
      expect(metrics.body.toString('utf8')).toContain(`unstructured_collect_error{kind="${c.kind}"} 1`);
    });
  });

  it('a configuration error (createExporter and the Lambda handler) names the variable, never a secret', async () => {
    // Prepare
    const env = { UNSTRUCTURED_API_URL: api.url, UNSTRUCTURED_API_KEY: KEY, METRICS_TOKEN: TOKEN, MAX_RETRIES: 'many' };
    stderr.length = 0;

    // Act
    let thrown: unknown;
    try {
      createExporter({ env });
    } catch (error) {
      thrown = error;
    }
    const cold = await coldLambda(env);
    let reply: Reply;
    try {
      reply = await cold.call('/metrics');
    } finally {
      cold.restore();
    }

    // Assess
    await recorded(
      'secrets',
      'configuration error: named variable, no secret in the error, the Lambda response or its log',
      () => {
        expect(thrown).toBeInstanceOf(ConfigError);
        expect((thrown as ConfigError).message).toMatch(/^MAX_RETRIES: /);
        expect(leaks((thrown as ConfigError).message)).toEqual([]);
        expect(reply.status).toBe(500);
        expect(reply.body).toBe('configuration error: see the function log\n'); // the public URL shows no detail
        expect(stderr.join('')).toContain('configuration error');
        expect(stderr.join('')).toContain('MAX_RETRIES'); // the log names the variable
        expect(leaks(stderr.join(''))).toEqual([]);
      },
    );
  });

  it('an unreadable API key parameter is unstructured_up 0 with kind "config", naming the parameter only', async () => {
    // Prepare
    stderr.length = 0;
    api.requests.length = 0;
    const cold = await coldLambda({
      UNSTRUCTURED_API_URL: api.url,
      UNSTRUCTURED_API_KEY_PARAM: MISSING_PARAM,
      METRICS_TOKEN: TOKEN,
    });

    // Act
    let metrics: Reply;
    let status: Reply;
    try {
      metrics = await cold.call('/metrics', { authorization: `Bearer ${TOKEN}` });
      status = await cold.call('/', { authorization: `Bearer ${TOKEN}` });
    } finally {
      cold.restore();
    }

    // Assess
    await recorded(
      'secrets',
      'unreadable UNSTRUCTURED_API_KEY_PARAM: up 0, kind config, no request upstream, no secret anywhere',
      () => {
        expect(metrics.status).toBe(200);
        expect(metrics.body).toMatch(/^unstructured_up 0$/m);
        expect(metrics.body).toContain('unstructured_collect_error{kind="config"} 1');
        expect(status.body).toContain(MISSING_PARAM);
        expect(api.requests).toHaveLength(0);
        for (const text of [metrics.body, status.body, stderr.join('')]) expect(leaks(text)).toEqual([]);
      },
    );
  });

  it('an unreadable token parameter fails closed (503, no pull) and never throws out of the handler', async () => {
    // Prepare
    stderr.length = 0;
    api.requests.length = 0;
    const cold = await coldLambda({
      UNSTRUCTURED_API_URL: api.url,
      UNSTRUCTURED_API_KEY: KEY,
      METRICS_TOKEN_PARAM: MISSING_PARAM,
    });
    const logs: string[] = [];
    const exporter = createExporter({
      env: { UNSTRUCTURED_API_URL: api.url, UNSTRUCTURED_API_KEY: KEY, METRICS_TOKEN_PARAM: MISSING_PARAM },
      logger: new Logger({ write: (line) => logs.push(line) }),
    });

    // Act
    const replies: Reply[] = [];
    let appReply: Awaited<ReturnType<typeof exporter.app.handle>> | undefined;
    let escaped: unknown;
    try {
      for (const header of [undefined, `Bearer ${TOKEN}`, 'Bearer anything']) {
        replies.push(await cold.call('/metrics', header === undefined ? {} : { authorization: header }));
      }
      appReply = await exporter.app.handle({
        method: 'GET',
        path: '/metrics',
        headers: { authorization: 'Bearer anything' },
      });
    } catch (error) {
      escaped = error;
    } finally {
      cold.restore();
    }

    // Assess
    await recorded(
      'access',
      'unreadable METRICS_TOKEN_PARAM: 503 for everyone (fail closed), no pull, logged, nothing thrown',
      () => {
        expect(escaped).toBeUndefined();
        expect(replies.map((r) => r.status)).toEqual([503, 503, 503]);
        expect(appReply?.status).toBe(503);
        expect(api.requests).toHaveLength(0);
        expect(logs.join('')).toContain(MISSING_PARAM);
        expect(stderr.join('')).toContain(MISSING_PARAM);
        for (const text of [...replies.map((r) => r.body), stderr.join(''), logs.join('')])
          expect(leaks(text)).toEqual([]);
      },
    );
  });
});

// ---------------------------------------------------------------------------------------------------------

/**
 * Invalid JSON whose syntax error falls at every distance from the echoed key, before and after it: V8's
 * JSON.parse message quotes about ten characters either side of the error, and an upstream that echoes the key
 * put up to ten characters of it in the log and on the status page.
 */
function keyAroundSyntaxErrors(key: string): Array<{ where: string; body: string }> {
  const out: Array<{ where: string; body: string }> = [];
  for (let k = 0; k <= 12; k++) {
    const junk = 'q'.repeat(k);
    out.push({
      where: `key ${k} characters after an unexpected token`,
      body: `[{"id": "a", "detail": x${junk}${key}}]`,
    });
    out.push({ where: `key ${k} characters before an unexpected token`, body: `[{"detail${key}${junk}": x}]` });
    out.push({ where: `key cut ${k} characters into an unexpected token`, body: `[{"a": ${key.slice(k)}}]` });
  }
  out.push({ where: 'key as a bare array element', body: `[${key}]` });
  out.push({ where: 'key after a valid element', body: `[{"a": 1}, ${key}]` });
  return out;
}

describe('no piece of the key leaves through a JSON syntax error (V8 quotes the source around it)', () => {
  it('the key echoed at 41 offsets around the error: no run of 6 characters in the logs, error, exposition or status page', async () => {
    // Prepare
    const cases = keyAroundSyntaxErrors(KEY);
    const results: Array<{ where: string; kind: string; run: number; leaked: string[] }> = [];

    // Act
    for (const c of cases) {
      api.setScenario([{ kind: 'raw', status: 200, contentType: 'application/json', body: c.body }]);
      const logs: string[] = [];
      const exporter = createExporter({
        env: {
          UNSTRUCTURED_API_URL: api.url,
          UNSTRUCTURED_API_KEY: KEY,
          METRICS_TOKEN: TOKEN,
          MAX_RETRIES: '0',
          LOG_LEVEL: 'debug',
        },
        logger: new Logger({ level: 'debug', write: (line) => logs.push(line) }),
      });
      const auth = { authorization: `Bearer ${TOKEN}` };
      const metrics = await exporter.app.handle({ method: 'GET', path: '/metrics', headers: auth });
      const status = await exporter.app.handle({ method: 'GET', path: '/', headers: auth });
      const collection = await exporter.cache.get();
      const everything = [
        logs.join('\n'),
        collection.ok ? '' : collection.errorMessage,
        metrics.body.toString('utf8'),
        status.body.toString('utf8'),
      ].join('\n');
      results.push({
        where: c.where,
        kind: collection.ok ? 'ok' : collection.errorKind,
        run: longestRun(everything, KEY),
        leaked: leaks(everything, [KEY]),
      });
    }
    const longest = Math.max(...results.map((r) => r.run));

    // Assess
    await recorded(
      'secrets',
      `the key echoed at ${cases.length} offsets around a JSON syntax error: longest run of it in logs, error, exposition and status page ${longest} characters (V8 quoted up to 10; the bar is under ${LEAK_PIECE_CHARS})`,
      () => {
        for (const r of results) {
          expect(r.kind, r.where).toBe('invalid_response');
          expect(r.leaked, r.where).toEqual([]);
        }
        expect(longest).toBeLessThan(LEAK_PIECE_CHARS);
      },
    );
  });
});

describe('configuration that would expose a secret is refused at start, before any request', () => {
  /** The fake API's address in another spelling (IPv4-mapped IPv6): the same machine, not a loopback name the check knows. */
  const mapped = () => api.url.replace('http://127.0.0.1:', 'http://[::ffff:127.0.0.1]:');

  it('http:// to a host that is not loopback: exit 2 naming ALLOW_INSECURE_API_URL, no request; with the setting the same URL is pulled', async () => {
    // Prepare
    api.setScenario([]);
    api.requests.length = 0;
    const env = { UNSTRUCTURED_API_URL: mapped(), UNSTRUCTURED_API_KEY: KEY };

    // Act
    const refused = await runCli(['collect', '--format', 'json'], env);
    let thrown: unknown;
    try {
      createExporter({ env, logger: new Logger({ write: () => undefined }) });
    } catch (error) {
      thrown = error;
    }
    const requestsWhileRefused = api.requests.length;
    const allowed = await runCli(['collect', '--format', 'json'], { ...env, ALLOW_INSECURE_API_URL: 'true' });

    // Assess
    await recorded(
      'secrets',
      'http:// API URL to a host that is not loopback: refused at configuration (exit 2), no request sent; ALLOW_INSECURE_API_URL=true lets it through',
      () => {
        expect(refused.code, refused.stderr).toBe(2);
        expect(refused.stderr).toMatch(
          /UNSTRUCTURED_API_URL: http:\/\/ would send the API key in clear text to \[::ffff:7f00:1\]:\d+; use https:\/\/, or set ALLOW_INSECURE_API_URL=true/,
        );
        expect(thrown).toBeInstanceOf(ConfigError);
        expect(requestsWhileRefused).toBe(0);
        expect(allowed.code, allowed.stderr).toBe(0);
        expect(api.requests.length).toBe(1); // the refusal, not the address, is what stopped the request
        expect(leaks(refused.stderr + allowed.stderr)).toEqual([]);
      },
    );
  });

  it('an API URL with credentials, parsable or not, is never echoed', async () => {
    // Prepare
    const password = 'pw-6c1e0b2a9d4f';
    const urls = [
      `https://user:${password}@exa mple.com`,
      `https://user:${password}@example.com`,
      `https://example.com/?api_key=${password}`,
      `ftp://user:${password}@example.com`,
    ];

    // Act
    const runs = await Promise.all(
      urls.map((url) => runCli(['collect'], { UNSTRUCTURED_API_URL: url, UNSTRUCTURED_API_KEY: KEY })),
    );

    // Assess
    await recorded(
      'secrets',
      `${urls.length} API URLs carrying a password (one unparsable): exit 2 naming the variable, no piece of the password or the key`,
      () => {
        for (const run of runs) {
          expect(run.code).toBe(2);
          expect(run.stderr).toMatch(/UNSTRUCTURED_API_URL: /);
          expect(leaks(run.stderr + run.stdout, [password, KEY])).toEqual([]);
        }
      },
    );
  });

  it('a non-ASCII or blank METRICS_TOKEN stops serve at start with a clear message, never "auth off"', async () => {
    // Prepare
    const tokens = [
      ['a non-ASCII token', 'tök€n-7d0a1f2e3c4b5a69'],
      ['a blank token', ''],
      ['a whitespace token', ' \t '],
    ] as const;

    // Act
    const runs = await Promise.all(
      tokens.map(([, token]) =>
        runCli(['serve', '--port', '0', '--host', '127.0.0.1'], {
          UNSTRUCTURED_API_URL: api.url,
          UNSTRUCTURED_API_KEY: KEY,
          METRICS_TOKEN: token,
        }),
      ),
    );

    // Assess
    await recorded(
      'access',
      'METRICS_TOKEN non-ASCII (a Bearer header cannot carry it), blank or whitespace: serve exits 2 at start, token not shown',
      () => {
        runs.forEach((run, i) => {
          const [what, token] = tokens[i] as (typeof tokens)[number];
          expect(run.code, what).toBe(2);
          expect(run.stderr, what).toMatch(
            /METRICS_TOKEN: (holds a character outside printable ASCII|is set but empty)/,
          );
          expect(run.stderr).not.toMatch(/listening on/);
          if (token.trim() !== '') expect(leaks(run.stderr, [token])).toEqual([]);
        });
      },
    );
  });

  it('a non-ASCII token read from SSM fails closed: 503 for everyone, the reason logged, the token not shown', async () => {
    // Prepare
    const param = '/unstructured-jobs-exporter/non-ascii-token';
    const token = 'tök€n-from-ssm-4e5f6a7b8c9d';
    const ssm = new SSMClient({ region: MOTO_REGION, endpoint: moto.endpoint, credentials: { ...FAKE_CREDENTIALS } });
    try {
      await ssm.send(new PutParameterCommand({ Name: param, Value: token, Type: 'SecureString', Overwrite: true }));
    } finally {
      ssm.destroy();
    }
    stderr.length = 0;
    api.requests.length = 0;
    const cold = await coldLambda({
      UNSTRUCTURED_API_URL: api.url,
      UNSTRUCTURED_API_KEY: KEY,
      METRICS_TOKEN_PARAM: param,
    });

    // Act
    let replies: Reply[];
    try {
      replies = [
        await cold.call('/metrics', { authorization: basic('prometheus', token) }),
        await cold.call('/metrics', {}),
      ];
    } finally {
      cold.restore();
    }

    // Assess
    await recorded(
      'access',
      'METRICS_TOKEN_PARAM holding a non-ASCII token: 503 for everyone (fail closed), no pull, the reason logged without the token',
      () => {
        expect(replies.map((r) => r.status)).toEqual([503, 503]);
        expect(api.requests).toHaveLength(0);
        expect(stderr.join('')).toContain('METRICS_TOKEN_PARAM: holds a character outside printable ASCII');
        expect(leaks(stderr.join('') + replies.map((r) => r.body).join(''), [token])).toEqual([]);
      },
    );
  });
});
