/**
 * Outcome events end to end: `collect --sink cloudwatch --state <file>` run after run against a fake API that
 * serves jobs, details and failed files, publishing to moto. FilesFailed and JobsCompletedWithErrors are read
 * back: each job counted exactly once across runs, published when its details are first known (a details
 * endpoint failing on the first runs included), and no details requested again once published.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeState } from '../lib/events/state.js';
import { workflowDimensionValue } from '../lib/outputs/cloudwatch/datums.js';
import { runCli } from './support/cli.js';
import { startFakeApi, type FakeApi, type Scenario } from './support/fake-api.js';
import { apiView, MINUTE, uuid, type SimJob } from './support/finished-jobs.js';
import {
  cloudWatchClientFor,
  exactStatistics,
  FAKE_CREDENTIALS,
  MOTO_REGION,
  startMoto,
  type RunningMoto,
} from './support/moto.js';

const NAMESPACE = 'Outcomes/Cli';
const WF_A = { id: uuid(0xa, 'aa'), name: 'Invoices "Q4"' };
const WF_B = { id: uuid(0xb, 'bb'), name: 'Contracts' };

let moto: RunningMoto;
let api: FakeApi;
let cw: CloudWatchClient;
let dir: string;

beforeAll(async () => {
  [moto, api] = await Promise.all([startMoto(), startFakeApi()]);
  cw = cloudWatchClientFor(moto.endpoint);
  dir = mkdtempSync(join(tmpdir(), 'events-outcomes-'));
}, 30_000);

afterAll(async () => {
  await api?.close();
  await moto?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

interface OutcomeJob extends SimJob {
  readonly processing: string;
  /** failure count per node */
  readonly failures: readonly number[];
  /** Details answer 500 until this run (0-based); undefined: always answer. */
  readonly failsUntilRun?: number;
  readonly notFound?: boolean;
}

function job(
  n: number,
  workflow: { id: string; name: string },
  finishedAtMs: number,
  processing: string,
  failures: readonly number[],
  extra: Partial<OutcomeJob> = {},
): OutcomeJob {
  const runtimeSeconds = 60;
  return {
    id: uuid(n),
    workflow,
    status: processing === 'FAILED' ? 'FAILED' : processing === 'STOPPED' ? 'STOPPED' : 'COMPLETED',
    createdAtMs: finishedAtMs - runtimeSeconds * 1000,
    runtimeSeconds,
    finishedAtMs,
    processing,
    failures,
    ...extra,
  };
}

