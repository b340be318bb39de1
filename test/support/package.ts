/**
 * `osls package` once per test run and set of params, shared by every test file that needs the deployment
 * artifacts.
 *
 * - Output: test/.artifacts/package/<fingerprint>-<params>/ (CloudFormation template + one zip per function +
 *   serverless-state.json), the fingerprint being a hash of serverless.yml, package.json, package-lock.json, lib/,
 *   functions/ and deploy/ (the local plugin): a second test file (or a second `vitest run` with no source change)
 *   reuses it; a source change makes a new one (in a new directory, so a test still reading the previous one is
 *   not disturbed). `ensurePackaged()` packages the default params; `ensurePackaged({ name: value })` packages with
 *   `--param="name=value"` each (every combination is a run of its own: keep them few).
 * - Test files run in parallel workers: a lock directory (mkdir is atomic) makes one of them package while the
 *   others wait, then read the result. A lock left by a dead process is taken over.
 * - Packaging runs with no AWS credentials or config at all (and a proxy that refuses every connection), which
 *   proves it works offline; and with two fake secrets in its environment, which the tests then look for in the
 *   template and the zips (serverless.yml must not copy anything secret from the environment).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const ARTIFACTS = join(ROOT, 'test', '.artifacts');
export const PACKAGE_DIR = join(ARTIFACTS, 'package');
const LOCK_DIR = join(ARTIFACTS, 'package.lock');
const FINGERPRINT_FILE = 'fingerprint.json';
const LOG_FILE = 'osls-package.log';

/** The stage packaged for the tests (default params). */
export const TEST_STAGE = 'test';

/** Fake secrets put in the packaging environment: neither may appear in the template or the zips. */
export const PACKAGING_SECRETS = {
  UNSTRUCTURED_API_KEY: 'sk-test-secret-123',
  METRICS_TOKEN: 'tok-secret-456',
} as const;

const PACKAGE_TIMEOUT_MS = 180_000;
const LOCK_WAIT_MS = 240_000;
const STALE_LOCK_MS = 300_000;
/** Packages of older sources older than this are deleted. */
const OLD_PACKAGE_MS = 30 * 60_000;

export interface Packaged {
  /** Directory holding the template and the zips (test/.artifacts/package/<fingerprint>/). */
  readonly dir: string;
  /** cloudformation-template-update-stack.json, parsed. */
  // biome-ignore lint/suspicious/noExplicitAny: the parsed CloudFormation template, read by path
  readonly template: any;
  /** The template as text (for searches). */
  readonly templateText: string;
  /** Function name → zip path. */
  readonly zips: Record<string, string>;
  /** osls output of the run that made the artifacts. */
  readonly log: string;
  /** How long that run took (ms). */
  readonly packageMs: number;
  /** True when this call found the artifacts already made (by another file or an earlier run). */
  readonly reused: boolean;
  /** serverless-state.json, parsed: the resolved service (stack tags, which the template does not carry). */
  // biome-ignore lint/suspicious/noExplicitAny: the parsed serverless state, read by path
  readonly state: any;
  /** The `--param` values it was packaged with (empty: the defaults). */
  readonly params: Readonly<Record<string, string>>;
}

export type PackageParams = Readonly<Record<string, string>>;

/**
 * The param combinations that change which resources the template has (test/deploy-options.test.ts,
 * test/deploy-cfn-lint.test.ts): each is an osls run of its own (a few seconds), so they are few and combined.
 */
export const PACKAGE_VARIANTS = {
  default: {},
  /** CloudWatch only: no metrics function, URL or public permission. */
  endpointOff: { prometheusEndpoint: 'false' },
  /** A KMS key of the stack's own for the alarm topic, and an e-mail subscription. */
  secured: { alarmTopicKmsKey: 'create', alarmEmail: 'oncall@example.com' },
  /** The alarm topic encrypted with an existing key (no key resource). */
  ownKey: { alarmTopicKmsKey: 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab' },
  /** Prometheus without a public endpoint: remote write to an AMP workspace (SigV4, aps:RemoteWrite on it alone). */
  remoteWriteAmp: {
    prometheusEndpoint: 'false',
    schedule: 'rate(1 minute)',
    remoteWriteUrl:
      'https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-0a1b2c3d-4e5f-6789-abcd-ef0123456789/api/v1/remote_write',
    ampWorkspaceArn: 'arn:aws:aps:eu-west-1:123456789012:workspace/ws-0a1b2c3d-4e5f-6789-abcd-ef0123456789',
  },
  /** Remote write to a self-hosted receiver with basic auth (password from SSM), beside the endpoint. */
  remoteWriteBasic: {
    schedule: 'rate(2 minutes)',
    remoteWriteUrl: 'https://prometheus.example.com/api/v1/write',
    remoteWriteUsername: 'exporter',
    remoteWritePasswordParam: '/unstructured-jobs-exporter/test/remote-write-password',
  },
} as const satisfies Record<string, PackageParams>;

const memo = new Map<string, Promise<Packaged>>();

/** Packages the service with these params (or reuses a current package) and returns the template and zips. */
export function ensurePackaged(params: PackageParams = {}): Promise<Packaged> {
  const key = paramsKey(params);
  let pending = memo.get(key);
  if (pending === undefined) {
    pending = ensure(params).catch((error: unknown) => {
      memo.delete(key);
      throw error;
    });
    memo.set(key, pending);
  }
  return pending;
}

/** `default`, or a short hash of the params (sorted): part of the package directory's name. */
function paramsKey(params: PackageParams): string {
  const entries = Object.entries(params).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (entries.length === 0) return 'default';
  return createHash('sha256').update(JSON.stringify(entries)).digest('hex').slice(0, 12);
}

// ---------------------------------------------------------------------------------------------------------

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(path));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

