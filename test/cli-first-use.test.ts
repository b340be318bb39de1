/**
 * First use, as a new user meets it: the demo only when meant (and labelled wherever one looks), exit codes as
 * the README says, `--help` on every command, durations with units, CloudWatch configuration checked before the
 * pull, a closed stdout, and `npm start` stopping with its server.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './support/cli.js';
import { SAMPLE_NOW, sampleJobs, startFakeApi, type FakeApi } from './support/fake-api.js';
import { ROOT } from './support/package.js';
import { pollUntil } from './support/ports.js';
import { startProcess, type Started } from './support/processes.js';

const BIN = join(ROOT, 'bin/unstructured-jobs-exporter.mjs');
const PATH_ONLY = { PATH: process.env.PATH ?? '' };
const LISTENING = /listening on (http:\/\/127\.0\.0\.1:\d+)\/metrics(.*)/;

function serve(env: Record<string, string>, args: string[] = []): Promise<Started> {
  return startProcess(process.execPath, [BIN, 'serve', '--port', '0', '--host', '127.0.0.1', ...args], {
    env: { ...PATH_ONLY, ...env },
    ready: LISTENING,
  });
}

/** stderr without the AWS SDK's own Node-version warning, which the SDK prints on Node 20 whatever happens. */
function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.startsWith('error:'));
}

async function text(url: string): Promise<string> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return res.text();
}

