/**
 * A remote-write receiver for tests, on 127.0.0.1:0: it records each request (headers, the decoded WriteRequest)
 * and answers from a queue of scripted responses (204 when the queue is empty). The decoder is written from the
 * spec's message definitions (snappyjs' uncompress, @bufbuild/protobuf's reader), independently of the encoder.
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import { uncompress } from 'snappyjs';

export interface ReceivedSeries {
  /** Label pairs in the order received. */
  readonly labels: Array<[string, string]>;
  readonly samples: Array<{ value: number; timestampMs: number }>;
}

export interface ReceivedRequest {
  readonly headers: IncomingHttpHeaders;
  readonly bytes: Buffer;
  /** Undefined when the body was not a snappy WriteRequest. */
  readonly series: ReceivedSeries[] | undefined;
}

/** How the receiver answers one request: a status and body, or a hang-up (network error), or no answer at all. */
export type Answer =
  | {
      readonly status: number;
      readonly body?: string;
      readonly headers?: Readonly<Record<string, string>>;
      /** The status line's reason phrase (default Node's). */
      readonly reason?: string;
    }
  | { readonly destroy: true }
  | { readonly hang: true };

export interface Receiver {
  readonly url: string;
  readonly requests: ReceivedRequest[];
  /** Answers for the next requests, in order. */
  readonly answers: Answer[];
  /** When set, decides each answer the queue does not (e.g. an auth check); default 204. */
  check?: (request: ReceivedRequest) => Answer | undefined | Promise<Answer | undefined>;
  close(): Promise<void>;
}

export function decodeWriteRequest(body: Uint8Array): ReceivedSeries[] {
  const out: ReceivedSeries[] = [];
  const request = new BinaryReader(uncompress(body));
  while (request.pos < request.len) {
    const [field, type] = request.tag();
    if (field !== 1) {
      request.skip(type);
      continue;
    }
    const ts = new BinaryReader(request.bytes());
    const series: ReceivedSeries = { labels: [], samples: [] };
    while (ts.pos < ts.len) {
      const [f, t] = ts.tag();
      if (f === 1 && t === WireType.LengthDelimited) {
        const label = new BinaryReader(ts.bytes());
        let name = '';
        let value = '';
        while (label.pos < label.len) {
          const [lf, lt] = label.tag();
          if (lf === 1) name = label.string();
          else if (lf === 2) value = label.string();
          else label.skip(lt);
        }
        series.labels.push([name, value]);
      } else if (f === 2 && t === WireType.LengthDelimited) {
        const sample = new BinaryReader(ts.bytes());
        let value = 0;
        let timestampMs = 0;
        while (sample.pos < sample.len) {
          const [sf, st] = sample.tag();
          if (sf === 1) value = sample.double();
          else if (sf === 2) timestampMs = Number(sample.int64());
          else sample.skip(st);
        }
        series.samples.push({ value, timestampMs });
      } else ts.skip(t);
    }
    out.push(series);
  }
  return out;
}

export async function startReceiver(): Promise<Receiver> {
  const hanging = new Set<ServerResponse>();
  const receiver: Receiver = {
    url: '',
    requests: [],
    answers: [],
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const bytes = Buffer.concat(chunks);
      let series: ReceivedSeries[] | undefined;
      try {
        series = decodeWriteRequest(bytes);
      } catch {
        series = undefined;
      }
      const request: ReceivedRequest = { headers: req.headers, bytes, series };
      receiver.requests.push(request);
      const answer = receiver.answers.shift() ?? (await receiver.check?.(request)) ?? { status: 204 };
      if ('destroy' in answer) {
        req.socket.destroy();
        return;
      }
      if ('hang' in answer) {
        hanging.add(res);
        return;
      }
      if (answer.reason !== undefined) res.writeHead(answer.status, answer.reason, answer.headers);
      else res.writeHead(answer.status, answer.headers);
      res.end(answer.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return Object.assign(receiver, { url: `http://127.0.0.1:${port}/api/v1/write` });
}
