/**
 * Reading a packaged CloudFormation template (test/support/package.ts) as CloudFormation would: resources by
 * type, `Fn::Sub` evaluated with fake account values, the dashboard body parsed, and every metric an alarm or a
 * dashboard widget reads.
 */

// biome-ignore lint/suspicious/noExplicitAny: parsed CloudFormation/serverless JSON, read by path
export type Json = any;

export const FAKE_ACCOUNT = { region: 'us-east-1', accountId: '123456789012', partition: 'aws' } as const;

export function asArray<T>(value: T | T[] | undefined): T[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

export function ofType(template: Json, type: string): [string, Json][] {
  return Object.entries(template.Resources as Record<string, Json>).filter(([, r]) => r.Type === type);
}

/**
 * `Fn::Sub` as CloudFormation would evaluate it, with fake account values: a resource's name is
 * `<LogicalId>-physical-id`, an `.Arn` attribute an alarm ARN; variable values may themselves be `Fn::Sub`.
 */
export function evaluateSub(template: Json, sub: Json): string {
  const [text, vars] = typeof sub === 'string' ? [sub, {}] : (sub as [string, Record<string, Json>]);
  return text.replace(/\$\{([^}!]+)\}/g, (_, name: string) => {
    if (name in vars) {
      const value = vars[name];
      if (typeof value === 'string' || typeof value === 'number') return String(value);
      if (value !== null && typeof value === 'object' && 'Fn::Sub' in value)
        return evaluateSub(template, value['Fn::Sub']);
      throw new Error(`Fn::Sub variable \${${name}} is ${JSON.stringify(value)}: not evaluated here`);
    }
    if (name === 'AWS::Region') return FAKE_ACCOUNT.region;
    if (name === 'AWS::AccountId') return FAKE_ACCOUNT.accountId;
    if (name === 'AWS::Partition') return FAKE_ACCOUNT.partition;
    const id = name.split('.')[0] as string;
    if (!(id in template.Resources)) throw new Error(`Fn::Sub variable \${${name}} resolves to nothing`);
    if (name.endsWith('.Arn')) return `arn:aws:cloudwatch:${FAKE_ACCOUNT.region}:${FAKE_ACCOUNT.accountId}:alarm:${id}`;
    return `${name}-physical-id`;
  });
}

export function dashboardBody(template: Json): Json {
  const dashboards = ofType(template, 'AWS::CloudWatch::Dashboard');
  if (dashboards.length !== 1) throw new Error(`expected one dashboard, found ${dashboards.length}`);
  const [, dashboard] = dashboards[0] as [string, Json];
  return JSON.parse(evaluateSub(template, dashboard.Properties.DashboardBody['Fn::Sub']));
}

/** A metric an alarm or a dashboard widget reads. */
export interface MetricRef {
  readonly where: string;
  readonly namespace: string;
  readonly metricName: string;
  /** Dimension names, sorted (the exact set). */
  readonly dimensionNames: string[];
  /** Values required of some of those dimensions. */
  readonly dimensionValues: Record<string, string>;
}

export function parseSearch(where: string, expression: string): MetricRef {
  const m = /^SEARCH\('\{([^}]*)\}\s+(.*)',\s*'(\w+)',\s*(\d+)\)$/.exec(expression);
  if (m === null) throw new Error(`${where}: not a SEARCH expression this test understands: ${expression}`);
  const [namespace, ...dims] = (m[1] as string).split(',').map((part) => part.trim().replace(/^"(.*)"$/, '$1'));
  const terms = Object.fromEntries(
    [...(m[2] as string).matchAll(/(\w+)="([^"]*)"/g)].map((t) => [t[1] as string, t[2] as string]),
  );
  const { MetricName: metricName, ...dimensionValues } = terms;
  if (metricName === undefined)
    throw new Error(`${where}: SEARCH without MetricName="…" matches every metric of the schema`);
  for (const dim of Object.keys(dimensionValues))
    if (!dims.includes(dim)) throw new Error(`${where}: ${dim} is not in the schema`);
  return { where, namespace: namespace as string, metricName, dimensionNames: [...dims].sort(), dimensionValues };
}

/** A plain metric row of a widget: ["Namespace", "Metric", "Dim", "value", …, {options}]. */
export interface MetricRow extends MetricRef {
  readonly stat: string | undefined;
  readonly period: number | undefined;
}

export function metricRows(widget: Json): MetricRow[] {
  const title = String(widget.properties.title);
  const rows: MetricRow[] = [];
  for (const row of widget.properties.metrics as Json[][]) {
    if (typeof row[0] !== 'string') continue;
    const names = row.filter((x): x is string => typeof x === 'string');
    if (names.includes('...')) throw new Error(`${title}: use full rows, not the "..." shorthand`);
    const options = (row.find((x) => typeof x === 'object' && x !== null) ?? {}) as Json;
    const [namespace, metricName, ...pairs] = names;
    const dimensionValues: Record<string, string> = {};
    for (let i = 0; i < pairs.length; i += 2) dimensionValues[pairs[i] as string] = pairs[i + 1] as string;
    rows.push({
      where: title,
      namespace: namespace as string,
      metricName: metricName as string,
      dimensionNames: Object.keys(dimensionValues).sort(),
      dimensionValues,
      stat: options.stat ?? widget.properties.stat,
      period: options.period ?? widget.properties.period,
    });
  }
  return rows;
}

export function dashboardRefs(body: Json): MetricRef[] {
  const refs: MetricRef[] = [];
  for (const widget of body.widgets as Json[]) {
    if (widget.type !== 'metric') continue;
    const title = String(widget.properties.title);
    for (const row of widget.properties.metrics as Json[][]) {
      const first = row[0];
      if (
        typeof first === 'object' &&
        first !== null &&
        typeof first.expression === 'string' &&
        first.expression.startsWith('SEARCH(')
      ) {
        refs.push(parseSearch(title, first.expression));
      }
    }
    refs.push(...metricRows(widget));
  }
  return refs;
}

export function alarmRefs(template: Json): MetricRef[] {
  const refs: MetricRef[] = [];
  const push = (where: string, metric: Json) => {
    const dims = asArray(metric.Dimensions) as { Name: string; Value: string }[];
    refs.push({
      where,
      namespace: metric.Namespace,
      metricName: metric.MetricName,
      dimensionNames: dims.map((d) => d.Name).sort(),
      dimensionValues: Object.fromEntries(
        dims.map((d) => [d.Name, typeof d.Value === 'string' ? d.Value : JSON.stringify(d.Value)]),
      ),
    });
  };
  for (const [id, alarm] of ofType(template, 'AWS::CloudWatch::Alarm')) {
    const p = alarm.Properties;
    if (p.MetricName !== undefined) push(id, p);
    for (const m of asArray(p.Metrics) as Json[])
      if (m.MetricStat !== undefined) push(`${id}.${m.Id}`, m.MetricStat.Metric);
  }
  return refs;
}
