/**
 * The status page (`/`) and its terminal twin (`collect --format table`): content, escaping of hostile
 * names and error messages, and a real headless Chromium loading the page from the running exporter.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Aggregator } from '../lib/aggregate/aggregator.js';
import type { Collection, CollectionFailure } from '../lib/collection.js';
import { DEFAULT_HISTOGRAM_BUCKETS, DEFAULT_QUANTILES } from '../lib/config.js';
import { toJob } from '../lib/records/to-job.js';
import { escapeHtml, renderStatusPage } from '../lib/outputs/status-page.js';
import { humanDuration, quantileLabel } from '../lib/outputs/view.js';
import { displayWidth, NAME_WIDTH, renderTable } from '../lib/outputs/table.js';
import { runCli } from './support/cli.js';
import { clockEnv } from './support/clock.js';
import {
  SAMPLE_EXPECTED,
  SAMPLE_NOW,
  SAMPLE_NOW_MS,
  SAMPLE_WORKFLOWS,
  sampleJobs,
  sampleJobsAt,
  startFakeApi,
  type FakeApi,
} from './support/fake-api.js';
import { job, NOW_MS } from './support/jobs.js';
import { startProcess, type Started } from './support/processes.js';
import { shownWorkflowName } from '../lib/common/text.js';

const ROOT = new URL('..', import.meta.url).pathname;
const CHROMIUM = '/usr/bin/chromium';
// The committed docs/status-page.png is refreshed only on request (UPDATE_SCREENSHOT=1 npm test), so a test run
// leaves the work tree clean; otherwise the screenshot goes to the git-ignored test/.artifacts/.
const SCREENSHOT =
  process.env.UPDATE_SCREENSHOT === '1'
    ? join(ROOT, 'docs/status-page.png')
    : join(ROOT, 'test/.artifacts/status-page.png');
const VERSION = '9.8.7-test';

function collectionOf(records: readonly unknown[], options: { maxWorkflows?: number } = {}): Collection {
  const aggregator = new Aggregator({
    nowMs: SAMPLE_NOW_MS,
    runtimeWindowSeconds: 86_400,
    maxWorkflows: options.maxWorkflows ?? 50,
    histogramBuckets: DEFAULT_HISTOGRAM_BUCKETS,
    quantiles: DEFAULT_QUANTILES,
  });
  for (const raw of records) {
    const parsed = toJob(raw, SAMPLE_NOW_MS);
    if (typeof parsed === 'string') aggregator.skip(parsed);
    else aggregator.add(parsed);
  }
  return { ok: true, snapshot: aggregator.snapshot(), durationSeconds: 0.125, finishedAtMs: SAMPLE_NOW_MS };
}

const FAILED_COLLECTION: CollectionFailure = {
  ok: false,
  errorKind: 'auth',
  errorMessage: 'HTTP 401 from the API: <img src=x onerror=alert(1)> "API key is invalid."\nsecond line',
  durationSeconds: 0.5,
  finishedAtMs: SAMPLE_NOW_MS,
};

/** The cell texts of every row of the section's table whose id is `section` (tags stripped, entities kept). */
function tableRows(html: string, section: string): string[][] {
  const start = html.indexOf(`<section id="${section}">`);
  const end = html.indexOf('</section>', start);
  const part = html.slice(start, end);
  return [...part.matchAll(/<tr>(.*?)<\/tr>/gs)].map((m) =>
    [...(m[1] as string).matchAll(/<t[dh][^>]*>(.*?)<\/t[dh]>/gs)].map((c) =>
      (c[1] as string).replace(/<div class="id">.*?<\/div>/s, '').replace(/<[^>]+>/g, ''),
    ),
  );
}

