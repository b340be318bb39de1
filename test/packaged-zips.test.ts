/**
 * The zips `osls package` makes, as Lambda would run them: unzipped into a temp dir, each handler loaded in a
 * FRESH Node process (a tiny runner that imports the bundle and invokes `handler` with real-shaped events,
 * several in a row like warm invocations), against a fake Unstructured API and moto (CloudWatch + SSM).
 *
 * Two layouts:
 * - "self-contained": the zip alone, secrets given directly (UNSTRUCTURED_API_KEY, METRICS_TOKEN): proves the
 *   bundle needs nothing outside itself to load and serve;
 * - "as deployed": the function's environment from the template (SSM parameter NAMES), the parameters in moto's
 *   SSM, and a `node_modules` next to the unzipped code standing in for the SDK the nodejs22.x runtime provides
 *   (serverless.yml leaves `@aws-sdk/client-ssm` out of the bundles; the runtime resolves it through NODE_PATH).
 *
 * The collect function's STATE_BUCKET is a `{ Ref: EventsStateBucket }` CloudFormation fills in at deploy: left
 * unset (finished-job events off) unless a test points it at a bucket it created in moto's S3.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { APIGatewayProxyEventV2, ScheduledEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clockEnv } from './support/clock.js';
import { errorScenario, FAKE_API_KEY, startFakeApi, type FakeApi } from './support/fake-api.js';
import { createBucket, s3ClientFor } from './support/finished-jobs.js';
import {
  cloudWatchClientFor,
  exactStatistics,
  FAKE_CREDENTIALS,
  listMetrics,
  MOTO_REGION,
  startMoto,
  type RunningMoto,
} from './support/moto.js';
import { ensurePackaged, ROOT, type Packaged } from './support/package.js';

const METRICS_ZIP_LIMIT_BYTES = 150 * 1024;
/**
 * Sanity bound for the collector: ~220 KB zipped, as it bundles the CloudWatch client (~160 KB) and the S3 client
 * for the finished-job events state (both imported lazily, on first use, never at module load).
 */
const COLLECT_ZIP_LIMIT_BYTES = 300 * 1024;
const TOKEN = 'scrape-token-5f2a9c71d3';
const WORKFLOW = { id: '7d3c2b1a-0f9e-4d8c-b7a6-000000000001', name: 'Ingest invoices' };
const { version: PACKAGE_VERSION } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
};
const RUN_TIMEOUT_MS = 45_000;

// biome-ignore lint/suspicious/noExplicitAny: parsed CloudFormation/serverless JSON, read by path
type Json = any;

let pkg: Packaged;
let work: string;
/** function → { plain: unzipped dir, runtime: unzipped dir with the runtime SDK stand-in } */
const dirs: Record<string, { plain: string; runtime: string }> = {};
let api: FakeApi;
let moto: RunningMoto;
let cw: CloudWatchClient;

function extract(zip: string, into: string): void {
  mkdirSync(into, { recursive: true });
  const unzip = spawnSync('unzip', ['-q', '-o', zip, '-d', into], { encoding: 'utf8' });
  if (unzip.error === undefined && unzip.status === 0) return;
  // No `unzip` on this machine: Python's zipfile module does the same.
  execFileSync('python3', ['-m', 'zipfile', '-e', zip, into]);
}

function zipEntries(zip: string): string[] {
  const listed = spawnSync('unzip', ['-Z1', zip], { encoding: 'utf8' });
  if (listed.error === undefined && listed.status === 0) return listed.stdout.split('\n').filter((l) => l !== '');
  return execFileSync(
    'python3',
    ['-c', 'import sys,zipfile;print("\\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))', zip],
    { encoding: 'utf8' },
  )
    .split('\n')
    .filter((l) => l !== '');
}

/** Jobs as the Unstructured API lists them, created relative to now. */
function apiRecords(): object[] {
  const now = Date.now();
  const rec = (n: number, status: string, agoSeconds: number, runtime: string | null) => ({
    id: `1c2d3e4f-0000-4000-8000-00000000000${n}`,
    workflow_id: WORKFLOW.id,
    workflow_name: WORKFLOW.name,
    status,
    created_at: new Date(now - agoSeconds * 1000).toISOString(),
    runtime,
    input_file_ids: [],
    output_node_files: [],
    job_type: 'ephemeral',
  });
  return [rec(1, 'COMPLETED', 3_600, 'PT30S'), rec(2, 'FAILED', 1_800, 'PT5S'), rec(3, 'IN_PROGRESS', 600, null)];
}

