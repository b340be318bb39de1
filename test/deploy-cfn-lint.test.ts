/**
 * Template hygiene: cfn-lint (preinstalled on these machines) on the packaged template of every param combination
 * that changes resources (test/support/package.ts PACKAGE_VARIANTS). No error and no warning: each is fixed, or
 * ignored on its resource with `Metadata: {cfn-lint: {config: {ignore_checks: [...]}}}` and a one-line comment above
 * it in serverless.yml saying why. (Informational checks, off by default in cfn-lint, are not asserted: the
 * framework's own log groups and deployment bucket policy raise I3011 and I1022.)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensurePackaged, PACKAGE_VARIANTS, ROOT } from './support/package.js';
import type { Json } from './support/template.js';

interface Finding {
  readonly Rule: { readonly Id: string };
  readonly Message: string;
  readonly Level: string;
  readonly Location: { readonly Path: readonly (string | number)[] };
}

/**
 * Checks left out of the hygiene run. E2533 (a Lambda runtime past its AWS deprecation date) judges the template
 * against the day cfn-lint runs: nodejs22.x is deprecated on 2027-04-30 by its data, so the same template would pass
 * today and fail under the suite's year-ahead clock. When to move the runtime is in docs/deploy.md.
 */
const DATE_DEPENDENT_CHECKS = ['E2533'];

/** cfn-lint's findings on a template file (its default checks: errors and warnings). */
function cfnLint(file: string): Finding[] {
  const args = ['--format', 'json', '--ignore-checks', ...DATE_DEPENDENT_CHECKS, '--', file];
  const result = spawnSync('cfn-lint', args, { encoding: 'utf8', timeout: 120_000 });
  if (result.error)
    throw new Error(`cfn-lint not runnable (it is preinstalled on these machines): ${result.error.message}`);
  // Exit status is a bit mask: 2 errors, 4 warnings, 8 informational; anything else is cfn-lint failing.
  if (result.status === null || (result.status & ~(2 | 4 | 8)) !== 0)
    throw new Error(`cfn-lint failed (${result.status}): ${result.stderr}`);
  return JSON.parse(result.stdout || '[]') as Finding[];
}

const describeFinding = (f: Finding) => `${f.Rule.Id} ${f.Location.Path.join('/')}: ${f.Message}`;

describe('cfn-lint on the packaged template', () => {
  it.each(Object.entries(PACKAGE_VARIANTS))(
    '%s params: no finding',
    async (_, params) => {
      // Prepare
      const pkg = await ensurePackaged(params);

      // Act
      const findings = cfnLint(join(pkg.dir, 'cloudformation-template-update-stack.json'));

      // Assess
      expect(findings.map(describeFinding)).toEqual([]);
    },
    240_000,
  );

  it('would report what the template used to carry (W8003, W3005), and honours ignore_checks on a resource', async () => {
    // Prepare: the default template with a condition on two literals (as `HasAlarmEmail` was), and the DependsOn
    // on the role the framework adds when a function names its role by logical id
    const pkg = await ensurePackaged();
    const template = JSON.parse(pkg.templateText) as Json;
    template.Conditions = { HasAlarmEmail: { 'Fn::Not': [{ 'Fn::Equals': ['', ''] }] } };
    template.Resources.AlarmTopic.Condition = 'HasAlarmEmail';
    const collect = template.Resources.CollectLambdaFunction;
    collect.Properties.Role = { 'Fn::GetAtt': ['CollectRole', 'Arn'] };
    collect.DependsOn = ['CollectLogGroup', 'CollectRole'];
    const dir = mkdtempSync(join(tmpdir(), 'cfn-lint-'));
    try {
      const file = join(dir, 'template.json');
      writeFileSync(file, JSON.stringify(template));
      const flagged = cfnLint(file);
      collect.Metadata = { 'cfn-lint': { config: { ignore_checks: ['W3005'] } } };
      writeFileSync(file, JSON.stringify(template));

      // Act
      const ignored = cfnLint(file);

      // Assess
      expect(flagged.map((f) => f.Rule.Id)).toEqual(expect.arrayContaining(['W3005', 'W8003']));
      expect(ignored.map((f) => f.Rule.Id)).toContain('W8003');
      expect(ignored.map((f) => f.Rule.Id)).not.toContain('W3005');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 240_000);

  it('ignores a check only with a one-line reason above it in serverless.yml', () => {
    // Prepare
    const lines = readFileSync(join(ROOT, 'serverless.yml'), 'utf8').split('\n');

    // Act
    const unexplained = lines.flatMap((line, i) =>
      /\bignore_checks\b/.test(line) && !/^\s*#\s*\S/.test(lines[i - 1] ?? '') ? [`line ${i + 1}: ${line.trim()}`] : [],
    );

    // Assess
    expect(unexplained).toEqual([]);
  });
});
