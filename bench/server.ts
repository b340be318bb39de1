/**
 * The benchmark's Unstructured API: a child process (so the data it holds never counts in the measured
 * process's memory) that generates the job list once and serves it on 127.0.0.1:0.
 *
 *   GET /j/<count>/<identity|gzip>/api/v1/jobs/   the first <count> jobs as one JSON array (gzip: 1M only,
 *                                                 compressed once at start, like a proxy would)
 *   GET /slice/<from>/<to>                        jobs [from, to) as an array (the baseline's JSON.parse input)
 *   GET /endless/api/v1/jobs/                     an array that never ends of the records that cost the most
 *                                                 memory per byte (the memory bound's worst case)
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { arrayBody, generate, type Dataset } from './generate.js';

export const BENCH_NOW_MS = Date.parse('2026-11-29T12:00:00Z');
export const BENCH_API_KEY = 'bench-key-0123456789';

export interface ServerReady {
  readonly port: number;
  readonly jobs: number;
  readonly bytes: number;
  readonly gzipBytes: number;
  readonly generateMs: number;
  readonly gzipMs: number;
}

function sliceBody(dataset: Dataset, from: number, to: number): Buffer[] {
  if (to <= from) return [Buffer.from('[]')];
  const start = dataset.offsets[from] as number;
  const end = (dataset.offsets[to] as number) - 1;
  return [Buffer.from('['), dataset.elements.subarray(start, end), Buffer.from(']')];
}

/**
 * The record that costs a pull the most memory per byte: a new job id and a new workflow each (14 bytes each
 * in the id sets: short ids cost as much as UUIDs), finished inside the window (8 bytes of runtime), and as
 * short as a valid record with a runtime nearly can be (117 bytes with its comma). The 8 hex digits of both ids are
 * the record's number; the body never ends.
 */
const ENDLESS_RECORD = Buffer.from(
  `{"id":"########","workflow_id":"########","status":"COMPLETED","created_at":"${new Date(BENCH_NOW_MS - 3_600_000).toISOString().replace('.000Z', 'Z')}","runtime":"PT1S"},`,
);
const ENDLESS_DIGITS = [...ENDLESS_RECORD.toString('latin1').matchAll(/#{8}/g)].map((m) => m.index);
const HEX = Buffer.from('0123456789abcdef');

function serveEndless(res: import('node:http').ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.write('[');
  let n = 0;
  let gone = false;
  res.on('close', () => (gone = true));
  const perChunk = Math.floor((256 * 1024) / ENDLESS_RECORD.length);
  const pump = () => {
    while (!gone) {
      const chunk = Buffer.allocUnsafe(perChunk * ENDLESS_RECORD.length);
      for (let k = 0; k < perChunk; k++, n++) {
        const at = k * ENDLESS_RECORD.length;
        ENDLESS_RECORD.copy(chunk, at);
        for (const digits of ENDLESS_DIGITS) {
          let v = n;
          for (let d = 7; d >= 0; d--) {
            chunk[at + digits + d] = HEX[v & 15] as number;
            v = Math.floor(v / 16);
          }
        }
      }
      if (!res.write(chunk)) return void res.once('drain', pump);
    }
  };
  pump();
}

export async function serve(jobs: number, workflows: number): Promise<void> {
  const t0 = performance.now();
  const dataset = generate({ jobs, workflows, nowMs: BENCH_NOW_MS });
  const t1 = performance.now();
  const gzipped = await promisify(zlib.gzip)(Buffer.concat(arrayBody(dataset, jobs)), { level: 6 });
  const t2 = performance.now();

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const parts = url.pathname.split('/').filter((p) => p !== '');
    // The exporter also reads the workflow list beside the job list (issue 17): a small one, as real accounts have,
    // so that the figures stay those of the job list's pull.
    if (url.pathname.endsWith('/api/v1/workflows/')) {
      res.writeHead(200, { 'content-type': 'application/json' }).end('[]');
      return;
    }
    if (parts[0] === 'endless' && req.headers['unstructured-api-key'] === BENCH_API_KEY) return serveEndless(res);
    let body: Buffer[] | undefined;
    let encoding: string | undefined;
    if (parts[0] === 'j' && parts.length >= 3 && req.headers['unstructured-api-key'] === BENCH_API_KEY) {
      const count = Math.min(Number(parts[1]), jobs);
      if (parts[2] === 'gzip' && count === jobs) {
        body = [gzipped];
        encoding = 'gzip';
      } else if (parts[2] === 'identity') body = arrayBody(dataset, count);
    } else if (parts[0] === 'slice' && parts.length === 3) {
      body = sliceBody(dataset, Math.max(0, Number(parts[1])), Math.min(jobs, Number(parts[2])));
    }
    if (body === undefined) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"detail":"Not Found"}');
      return;
    }
    const length = body.reduce((n, b) => n + b.length, 0);
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': length,
      ...(encoding && { 'content-encoding': encoding }),
    });
    for (const part of body) res.write(part);
    res.end();
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const ready: ServerReady = {
    port: (server.address() as AddressInfo).port,
    jobs,
    bytes: dataset.elements.length + 2,
    gzipBytes: gzipped.length,
    generateMs: t1 - t0,
    gzipMs: t2 - t1,
  };
  process.send?.({ ready });
  // The parent going away (or telling us to) ends the server.
  process.on('disconnect', () => process.exit(0));
  process.on('message', (m) => {
    if (m === 'stop') process.exit(0);
  });
}
