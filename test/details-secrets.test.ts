/**
 * An upstream that echoes the API key in a job's details or failed files (a document name, an error, a node type,
 * a processing status): the key never reaches the status page, the JSON, the table, the exposition or the logs.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CollectionSuccess } from '../lib/collection.js';
import { collect } from '../lib/collector.js';
import { loadConfig } from '../lib/config.js';
import { KnownDetails } from '../lib/details/known-details.js';
import { Logger } from '../lib/log.js';
import { detailsJson } from '../lib/outputs/details-view.js';
import { renderPrometheus } from '../lib/outputs/prometheus/render.js';
import { renderStatusPage } from '../lib/outputs/status-page.js';
import { renderTable } from '../lib/outputs/table.js';
import { SecretSource } from '../lib/secrets.js';
import { generateJobs } from './support/details.js';
import { FAKE_API_KEY, startFakeApi, type FakeApi } from './support/fake-api.js';

const NOW_MS = Date.UTC(2026, 10, 29, 12, 0, 0);

let api: FakeApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

describe('an upstream echoing the API key in job details', () => {
  it('keeps the key (whole or a long piece of it) out of every output and the logs', async () => {
    // Prepare: every text of the details and failed files carries the key, whole or cut.
    const jobs = generateJobs(NOW_MS, { count: 40, workflows: 2, seed: 3, behaviours: ['ok'] });
    const piece = FAKE_API_KEY.slice(2, 14);
    api = await startFakeApi({
      jobs: jobs.map((j) => j.record),
      details: (_id, resource) =>
        resource === 'details'
          ? {
              kind: 'status',
              status: 200,
              body: {
                processing_status: `S${piece}`,
                node_stats: [
                  { node_type: `t ${FAKE_API_KEY}`, node_subtype: `s${piece}`, success: 1, failure: 2 },
                  { node_type: 'partition', node_subtype: 'x', success: 1, failure: 0 },
                ],
              },
            }
          : {
              kind: 'status',
              status: 200,
              body: { failed_files: [{ document: `doc ${FAKE_API_KEY}.pdf`, error: `bad key ${piece} sent` }] },
            },
    });
    const lines: string[] = [];
    const logger = new Logger({ write: (line) => lines.push(line) }); // collect() registers the key

    // Act
    const c = (await collect(
      {
        config: loadConfig({ UNSTRUCTURED_API_URL: api.url, DETAILS_MAX_REQUESTS: '10000' }),
        apiKey: new SecretSource({ variable: 'UNSTRUCTURED_API_KEY', direct: FAKE_API_KEY, param: undefined }),
        logger,
        details: new KnownDetails(),
      },
      { nowMs: NOW_MS },
    )) as CollectionSuccess;
    const outputs = {
      html: renderStatusPage(c, { version: 'test' }),
      json: JSON.stringify(detailsJson(c)),
      table: String(renderTable(c)),
      exposition: (await renderPrometheus(c, { version: 'test' })).body.toString(),
      logs: lines.join('\n'),
    };

    // Assess: the details were used (the texts are there, redacted), and no output holds the key or the piece.
    expect(c.ok).toBe(true);
    expect(c.details?.known).toBeGreaterThan(0);
    expect(c.details?.failedDocuments.length).toBeGreaterThan(0);
    expect(outputs.json).toContain('doc [REDACTED].pdf');
    expect(outputs.html).toContain('bad key [REDACTED] sent');
    for (const [name, text] of Object.entries(outputs)) {
      expect({ name, leaked: text.includes(piece) }).toEqual({ name, leaked: false });
    }
  });
});