describe('renderStatusPage', () => {
  const html = renderStatusPage(collectionOf(sampleJobs()), { version: VERSION });

  it('is one self-contained page: no script, no external asset, a strict CSP, a relative link to metrics', () => {
    // Assess
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//i);
    expect(html).toContain(
      `content="default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"`,
    );
    expect(html).toContain('<meta http-equiv="refresh" content="30">');
    expect(html).toContain('<a href="metrics">metrics</a>');
    expect(html).toContain('<span class="badge up">UP</span>');
    expect(html).toContain(VERSION);
    expect(html).toContain('2026-11-29 12:00:00 UTC');
    expect(Buffer.byteLength(html)).toBeLessThan(60_000);
  });

  it('shows every workflow name as escaped text, hostile ones included', () => {
    // Assess
    for (const wf of Object.values(SAMPLE_WORKFLOWS)) expect(html).toContain(escapeHtml(shownWorkflowName(wf.name))); // the 2,000-character name cut to 200
    expect(html).toContain('&#60;/script&#62;&#60;script&#62;alert(1)&#60;/script&#62;');
    expect(html).toContain('title="Invoices &#34;Q4&#34; \\ archive"');
    expect(html).not.toContain('alert(1)</script>');
  });

  it('counts jobs by status per workflow, with the unknown status as a column and failures highlighted', () => {
    // Act
    const rows = tableRows(html, 'jobs');

    // Assess
    expect(rows[0]).toEqual([
      'Workflow',
      'SCHEDULED',
      'IN_PROGRESS',
      'COMPLETED',
      'STOPPED',
      'FAILED',
      'active',
      'Total',
    ]);
    const total = rows[rows.length - 1] as string[];
    expect(total).toEqual(['All workflows', '2', '2', '8', '1', '3', '1', '17']);
    const quotes = rows.find((r) => r[0] === escapeHtml(SAMPLE_WORKFLOWS.quotes.name));
    expect(quotes).toEqual([escapeHtml(SAMPLE_WORKFLOWS.quotes.name), '0', '1', '2', '0', '1', '0', '4']);
    expect(rows).toHaveLength(1 + SAMPLE_EXPECTED.workflowsSeen + 1);
    // FAILED > 0: quotes, script, sharedB and the total row here; quotes, sharedB and the total in the runtime table
    expect(html.match(/<td class="failed">\d+<\/td>/g)?.length).toBe(4 + 3);
    expect(html).toContain('<th class="unknown" title="status not documented by the API">active</th>');
  });

  it('shows the oldest waiting and running ages, humanised', () => {
    // Act
    const total = tableRows(html, 'pending').at(-1);

    // Assess: SCHEDULED j14 waited 90 min; IN_PROGRESS j13 runs for 2 h
    expect(total).toEqual(['All workflows', '2', '1h 30m', '2', '2h']);
  });

  it('shows exact window percentiles for COMPLETED and FAILED', () => {
    // Act
    const rows = tableRows(html, 'runtime');
    const quotesCompleted = rows.find((r) => r[0] === escapeHtml(SAMPLE_WORKFLOWS.quotes.name));

    // Assess: quotes' COMPLETED runtimes in the window are 150 s and 150.456 s
    expect(rows[0]).toEqual(['Workflow', 'Status', 'Jobs', 'p50', 'p90', 'p95', 'p99', 'max']);
    expect(quotesCompleted).toEqual([
      escapeHtml(SAMPLE_WORKFLOWS.quotes.name),
      'COMPLETED',
      '2',
      '2m 30s',
      '2m 30s',
      '2m 30s',
      '2m 30s',
      '2m 30s',
    ]);
    const sharedBFailed = rows[rows.findIndex((r) => r[0] === 'Shared name' && r[2] === '0') + 1];
    expect(sharedBFailed).toEqual(['', 'FAILED', '1', '0.5s', '0.5s', '0.5s', '0.5s', '0.5s']);
    expect(html).toContain('Runtime of jobs finished in the last 1d');
  });

  it('lists skipped records by reason and unparsable runtimes', () => {
    // Act
    const rows = Object.fromEntries(
      tableRows(html, 'records')
        .slice(1)
        .map((r) => [r[0], r[1]]),
    );

    // Assess
    expect(rows).toMatchObject({
      invalid_id: '1',
      invalid_status: '1',
      invalid_created_at: '1',
      duplicate_id: '0',
      not_an_object: '0',
    });
    expect(rows['runtime unparsable (counted, left out of runtimes)']).toBe('2');
    expect(rows["runtime longer than the job's age (counted, left out of runtimes)"]).toBe('0');
    expect(html).toContain('20 records fetched; 3 skipped');
  });

  it('counts runtimes longer than the job’s age apart from unparsable ones, in the page and the table', () => {
    // Prepare: the sample list and one COMPLETED job whose runtime ends 400 days after now (issue 15)
    const impossible = { ...sampleJobs()[0], id: 'ffffffff-0000-4000-8000-000000000001', runtime: 'P400D' };
    const collection = collectionOf([...sampleJobs(), impossible]);

    // Act
    const page = renderStatusPage(collection, { version: VERSION });
    const rows = Object.fromEntries(
      tableRows(page, 'records')
        .slice(1)
        .map((r) => [r[0], r[1]]),
    );
    const table = renderTable(collection, { version: VERSION });

    // Assess
    expect(rows["runtime longer than the job's age (counted, left out of runtimes)"]).toBe('1');
    expect(rows['runtime unparsable (counted, left out of runtimes)']).toBe('2');
    expect(table).toContain('runtime unparsable 2, longer than age 1\n');
  });

  it('names the folded workflows', () => {
    // Act
    const folded = renderStatusPage(collectionOf(sampleJobs(), { maxWorkflows: 2 }), { version: VERSION });

    // Assess
    expect(folded).toContain('other (5 workflows folded)');
    expect(folded).toContain('7 (5 folded into other)');
  });

  it('shows DOWN and the escaped error, and no job table, when the pull failed', () => {
    // Act
    const down = renderStatusPage(FAILED_COLLECTION, { version: VERSION });

    // Assess
    expect(down).toContain('<span class="badge down">DOWN</span>');
    expect(down).toContain(
      '<code>auth</code>: HTTP 401 from the API: &#60;img src=x onerror=alert(1)&#62; &#34;API key is invalid.&#34;\nsecond line',
    );
    expect(down).not.toContain('<img');
    expect(down).not.toContain('<table');
    expect(down).not.toContain('Jobs by status');
    expect(down).toContain('<a href="metrics">metrics</a>');
  });
});