describe('collect --sink cloudwatch --state: FilesFailed and JobsCompletedWithErrors', () => {
  it('publishes each job’s outcome exactly once across runs, when its details are first known (moto read-back)', async () => {
    // Prepare
    const t0 = Math.floor(Date.now() / MINUTE) * MINUTE - 40 * MINUTE;
    const jobs: OutcomeJob[] = [
      job(1, WF_A, t0 - 20 * MINUTE, 'SUCCESS', [0, 0]),
      job(2, WF_A, t0 - 12 * MINUTE, 'COMPLETED_WITH_ERRORS', [2, 1]),
      job(3, WF_B, t0 - 5 * MINUTE, 'COMPLETED_WITH_ERRORS', [4]),
      job(4, WF_B, t0 - 3 * MINUTE, 'FAILED', [7, 0]),
      // Details failing on the first two runs: published by the third, once.
      job(5, WF_A, t0 - 8 * MINUTE, 'COMPLETED_WITH_ERRORS', [3], { failsUntilRun: 2 }),
      // Never known (404): never published, never asked again.
      job(6, WF_B, t0 - 7 * MINUTE, 'COMPLETED_WITH_ERRORS', [9], { notFound: true }),
      // Finishes between the first and the second run.
      job(7, WF_B, t0 + 5 * MINUTE, 'COMPLETED_WITH_ERRORS', [1, 1]),
    ];
    let run = 0;
    const requests = new Map<string, number>();
    api.setDetails((jobId, resource) => {
      requests.set(`${jobId} ${resource}`, (requests.get(`${jobId} ${resource}`) ?? 0) + 1);
      const j = jobs.find((x) => x.id === jobId);
      if (j === undefined || j.notFound === true) return undefined;
      if (j.failsUntilRun !== undefined && run < j.failsUntilRun)
        return { kind: 'status', status: 500, body: { detail: 'boom' } } satisfies Scenario;
      if (resource === 'failed-files') {
        const n = j.failures.reduce((a, b) => a + b, 0);
        const failed_files = Array.from({ length: n }, (_, k) => ({ document: `d${k}.pdf`, error: 'bad' }));
        return { kind: 'status', status: 200, body: { failed_files } };
      }
      return {
        kind: 'status',
        status: 200,
        body: {
          id: j.id,
          processing_status: j.processing,
          node_stats: j.failures.map((failure, i) => ({
            node_name: `n${i}`,
            node_type: i === 0 ? 'partition' : null,
            ready: 0,
            in_progress: 0,
            success: 3,
            failure,
          })),
        },
      };
    });
    const state = join(dir, 'state.json');
    const env = {
      AWS_ENDPOINT_URL: moto.endpoint,
      AWS_REGION: MOTO_REGION,
      AWS_ACCESS_KEY_ID: FAKE_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: FAKE_CREDENTIALS.secretAccessKey,
      AWS_DISABLE_REQUEST_COMPRESSION: 'true',
      AWS_EC2_METADATA_DISABLED: 'true',
      UNSTRUCTURED_API_URL: api.url,
      UNSTRUCTURED_API_KEY: api.apiKey,
      CLOUDWATCH_NAMESPACE: NAMESPACE,
      MAX_RETRIES: '0',
    };
    const collectAt = async (nowMs: number) => {
      api.setJobs(apiView(jobs, nowMs));
      const out = await runCli(
        ['collect', '--sink', 'cloudwatch', '--state', state, '--now', new Date(nowMs).toISOString()],
        env,
      );
      run++;
      return { ...out, summary: JSON.parse(out.stdout) as { events?: Record<string, unknown> } };
    };

    // Act: four runs, the last two with nothing new.
    const results = [];
    for (const at of [t0, t0 + 10 * MINUTE, t0 + 15 * MINUTE, t0 + 20 * MINUTE]) results.push(await collectAt(at));

    // Assess
    expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0]);
    expect(results.map((r) => r.summary.events?.outcomesPublished)).toEqual([4, 1, 1, undefined]);
    const published = jobs.filter((j) => j.notFound !== true);
    const read = (metricName: string, dimensions: Record<string, string>) =>
      exactStatistics(cw, {
        namespace: NAMESPACE,
        metricName,
        dimensions,
        startMs: t0 - 60 * MINUTE,
        endMs: t0 + 30 * MINUTE,
        periodSeconds: 60,
      });
    const filesFailed = (list: readonly OutcomeJob[]) =>
      list.reduce((n, j) => n + j.failures.reduce((a, b) => a + b, 0), 0);
    const withErrors = (list: readonly OutcomeJob[]) =>
      list.filter((j) => j.processing === 'COMPLETED_WITH_ERRORS').length;
    // Per workflow: exact (GetMetricData matches these dimensions exactly).
    let workflowFiles = 0;
    let workflowErrors = 0;
    for (const wf of [WF_A, WF_B]) {
      const mine = published.filter((j) => j.workflow.id === wf.id);
      const dims = { Workflow: workflowDimensionValue(wf.id, wf.name) };
      const files = (await read('FilesFailed', dims)).sum;
      const errors = (await read('JobsCompletedWithErrors', dims)).sum;
      expect(files).toBe(filesFailed(mine));
      expect(errors).toBe(withErrors(mine));
      workflowFiles += files ?? 0;
      workflowErrors += errors ?? 0;
    }
    // The account total (no dimension): moto matches an empty dimension set against every datum of the name, so
    // what it reads is the total plus the per-workflow datums; the total is the difference.
    expect(((await read('FilesFailed', {})).sum ?? 0) - workflowFiles).toBe(filesFailed(published));
    expect(((await read('JobsCompletedWithErrors', {})).sum ?? 0) - workflowErrors).toBe(withErrors(published));
    // Once published (recorded in the state), a job's details are not requested again by a later run.
    for (const j of published) {
      expect(requests.get(`${j.id} details`), j.id).toBe(j.failsUntilRun === undefined ? 1 : j.failsUntilRun + 1);
    }
    expect(requests.get(`${jobs[5]?.id} details`)).toBe(4); // a CLI run remembers a 404 only in its own memory
    const stored = decodeState(readFileSync(state, 'utf8'), state);
    expect(stored.version).toBe(3);
    expect(stored.details?.seen.size).toBe(published.length);
    expect(stored.details?.pending).toEqual([]);
  });
});
