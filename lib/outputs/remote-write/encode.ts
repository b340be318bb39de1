/**
 * Prometheus remote write 1.0 (https://prometheus.io/docs/specs/remote_write_spec/): a `prometheus.WriteRequest`
 * protobuf, snappy block-compressed. Only the fields 1.0 requires are written:
 *
 *   WriteRequest { repeated TimeSeries timeseries = 1; }
 *   TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; }
 *   Label        { string name = 1; string value = 2; }
 *   Sample       { double value = 1; int64 timestamp = 2; }   // timestamp: milliseconds since the epoch
 *
 * Libraries (docs/remote-write.md#libraries): @bufbuild/protobuf's BinaryWriter (the wire format alone, no schema
 * or code generation, pure TypeScript ES modules) and snappyjs (pure JavaScript snappy block format).
 */
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { compress } from 'snappyjs';
import type { Series } from './series.js';

/** The spec's headers, the same on every request. */
export const REMOTE_WRITE_HEADERS: Readonly<Record<string, string>> = {
  'content-encoding': 'snappy',
  'content-type': 'application/x-protobuf',
  'x-prometheus-remote-write-version': '0.1.0',
};

/** Labels every pushed series carries beyond its own (`job`, `instance`: what a scrape would add). */
export type ExtraLabels = ReadonlyArray<readonly [string, string]>;

/**
 * One series' label set as remote write wants it: `__name__` among the rest, sorted by name (the spec: "label
 * names MUST be sorted in lexicographical order"), the extra labels added. A series' own label wins over an extra
 * one of the same name, as a scrape's honor_labels: false would rename it instead — the exposition has neither.
 */
export function sortedLabels(series: Series, extra: ExtraLabels): Array<readonly [string, string]> {
  const labels: Array<readonly [string, string]> = [['__name__', series.name], ...series.labels];
  for (const pair of extra) if (!labels.some(([name]) => name === pair[0])) labels.push(pair);
  return labels.sort(byName);
}

const byName = ([a]: readonly [string, string], [b]: readonly [string, string]) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Encodes WriteRequests for one push. Each Label message is encoded once and its bytes reused, keyed by the
 * interned label pair (series.ts) or the metric name, and each TimeSeries is written with its length computed up
 * front rather than by the writer's fork/join: at 10k workflows (~10^6 series) this took the encoding from 11.8 s to
 * a fraction of it (docs/performance.md, "Remote write").
 */
export class WriteRequestEncoder {
  readonly #labels = new Map<readonly [string, string], Uint8Array>();
  readonly #names = new Map<string, Uint8Array>();
  readonly #extra: ReadonlyArray<readonly [string, string]>;
  /** The Sample message, tag and length included, but for its value: all samples share the timestamp. */
  readonly #sampleSize: number;
  readonly #timestampMs: number;

  constructor(extra: ExtraLabels, timestampMs: number) {
    this.#extra = extra;
    this.#timestampMs = timestampMs;
    const sample = new BinaryWriter()
      .tag(1, WireType.Bit64)
      .double(0)
      .tag(2, WireType.Varint)
      .int64(timestampMs)
      .finish();
    this.#sampleSize = sample.length;
  }

  /** The protobuf WriteRequest of `series`, each with one sample at the timestamp (not compressed). */
  encode(series: readonly Series[]): Uint8Array {
    const w = new BinaryWriter();
    const parts: Uint8Array[] = [];
    for (const s of series) {
      parts.length = 0;
      let size = 0;
      let name: Uint8Array | undefined = this.#names.get(s.name);
      if (name === undefined) this.#names.set(s.name, (name = labelMessage('__name__', s.name)));
      const labels = [...s.labels];
      for (const pair of this.#extra) if (!s.labels.some(([n]) => n === pair[0])) labels.push(pair);
      labels.sort(byName);
      let nameAt = labels.findIndex(([n]) => n > '__name__');
      if (nameAt < 0) nameAt = labels.length;
      labels.forEach((pair, i) => {
        if (i === nameAt) parts.push(name as Uint8Array);
        let bytes = this.#labels.get(pair);
        if (bytes === undefined) this.#labels.set(pair, (bytes = labelMessage(pair[0], pair[1])));
        parts.push(bytes);
      });
      if (nameAt === labels.length) parts.push(name);
      for (const part of parts) size += part.length;
      // TimeSeries: its labels (field 1, each a Label message), then one Sample (field 2).
      w.tag(1, WireType.LengthDelimited).uint32(size + 1 + varintSize(this.#sampleSize) + this.#sampleSize);
      for (const part of parts) w.raw(part);
      w.tag(2, WireType.LengthDelimited)
        .uint32(this.#sampleSize)
        .tag(1, WireType.Bit64)
        .double(s.value)
        .tag(2, WireType.Varint)
        .int64(this.#timestampMs);
    }
    return w.finish();
  }
}

/** A TimeSeries' field 1 entry: tag, length, Label { name = 1; value = 2 }. */
function labelMessage(name: string, value: string): Uint8Array {
  return new BinaryWriter()
    .tag(1, WireType.LengthDelimited)
    .fork()
    .tag(1, WireType.LengthDelimited)
    .string(name)
    .tag(2, WireType.LengthDelimited)
    .string(value)
    .join()
    .finish();
}

function varintSize(n: number): number {
  let size = 1;
  for (let rest = n; rest >= 0x80; rest = Math.floor(rest / 0x80)) size++;
  return size;
}

/** The protobuf WriteRequest of `series`, each with one sample at `timestampMs` (not compressed). */
export function encodeWriteRequest(series: readonly Series[], extra: ExtraLabels, timestampMs: number): Uint8Array {
  return new WriteRequestEncoder(extra, timestampMs).encode(series);
}

/** What goes on the wire: the WriteRequest, snappy block-compressed. */
export function encodeRemoteWriteBody(series: readonly Series[], extra: ExtraLabels, timestampMs: number): Uint8Array {
  return compress(encodeWriteRequest(series, extra, timestampMs));
}