describe('status page helpers', () => {
  it.each([
    [0, '0s'],
    [0.5, '0.5s'],
    [2.345, '2.35s'],
    [45.4, '45s'],
    [150.456, '2m 30s'],
    [5400, '1h 30m'],
    [7200, '2h'],
    [300, '5m'],
    [86_400, '1d'],
    [93_600, '1d 2h'],
    [Number.NaN, '—'],
    [undefined, '—'],
  ])('humanDuration(%s) is %s', (seconds, expected) => {
    // Act / Assess
    expect(humanDuration(seconds)).toBe(expected);
  });

  it('labels quantiles', () => {
    // Act / Assess
    expect([0.5, 0.9, 0.95, 0.99, 0.999, 1].map(quantileLabel)).toEqual(['p50', 'p90', 'p95', 'p99', 'p99.9', 'max']);
  });

  it('escapes every character that matters in HTML text and attributes', () => {
    // Act / Assess
    expect(escapeHtml(`<a href="x" onclick='y'>&</a>`)).toBe(
      '&#60;a href=&#34;x&#34; onclick=&#39;y&#39;&#62;&#38;&#60;/a&#62;',
    );
  });
});

describe('renderTable', () => {
  const text = renderTable(collectionOf(sampleJobs()), { version: VERSION });
  const lines = text.split('\n');
  const section = (title: string) => {
    const start = lines.findIndex((l) => l.startsWith(title));
    const end = lines.indexOf('', start);
    return lines.slice(start + 1, end);
  };

  it('has the health line and the same sections as the status page', () => {
    // Assess
    expect(lines[0]).toBe(`unstructured-jobs-exporter ${VERSION}  UP  collected 2026-11-29 12:00:00 UTC in 0.13s`);
    expect(lines[1]).toBe('17 jobs counted, 20 records fetched, 7 workflows');
    for (const title of ['JOBS BY STATUS', 'WAITING AND RUNNING', 'RUNTIME OF JOBS FINISHED IN THE LAST 1D'])
      expect(lines.some((l) => l.startsWith(title))).toBe(true);
    expect(lines.at(-2)).toBe(
      'RECORDS  skipped 3 (invalid_id 1, invalid_status 1, invalid_created_at 1), runtime unparsable 2, longer than age 0',
    );
    expect(text).not.toMatch(/\u001b/);
  });

  it('keeps the columns aligned whatever the names: each table line is as wide as its header', () => {
    // Act
    const jobs = section('JOBS BY STATUS');

    // Assess
    expect(jobs[0]).toMatch(
      /^WORKFLOW\s+ID\s+SCHEDULED\s+IN_PROGRESS\s+COMPLETED\s+STOPPED\s+FAILED\s+active\s+TOTAL$/,
    );
    for (const line of jobs) expect(displayWidth(line)).toBe(displayWidth(jobs[0] as string));
    expect(jobs.at(-1)).toMatch(/^All workflows\s+2\s+2\s+8\s+1\s+3\s+1\s+17$/);
    for (const title of ['WAITING AND RUNNING', 'RUNTIME OF JOBS']) {
      const rows = section(title).filter((l) => !/^-+$/.test(l));
      const widths = new Set(rows.map((l) => displayWidth(l)));
      expect(widths.size).toBe(1);
    }
  });

  it('cuts long names with an ellipsis and makes control characters inert', () => {
    // Act
    const jobs = section('JOBS BY STATUS');

    // Assess
    const long = jobs.find((l) => l.startsWith('Long nnn')) as string;
    expect(long.slice(0, NAME_WIDTH)).toBe(`Long ${'n'.repeat(NAME_WIDTH - 6)}…`);
    expect(jobs.some((l) => l.startsWith('Contracts legal '))).toBe(true);
    expect(jobs.some((l) => l.startsWith('</script><script>alert(1)</scri…  '))).toBe(true);
    const cjk = jobs.find((l) => l.startsWith('Résumés')) as string;
    expect(cjk.startsWith('Résumés → Weaviate (Zürich) 日… ')).toBe(true); // 日 and 本 take two columns each
    for (const line of jobs.slice(1, -2))
      expect(displayWidth(line.slice(0, line.indexOf('6b1f0c52')))).toBe(NAME_WIDTH + 2);
  });

  it('never lets an escape sequence from a name reach the terminal', () => {
    // Prepare
    const hostile = job({ workflowName: '\u001b]0;pwned\u0007\u001b[31mred\u202e\u001b[0m' });
    const aggregator = new Aggregator({
      nowMs: NOW_MS,
      runtimeWindowSeconds: 86_400,
      maxWorkflows: 50,
      histogramBuckets: [1, 10],
      quantiles: [0.5, 1],
    });
    aggregator.add(hostile);

    // Act
    const out = renderTable({ ok: true, snapshot: aggregator.snapshot(), durationSeconds: 1, finishedAtMs: NOW_MS });

    // Assess
    expect(out).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f\u202e]/);
    expect(out).toContain('?]0;pwned??[31mred??[0m');
  });

  it('shows DOWN and the error, without any job table, when the pull failed', () => {
    // Act
    const down = renderTable(FAILED_COLLECTION, { version: VERSION });

    // Assess
    expect(down).toBe(
      `unstructured-jobs-exporter ${VERSION}  DOWN  pull failed 2026-11-29 12:00:00 UTC after 0.5s\n` +
        'error (auth): HTTP 401 from the API: <img src=x onerror=alert(1)> "API key is invalid." second line\n' +
        'No job figures while the pull fails.\n',
    );
  });

  it('is what `collect --format table` prints', async () => {
    // Prepare
    const api = await startFakeApi({ jobs: sampleJobs() });
    try {
      // Act
      const { code, stdout, stderr } = await runCli(['collect', '--format', 'table', '--now', SAMPLE_NOW], {
        UNSTRUCTURED_API_URL: api.url,
        UNSTRUCTURED_API_KEY: api.apiKey,
        // The snapshot's table (`text`); the outcomes section of job details: test/details-outputs.test.ts.
        JOB_DETAILS: 'off',
      });

      // Assess
      expect(stderr).toBe('');
      expect(code).toBe(0);
      expect(stdout).toMatch(/^unstructured-jobs-exporter \S+ {2}UP {2}collected 2026-11-29 12:00:00 UTC in \S+\n/);
      expect(stdout.split('\n').slice(1).join('\n')).toBe(text.split('\n').slice(1).join('\n'));
    } finally {
      await api.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------------------
// A real browser

interface ChromiumResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number | null;
}

/** Runs headless Chromium once (fresh profile), killing its process group if it outlives the deadline. */
async function chromium(args: readonly string[], deadlineMs = 30_000): Promise<ChromiumResult> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: install the Debian package chromium (scripts/test.sh does) to run the status page browser test`,
    );
  }
  const profile = mkdtempSync(join(tmpdir(), 'uje-chromium-'));
  const child = spawn(
    CHROMIUM,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--hide-scrollbars',
      `--user-data-dir=${profile}`,
      ...args,
    ],
    { detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const pid = child.pid as number;
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-10_000)));
  const killGroup = () => {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup();
  }, deadlineMs);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (c) => resolve(c));
  }).finally(() => {
    clearTimeout(timer);
    killGroup(); // helpers (zygote, GPU, renderer) of this run only: the group Chromium leads
    rmSync(profile, { recursive: true, force: true });
  });
  if (timedOut) throw new Error(`chromium did not finish within ${deadlineMs} ms:\n${stderr}`);
  return { stdout, stderr, code };
}

function decodeEntities(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&nbsp;/g, '\u00a0')
    .replace(/&amp;/g, '&');
}

describe('the status page in headless Chromium', () => {
  let api: FakeApi;
  let exporter: Started;
  let demo: Started;

  beforeAll(async () => {
    // The servers run on their own clock (the test's: clockEnv): move the sample so that its "now" is the start of this test.
    api = await startFakeApi({ jobs: sampleJobsAt(Date.now()) });
    const serve = [join(ROOT, 'bin/unstructured-jobs-exporter.mjs'), 'serve', '--port', '0', '--host', '127.0.0.1'];
    const ready = /listening on (http:\/\/127\.0\.0\.1:\d+)\/metrics/;
    [exporter, demo] = await Promise.all([
      startProcess(process.execPath, serve, {
        env: {
          PATH: process.env.PATH ?? '',
          ...clockEnv(),
          UNSTRUCTURED_API_URL: api.url,
          UNSTRUCTURED_API_KEY: api.apiKey,
        },
        ready,
      }),
      // No API key: the embedded demo, realistic data for the screenshot in the docs.
      startProcess(process.execPath, serve, { env: { PATH: process.env.PATH ?? '', ...clockEnv() }, ready }),
    ]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([exporter?.stop(), demo?.stop()]);
    await api?.close();
  });

  it('renders hostile workflow names as text and runs no injected script', async () => {
    // Act
    const { stdout: dom, code } = await chromium(['--dump-dom', `${exporter.match[1]}/`]);

    // Assess
    expect(code).toBe(0);
    expect(dom).toContain('<span class="badge up">UP</span>');
    expect(dom.match(/<script/gi) ?? []).toHaveLength(0);
    expect(dom).not.toMatch(/<img/i);
    const text = decodeEntities(dom);
    for (const wf of Object.values(SAMPLE_WORKFLOWS)) expect(text).toContain(shownWorkflowName(wf.name));
    expect(dom).toContain('&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;');
  }, 45_000);

  it('takes a screenshot of the demo for the docs', async () => {
    // Prepare
    const out = join(mkdtempSync(join(tmpdir(), 'uje-shot-')), 'status-page.png');

    // Act
    const { code } = await chromium([`--screenshot=${out}`, '--window-size=1280,4200', `${demo.match[1]}/`]);

    // Assess
    expect(code).toBe(0);
    const png = readFileSync(out);
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(png.length).toBeGreaterThan(10_000);
    expect(png.length).toBeLessThan(900_000);
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    writeFileSync(SCREENSHOT, png);
    rmSync(join(out, '..'), { recursive: true, force: true });
    expect(statSync(SCREENSHOT).size).toBe(png.length);
  }, 45_000);
});
