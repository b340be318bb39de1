/**
 * The alert rules pass `promtool check rules`, and their unit tests (alerts/unstructured-jobs.rules.test.yml:
 * every alert firing and not firing) pass `promtool test rules`.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('..', import.meta.url).pathname;
const RULES = join(ROOT, 'alerts/unstructured-jobs.rules.yml');
const RULE_TESTS = join(ROOT, 'alerts/unstructured-jobs.rules.test.yml');

function promtool(args: readonly string[]): { status: number | null; output: string } {
  const result = spawnSync('promtool', args, { cwd: join(ROOT, 'alerts'), encoding: 'utf8', timeout: 30_000 });
  if (result.error) throw new Error(`promtool not runnable (install the Debian package prometheus): ${result.error.message}`);
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

const alertNames = [...readFileSync(RULES, 'utf8').matchAll(/^\s*- alert: (\S+)$/gm)].map((m) => m[1] as string);

describe('alert rules', () => {
  it('pass promtool check rules', () => {
    // Act
    const { status, output } = promtool(['check', 'rules', RULES]);

    // Assess
    expect({ status, output }).toMatchObject({ status: 0, output: expect.stringContaining(`SUCCESS: ${alertNames.length} rules found`) });
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
    const cases = [...tests.matchAll(/alertname: (\S+)\n\s+exp_alerts:( \[\])?/g)].map((m) => ({ alert: m[1] as string, fires: m[2] === undefined }));

    // Assess
    expect(alertNames).toHaveLength(7);
    for (const alert of alertNames) {
      expect(cases.some((c) => c.alert === alert && c.fires), `${alert} firing`).toBe(true);
      expect(cases.some((c) => c.alert === alert && !c.fires), `${alert} not firing`).toBe(true);
    }
  });

  it('carry a severity, a summary, a description and a runbook anchor in docs/alerts.md', () => {
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
      const anchor = /runbook_url: "docs\/alerts\.md#([a-z0-9-]+)"/.exec(block)?.[1];
      expect(anchor, name).toBe(name.toLowerCase());
      // GitHub's anchor for a "### UnstructuredFoo" heading is "#unstructuredfoo"
      expect(docs, name).toMatch(new RegExp(`^### ${name}$`, 'm'));
    }
  });
});
