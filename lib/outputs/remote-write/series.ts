/**
 * The series of one collection, read back from the exposition /metrics serves (prometheus/render.ts, text format
 * 0.0.4), so that remote write sends exactly what a scrape reads: the same names, labels and values, histogram and
 * summary lines included, with no second description of the metrics that could drift from the first (and new
 * metric families flow through without a change here). Why parse rather than share the renderer's walk:
 * docs/remote-write.md#where-the-series-come-from.
 *
 * The grammar read is the subset render.ts writes: `# HELP`/`# TYPE` comments, blank lines, and sample lines
 * `name{label="value",…} value` with `\\`, `\n` and `\"` escapes in label values, values as prom-client formats
 * them (JavaScript numbers, `Nan`, `+Inf`, `-Inf`), no timestamps. Anything else is a RemoteWriteSeriesError: a
 * renderer change this reader does not know must fail loudly, never push something else.
 */

export interface Series {
  /** The metric name (`__name__`). */
  readonly name: string;
  /** Label pairs in exposition order (not sorted, without `__name__`). */
  readonly labels: ReadonlyArray<readonly [string, string]>;
  readonly value: number;
}

export class RemoteWriteSeriesError extends Error {
  override readonly name = 'RemoteWriteSeriesError';
  constructor(
    readonly line: number,
    reason: string,
  ) {
    super(`exposition line ${line}: ${reason}`);
  }
}

const NEWLINE = 0x0a;
const HASH = 0x23;

/**
 * The samples of a text exposition, in order, one line at a time (the exposition itself is not copied). Label pairs
 * are interned for the walk: a workflow's labels stand on ~90 lines, and the encoder caches each pair's bytes by the
 * pair itself (encode.ts), so a pair is unescaped and encoded once per push.
 */
export function* exposedSeries(exposition: Uint8Array): Generator<Series> {
  const bytes = Buffer.from(exposition.buffer, exposition.byteOffset, exposition.byteLength);
  const pairs = new Map<string, readonly [string, string]>();
  let lineNo = 0;
  for (let start = 0; start < bytes.length; ) {
    let end = bytes.indexOf(NEWLINE, start);
    if (end < 0) end = bytes.length;
    lineNo++;
    if (end > start && bytes[start] !== HASH) yield parseSample(bytes.toString('utf8', start, end), lineNo, pairs);
    start = end + 1;
  }
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function parseSample(line: string, lineNo: number, pairs: Map<string, readonly [string, string]>): Series {
  let i = 0;
  while (i < line.length && line[i] !== '{' && line[i] !== ' ') i++;
  const name = line.slice(0, i);
  if (!NAME.test(name)) throw new RemoteWriteSeriesError(lineNo, 'no metric name');
  const labels: Array<readonly [string, string]> = [];
  if (line[i] === '{') {
    i++;
    while (line[i] !== '}') {
      // One `key="value"`: its end is the first quote after `="` that no backslash escapes.
      const eq = line.indexOf('="', i);
      if (eq < 0) throw new RemoteWriteSeriesError(lineNo, 'malformed label');
      let close = line.indexOf('"', eq + 2);
      while (close > 0 && escaped(line, close)) close = line.indexOf('"', close + 1);
      if (close < 0) throw new RemoteWriteSeriesError(lineNo, 'unterminated label value');
      const raw = line.slice(i, close);
      let pair = pairs.get(raw);
      if (pair === undefined) {
        const key = line.slice(i, eq);
        if (!LABEL_NAME.test(key)) throw new RemoteWriteSeriesError(lineNo, 'malformed label');
        pair = [key, unescapeLabel(line.slice(eq + 2, close), lineNo)];
        pairs.set(raw, pair);
      }
      labels.push(pair);
      i = close + 1;
      if (line[i] === ',') i++;
      else if (line[i] !== '}') throw new RemoteWriteSeriesError(lineNo, 'expected , or } after a label');
    }
    i++; // the closing brace
  }
  if (line[i] !== ' ') throw new RemoteWriteSeriesError(lineNo, 'expected a space before the value');
  return { name, labels, value: parseValue(line.slice(i + 1), lineNo) };
}

/** Whether the quote at `at` is escaped: an odd number of backslashes before it. */
function escaped(line: string, at: number): boolean {
  let n = 0;
  for (let k = at - 1; k >= 0 && line[k] === '\\'; k--) n++;
  return n % 2 === 1;
}

/** A label value's text: `\\`, `\n` and `\"` as render.ts escapes them. */
function unescapeLabel(text: string, lineNo: number): string {
  if (!text.includes('\\')) return text;
  return text.replace(/\\(.?)/gs, (_, next: string) => {
    if (next === 'n') return '\n';
    if (next === '\\' || next === '"') return next;
    throw new RemoteWriteSeriesError(lineNo, 'unknown escape');
  });
}

/** prom-client's getValueAsString, read back. */
function parseValue(text: string, lineNo: number): number {
  if (text === 'Nan' || text === 'NaN') return Number.NaN;
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  const value = Number(text);
  if (text === '' || Number.isNaN(value)) throw new RemoteWriteSeriesError(lineNo, 'not a number');
  return value;
}

/** `name{a="b",…}` (label values JSON-quoted): how a series is named in a report of what was not delivered. */
export function seriesText(series: Series): string {
  if (series.labels.length === 0) return series.name;
  return `${series.name}{${series.labels.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}}`;
}
