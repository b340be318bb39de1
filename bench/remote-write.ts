/**
 * The cost of one remote-write push (lib/outputs/remote-write/): a collection of `workflows` workflows rendered,
 * read back series by series, encoded, compressed and sent to a receiver in a child process on 127.0.0.1 that
 * reads each body and answers 204. Beside the whole push, each step alone on the same collection (median of `runs`).
 * Run alone: `node scripts/build.mjs && node --expose-gc dist/bench.mjs --remote-write` (bench.ts).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { compress } from 'snappyjs';
import { Logger } from '../lib/log.js';
import { renderPrometheus } from '../lib/outputs/prometheus/render.js';
import { WriteRequestEncoder } from '../lib/outputs/remote-write/encode.js';
import { remoteWriteOutput } from '../lib/outputs/remote-write/output.js';
import { MAX_SERIES_PER_REQUEST } from '../lib/outputs/remote-write/sender.js';
import { exposedSeries, type Series } from '../lib/outputs/remote-write/series.js';
import { collectionOf, gc, median } from './micro.js';

export interface RemoteWriteCost {
  readonly series: number;
  readonly requests: number;
  /** WriteRequest bytes before and after snappy, all requests together. */
  readonly protobufBytes: number;
  readonly snappyBytes: number;
  /** The whole push (render → receiver's 204 for every request), median. */
  readonly pushMs: number;
  /** Its steps alone, medians: render, read back, protobuf, snappy. */
  readonly renderMs: number;
  readonly readMs: number;
  readonly encodeMs: number;
  readonly compressMs: number;
}

const RECEIVER = `
const http = require('node:http');
const server = http.createServer((req, res) => {
  let bytes = 0;
  req.on('data', (c) => (bytes += c.length));
  req.on('end', () => { res.writeHead(204); res.end(); });
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
process.on('message', () => process.exit(0));
`;

async function startSink(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['-e', RECEIVER], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  const port = await new Promise<string>((resolve) =>
    child.stdout?.once('data', (d: Buffer) => resolve(d.toString().trim())),
  );
  return { child, url: `http://127.0.0.1:${port}/api/v1/write` };
}

export async function remoteWriteCost(workflows: number, nowMs: number, runs: number): Promise<RemoteWriteCost> {
  const collection = collectionOf(workflows, nowMs);
  const sink = await startSink();
  const logger = new Logger({ level: 'error', write: () => undefined });
  const output = remoteWriteOutput({
    settings: {
      url: sink.url,
      auth: { kind: 'none' },
      job: 'bench',
      instance: 'bench',
      deadlineMs: 600_000,
      timeoutMs: 60_000,
    },
    logger,
    version: '0.1.0',
  });
  const extra = [
    ['job', 'bench'],
    ['instance', 'bench'],
  ] as const;
  const push: number[] = [];
  const render: number[] = [];
  const read: number[] = [];
  const encode: number[] = [];
  const squeeze: number[] = [];
  let series = 0;
  let requests = 0;
  let protobufBytes = 0;
  let snappyBytes = 0;
  try {
    for (let rep = 0; rep < runs; rep++) {
      gc();
      let t = performance.now();
      const report = await output.publish(collection);
      push.push(performance.now() - t);
      if (report.problem !== undefined) throw new Error(report.problem.message);
      const summary = report.summary.remoteWrite as { series: number; requests: number };
      series = summary.series;
      requests = summary.requests;

      gc();
      t = performance.now();
      const rendered = await renderPrometheus(collection, { version: '0.1.0' });
      render.push(performance.now() - t);
      t = performance.now();
      const all: Series[] = [...exposedSeries(rendered.bytes)];
      read.push(performance.now() - t);
      rendered.release();
      const bodies: Uint8Array[] = [];
      t = performance.now();
      const encoder = new WriteRequestEncoder(extra, nowMs);
      for (let i = 0; i < all.length; i += MAX_SERIES_PER_REQUEST)
        bodies.push(encoder.encode(all.slice(i, i + MAX_SERIES_PER_REQUEST)));
      encode.push(performance.now() - t);
      t = performance.now();
      const compressed = bodies.map((b) => compress(b));
      squeeze.push(performance.now() - t);
      protobufBytes = bodies.reduce((n, b) => n + b.length, 0);
      snappyBytes = compressed.reduce((n, b) => n + b.length, 0);
    }
  } finally {
    sink.child.send('stop');
  }
  return {
    series,
    requests,
    protobufBytes,
    snappyBytes,
    pushMs: median(push),
    renderMs: median(render),
    readMs: median(read),
    encodeMs: median(encode),
    compressMs: median(squeeze),
  };
}
