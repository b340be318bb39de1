import { afterEach, describe, expect, it } from 'vitest';
import { collect } from '../lib/collector.js';
import { loadConfig } from '../lib/config.js';
import { startDemoApi, type DemoApi } from '../lib/demo-api.js';
import { demoDetails, demoFailedFiles } from '../lib/demo-details.js';
import { KnownDetails } from '../lib/details/known-details.js';
import { toFailedFiles, toJobDetails } from '../lib/details/records.js';
import { Logger } from '../lib/log.js';
import { SecretSource } from '../lib/secrets.js';

let demo: DemoApi | undefined;
afterEach(async () => {
  await demo?.close();
  demo = undefined;
});

describe('the demo API serves details and failed files', () => {
  it('shows jobs completed with errors, failing nodes and failed documents through a collection', async () => {
    // Prepare: the demo's clock pinned relative to the real one (its history is two days back from it).
    const nowMs = Date.now();
    demo = await startDemoApi({ seed: 5, now: () => nowMs });
    const config = loadConfig({
      UNSTRUCTURED_API_URL: demo.url,
      DETAILS_MAX_REQUESTS: '5000',
      DETAILS_CONCURRENCY: '8',
    });

    // Act
    const c = await collect(
      {
        config,
        apiKey: new SecretSource({ variable: 'UNSTRUCTURED_API_KEY', direct: demo.apiKey, param: undefined }),
        logger: new Logger({ write: () => {} }),
        details: new KnownDetails(),
      },
      { nowMs },
    );

    // Assess
    expect(c.ok).toBe(true);
    if (!c.ok || c.details === undefined) throw new Error('no details');
    const d = c.details;
    expect(d.errors).toBe(0);
    expect(d.pending).toBe(0);
    expect(d.known).toBeGreaterThan(50);
    expect(d.total.byStatus.COMPLETED_WITH_ERRORS).toBeGreaterThan(0);
    expect(d.total.byStatus.SUCCESS).toBeGreaterThan(0);
    expect(d.total.byStatus.FAILED).toBeGreaterThan(0);
    expect(d.total.nodes.some((n) => n.failure > 0 && n.nodeType === 'partition')).toBe(true);
    expect(d.failedDocuments.length).toBe(50);
    // Jobs the list shows as COMPLETED, and whose details say otherwise, are what the issue is about.
    expect((d.total.byStatus.SUCCESS ?? 0) + (d.total.byStatus.COMPLETED_WITH_ERRORS ?? 0)).toBe(
      c.snapshot.total.recent.COMPLETED.count,
    );
  });

  it('gives consistent bodies: failures in node_stats equal the failed files listed', () => {
    // Prepare
    const statuses = ['COMPLETED', 'FAILED', 'STOPPED'];
    for (let i = 0; i < 300; i++) {
      const job = { id: `job-${i}`, status: statuses[i % 3] as string, failRate: 0.1, destination: 's3' };

      // Act
      const details = toJobDetails(demoDetails(job));
      const failed = toFailedFiles(demoFailedFiles(job));

      // Assess
      expect(failed.total).toBe(details.filesFailed);
      if (job.status === 'FAILED') expect(details.processingStatus).toBe('FAILED');
      if (job.status === 'COMPLETED') expect(['SUCCESS', 'COMPLETED_WITH_ERRORS']).toContain(details.processingStatus);
      if (details.processingStatus === 'COMPLETED_WITH_ERRORS') expect(details.filesFailed).toBeGreaterThan(0);
    }
  });
});