beforeAll(async () => {
  pkg = await ensurePackaged();
  work = mkdtempSync(join(tmpdir(), 'uje-zips-'));
  for (const [name, zip] of Object.entries(pkg.zips)) {
    const plain = join(work, 'plain', name);
    const runtime = join(work, 'runtime', name);
    extract(zip, plain);
    extract(zip, runtime);
    // Stand-in for /var/runtime/node_modules (the SDK shipped with the nodejs22.x runtime).
    symlinkSync(join(ROOT, 'node_modules'), join(runtime, 'node_modules'), 'dir');
    dirs[name] = { plain, runtime };
  }
  writeFileSync(join(work, 'runner.mjs'), RUNNER);
  [api, moto] = await Promise.all([startFakeApi({ jobs: apiRecords() }), startMoto()]);
  cw = cloudWatchClientFor(moto.endpoint);
  const ssm = new SSMClient({ region: MOTO_REGION, endpoint: moto.endpoint, credentials: { ...FAKE_CREDENTIALS } });
  try {
    const env = (id: string) => pkg.template.Resources[id].Properties.Environment.Variables as Record<string, string>;
    const apiKeyParam = env('CollectLambdaFunction').UNSTRUCTURED_API_KEY_PARAM as string;
    const tokenParam = env('MetricsLambdaFunction').METRICS_TOKEN_PARAM as string;
    await ssm.send(new PutParameterCommand({ Name: apiKeyParam, Value: FAKE_API_KEY, Type: 'SecureString' }));
    await ssm.send(new PutParameterCommand({ Name: tokenParam, Value: TOKEN, Type: 'SecureString' }));
  } finally {
    ssm.destroy();
  }
}, 240_000);

