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

/** The samples of a text exposition, in order, one line at a time (the exposition itself is not copied). */
export function* exposedSeries(exposition: Uint8Array): Generator<Series> {
  const bytes = Buffer.from(exposition.buffer, exposition.byteOffset, exposition.byteLength);
  let lineNo = 0;
  for (let start = 0; start < bytes.length; ) {
    let end = bytes.indexOf(NEWLINE, start);
    if (end < 0) end = bytes.length;
    lineNo++;
    if (end > start && bytes[start] !== HASH) yield parseSample(bytes.toString('utf8', start, end), lineNo);
    start = end + 1;
  }
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;

function parseSample(line: string, lineNo: number): Series {
  const name = NAME.exec(line)?.[0];
  if (name === undefined) throw new RemoteWriteSeriesError(lineNo, 'no metric name');
  let i = name.length;
  const labels: Array<readonly [string, string]> = [];
  if (line[i] === '{') {
    i++;
    while (line[i] !== '}') {
      const key = LABEL_NAME.exec(line.slice(i, i + 256))?.[0];
      if (key === undefined || line[i + key.length] !== '=' || line[i + key.length + 1] !== '"')
        throw new RemoteWriteSeriesError(lineNo, 'malformed label');
      i += key.length + 2;
      let value = '';
      let from = i;
      for (;;) {
        const c = line[i];
        if (c === undefined) throw new RemoteWriteSeriesError(lineNo, 'unterminated label value');
        if (c === '"') break;
        if (c === '\\') {
          const next = line[i + 1];
          if (next !== '\\' && next !== 'n' && next !== '"') throw new RemoteWriteSeriesError(lineNo, 'unknown escape');
          value += `${line.slice(from, i)}${next === 'n' ? '\n' : next}`;
          i += 2;
          from = i;
        } else i++;
      }
      value += line.slice(from, i);
      labels.push([key, value]);
      i++; // the closing quote
      if (line[i] === ',') i++;
      else if (line[i] !== '}') throw new RemoteWriteSeriesError(lineNo, 'expected , or } after a label');
    }
    i++; // the closing brace
  }
  if (line[i] !== ' ') throw new RemoteWriteSeriesError(lineNo, 'expected a space before the value');
  return { name, labels, value: parseValue(line.slice(i + 1), lineNo) };
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