/** Hash of everything that shapes the package. */
export function sourceFingerprint(): string {
  const files = [
    join(ROOT, 'serverless.yml'),
    join(ROOT, 'package.json'),
    join(ROOT, 'package-lock.json'),
    ...listFiles(join(ROOT, 'lib')),
    ...listFiles(join(ROOT, 'functions')),
    ...listFiles(join(ROOT, 'deploy')),
  ]
    .filter((f) => existsSync(f))
    .sort();
  const hash = createHash('sha256');
  hash.update(JSON.stringify(PACKAGING_SECRETS));
  for (const file of files) {
    hash.update(relative(ROOT, file));
    hash.update('\0');
    hash.update(readFileSync(file));
    hash.update('\0');
  }
  return hash.digest('hex');
}

/**
 * The package in `dir`, or undefined when there is none or (with `current` set) it was made from other sources.
 * Right after packaging, `current` is false: sources edited while osls ran must not discard what it just made.
 */
function readPackaged(dir: string, params: PackageParams, reused: boolean, current = true): Packaged | undefined {
  const fingerprintPath = join(dir, FINGERPRINT_FILE);
  const templatePath = join(dir, 'cloudformation-template-update-stack.json');
  if (!existsSync(fingerprintPath) || !existsSync(templatePath)) return undefined;
  const meta = JSON.parse(readFileSync(fingerprintPath, 'utf8')) as { fingerprint: string; packageMs: number };
  if (current && meta.fingerprint !== sourceFingerprint()) return undefined;
  const templateText = readFileSync(templatePath, 'utf8');
  const zips: Record<string, string> = {};
  for (const name of readdirSync(dir)) {
    if (name.endsWith('.zip')) zips[name.slice(0, -'.zip'.length)] = join(dir, name);
  }
  const log = existsSync(join(dir, LOG_FILE)) ? readFileSync(join(dir, LOG_FILE), 'utf8') : '';
  const state = JSON.parse(readFileSync(join(dir, 'serverless-state.json'), 'utf8'));
  return {
    dir,
    template: JSON.parse(templateText),
    templateText,
    zips,
    log,
    packageMs: meta.packageMs,
    reused,
    state,
    params,
  };
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function withLock<T>(body: () => Promise<T>): Promise<T> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      mkdirSync(LOCK_DIR);
      writeFileSync(join(LOCK_DIR, 'owner'), String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      let stale = false;
      try {
        const owner = Number(readFileSync(join(LOCK_DIR, 'owner'), 'utf8'));
        stale =
          (Number.isInteger(owner) && owner > 0 && !pidAlive(owner)) ||
          Date.now() - statSync(LOCK_DIR).mtimeMs > STALE_LOCK_MS;
      } catch {
        // The owner file is not written yet (or the lock just went away): try again shortly.
      }
      if (stale) rmSync(LOCK_DIR, { recursive: true, force: true });
      if (Date.now() > deadline)
        throw new Error(`timed out after ${LOCK_WAIT_MS} ms waiting for the packaging lock ${LOCK_DIR}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    return await body();
  } finally {
    rmSync(LOCK_DIR, { recursive: true, force: true });
  }
}

/** The environment osls runs in: no AWS credentials, config or metadata service; network calls refused. */
function offlineEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('AWS_') || key.startsWith('SLS_') || key.startsWith('SERVERLESS_')) continue;
    if (/^(https?|all|no)_proxy$/i.test(key)) continue;
    env[key] = value;
  }
  return {
    ...env,
    AWS_SDK_LOAD_CONFIG: '0',
    AWS_ACCESS_KEY_ID: '',
    AWS_SECRET_ACCESS_KEY: '',
    AWS_SESSION_TOKEN: '',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
    AWS_CONFIG_FILE: '/nonexistent/aws-config',
    AWS_EC2_METADATA_DISABLED: 'true',
    // Any HTTP(S) request osls or a plugin attempted would go to a port nothing listens on.
    HTTP_PROXY: 'http://127.0.0.1:9',
    HTTPS_PROXY: 'http://127.0.0.1:9',
    SLS_TELEMETRY_DISABLED: '1',
    SLS_NOTIFICATIONS_MODE: 'off',
    SLS_INTERACTIVE_SETUP_DISABLE: '1',
    CI: '1',
    ...PACKAGING_SECRETS,
  };
}

function runOsls(outDir: string, params: PackageParams): Promise<{ log: string; ms: number }> {
  const bin = realpathSync(join(ROOT, 'node_modules', '.bin', 'osls'));
  const started = Date.now();
  const paramArgs = Object.entries(params).map(([name, value]) => `--param=${name}=${value}`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, 'package', '--stage', TEST_STAGE, '--package', outDir, ...paramArgs], {
      cwd: ROOT,
      env: offlineEnv(),
      // stdin closed: osls must never wait for input.
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    child.stdout.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr.on('data', (d: Buffer) => (log += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), PACKAGE_TIMEOUT_MS);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve({ log, ms: Date.now() - started });
      else reject(new Error(`osls package failed (exit ${code ?? signal}):\n${log}`));
    });
  });
}

/** Where the package made from sources with this fingerprint and these params lives. */
function dirFor(fingerprint: string, params: PackageParams): string {
  return join(PACKAGE_DIR, `${fingerprint.slice(0, 16)}-${paramsKey(params)}`);
}

/**
 * Packages made from older sources are removed once nothing of this run can be reading them any more (another
 * test file may still be unzipping an older one when sources change mid-run, so never the recent ones). Packages
 * of the current sources (other params) are kept, however old.
 */
function removeOldPackages(fingerprint: string): void {
  for (const name of readdirSync(PACKAGE_DIR)) {
    const path = join(PACKAGE_DIR, name);
    if (name.startsWith(`${fingerprint.slice(0, 16)}-`)) continue;
    try {
      if (Date.now() - statSync(path).mtimeMs > OLD_PACKAGE_MS) rmSync(path, { recursive: true, force: true });
    } catch {
      // Gone already.
    }
  }
}

async function ensure(params: PackageParams): Promise<Packaged> {
  const ready = readPackaged(dirFor(sourceFingerprint(), params), params, true);
  if (ready !== undefined) return ready;
  return withLock(async () => {
    // Another worker may have packaged the same sources while this one waited for the lock.
    const fingerprint = sourceFingerprint();
    const dir = dirFor(fingerprint, params);
    const made = readPackaged(dir, params, true);
    if (made !== undefined) return made;
    mkdirSync(PACKAGE_DIR, { recursive: true });
    const tmp = `${dir}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    const { log, ms } = await runOsls(tmp, params);
    writeFileSync(join(tmp, LOG_FILE), log);
    writeFileSync(
      join(tmp, FINGERPRINT_FILE),
      JSON.stringify({ fingerprint, params, packageMs: ms, at: new Date().toISOString() }),
    );
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
    removeOldPackages(fingerprint);
    // Sources edited while osls ran must not discard what it just made: no fingerprint check here.
    const packaged = readPackaged(dir, params, false, false);
    if (packaged === undefined) throw new Error(`osls package left no usable output in ${dir}:\n${log}`);
    return packaged;
  });
}

/** `osls package` with these params into a throw-away directory: its exit code and output (for the refusals). */
export function packageOnce(
  params: Record<string, string>,
  name: string,
): Promise<{ code: number | null; output: string }> {
  const bin = realpathSync(join(ROOT, 'node_modules', '.bin', 'osls'));
  const out = join(ARTIFACTS, `refused-${name}-${process.pid}`); // one per test file: files run side by side
  const args = [
    'package',
    '--stage',
    TEST_STAGE,
    '--package',
    out,
    ...Object.entries(params).map(([k, v]) => `--param=${k}=${v}`),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        SLS_TELEMETRY_DISABLED: '1',
        SLS_NOTIFICATIONS_MODE: 'off',
        CI: '1',
        HTTPS_PROXY: 'http://127.0.0.1:9',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      rmSync(out, { recursive: true, force: true });
      resolve({ code, output });
    });
  });
}