describe('the demo only when meant', () => {
  let api: FakeApi;

  beforeAll(async () => {
    api = await startFakeApi({ jobs: sampleJobs() });
  });
  afterAll(() => api.close());

  it('serves the demo with nothing configured, labelled demo="true" in /metrics, on the status page and at start', async () => {
    // Act
    const demo = await serve({});
    try {
      const base = demo.match[1] as string;
      const [metrics, page] = await Promise.all([text(`${base}/metrics`), text(`${base}/`)]);

      // Assess
      expect(demo.match[2]).toContain('DEMO');
      expect(demo.output()).toContain('"demo":true');
      expect(metrics).toMatch(/^unstructured_exporter_build_info\{version="[^"]+",demo="true"\} 1$/m);
      expect(metrics).toMatch(/^unstructured_up 1$/m);
      expect(page).toContain('<p class="demo" role="alert"><strong>DEMO</strong>');
    } finally {
      await demo.stop();
    }
  }, 30_000);

  it('labels nothing as demo when an account is configured', async () => {
    // Act
    const real = await serve({ UNSTRUCTURED_API_URL: api.url, UNSTRUCTURED_API_KEY: api.apiKey });
    try {
      const base = real.match[1] as string;
      const [metrics, page] = await Promise.all([text(`${base}/metrics`), text(`${base}/`)]);

      // Assess
      expect(real.match[2]).not.toContain('DEMO');
      expect(metrics).toMatch(/^unstructured_exporter_build_info\{version="[^"]+"\} 1$/m);
      expect(metrics).not.toContain('demo=');
      expect(page).not.toContain('class="demo"');
    } finally {
      await real.stop();
    }
  }, 30_000);

  it('serves the demo with --demo even when an account is configured', async () => {
    // Prepare
    const before = api.requests.length;

    // Act
    const demo = await serve({ UNSTRUCTURED_API_URL: api.url, UNSTRUCTURED_API_KEY: api.apiKey }, ['--demo']);
    try {
      const metrics = await text(`${demo.match[1]}/metrics`);

      // Assess
      expect(metrics).toContain(',demo="true"} 1');
      expect(api.requests).toHaveLength(before);
    } finally {
      await demo.stop();
    }
  }, 30_000);

  it.each([
    [
      { UNSTRUCTURED_API_KEY: '' },
      'error: UNSTRUCTURED_API_KEY: is set but empty; give the value, or unset the variable\n',
    ],
    [
      { UNSTRUCTURED_API_KEY: '   ' },
      'error: UNSTRUCTURED_API_KEY: is set but empty; give the value, or unset the variable\n',
    ],
    [
      { UNSTRUCTURED_API_KEY_PARAM: '' },
      'error: UNSTRUCTURED_API_KEY_PARAM: is set but empty; give the value, or unset the variable\n',
    ],
    [{ METRICS_TOKEN: '' }, 'error: METRICS_TOKEN: is set but empty; give the value, or unset the variable\n'],
    [
      { UNSTRUCTURED_API_URL: 'http://127.0.0.1:9/' },
      'error: UNSTRUCTURED_API_KEY: not set (UNSTRUCTURED_API_URL is set); set it or UNSTRUCTURED_API_KEY_PARAM\n',
    ],
  ])('serve with %j exits 2 naming the variable, never the demo', async (env, message) => {
    // Act
    const { code, stdout, stderr } = await runCli(['serve', '--port', '0', '--host', '127.0.0.1'], env);

    // Assess
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe(message);
  });

  it('collect without a key exits 2 and points at --demo', async () => {
    // Act
    const { code, stdout, stderr } = await runCli(['collect', '--format', 'table'], {});

    // Assess
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe(
      'error: UNSTRUCTURED_API_KEY: not set; set it or UNSTRUCTURED_API_KEY_PARAM, or pass --demo to collect from the embedded demo\n',
    );
  });

  it('collect --demo gives the README walkthrough without an account, labelled in every format', async () => {
    // Act
    const [table, json, prom] = await Promise.all([
      runCli(['collect', '--demo', '--format', 'table'], {}),
      runCli(['collect', '--demo', '--format', 'json'], {}),
      runCli(['collect', '--demo'], {}),
    ]);

    // Assess
    for (const run of [table, json, prom]) {
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
    }
    expect(table.stdout.split('\n')[0]).toMatch(
      /^unstructured-jobs-exporter \S+ {2}DEMO \(simulated jobs, not your account\) {2}UP {2}collected /,
    );
    expect(table.stdout).toContain('JOBS BY STATUS');
    const snapshot = JSON.parse(json.stdout) as { demo?: boolean; jobsFetched: number };
    expect(snapshot.demo).toBe(true);
    expect(snapshot.jobsFetched).toBeGreaterThan(100);
    expect(prom.stdout).toMatch(/^unstructured_exporter_build_info\{version="[^"]+",demo="true"\} 1$/m);
  }, 30_000);

  it('refuses --demo with --sink cloudwatch (simulated jobs would land in an account)', async () => {
    // Act
    const { code, stderr } = await runCli(['collect', '--demo', '--sink', 'cloudwatch'], {});

    // Assess
    expect(code).toBe(2);
    expect(stderr).toContain('error: --demo: not with --sink cloudwatch');
  });
});

describe('command line behaviour', () => {
  it.each([
    ['serve', ['--port', '--host', '--runtime-window', '--max-workflows', '--demo', '--help']],
    ['collect', ['--format', '--sink', '--state', '--now', '--runtime-window', '--max-workflows', '--demo', '--help']],
  ])('%s --help prints every option and exits 0', async (command, options) => {
    // Act
    const [long, short] = await Promise.all([runCli([command, '--help'], {}), runCli([command, '-h'], {})]);

    // Assess
    expect(long.code).toBe(0);
    expect(long.stderr).toBe('');
    expect(long.stdout).toMatch(new RegExp(`^Usage: unstructured-jobs-exporter ${command} `));
    for (const option of options) expect(long.stdout).toContain(`${option} `);
    expect(short).toEqual(long);
  });

  it('lists --max-workflows and --demo in the top-level help', async () => {
    // Act
    const { code, stdout } = await runCli(['--help'], {});

    // Assess
    expect(code).toBe(0);
    expect(stdout).toContain('--max-workflows');
    expect(stdout).toContain('--demo');
  });

  it.each([
    [['collect', '--demo'], { RUNTIME_WINDOW: '24' }, 'error: RUNTIME_WINDOW: a duration needs a unit'],
    [['collect', '--demo', '--runtime-window', '24'], {}, 'error: --runtime-window: a duration needs a unit'],
    [['collect', '--demo'], { CACHE_TTL: '30' }, 'error: CACHE_TTL: a duration needs a unit'],
    [['collect', '--demo'], { REQUEST_TIMEOUT: '10' }, 'error: REQUEST_TIMEOUT: a duration needs a unit'],
  ])('%j with %j: a duration without a unit is a configuration error (exit 2)', async (args, env, message) => {
    // Act
    const { code, stderr } = await runCli(args, env);

    // Assess
    expect(code).toBe(2);
    expect(stderr).toContain(message);
  });

  it('ends quietly when the reader of stdout goes away (collect | head -1)', async () => {
    // Prepare
    const child = spawn(process.execPath, [BIN, 'collect', '--demo'], {
      env: PATH_ONLY,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.destroy(); // the reader is gone before the first write: every write gets EPIPE
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));

    // Act
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));

    // Assess
    expect(stderr).toBe('');
    expect(code).toBe(0);
  }, 30_000);
});

describe('collect --sink cloudwatch checks the AWS configuration before the pull', () => {
  let api: FakeApi;
  let home: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    api = await startFakeApi({ jobs: sampleJobs() });
    // An empty HOME (no ~/.aws) and no instance metadata: the SDK's chain finds nothing and asks no one.
    home = mkdtempSync(join(tmpdir(), 'uje-home-'));
    env = {
      UNSTRUCTURED_API_URL: api.url,
      UNSTRUCTURED_API_KEY: api.apiKey,
      HOME: home,
      AWS_EC2_METADATA_DISABLED: 'true',
    };
  });
  afterAll(async () => {
    await api.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('exits 2 naming AWS_REGION, without pulling, when no region is configured', async () => {
    // Act
    const { code, stdout, stderr } = await runCli(['collect', '--sink', 'cloudwatch', '--now', SAMPLE_NOW], {
      ...env,
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'secret',
    });

    // Assess
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(errorLines(stderr)).toEqual([expect.stringMatching(/^error: AWS_REGION: not set/)]);
    expect(api.requests).toHaveLength(0);
  });

  it('exits 2 naming the credentials, without pulling, when the credential chain finds none', async () => {
    // Act
    const { code, stdout, stderr } = await runCli(['collect', '--sink', 'cloudwatch', '--now', SAMPLE_NOW], {
      ...env,
      AWS_REGION: 'us-east-1',
    });

    // Assess
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(errorLines(stderr)).toEqual([
      expect.stringMatching(/^error: AWS credentials: none found by the SDK's default chain/),
    ]);
    expect(api.requests).toHaveLength(0);
  });
});

describe('npm start', () => {
  it('stops its server when the npm process is stopped', async () => {
    // Prepare: npm runs the start script; the server is its child (or grandchild, with a shell between them).
    const npm = await startProcess('npm', ['start', '--silent'], {
      cwd: ROOT,
      env: { ...PATH_ONLY, HOME: process.env.HOME ?? tmpdir(), PORT: '0', HOST: '127.0.0.1' },
      ready: LISTENING,
      deadlineMs: 30_000,
    });
    const url = `${npm.match[1]}/healthz`;
    expect((await fetch(url)).status).toBe(200);

    // Act
    await npm.stop(); // SIGTERM to npm's own pid, as a process supervisor or `kill` would

    // Assess: the server goes with it
    await pollUntil(
      'the server to stop listening',
      async () => {
        try {
          await fetch(url, { signal: AbortSignal.timeout(1000) });
          return undefined;
        } catch {
          return true;
        }
      },
      10_000,
    );
  }, 60_000);
});
