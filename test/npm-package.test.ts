/**
 * The npm package as a user gets it. `npm pack` runs in a copy of the checkout without dist/ (as a fresh clone
 * after `npm ci` is: prepack must build the bundle), then the tarball is installed into empty folders outside the
 * repository, once in full and once with `--omit=optional` (no AWS SDK clients), and its bin is run from there:
 * nothing of the checkout (lib/, scripts/, esbuild, prom-client) is reachable from those folders.
 *
 * One pack and two installs are shared by every case (npm's cache is warm after `npm ci`; the registry is
 * reachable for anything it lacks). Every process the bin starts listens on, and talks to, 127.0.0.1 only.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseExposition, type Sample } from './support/exposition.js';
import {
  SAMPLE_EXPECTED,
  SAMPLE_NOW,
  SAMPLE_WORKFLOWS,
  sampleJobs,
  startFakeApi,
  type FakeApi,
} from './support/fake-api.js';
import { ROOT } from './support/package.js';
import { freePort } from './support/ports.js';
import { startProcess } from './support/processes.js';
import { startReceiver } from './support/remote-write-receiver.js';

/** Not copied into the packing copy: what a fresh clone does not have, or what npm must not see. */
const NOT_IN_A_CLONE = new Set([
  '.git',
  'node_modules',
  'dist',
  'coverage',
  '.serverless',
  '.esbuild',
  '.tmp',
  'test/.artifacts',
]);
const PACK_AND_INSTALL_MS = 240_000;
/** A serve-only install (`--omit=optional`) is the package alone: its unpacked files are well under this. */
const SERVE_ONLY_INSTALL_MAX_BYTES = 1_000_000;
const OPTIONAL_SDK_CLIENTS = [
  '@aws-sdk/client-cloudwatch',
  '@aws-sdk/client-s3',
  '@aws-sdk/client-ssm',
  // Remote write's SigV4 (lib/outputs/remote-write/auth.ts): the SDK's signer, credential chain and hash.
  '@aws-sdk/credential-provider-node',
  '@smithy/hash-node',
  '@smithy/signature-v4',
];

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The environment of nested npm runs: this process's, without the npm_* variables of an outer `npm test`. */
function npmEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));
}

