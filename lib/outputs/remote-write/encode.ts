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
 * One series' label set as remote write wants it: `__name__` first among the rest, sorted by name (the spec: "label
 * names MUST be sorted in lexicographical order"), the extra labels added. A series' own label wins over an extra
 * one of the same name, as a scrape's honor_labels: false would rename it instead — the exposition has neither.
 */
export function sortedLabels(series: Series, extra: ExtraLabels): Array<readonly [string, string]> {
  const labels: Array<readonly [string, string]> = [['__name__', series.name], ...series.labels];
  for (const pair of extra) if (!labels.some(([name]) => name === pair[0])) labels.push(pair);
  return labels.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The protobuf WriteRequest of `series`, each with one sample at `timestampMs` (not compressed). */
export function encodeWriteRequest(series: readonly Series[], extra: ExtraLabels, timestampMs: number): Uint8Array {
  const w = new BinaryWriter();
  for (const s of series) {
    w.tag(1, WireType.LengthDelimited).fork();
    for (const [name, value] of sortedLabels(s, extra))
      w.tag(1, WireType.LengthDelimited)
        .fork()
        .tag(1, WireType.LengthDelimited)
        .string(name)
        .tag(2, WireType.LengthDelimited)
        .string(value)
        .join();
    w.tag(2, WireType.LengthDelimited)
      .fork()
      .tag(1, WireType.Bit64)
      .double(s.value)
      .tag(2, WireType.Varint)
      .int64(timestampMs)
      .join();
    w.join();
  }
  return w.finish();
}

/** What goes on the wire: the WriteRequest, snappy block-compressed. */
export function encodeRemoteWriteBody(series: readonly Series[], extra: ExtraLabels, timestampMs: number): Uint8Array {
  return compress(encodeWriteRequest(series, extra, timestampMs));
}
