/**
 * The straightforward exporter the benchmark compares with: fetch → text → JSON.parse → toJob loop → the
 * same Aggregator and renderers. It holds the whole body as a string and the whole parsed array at once.
 */
import { Aggregator } from '../lib/aggregate/aggregator.js';
import type { Collection } from '../lib/collection.js';
import type { Config } from '../lib/config.js';
import { toJob } from '../lib/records/to-job.js';

export async function straightforwardCollect(config: Config, apiKey: string, nowMs: number): Promise<Collection> {
  const started = performance.now();
  const response = await fetch(`${config.apiUrl}/api/v1/jobs/`, {
    headers: { 'unstructured-api-key': apiKey, accept: 'application/json' },
  });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  const text = await response.text();
  const records = JSON.parse(text) as unknown[];
  const aggregator = new Aggregator({
    nowMs,
    runtimeWindowSeconds: config.runtimeWindowSeconds,
    maxWorkflows: config.maxWorkflows,
    histogramBuckets: config.histogramBuckets,
    quantiles: config.quantiles,
  });
  for (const raw of records) {
    const job = toJob(raw, nowMs);
    if (typeof job === 'string') aggregator.skip(job);
    else aggregator.add(job);
  }
  const snapshot = aggregator.snapshot();
  return { ok: true, snapshot, durationSeconds: (performance.now() - started) / 1000, finishedAtMs: Date.now() };
}
