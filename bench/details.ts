/**
 * The extra cost of job details (issue 16) for 10k jobs finished inside the window: one details request a job
 * (plus one failed-files request for the 10% with failures), against a loopback server answering at once —
 * so the figures are the exporter's own cost, not the API's latency (the README's cost section multiplies
 * the requests by a real round trip).
 *
 *   first collection   every job's details fetched (budget lifted), DETAILS_CONCURRENCY 4
 *   later collections  every job remembered: no request, only the sums (the steady state of a scrape)
 *   memory             heap held by the remembered details, per job
 *   default budget     collections DETAILS_MAX_REQUESTS=200 takes to catch up with 10k finished jobs
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Aggregator } from '../lib/aggregate/aggregator.js';
import { KnownDetails } from '../lib/details/known-details.js';
import { DetailsCandidates, runDetailsStage } from '../lib/details/stage.js';
import { Logger } from '../lib/log.js';
import { gc, median } from './micro.js';

export interface DetailsFigures {
  readonly jobs: number;
  readonly requests: number;
  readonly firstMs: number;
  readonly laterMs: number;
  readonly bytesPerJob: number;
  readonly catchUpCollections: number;
}

const NODE_STATS = (failure: number) =>
  JSON.stringify({
    id: 'x',
    processing_status: failure > 0 ? 'COMPLETED_WITH_ERRORS' : 'SUCCESS',
    node_stats: [
      {
        node_name: 'Source',
        node_type: 'source',
        node_subtype: 's3',
        ready: 0,
        in_progress: 0,
        success: 12,
        failure: 0,
      },
      {
        node_name: 'Partitioner',
        node_type: 'partition',
        node_subtype: 'unstructured_api',
        ready: 0,
        in_progress: 0,
        success: 12 - failure,
        failure,
      },
      {
        node_name: 'Chunker',
        node_type: 'chunk',
        node_subtype: 'chunk_by_title',
        ready: 0,
        in_progress: 0,
        success: 12 - failure,
        failure: 0,
      },
      {
        node_name: 'Embedder',
        node_type: 'embed',
        node_subtype: 'openai',
        ready: 0,
        in_progress: 0,
        success: 12 - failure,
        failure: 0,
      },
      {
        node_name: 'Destination',
        node_type: 'destination',
        node_subtype: 'pinecone',
        ready: 0,
        in_progress: 0,
        success: 12 - failure,
        failure: 0,
      },
    ],
    message: null,
  });
const FAILED_FILES = JSON.stringify({
  failed_files: [
    { document: 'invoice-0001.pdf', error: 'PDF is encrypted: a password is required to open it' },
    { document: 'invoice-0002.pdf', error: 'Partitioning timed out after 300 s' },
  ],
});

export async function detailsBench(nowMs: number, jobs = 10_000): Promise<DetailsFigures> {
  // Every tenth job has failures (and one failed-files request more).
  const ok = NODE_STATS(0);
  const failing = NODE_STATS(2);
  const server = createServer((req, res) => {
    const m = /\/jobs\/j(\d+)\/(details|failed-files)$/.exec(req.url ?? '');
    const n = Number(m?.[1] ?? 0);
    const body = m?.[2] === 'failed-files' ? FAILED_FILES : n % 10 === 0 ? failing : ok;
    res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const aggregator = new Aggregator({
      nowMs,
      runtimeWindowSeconds: 86_400,
      maxWorkflows: 50,
      histogramBuckets: [1, 10, 100],
      quantiles: [0.5],
    });
    const candidates = new DetailsCandidates(nowMs, 86_400);
    for (let i = 0; i < jobs; i++) {
      const workflowId = `wf-${i % 200}`;
      const finishedAtMs = nowMs - (i * 86_000_000) / jobs;
      aggregator.add({
        id: `j${i}`,
        workflowId,
        workflowName: workflowId,
        status: 'COMPLETED',
        jobType: 'ephemeral',
        createdAtMs: finishedAtMs - 60_000,
        runtimeSeconds: 60,
        runtimeInvalid: false,
        runtimeLongerThanAge: false,
      });
      candidates.addRecord(`j${i}`, workflowId, 'COMPLETED', finishedAtMs - 60_000, 60);
    }
    const snapshot = aggregator.snapshot();
    const logger = new Logger({ level: 'error', write: () => undefined });
    const stage = (memory: KnownDetails, maxRequests: number) =>
      runDetailsStage({
        snapshot,
        candidates,
        memory,
        request: {
          apiUrl: url,
          apiKey: 'bench',
          userAgent: 'bench',
          requestTimeoutMs: 10_000,
          maxRetries: 0,
        },
        deadlineMs: 600_000,
        concurrency: 4,
        maxRequests,
        logger,
      });

    // First collection: memory measured around it (the memory object is what stays).
    gc();
    const before = process.memoryUsage().heapUsed;
    const memory = new KnownDetails();
    let started = performance.now();
    // The report itself is not kept: only the memory is measured.
    const { known, requests } = await stage(memory, Number.MAX_SAFE_INTEGER);
    const firstMs = performance.now() - started;
    gc();
    const bytesPerJob = (process.memoryUsage().heapUsed - before) / jobs;
    if (known !== jobs) throw new Error(`details bench: ${known} of ${jobs} known`);

    const later: number[] = [];
    for (let rep = 0; rep < 5; rep++) {
      started = performance.now();
      const again = await stage(memory, Number.MAX_SAFE_INTEGER);
      later.push(performance.now() - started);
      if (again.requests !== 0) throw new Error('details bench: a remembered job was requested again');
    }

    // The default budget: collections until nothing is pending.
    const budgeted = new KnownDetails();
    let collections = 0;
    for (let pending = jobs; pending > 0 && collections < 1000; collections++)
      pending = (await stage(budgeted, 200)).pending;
    return {
      jobs,
      requests,
      firstMs,
      laterMs: median(later),
      bytesPerJob,
      catchUpCollections: collections,
    };
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
