import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../lib/config.js';

describe('job details settings', () => {
  it('defaults to on, 4 at a time, 200 requests a collection, documents shown', () => {
    // Act
    const c = loadConfig({});

    // Assess
    expect(c).toMatchObject({
      jobDetails: true,
      detailsConcurrency: 4,
      detailsMaxRequests: 200,
      hideFailedDocuments: false,
    });
  });

  it('reads JOB_DETAILS, DETAILS_CONCURRENCY, DETAILS_MAX_REQUESTS and FAILED_DOCUMENTS', () => {
    // Act
    const c = loadConfig({
      JOB_DETAILS: 'OFF',
      DETAILS_CONCURRENCY: '16',
      DETAILS_MAX_REQUESTS: '0',
      FAILED_DOCUMENTS: 'hide',
    });

    // Assess
    expect(c).toMatchObject({
      jobDetails: false,
      detailsConcurrency: 16,
      detailsMaxRequests: 0,
      hideFailedDocuments: true,
    });
  });

  it.each([
    ['JOB_DETAILS', 'maybe'],
    ['DETAILS_CONCURRENCY', '0'],
    ['DETAILS_CONCURRENCY', '65'],
    ['DETAILS_MAX_REQUESTS', '-1'],
    ['DETAILS_MAX_REQUESTS', '100001'],
    ['FAILED_DOCUMENTS', 'secret'],
  ])('refuses %s=%s, naming the variable', (variable, value) => {
    // Act + Assess
    expect(() => loadConfig({ [variable]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [variable]: value })).toThrow(new RegExp(`^${variable}: `));
  });
});
