/**
 * The Prometheus dashboard and the alert rules against real data: the exporter's embedded demo, scraped every
 * second by a real Prometheus that also loads alerts/unstructured-jobs.rules.yml. Every PromQL expression of
 * the dashboard (panel targets and variable queries, with Grafana's variables substituted) must run and
 * return data; every alert rule must evaluate without error and, with its comparisons turned into `bool`
 * ones, return data too (so every metric name and join in it is real).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from './support/ports.js';
import { startProcess, type Started } from './support/processes.js';
import { startPrometheus, type RunningPrometheus } from './support/prometheus.js';

const ROOT = new URL('..', import.meta.url).pathname;
const DASHBOARD_PATH = join(ROOT, 'dashboards/unstructured-jobs-prometheus.json');
const RULES_PATH = join(ROOT, 'alerts/unstructured-jobs.rules.yml');

/** Grafana's built-in variables, as they would be for a short time range on a 1 s scrape interval. */
const BUILTINS: Readonly<Record<string, string>> = { __rate_interval: '1m', __interval: '15s', __range: '5m' };
/** The range queries cover the last seconds, every second. */
const RANGE_SECONDS = 5;

interface Target {
  readonly refId: string;
  readonly expr: string;
  readonly range?: boolean;
  readonly datasource?: { type?: string; uid?: string };
}
interface Panel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly gridPos: { x: number; y: number; w: number; h: number };
  readonly datasource?: { type?: string; uid?: string };
  readonly targets?: Target[];
  readonly panels?: Panel[];
}
interface Variable {
  readonly name: string;
  readonly type: string;
  readonly query?: string | { query?: string };
  readonly definition?: string;
  readonly multi?: boolean;
  readonly includeAll?: boolean;
  readonly current?: { value?: string | string[] };
  readonly datasource?: { type?: string; uid?: string };
}
interface Dashboard {
  readonly __inputs: Array<{ name: string; type: string; pluginId: string }>;
  readonly schemaVersion: number;
  readonly uid: string;
  readonly panels: Panel[];
  readonly templating: { list: Variable[] };
}

const dashboard = JSON.parse(readFileSync(DASHBOARD_PATH, 'utf8')) as Dashboard;
const variables = dashboard.templating.list;

