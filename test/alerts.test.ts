/**
 * The alert rules pass `promtool check rules`, and their unit tests (alerts/unstructured-jobs.rules.test.yml:
 * every alert firing and not firing) pass `promtool test rules`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error -- a plain ES module script without type declarations
import { DEFAULT_RUNBOOK_BASE } from '../scripts/runbook-urls.mjs';

const ROOT = new URL('..', import.meta.url).pathname;
const RULES = join(ROOT, 'alerts/unstructured-jobs.rules.yml');
const RULE_TESTS = join(ROOT, 'alerts/unstructured-jobs.rules.test.yml');

function promtool(args: readonly string[]): { status: number | null; output: string } {
  const result = spawnSync('promtool', args, { cwd: join(ROOT, 'alerts'), encoding: 'utf8', timeout: 30_000 });
  if (result.error)
    throw new Error(`promtool not runnable (install the Debian package prometheus): ${result.error.message}`);
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

const alertNames = [...readFileSync(RULES, 'utf8').matchAll(/^\s*- alert: (\S+)$/gm)].map((m) => m[1] as string);

describe('alert rules', () => {
  it('pass promtool check rules', () => {
    // Act
    const { status, output } = promtool(['check', 'rules', RULES]);

    // Assess
    expect({ status, output }).toMatchObject({
      status: 0,
      output: expect.stringContaining(`SUCCESS: ${alertNames.length} rules found`),
    });
  });

  it('pass their promtool unit tests', () => {
    // Act
    const { status, output } = promtool(['test', 'rules', RULE_TESTS]);

    // Assess
    expect({ status, output }).toMatchObject({ status: 0, output: expect.stringContaining('SUCCESS') });
  });

  it('are each tested firing and not firing', () => {
    // Prepare
    const tests = readFileSync(RULE_TESTS, 'utf8');
    const cases = [...tests.matchAll(/alertname: (\S+)\n\s+exp_alerts:( \[\])?/g)].map((m) => ({
      alert: m[1] as string,
      fires: m[2] === undefined,
    }));

    // Assess
    expect(alertNames).toHaveLength(11); // with the two schedule alerts (issue 17) and the two outcome alerts (issue 16)
    for (const alert of alertNames) {
      expect(
        cases.some((c) => c.alert === alert && c.fires),
        `${alert} firing`,
      ).toBe(true);
      expect(
        cases.some((c) => c.alert === alert && !c.fires),
        `${alert} not firing`,
      ).toBe(true);
    }
  });

  it('carry a severity, a summary, a description and an absolute runbook URL whose anchor is in docs/alerts.md', () => {
    // Prepare
    const rules = readFileSync(RULES, 'utf8');
    const docs = readFileSync(join(ROOT, 'docs/alerts.md'), 'utf8');
    const blocks = rules.split(/^\s*- alert: /m).slice(1);

    // Assess
    expect(blocks).toHaveLength(alertNames.length);
    for (const block of blocks) {
      const name = block.slice(0, block.indexOf('\n'));
      expect(block, name).toMatch(/\n\s+severity: (critical|warning)\n/);
      expect(block, name).toMatch(/\n\s+summary: /);
      expect(block, name).toMatch(/\n\s+description: /);
      const url = /runbook_url: "([^"]+)"/.exec(block)?.[1] ?? '';
      expect(url, name).toBe(`${DEFAULT_RUNBOOK_BASE}#${name.toLowerCase()}`);
      // GitHub's anchor for a "### UnstructuredFoo" heading is "#unstructuredfoo"
      expect(docs, name).toMatch(new RegExp(`^### ${name}$`, 'm'));
    }
  });

  it('say which runbook base they carry, in docs/alerts.md', () => {
    // Assess
    const docs = readFileSync(join(ROOT, 'docs/alerts.md'), 'utf8');
    expect(new URL(DEFAULT_RUNBOOK_BASE).protocol).toBe('https:');
    expect(docs).toContain(DEFAULT_RUNBOOK_BASE);
    expect(docs).toMatch(/^## Runbook URLs$/m);
  });
});

describe('scripts/runbook-urls.mjs', () => {
  function run(args: readonly string[], input: string): { status: number | null; stdout: string; stderr: string } {
    const result = spawnSync(process.execPath, [join(ROOT, 'scripts/runbook-urls.mjs'), ...args], {
      input,
      encoding: 'utf8',
      timeout: 30_000,
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  }

  it('moves every runbook_url to another base, changing nothing else, and the rules and their tests still pass', () => {
    // Prepare
    const base = 'https://wiki.example.com/ops/unstructured-jobs';
    const dir = mkdtempSync(join(tmpdir(), 'runbooks-'));
    try {
      // Act
      const rules = run([base], readFileSync(RULES, 'utf8'));
      const tests = run([base], readFileSync(RULE_TESTS, 'utf8'));
      writeFileSync(join(dir, 'unstructured-jobs.rules.yml'), rules.stdout);
      writeFileSync(join(dir, 'unstructured-jobs.rules.test.yml'), tests.stdout);
      const check = spawnSync('promtool', ['test', 'rules', 'unstructured-jobs.rules.test.yml'], {
        cwd: dir,
        encoding: 'utf8',
        timeout: 30_000,
      });

      // Assess
      expect([rules.status, tests.status]).toEqual([0, 0]);
      const urls = [...rules.stdout.matchAll(/runbook_url: "([^"]+)"/g)].map((m) => m[1]);
      expect(urls).toEqual(alertNames.map((name) => `${base}#${name.toLowerCase()}`));
      expect(rules.stdout.replaceAll(base, DEFAULT_RUNBOOK_BASE)).toBe(readFileSync(RULES, 'utf8'));
      expect({ status: check.status, output: `${check.stdout}${check.stderr}` }).toMatchObject({
        status: 0,
        output: expect.stringContaining('SUCCESS'),
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each([['docs/alerts.md'], ['ftp://host/runbooks'], ['https://host/runbooks#x']])(
    'refuses the base %s (exit 2)',
    (base) => {
      // Act
      const { status, stderr } = run([base], readFileSync(RULES, 'utf8'));

      // Assess
      expect(status).toBe(2);
      expect(stderr).toMatch(/^error: /);
    },
  );
});
