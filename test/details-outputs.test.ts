import { afterEach, describe, expect, it } from 'vitest';
import type { CollectionSuccess } from '../lib/collection.js';
import { collect } from '../lib/collector.js';
import { loadConfig } from '../lib/config.js';
import { KnownDetails } from '../lib/details/known-details.js';
import { Logger } from '../lib/log.js';
import { detailsJson } from '../lib/outputs/details-view.js';
import { renderStatusPage } from '../lib/outputs/status-page.js';
import { renderTable } from '../lib/outputs/table.js';
import { SecretSource } from '../lib/secrets.js';
import { detailsHandler, generateJobs } from './support/details.js';
import { FAKE_API_KEY, startFakeApi, type FakeApi } from './support/fake-api.js';

const NOW_MS = Date.UTC(2026, 10, 29, 12, 0, 0);

let api: FakeApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

async function collected(env: Record<string, string> = {}): Promise<CollectionSuccess> {
  const jobs = generateJobs(NOW_MS, { count: 120, workflows: 3, seed: 21, behaviours: ['ok'] });
  api = await startFakeApi({ jobs: jobs.map((j) => j.record), details: detailsHandler(jobs) });
  const c = await collect(
    {
      config: loadConfig({ UNSTRUCTURED_API_URL: api.url, DETAILS_MAX_REQUESTS: '10000', ...env }),
      apiKey: new SecretSource({ variable: 'UNSTRUCTURED_API_KEY', direct: FAKE_API_KEY, param: undefined }),
      logger: new Logger({ write: () => {} }),
      details: new KnownDetails(),
    },
    { nowMs: NOW_MS },
  );
  if (!c.ok) throw new Error(c.errorMessage);
  return c;
}

describe('failed documents and outcomes in the outputs', () => {
  it('shows the 50 most recent failed documents on the status page, every API text escaped', async () => {
    // Prepare
    const c = await collected();

    // Act
    const html = renderStatusPage(c, { version: 'test' });

    // Assess
    expect(c.details?.failedDocuments).toHaveLength(50);
    const times = (c.details?.failedDocuments ?? []).map((d) => d.finishedAtMs);
    expect(times).toEqual([...times].sort((a, b) => b - a)); // newest first
    expect(html).toContain('<section id="outcomes">');
    expect(html).toContain('<section id="failed-documents">');
    expect(html).toContain('&#60;script&#62;&#34;x&#34;&#60;/script&#62;.pdf');
    expect(html).not.toContain('<script>"x"</script>');
    expect(html).not.toContain('<b>x</b>');
    expect(html).toContain('COMPLETED_WITH_ERRORS');
  });

  it('shows counts only with FAILED_DOCUMENTS=hide, on the page and in the JSON', async () => {
    // Prepare
    const c = await collected({ FAILED_DOCUMENTS: 'hide' });

    // Act
    const html = renderStatusPage(c, { version: 'test' });
    const json = detailsJson(c);

    // Assess
    expect(html).toContain('hidden (FAILED_DOCUMENTS=hide)');
    expect(html).not.toContain('.pdf');
    expect(json).toMatchObject({ failedDocumentsHidden: true, failedDocuments: [] });
  });

  it('puts the outcomes and documents in the JSON and the outcomes per workflow in the table', async () => {
    // Prepare
    const c = await collected();

    // Act
    const json = JSON.parse(JSON.stringify(detailsJson(c))) as {
      workflows: { id: string; byStatus: Record<string, number> }[];
      failedDocuments: { document: string; node: string }[];
      total: { byStatus: Record<string, number> };
    };
    const table = renderTable(c, { version: 'test' });

    // Assess
    expect(json.workflows.map((w) => w.id)).toEqual(c.snapshot.workflows.map((w) => w.id));
    expect(json.total.byStatus).toEqual(c.details?.total.byStatus);
    expect(json.failedDocuments).toHaveLength(50);
    expect(json.failedDocuments[0]?.document).toMatch(/^doc-\d+-\d+ <script>/); // raw text in JSON: its consumer escapes
    expect(table).toContain('OUTCOMES OF JOBS FINISHED IN THE LAST');
    expect(table).toContain('COMPLETED_WITH_ERRORS');
    expect(table).toContain('FILES FAILED');
  });
});