afterAll(async () => {
  cw?.destroy();
  await Promise.all([api?.close(), moto?.stop()]);
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------------------
// A fresh Node process per run, like a Lambda cold start; the events are invoked one after another in it.

const RUNNER = `
import { writeFileSync, readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
const [handlerFile, eventsFile, resultFile] = process.argv.slice(2);
const events = JSON.parse(readFileSync(eventsFile, 'utf8'));
const t0 = performance.now();
let mod;
try {
  mod = await import(pathToFileURL(handlerFile).href);
} catch (e) {
  writeFileSync(resultFile, JSON.stringify({ loadError: String(e && e.stack || e) }));
  process.exit(1);
}
const loadMs = performance.now() - t0;
const results = [];
for (const event of events) {
  const deadline = Date.now() + Number(process.env.AWS_LAMBDA_FUNCTION_TIMEOUT || 30) * 1000;
  const context = {
    awsRequestId: randomUUID(),
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    getRemainingTimeInMillis: () => deadline - Date.now(),
  };
  try {
    results.push({ ok: true, value: await mod.handler(event, context) });
  } catch (e) {
    results.push({ ok: false, error: { name: e && e.name, message: e && e.message } });
  }
}
writeFileSync(resultFile, JSON.stringify({ loadMs, results }));
process.exit(0);
`;

interface Invocation {
  ok: boolean;
  value?: Json;
  error?: { name: string; message: string };
}

interface RunResult {
  loadMs: number;
  results: Invocation[];
  stderr: string;
}

/**
 * The function's environment from the template. A value CloudFormation fills in at deploy (`{ Ref: <id> }`) is
 * taken from `refs` (logical id → physical id), and left unset when `refs` does not have it.
 */
function functionEnv(name: 'metrics' | 'collect', refs: Record<string, string> = {}): Record<string, string> {
  const id = name === 'metrics' ? 'MetricsLambdaFunction' : 'CollectLambdaFunction';
  const props = pkg.template.Resources[id].Properties;
  const variables: Record<string, string> = {};
  for (const [key, value] of Object.entries(props.Environment.Variables as Record<string, unknown>)) {
    if (typeof value === 'string') variables[key] = value;
    else {
      const ref = (value as { Ref?: unknown } | null)?.Ref;
      if (typeof ref !== 'string')
        throw new Error(`${id}: ${key} is neither a string nor a Ref: ${JSON.stringify(value)}`);
      if (ref in refs) variables[key] = refs[ref] as string;
    }
  }
  return {
    ...variables,
    AWS_LAMBDA_FUNCTION_NAME: props.FunctionName,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(props.MemorySize),
    AWS_LAMBDA_FUNCTION_TIMEOUT: String(props.Timeout),
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
  };
}

/**
 * Runs the unzipped handler in a new `node` with exactly `env` (plus PATH/HOME, and the test's clock: clockEnv),
 * invoking each event in turn.
 */
async function run(
  dir: string,
  handlerFile: string,
  env: Record<string, string>,
  events: unknown[],
): Promise<RunResult> {
  const id = randomUUID();
  const eventsFile = join(work, `events-${id}.json`);
  const resultFile = join(work, `result-${id}.json`);
  writeFileSync(eventsFile, JSON.stringify(events));
  const child = spawn(process.execPath, [join(work, 'runner.mjs'), join(dir, handlerFile), eventsFile, resultFile], {
    cwd: dir,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: work,
      LAMBDA_TASK_ROOT: dir,
      TZ: 'UTC',
      ...clockEnv(),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    child.once('close', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  let parsed: { loadMs?: number; results?: Invocation[]; loadError?: string };
  try {
    parsed = JSON.parse(readFileSync(resultFile, 'utf8'));
  } catch {
    throw new Error(`the runner wrote no result (exit ${code}):\n${stderr}`);
  }
  if (parsed.loadError !== undefined) throw new Error(`the handler did not load:\n${parsed.loadError}\n${stderr}`);
  return { loadMs: parsed.loadMs ?? 0, results: parsed.results ?? [], stderr };
}

function urlEvent(path: string, headers: Record<string, string> = {}): APIGatewayProxyEventV2 {
  const now = new Date();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers: {
      host: 'abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws',
      'user-agent': 'Prometheus/2.42.0',
      accept: 'application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.1',
      'x-forwarded-proto': 'https',
      'x-forwarded-for': '203.0.113.7',
      'x-amzn-trace-id': 'Root=1-5f84c7a9-0a1b2c3d4e5f6a7b8c9d0e1f',
      ...headers,
    },
    requestContext: {
      accountId: 'anonymous',
      apiId: 'abcdefghijklmnopqrstuvwxyz012345',
      domainName: 'abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws',
      domainPrefix: 'abcdefghijklmnopqrstuvwxyz012345',
      http: { method: 'GET', path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.7', userAgent: 'Prometheus/2.42.0' },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    isBase64Encoded: false,
  };
}

function scheduledEvent(): ScheduledEvent {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '123456789012',
    time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: 'us-east-1',
    resources: [
      'arn:aws:events:us-east-1:123456789012:rule/unstructured-jobs-exporter-test-CollectEventsRuleSchedule1-ABC123',
    ],
    detail: {},
  };
}

/** AWS SDK settings pointing every client (CloudWatch, SSM) at moto. */
function awsEnv(): Record<string, string> {
  return {
    AWS_REGION: MOTO_REGION,
    AWS_DEFAULT_REGION: MOTO_REGION,
    AWS_ACCESS_KEY_ID: FAKE_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: FAKE_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL: moto.endpoint,
    AWS_DISABLE_REQUEST_COMPRESSION: 'true',
  };
}

function exposition(result: Invocation): string {
  expect(result.ok, JSON.stringify(result.error)).toBe(true);
  const { body, isBase64Encoded } = result.value as { body: string; isBase64Encoded: boolean };
  return isBase64Encoded ? gunzipSync(Buffer.from(body, 'base64')).toString('utf8') : body;
}

function expectJobCounts(text: string): void {
  expect(text).toMatch(/^unstructured_up 1$/m);
  expect(text).toMatch(/^unstructured_jobs_fetched 3$/m);
  const line = (status: string, n: number) =>
    `unstructured_jobs{workflow_id="${WORKFLOW.id}",workflow_name="${WORKFLOW.name}",job_type="ephemeral",status="${status}"} ${n}`;
  for (const [status, n] of [
    ['SCHEDULED', 0],
    ['IN_PROGRESS', 1],
    ['COMPLETED', 1],
    ['STOPPED', 0],
    ['FAILED', 1],
  ] as const) {
    expect(text).toContain(line(status, n));
  }
  expect(text).toContain(`unstructured_exporter_build_info{version="${PACKAGE_VERSION}"} 1`);
}

// ---------------------------------------------------------------------------------------------------------

describe('bundles', () => {
  function bundle(name: string): string {
    return readFileSync(join(dirs[name]!.plain, 'functions', `${name}.mjs`), 'utf8');
  }

  /** Every module a bundle imports (static or dynamic): anything not bundled. */
  function importedSpecifiers(code: string): string[] {
    const found = new Set<string>();
    // Statement-level static imports (`import{a as b}from"x";`, `import"x";`) and dynamic `import("x")` calls;
    // module names quoted inside error messages do not count.
    for (const re of [
      /(?:^|[;}\n])\s*import\s*[\w$\s{},*]*?\s*from\s*["']([^"']+)["']/g,
      /(?:^|[;}\n])\s*import\s*["']([^"']+)["']/g,
      /(?<![\w$.])import\(\s*["']([^"']+)["']\s*\)/g,
    ]) {
      for (const m of code.matchAll(re)) found.add(m[1] as string);
    }
    return [...found].sort();
  }

  it('is one minified ES module per zip, small, with the version baked in', () => {
    const sizes: string[] = [];
    for (const name of ['metrics', 'collect']) {
      const zip = pkg.zips[name]!;
      expect(zipEntries(zip)).toEqual([`functions/${name}.mjs`]);
      const code = bundle(name);
      const lines = code.split('\n');
      // Minified: identifiers mangled (the project's own function names are gone), no comments, long lines
      // (template literals keep their own newlines).
      for (const identifier of ['createExporter', 'loadConfig', 'renderDatums', 'publishDatums', 'SecretSource']) {
        expect(code, `${name}: ${identifier}`).not.toContain(identifier);
      }
      expect(code).not.toMatch(/^\s*\/\/ /m);
      expect(lines.length).toBeLessThan(code.length / 200);
      expect(code).toMatch(/export\s*\{[^}]*\bhandler\b/);
      expect(code).not.toContain('__EXPORTER_VERSION__');
      expect(code).toContain(`"${PACKAGE_VERSION}"`);
      sizes.push(
        `${name}: zip ${(statSync(zip).size / 1024).toFixed(1)} KB, bundle ${(code.length / 1024).toFixed(1)} KB, ${lines.length} lines`,
      );
    }
    console.info(`[packaged-zips] ${sizes.join('; ')}`);
    expect(statSync(pkg.zips.metrics!).size).toBeLessThan(METRICS_ZIP_LIMIT_BYTES);
    expect(statSync(pkg.zips.collect!).size).toBeLessThan(COLLECT_ZIP_LIMIT_BYTES);
  });

  it('keeps the CloudWatch client out of the metrics bundle, and in the collect bundle', () => {
    expect(bundle('metrics')).not.toContain('PutMetricDataCommand');
    expect(bundle('metrics')).not.toContain('GraniteServiceVersion20100801');
    expect(bundle('collect')).toContain('PutMetricDataCommand');
  });

  it('keeps the S3 client (finished-job events state) out of the metrics bundle, and in the collect bundle', () => {
    for (const command of ['GetObjectCommand', 'PutObjectCommand']) {
      expect(bundle('metrics')).not.toContain(command);
      expect(bundle('collect')).toContain(command);
    }
  });

  it('imports nothing but Node built-ins; the SSM client comes from the runtime, imported by name', () => {
    const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
    for (const name of ['metrics', 'collect']) {
      const code = bundle(name);
      const outside = importedSpecifiers(code).filter((s) => !builtins.has(s));
      expect(outside, name).toEqual([]);
      // lib/secrets.ts names the package through a variable so no bundler inlines it (the "as deployed" tests
      // below load it from the runtime's node_modules); its code must not be in the zip.
      expect(code, name).toContain('"@aws-sdk/client-ssm"');
      expect(code, name).not.toContain('AmazonSSM'); // the SDK's service id: its code is not here
    }
  });
});

describe('metrics handler in a fresh Node process', () => {
  it('as deployed: token and API key from SSM; 200 with the counts, 401 without or with a wrong token', async () => {
    api.requests.length = 0;
    const env = { ...functionEnv('metrics'), ...awsEnv(), UNSTRUCTURED_API_URL: api.url };
    const { results, loadMs } = await run(dirs.metrics!.runtime, 'functions/metrics.mjs', env, [
      urlEvent('/metrics', { authorization: `Bearer ${TOKEN}` }),
      urlEvent('/metrics'),
      urlEvent('/metrics', { authorization: 'Bearer not-the-token' }),
      urlEvent('/metrics', { authorization: `Bearer ${TOKEN}`, 'accept-encoding': 'gzip', accept: 'text/plain' }),
      urlEvent('/healthz'),
    ]);
    console.info(`[packaged-zips] metrics cold load ${loadMs.toFixed(0)} ms`);
    const [ok, missing, wrong, gzipped, health] = results as [
      Invocation,
      Invocation,
      Invocation,
      Invocation,
      Invocation,
    ];
    expect(ok.value).toMatchObject({ statusCode: 200, isBase64Encoded: false });
    // Prometheus's Accept header prefers OpenMetrics.
    expect(ok.value.headers['content-type']).toMatch(/^application\/openmetrics-text/);
    expect(exposition(ok)).toMatch(/# EOF\n$/);
    expectJobCounts(exposition(ok));
    expect(missing.value).toMatchObject({ statusCode: 401 });
    expect(missing.value.headers['www-authenticate']).toMatch(/^Bearer /);
    expect(missing.value.body).not.toContain('unstructured_');
    expect(wrong.value).toMatchObject({ statusCode: 401 });
    expect(gzipped.value).toMatchObject({
      statusCode: 200,
      isBase64Encoded: true,
      headers: { 'content-encoding': 'gzip' },
    });
    expect(gzipped.value.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expectJobCounts(exposition(gzipped));
    expect(health.value).toMatchObject({ statusCode: 200, body: 'ok\n' });
    // Warm invocations share the cached collection (CACHE_TTL): one pull, with the key read from SSM.
    const pulls = api.requests.filter((r) => r.path === '/api/v1/jobs/');
    expect(pulls).toHaveLength(1);
    expect(pulls[0]?.headers['unstructured-api-key']).toBe(FAKE_API_KEY);
  });

  it('self-contained: the zip alone (no node_modules) serves /metrics with secrets given directly', async () => {
    const env: Record<string, string> = {
      ...functionEnv('metrics'),
      UNSTRUCTURED_API_URL: api.url,
      UNSTRUCTURED_API_KEY: FAKE_API_KEY,
      METRICS_TOKEN: TOKEN,
    };
    delete env.UNSTRUCTURED_API_KEY_PARAM;
    delete env.METRICS_TOKEN_PARAM;
    const { results } = await run(dirs.metrics!.plain, 'functions/metrics.mjs', env, [
      urlEvent('/metrics', { authorization: `Bearer ${TOKEN}` }),
      urlEvent('/metrics'),
    ]);
    expect(results[0]?.value).toMatchObject({ statusCode: 200 });
    expectJobCounts(exposition(results[0]!));
    expect(results[1]?.value).toMatchObject({ statusCode: 401 });
  });
});

describe('collect handler in a fresh Node process', () => {
  const window = () => ({ startMs: Date.now() - 15 * 60_000, endMs: Date.now() + 5 * 60_000 });

  it('as deployed: API key from SSM, publishes Jobs and CollectorUp to the namespace', async () => {
    const env: Record<string, string> = { ...functionEnv('collect'), ...awsEnv(), UNSTRUCTURED_API_URL: api.url };
    const namespace = env.CLOUDWATCH_NAMESPACE as string;
    const { results, loadMs, stderr } = await run(dirs.collect!.runtime, 'functions/collect.mjs', env, [
      scheduledEvent(),
    ]);
    console.info(`[packaged-zips] collect cold load ${loadMs.toFixed(0)} ms`);
    const [result] = results as [Invocation];
    expect(result.ok, JSON.stringify(result.error)).toBe(true);
    expect(result.value).toMatchObject({ namespace, collectorUp: true, failed: 0, invalid: 0 });
    expect(result.value.published).toBe(result.value.datums);
    // No STATE_BUCKET (CloudFormation's Ref left unset): finished-job events off, and said so.
    expect(result.value.events).toBeUndefined();
    expect(stderr).toContain('finished-job events off');

    const listed = await listMetrics(cw, namespace);
    const names = new Set(listed.map((m) => m.MetricName));
    expect(names).toContain('Jobs');
    expect(names).toContain('CollectorUp');
    expect(
      await exactStatistics(cw, { namespace, metricName: 'CollectorUp', dimensions: {}, ...window() }),
    ).toMatchObject({ maximum: 1 });
    expect(
      await exactStatistics(cw, { namespace, metricName: 'Jobs', dimensions: { Status: 'FAILED' }, ...window() }),
    ).toMatchObject({ maximum: 1 });
    expect(
      await exactStatistics(cw, { namespace, metricName: 'Jobs', dimensions: { Status: 'IN_PROGRESS' }, ...window() }),
    ).toMatchObject({ maximum: 1 });
  });

  it('self-contained: the zip alone publishes with the bundled CloudWatch client; an API failure is CollectorUp 0, not an error', async () => {
    const namespace = `UJE-Test/zips-${process.pid}-${Date.now()}`;
    const env: Record<string, string> = {
      ...functionEnv('collect'),
      ...awsEnv(),
      UNSTRUCTURED_API_URL: api.url,
      UNSTRUCTURED_API_KEY: FAKE_API_KEY,
      CLOUDWATCH_NAMESPACE: namespace,
    };
    delete env.UNSTRUCTURED_API_KEY_PARAM;
    api.setScenario([{ kind: 'status', status: 200, body: apiRecords() }, errorScenario(401)]);
    const { results } = await run(dirs.collect!.plain, 'functions/collect.mjs', env, [
      scheduledEvent(),
      scheduledEvent(),
    ]);
    const [first, second] = results as [Invocation, Invocation];
    expect(first.ok, JSON.stringify(first.error)).toBe(true);
    expect(first.value).toMatchObject({ namespace, collectorUp: true, failed: 0, invalid: 0 });
    expect(second.ok, JSON.stringify(second.error)).toBe(true);
    expect(second.value).toMatchObject({ namespace, collectorUp: false, failed: 0, invalid: 0 });
    expect(second.value.errorKind).toEqual(expect.any(String));
    const names = new Set((await listMetrics(cw, namespace)).map((m) => m.MetricName));
    expect(names).toContain('Jobs');
    expect(names).toContain('CollectorUp');
    const up = await exactStatistics(cw, { namespace, metricName: 'CollectorUp', dimensions: {}, ...window() });
    expect(up).toMatchObject({ sampleCount: 2, maximum: 1, sum: 1 });
  });

  it('as deployed, with the state bucket: publishes JobsFinished/JobRuntime once per job, the state in S3', async () => {
    const bucket = `uje-zips-state-${process.pid}`;
    const s3 = s3ClientFor(moto.endpoint);
    try {
      await createBucket(s3, bucket);
      const env: Record<string, string> = {
        ...functionEnv('collect', { EventsStateBucket: bucket }),
        ...awsEnv(),
        UNSTRUCTURED_API_URL: api.url,
      };
      expect(env.STATE_BUCKET).toBe(bucket);
      const namespace = env.CLOUDWATCH_NAMESPACE as string;
      const key = env.STATE_KEY as string;
      // The same job list twice (fresh timestamps): COMPLETED and FAILED finished within the 1 h backfill.
      const records = apiRecords();
      api.setScenario([
        { kind: 'status', status: 200, body: records },
        { kind: 'status', status: 200, body: records },
      ]);
      const { results } = await run(dirs.collect!.runtime, 'functions/collect.mjs', env, [
        scheduledEvent(),
        scheduledEvent(),
      ]);
      const [first, second] = results as [Invocation, Invocation];
      expect(first.ok, JSON.stringify(first.error)).toBe(true);
      expect(first.value).toMatchObject({ namespace, collectorUp: true, failed: 0, invalid: 0 });
      expect(first.value.events).toMatchObject({ firstRun: true, published: 2, failed: 0, invalid: 0 });
      // Warm, same jobs: nothing new (only the zeros).
      expect(second.ok, JSON.stringify(second.error)).toBe(true);
      expect(second.value.events).toMatchObject({ firstRun: false, newJobs: 0, published: 0, failed: 0, invalid: 0 });

      const names = new Set((await listMetrics(cw, namespace)).map((m) => m.MetricName));
      expect(names).toContain('JobsFinished');
      expect(names).toContain('JobRuntime');
      const wide = { startMs: Date.now() - 3 * 3_600_000, endMs: Date.now() + 5 * 60_000 };
      expect(
        await exactStatistics(cw, { namespace, metricName: 'JobsFinished', dimensions: { Status: 'FAILED' }, ...wide }),
      ).toMatchObject({ sum: 1 });
      expect(
        await exactStatistics(cw, {
          namespace,
          metricName: 'JobsFinished',
          dimensions: { Status: 'COMPLETED' },
          ...wide,
        }),
      ).toMatchObject({ sum: 1 });

      const state = JSON.parse(
        await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString(),
      );
      expect(state).toMatchObject({ format: 'unstructured-jobs-exporter/finished-jobs', pending: [] });
      expect(state.lease).toBeUndefined();
    } finally {
      s3.destroy();
    }
  });
});
