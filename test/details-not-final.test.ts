/**
 * A job the list shows as finished whose details are not final yet (`processing_status` SCHEDULED or IN_PROGRESS:
 * the details catch up after the list): they are not remembered as its outcome, which would be kept for good and
 * published once by the finished-job events, but asked again by the next collection.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CollectionSuccess } from '../lib/collection.js';
import { collect } from '../lib/collector.js';
import { loadConfig } from '../lib/config.js';
import { KnownDetails } from '../lib/details/known-details.js';
import { Logger } from '../lib/log.js';
import { SecretSource } from '../lib/secrets.js';
import { FAKE_API_KEY, startFakeApi, type FakeApi } from './support/fake-api.js';

const NOW_MS = Date.UTC(2026, 10, 29, 12, 0, 0);

let api: FakeApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

describe('details that are not final yet', () => {
  it('are not an outcome: pending, then known once final', async () => {
    // Prepare: 4 finished jobs; their details say IN_PROGRESS (2) and SCHEDULED (2) first, then the final answer.
    const jobs = Array.from({ length: 4 }, (_, i) => ({
      id: `job-${i}`,
      workflow_id: 'w1',
      workflow_name: 'W',
      status: 'COMPLETED',
      job_type: 'ephemeral',
      created_at: new Date(NOW_MS - 3_600_000 + i * 60_000).toISOString(),
      runtime: 'PT10S',
    }));
    let final = false;
    api = await startFakeApi({
      jobs,
      details: (id, resource) =>
        resource === 'failed-files'
          ? { kind: 'status', status: 200, body: { failed_files: [{ document: 'a.pdf', error: 'e' }] } }
          : {
              kind: 'status',
              status: 200,
              body: {
                processing_status: final
                  ? 'COMPLETED_WITH_ERRORS'
                  : Number(id.slice(4)) % 2
                    ? 'IN_PROGRESS'
                    : 'SCHEDULED',
                node_stats: [{ node_type: 'partition', success: final ? 3 : 1, failure: final ? 2 : 0 }],
              },
            },
    });
    const memory = new KnownDetails();
    const run = async () =>
      (await collect(
        {
          config: loadConfig({ UNSTRUCTURED_API_URL: api!.url, WORKFLOWS_API: 'off' }),
          apiKey: new SecretSource({ variable: 'UNSTRUCTURED_API_KEY', direct: FAKE_API_KEY, param: undefined }),
          logger: new Logger({ write: () => {} }),
          details: memory,
        },
        { nowMs: NOW_MS },
      )) as CollectionSuccess;

    // Act
    const first = await run();
    final = true;
    const second = await run();

    // Assess: nothing known (nor published) from the answers that were not final; the final ones counted once.
    expect(first.ok && second.ok).toBe(true);
    expect(first.details).toMatchObject({ known: 0, pending: 4, errors: 0, jobs: [] });
    expect(first.details?.total.byStatus).not.toHaveProperty('IN_PROGRESS');
    expect(first.details?.total.byStatus).not.toHaveProperty('SCHEDULED');
    expect(second.details).toMatchObject({ known: 4, pending: 0, errors: 0 });
    expect(second.details?.total.byStatus.COMPLETED_WITH_ERRORS).toBe(4);
    expect(second.details?.jobs.map((j) => j.filesFailed)).toEqual([2, 2, 2, 2]);
  });
});