function run(
  command: string,
  args: readonly string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

async function runOk(
  command: string,
  args: readonly string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<Run> {
  const result = await run(command, args, options);
  if (result.code !== 0)
    throw new Error(`${command} ${args.join(' ')} exited ${result.code}:\n${result.stdout}\n${result.stderr}`);
  return result;
}

/** Installs the tarball into a new empty folder (a package.json of its own, nothing else). */
async function installInto(dir: string, tarball: string, extra: readonly string[]): Promise<void> {
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ name: 'npm-package-test', private: true })}\n`);
  await runOk('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...extra, tarball], {
    cwd: dir,
    env: npmEnv(),
  });
}

function bytesUnder(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.size;
  return readdirSync(path).reduce((sum, name) => sum + bytesUnder(join(path, name)), 0);
}

/** The bin as npm linked it, with a user's environment: PATH and the given variables, nothing of this process. */
function binOf(installDir: string): string {
  return join(installDir, 'node_modules', '.bin', 'unstructured-jobs-exporter');
}

function runBin(installDir: string, args: readonly string[], env: Record<string, string>): Promise<Run> {
  return run(binOf(installDir), args, {
    cwd: installDir,
    env: { PATH: process.env.PATH ?? '', ...env },
    timeoutMs: 20_000,
  });
}

const sum = (samples: readonly Sample[]) => samples.reduce((total, s) => total + s.value, 0);

describe('the npm package', () => {
  let work: string;
  let tarball: string;
  let entries: string[];
  let license: string;
  let packed: {
    dependencies?: Record<string, string>;
    optionalDependencies?: Record<string, string>;
    devDependencies?: unknown;
  };
  let full: string;
  let serveOnly: string;
  let api: FakeApi;
  let upstream: Record<string, string>;

  const unpacked = async (entry: string) =>
    (await runOk('tar', ['-xzOf', tarball, entry], { cwd: work, env: npmEnv() })).stdout;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'uje-npm-package-'));
    // A clone's files, no dist/, and the checkout's node_modules (esbuild for prepack) as `npm ci` would leave them.
    const clone = join(work, 'clone');
    cpSync(ROOT, clone, { recursive: true, filter: (source) => !NOT_IN_A_CLONE.has(relative(ROOT, source)) });
    symlinkSync(join(ROOT, 'node_modules'), join(clone, 'node_modules'), 'dir');
    const pack = await runOk('npm', ['pack', '--json', '--pack-destination', work], { cwd: clone, env: npmEnv() });
    const [{ filename }] = JSON.parse(pack.stdout) as [{ filename: string }];
    tarball = join(work, filename);
    // What is in the file itself, not what npm says it put there.
    entries = (await runOk('tar', ['-tzf', tarball], { cwd: work, env: npmEnv() })).stdout
      .split('\n')
      .filter((line) => line !== '');
    packed = JSON.parse(await unpacked('package/package.json'));
    license = entries.includes('package/LICENSE') ? await unpacked('package/LICENSE') : ''; // asserted below

    full = mkdtempSync(join(work, 'full-'));
    serveOnly = mkdtempSync(join(work, 'serve-only-'));
    await installInto(full, tarball, []);
    await installInto(serveOnly, tarball, ['--omit=optional']);

    api = await startFakeApi({ jobs: sampleJobs() });
    upstream = { UNSTRUCTURED_API_URL: api.url, UNSTRUCTURED_API_KEY: api.apiKey };
  }, PACK_AND_INSTALL_MS);

  afterAll(async () => {
    await api?.close();
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });

  it('holds only what a user runs: the CLI bundle, its bin, dashboards, alerts, README, LICENSE, CHANGELOG', () => {
    // Assess
    const files = entries.map((e) => e.replace(/^package\//, ''));
    const topLevel = [...new Set(files.map((f) => f.split('/')[0] + (f.includes('/') ? '/' : '')))].sort();
    expect(topLevel).toEqual([
      'CHANGELOG.md',
      'LICENSE',
      'README.md',
      'alerts/',
      'bin/',
      'dashboards/',
      'dist/',
      'package.json',
    ]);
    expect(files.filter((f) => f.startsWith('dist/'))).toEqual(['dist/cli.mjs']); // no bench bundle, no source maps
    expect(files).toContain('bin/unstructured-jobs-exporter.mjs');
    expect(files).toEqual(
      expect.arrayContaining([
        'dashboards/unstructured-jobs-prometheus.json',
        'dashboards/unstructured-jobs-cloudwatch.json',
      ]),
    );
    expect(files).toContain('alerts/unstructured-jobs.rules.yml');
    for (const f of files) {
      expect(f).not.toMatch(/^(test|bench|scripts|\.ci|lib|functions|docs)\//);
      expect(f).not.toMatch(/\.(ts|map|png)$/);
    }
    expect(license).toContain('Apache License\n                           Version 2.0, January 2004');
    expect(license).toContain('END OF TERMS AND CONDITIONS');
  });

  it('depends at run time on nothing but the optional AWS SDK clients (prom-client is a dev dependency)', () => {
    // Assess
    expect(packed.dependencies ?? {}).toEqual({});
    expect(Object.keys(packed.optionalDependencies ?? {}).sort()).toEqual(OPTIONAL_SDK_CLIENTS);
    expect(packed.devDependencies).toHaveProperty('prom-client');
  });

  it('installed in full, `serve` exports the upstream’s jobs on /metrics', async () => {
    // Prepare
    const server = await startProcess(binOf(full), ['serve', '--port', '0', '--host', '127.0.0.1'], {
      cwd: full,
      env: { PATH: process.env.PATH ?? '', ...upstream },
      ready: /listening on (http:\/\/127\.0\.0\.1:\d+)\/metrics/,
    });
    try {
      // Act
      const response = await fetch(`${server.match[1]}/metrics`);
      const text = await response.text();

      // Assess
      expect(response.status).toBe(200);
      const samples = parseExposition(text);
      const value = (name: string) => samples.find((s) => s.name === name)?.value;
      expect(value('unstructured_up')).toBe(1);
      expect(value('unstructured_jobs_fetched')).toBe(SAMPLE_EXPECTED.jobsFetched);
      expect(samples.find((s) => s.name === 'unstructured_exporter_build_info')?.labels.version).toBe(
        JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version,
      );
      const jobs = samples.filter((s) => s.name === 'unstructured_jobs');
      expect(sum(jobs)).toBe(SAMPLE_EXPECTED.counted);
      expect(
        sum(jobs.filter((s) => s.labels.workflow_id === SAMPLE_WORKFLOWS.quotes.id && s.labels.status === 'COMPLETED')),
      ).toBe(2);
      expect(api.requests.at(-1)?.headers['unstructured-api-key']).toBe(api.apiKey); // the fake upstream, not a demo
    } finally {
      await server.stop();
    }
  });

  it('installed in full, `collect --format prometheus` prints the upstream’s jobs', async () => {
    // Act
    const { code, stdout, stderr } = await runBin(
      full,
      ['collect', '--format', 'prometheus', '--now', SAMPLE_NOW],
      upstream,
    );

    // Assess
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const samples = parseExposition(stdout);
    expect(samples.find((s) => s.name === 'unstructured_up')?.value).toBe(1);
    expect(sum(samples.filter((s) => s.name === 'unstructured_jobs'))).toBe(SAMPLE_EXPECTED.counted);
    const oldestScheduled = samples.filter(
      (s) => s.name === 'unstructured_job_oldest_age_seconds' && s.labels.status === 'SCHEDULED',
    );
    expect(Math.max(...oldestScheduled.map((s) => s.value))).toBe(SAMPLE_EXPECTED.oldestAgeSeconds.SCHEDULED);
  });

  it('installed with --omit=optional, it is the package alone and `serve` still works', async () => {
    // Prepare
    const modules = readdirSync(join(serveOnly, 'node_modules')).filter((name) => !name.startsWith('.'));
    const server = await startProcess(binOf(serveOnly), ['serve', '--port', '0', '--host', '127.0.0.1'], {
      cwd: serveOnly,
      env: { PATH: process.env.PATH ?? '', ...upstream },
      ready: /listening on (http:\/\/127\.0\.0\.1:\d+)\/metrics/,
    });
    try {
      // Act
      const text = await (await fetch(`${server.match[1]}/metrics`)).text();

      // Assess
      expect(modules).toEqual(['unstructured-jobs-exporter']);
      expect(bytesUnder(join(serveOnly, 'node_modules'))).toBeLessThan(SERVE_ONLY_INSTALL_MAX_BYTES);
      const samples = parseExposition(text);
      expect(samples.find((s) => s.name === 'unstructured_up')?.value).toBe(1);
      expect(sum(samples.filter((s) => s.name === 'unstructured_jobs'))).toBe(SAMPLE_EXPECTED.counted);
    } finally {
      await server.stop();
    }
  });

  it('installed with --omit=optional, `collect --sink cloudwatch` exits 2 naming the package, before any pull', async () => {
    // Prepare: a complete AWS configuration, its endpoint a loopback port nothing listens on (never reached).
    const pullsBefore = api.requests.length;
    const aws = {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_ENDPOINT_URL: `http://127.0.0.1:${await freePort()}`,
    };

    // Act
    const { code, stdout, stderr } = await runBin(serveOnly, ['collect', '--sink', 'cloudwatch'], {
      ...upstream,
      ...aws,
    });

    // Assess
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(
      /^error: publishing to CloudWatch needs @aws-sdk\/client-cloudwatch, an optional dependency that is not installed: npm install @aws-sdk\/client-cloudwatch/,
    );
    expect(stderr).not.toMatch(/\bat .*\.(js|mjs|ts):\d+/); // no stack trace
    expect(api.requests.length).toBe(pullsBefore);
  });

  it('installed with --omit=optional, `collect --sink remote-write` pushes (its libraries are in the bundle); with SigV4 it exits 2 naming the signer', async () => {
    // Prepare
    const receiver = await startReceiver();
    try {
      const pullsBefore = api.requests.length;

      // Act
      const pushed = await runBin(serveOnly, ['collect', '--sink', 'remote-write'], {
        ...upstream,
        REMOTE_WRITE_URL: receiver.url,
      });
      const pullsAfterPush = api.requests.length;
      const signed = await runBin(serveOnly, ['collect', '--sink', 'remote-write'], {
        ...upstream,
        REMOTE_WRITE_URL: receiver.url,
        REMOTE_WRITE_SIGV4_REGION: 'us-east-1',
        AWS_EC2_METADATA_DISABLED: 'true',
      });

      // Assess
      expect(pushed.stderr).toBe('');
      expect(pushed.code).toBe(0);
      const delivered = receiver.requests.flatMap((r) => r.series ?? []);
      expect(JSON.parse(pushed.stdout)).toMatchObject({ remoteWrite: { delivered: delivered.length, undelivered: 0 } });
      expect(delivered.length).toBeGreaterThan(0);
      expect(pullsAfterPush - pullsBefore).toBe(1);
      expect(signed.code).toBe(2);
      expect(signed.stderr).toMatch(/^error: remote write with SigV4 \(REMOTE_WRITE_SIGV4_REGION\) needs @/);
      expect(api.requests.length).toBe(pullsAfterPush); // refused before any pull
    } finally {
      await receiver.close();
    }
  });

  it('installed with --omit=optional, `serve` with an SSM parameter for the key exits 2 naming the SSM client', async () => {
    // Act
    const { code, stderr } = await runBin(serveOnly, ['serve', '--port', '0', '--host', '127.0.0.1'], {
      UNSTRUCTURED_API_URL: api.url,
      UNSTRUCTURED_API_KEY_PARAM: '/unstructured-jobs-exporter/test/api-key',
      AWS_REGION: 'us-east-1',
      AWS_EC2_METADATA_DISABLED: 'true',
    });

    // Assess
    expect(code).toBe(2);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toContain(
      'needs @aws-sdk/client-ssm, an optional dependency that is not installed: npm install @aws-sdk/client-ssm',
    );
  });
});