function allPanels(panels: readonly Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

/** Every panel target, named for failure messages. */
const TARGETS = allPanels(dashboard.panels).flatMap((p) =>
  (p.targets ?? []).map((t) => ({ name: `${p.title} [${t.refId}]`, target: t })),
);

/** A variable's value when the dashboard opens: All for query variables (→ `.*`), else its default. */
function variableValue(name: string): string | undefined {
  if (name in BUILTINS) return BUILTINS[name];
  const v = variables.find((x) => x.name === name);
  if (v === undefined) return undefined;
  if (v.type === 'query' && v.includeAll) return '.*';
  const current = v.current?.value;
  return Array.isArray(current) ? current.join('|') : current;
}

/** Grafana's interpolation: `$name`, `${name}`, `${name:format}`; `$1` (a regex backreference) is left alone. */
function interpolate(expr: string): string {
  return expr.replace(
    /\$\{(\w+)(?::\w+)?\}|\$(\w+)/g,
    (whole, braced: string | undefined, bare: string | undefined) => {
      const name = (braced ?? bare) as string;
      if (/^\d+$/.test(name)) return whole;
      const value = variableValue(name);
      if (value === undefined) throw new Error(`unknown variable $${name} in ${expr}`);
      return value;
    },
  );
}

/** Multi-value variables expand to `a|b|c`: they must only appear inside a regex matcher. */
function misusedMultiValueVariables(expr: string): string[] {
  const multi = variables.filter((v) => v.multi || v.includeAll).map((v) => v.name);
  const out: string[] = [];
  for (const m of expr.matchAll(/\$\{?(\w+)/g)) {
    if (!multi.includes(m[1] as string)) continue;
    const before = expr.slice(0, m.index);
    if (!/[=!]~\s*"[^"]*$/.test(before)) out.push(`$${m[1]} outside a =~ matcher`);
  }
  return out;
}

/**
 * The expression with every comparison operator turned into its `bool` form (`a > 5` → `a > bool 5`), so that
 * filtering comparisons keep every series (as 0 or 1). Label matchers, strings and comments are left alone.
 */
function withBoolComparisons(expr: string): string {
  let out = '';
  let i = 0;
  let braces = 0;
  while (i < expr.length) {
    const c = expr[i] as string;
    if (c === '"' || c === "'" || c === '`') {
      const end = expr.indexOf(c, i + 1);
      out += expr.slice(i, end + 1);
      i = end + 1;
      continue;
    }
    if (c === '#') {
      const end = expr.indexOf('\n', i);
      i = end < 0 ? expr.length : end;
      continue;
    }
    if (c === '{') braces++;
    if (c === '}') braces--;
    const op = braces === 0 ? /^(==|!=|>=|<=|>|<)/.exec(expr.slice(i))?.[0] : undefined;
    if (op !== undefined) {
      out += op;
      i += op.length;
      if (!/^\s*bool\b/.test(expr.slice(i))) out += ' bool';
      continue;
    }
    out += c;
    i++;
  }
  return out;
}

/** Alert rules as written in the rules file (a tiny YAML reader for its one shape: `- alert:` + `expr: |`). */
function alertRules(): Array<{ alert: string; expr: string }> {
  const lines = readFileSync(RULES_PATH, 'utf8').split('\n');
  const rules: Array<{ alert: string; expr: string }> = [];
  for (let i = 0; i < lines.length; i++) {
    const alert = /^\s*- alert: (\S+)/.exec(lines[i] as string)?.[1];
    if (alert === undefined) continue;
    const exprLine = lines.findIndex((l, j) => j > i && /^\s*expr:/.test(l));
    const inline = /^\s*expr:\s*(.+)$/.exec(lines[exprLine] as string)?.[1] as string;
    if (inline.trim() !== '|') {
      rules.push({ alert, expr: inline.trim() });
      continue;
    }
    const indent = /^(\s*)/.exec(lines[exprLine + 1] as string)?.[1]?.length ?? 0;
    const body: string[] = [];
    for (
      let j = exprLine + 1;
      j < lines.length &&
      ((lines[j] as string).trim() === '' || (/^(\s*)/.exec(lines[j] as string)?.[1]?.length ?? 0) >= indent);
      j++
    ) {
      body.push((lines[j] as string).slice(indent));
    }
    rules.push({ alert, expr: body.join('\n').trim() });
  }
  return rules;
}

describe('the Prometheus dashboard is importable', () => {
  it('asks for a Prometheus data source at import and uses it through the datasource variable everywhere', () => {
    // Assess
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dashboard.__inputs).toEqual([
      expect.objectContaining({ name: 'DS_PROMETHEUS', type: 'datasource', pluginId: 'prometheus' }),
    ]);
    const ds = variables.find((v) => v.name === 'datasource');
    expect(ds).toMatchObject({ type: 'datasource', query: 'prometheus', current: { value: '${DS_PROMETHEUS}' } });
    for (const panel of allPanels(dashboard.panels).filter((p) => p.type !== 'row')) {
      expect(panel.datasource, panel.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
      for (const t of panel.targets ?? [])
        expect(t.datasource, panel.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
    }
    for (const v of variables.filter((x) => x.type === 'query'))
      expect(v.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
  });

  it('has unique panel ids, panels inside the 24-column grid, and the workflow variable', () => {
    // Prepare
    const panels = allPanels(dashboard.panels);

    // Assess
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    for (const p of panels) expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
    expect(variables.find((v) => v.name === 'workflow')).toMatchObject({
      multi: true,
      includeAll: true,
      definition: expect.stringContaining('workflow_name'),
    });
    expect(TARGETS.length).toBeGreaterThanOrEqual(20);
  });

  it('uses multi-value variables only in regex matchers', () => {
    // Act
    const misused = TARGETS.flatMap(({ name, target }) =>
      misusedMultiValueVariables(target.expr).map((m) => `${name}: ${m}`),
    );

    // Assess
    expect(misused).toEqual([]);
  });
});

describe('the dashboard and the alert rules against a real Prometheus scraping the demo', () => {
  let exporter: Started;
  let prometheus: RunningPrometheus;

  beforeAll(async () => {
    // CACHE_TTL 5 s: most 1 s scrapes are served from the cache, so a loaded machine does not time scrapes out.
    // The exporter keeps Prometheus' clock, as in production (no clockEnv: Prometheus, a Go binary, stays on the
    // real clock under libfaketime); the range queries below take their "now" from Prometheus.
    exporter = await startProcess(
      process.execPath,
      [join(ROOT, 'bin/unstructured-jobs-exporter.mjs'), 'serve', '--port', '0', '--host', '127.0.0.1'],
      {
        env: { PATH: process.env.PATH ?? '', CACHE_TTL: '5s' },
        ready: /listening on http:\/\/(127\.0\.0\.1:\d+)\/metrics/,
      },
    );
    prometheus = await startPrometheus(
      [{ job: 'unstructured', address: exporter.match[1] as string }],
      `rule_files: [${JSON.stringify(RULES_PATH)}]`,
    );
    // rate() and increase() need two samples inside their window, also at the start of the range queries below.
    await prometheus.waitFor(`rate(unstructured_job_runtime_seconds_count[1m] offset ${RANGE_SECONDS}s)`, 30_000);
  }, 60_000);

  afterAll(async () => {
    await prometheus?.stop();
    await exporter?.stop();
  });

  it('returns data for every panel query', async () => {
    // Act
    const results = await Promise.all(
      TARGETS.map(async ({ name, target }) => {
        const expr = interpolate(target.expr);
        try {
          const series = await prometheus.query(expr);
          return series.length > 0 ? undefined : `${name}: no data for ${expr}`;
        } catch (error) {
          return `${name}: ${(error as Error).message}`;
        }
      }),
    );

    // Assess
    expect(results.filter(Boolean)).toEqual([]);
  });

  it('runs every range panel query as a range query', async () => {
    // Prepare: the range ends at Prometheus' "now", which is not this process's clock under libfaketime
    const end = Math.floor(await prometheus.now());

    // Act
    const results = await Promise.all(
      TARGETS.filter(({ target }) => target.range).map(async ({ name, target }) => {
        const expr = interpolate(target.expr);
        const res = await fetch(
          `${prometheus.url}/api/v1/query_range?${new URLSearchParams({ query: expr, start: String(end - RANGE_SECONDS), end: String(end), step: '1' })}`,
        );
        const body = (await res.json()) as { status: string; error?: string; data?: { result: unknown[] } };
        if (body.status !== 'success') return `${name}: ${body.error}`;
        return (body.data?.result.length ?? 0) > 0 ? undefined : `${name}: no data for ${expr}`;
      }),
    );

    // Assess
    expect(results.filter(Boolean)).toEqual([]);
  });

  it('fills every query variable (label_values through the series API)', async () => {
    // Prepare
    const queryVariables = variables.filter((v) => v.type === 'query');

    // Act
    const values = await Promise.all(
      queryVariables.map(async (v) => {
        const query = typeof v.query === 'string' ? v.query : (v.query?.query ?? '');
        const m = /^label_values\((.+),\s*(\w+)\)$/.exec(query.trim());
        if (m === null) return { name: v.name, values: [`not a label_values() query: ${query}`] };
        const match = interpolate(m[1] as string);
        const res = await fetch(
          `${prometheus.url}/api/v1/label/${m[2]}/values?${new URLSearchParams({ 'match[]': match })}`,
        );
        const body = (await res.json()) as { status: string; data: string[] };
        return { name: v.name, values: body.status === 'success' ? body.data : [] };
      }),
    );

    // Assess
    expect(values.map((v) => v.name).sort()).toEqual(['job', 'workflow']);
    expect(values.find((v) => v.name === 'job')?.values).toEqual(['unstructured']);
    expect(values.find((v) => v.name === 'workflow')?.values).toContain('Invoices → S3');
  });

  it('loads every alert rule, and each evaluates without error', async () => {
    // Act
    const rules = await pollUntil(
      'every rule evaluated',
      async () => {
        const res = await fetch(`${prometheus.url}/api/v1/rules?type=alert`);
        const body = (await res.json()) as {
          data: { groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string }> }> };
        };
        const all = body.data.groups.flatMap((g) => g.rules);
        return all.length > 0 && all.every((r) => r.health !== 'unknown') ? all : undefined;
      },
      20_000,
    );

    // Assess
    expect(rules.map((r) => r.name).sort()).toEqual(
      alertRules()
        .map((r) => r.alert)
        .sort(),
    );
    expect(rules.filter((r) => r.health !== 'ok' || r.lastError)).toEqual([]);
  });

  it.each(alertRules().map((r) => [r.alert, r.expr] as const))(
    '%s: runs, and with bool comparisons returns data',
    async (_alert, expr) => {
      // Act
      await prometheus.query(expr); // throws on a query error; firing or not depends on the demo
      const unfiltered = await prometheus.query(withBoolComparisons(expr));

      // Assess
      expect(unfiltered.length, withBoolComparisons(expr)).toBeGreaterThan(0);
    },
  );
});

describe('withBoolComparisons', () => {
  it('turns comparisons into bool ones and leaves matchers, strings and comments alone', () => {
    // Act
    const out = withBoolComparisons('a{x!="1",y=~"<>"} > 5 # threshold > 3\nand b >= bool 2 or c == d');

    // Assess
    expect(out).toBe('a{x!="1",y=~"<>"} > bool 5 \nand b >= bool 2 or c == bool d');
  });
});
