/**
 * The publisher against a fake CloudWatch on loopback that answers like the real one (awsJson1_0, query-compatible
 * error headers): throttling and 5xx are retried by the SDK with the publisher's retry settings; a refused request
 * is reported datum by datum while the others are still published.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import type { CloudWatchClient, MetricDatum } from '@aws-sdk/client-cloudwatch';
import { afterEach, describe, expect, it } from 'vitest';
import { Aggregator } from '../lib/aggregate/aggregator.js';
import { MAX_DATUMS_PER_REQUEST, MAX_REQUEST_BYTES } from '../lib/outputs/cloudwatch/limits.js';
import {
  assertPublished,
  CLIENT_RETRY,
  createCloudWatchClient,
  envelopeBytes,
  estimateDatumBytes,
  publishDatums,
  PublishError,
} from '../lib/outputs/cloudwatch/publisher.js';
import { publishCollection } from '../lib/outputs/cloudwatch/run.js';
import { renderDatums } from '../lib/outputs/cloudwatch/datums.js';
import type { Collection } from '../lib/collection.js';
import { job } from './support/jobs.js';
import { FAKE_CREDENTIALS, MOTO_REGION } from './support/moto.js';

const NAMESPACE = 'Unstructured/Jobs';
const JSON_TYPE = 'application/x-amz-json-1.0';

interface Received {
  readonly target: string | undefined;
  /** amz-sdk-invocation-id: the same on every attempt of one call. */
  readonly invocation: string;
  /** amz-sdk-request, e.g. "attempt=2; max=5". */
  readonly attempt: string;
  readonly contentEncoding: string | undefined;
  /** Body bytes as they would reach CloudWatch, before any gzip. */
  readonly bodyBytes: number;
  readonly body: { Namespace: string; MetricData: Array<Record<string, unknown>> };
}

interface Reply {
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly body: string;
}

const OK: Reply = { status: 200, body: '{}' };

function awsError(status: number, type: string, message: string, queryError: string): Reply {
  return {
    status,
    headers: { 'x-amzn-query-error': queryError },
    body: JSON.stringify({ __type: `com.amazonaws.cloudwatch#${type}`, message }),
  };
}

const THROTTLING = awsError(400, 'Throttling', 'Rate exceeded', 'Throttling;Sender');
const UNAVAILABLE: Reply = { status: 503, body: '' };

interface FakeCloudWatch {
  readonly endpoint: string;
  readonly received: Received[];
  close(): Promise<void>;
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

async function startFakeCloudWatch(reply: (request: Received, index: number) => Reply): Promise<FakeCloudWatch> {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const encoding = header(req.headers, 'content-encoding');
      const body = encoding === 'gzip' ? gunzipSync(raw) : raw;
      const request: Received = {
        target: header(req.headers, 'x-amz-target'),
        invocation: header(req.headers, 'amz-sdk-invocation-id') ?? '',
        attempt: header(req.headers, 'amz-sdk-request') ?? '',
        contentEncoding: encoding,
        bodyBytes: body.length,
        body: JSON.parse(body.toString('utf8')) as Received['body'],
      };
      received.push(request);
      const r = reply(request, received.length - 1);
      res.writeHead(r.status, {
        'content-type': JSON_TYPE,
        'x-amzn-requestid': `req-${received.length}`,
        ...r.headers,
      });
      res.end(r.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      }),
  };
}

/** The publisher's own client (its retry settings, request compression on as deployed) pointed at the fake. */
function clientFor(endpoint: string): Promise<CloudWatchClient> {
  return createCloudWatchClient({ region: MOTO_REGION, endpoint, credentials: { ...FAKE_CREDENTIALS } });
}

function datum(name: string, value: number, status: string): MetricDatum {
  return {
    MetricName: name,
    Dimensions: [{ Name: 'Status', Value: status }],
    Timestamp: new Date(Math.floor(Date.now() / 60_000) * 60_000),
    Value: value,
    Unit: 'Count',
    StorageResolution: 60,
  };
}

let cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

async function setUp(
  reply: (request: Received, index: number) => Reply,
): Promise<{ fake: FakeCloudWatch; client: CloudWatchClient }> {
  const fake = await startFakeCloudWatch(reply);
  const client = await clientFor(fake.endpoint);
  cleanup.push(
    () => fake.close(),
    () => client.destroy(),
  );
  return { fake, client };
}

describe('retries', () => {
  it('retries throttling and a 503 with the SDK, then publishes', async () => {
    // Prepare
    const script = [THROTTLING, UNAVAILABLE, OK];
    const { fake, client } = await setUp((_r, i) => script[i] ?? OK);
    const datums = [datum('Jobs', 4, 'FAILED'), datum('Jobs', 0, 'STOPPED')];

    // Act
    const started = Date.now();
    const report = await publishDatums(datums, { namespace: NAMESPACE, client });
    const elapsedMs = Date.now() - started;

    // Assess
    expect(report).toEqual({ total: 2, requests: 1, failedRequests: 0, published: 2, failed: [], invalid: [] });
    expect(fake.received.map((r) => r.attempt)).toEqual([
      `attempt=1; max=${CLIENT_RETRY.maxAttempts}`,
      `attempt=2; max=${CLIENT_RETRY.maxAttempts}`,
      `attempt=3; max=${CLIENT_RETRY.maxAttempts}`,
    ]);
    expect(new Set(fake.received.map((r) => r.invocation)).size).toBe(1);
    expect(fake.received.every((r) => r.target === 'GraniteServiceVersion20100801.PutMetricData')).toBe(true);
    expect(fake.received.map((r) => r.body.MetricData.length)).toEqual([2, 2, 2]);
    expect(elapsedMs).toBeLessThan(10_000);
    expect(() => assertPublished(report)).not.toThrow();
  });

  it(`gives up after ${CLIENT_RETRY.maxAttempts} attempts on a lasting 503 and reports every datum as failed`, async () => {
    // Prepare
    const { fake, client } = await setUp(() => UNAVAILABLE);
    const datums = [datum('Jobs', 1, 'FAILED')];

    // Act
    const report = await publishDatums(datums, { namespace: NAMESPACE, client });

    // Assess
    expect(fake.received).toHaveLength(CLIENT_RETRY.maxAttempts);
    expect(report.published).toBe(0);
    expect(report.failedRequests).toBe(1);
    expect(report.failed).toEqual([
      {
        metricName: 'Jobs',
        dimensions: { Status: 'FAILED' },
        error: `Unknown: UnknownError (HTTP 503, after ${CLIENT_RETRY.maxAttempts} attempts)`,
      },
    ]);
    expect(() => assertPublished(report)).toThrow(
      `published 0 of 1 datums; 1 requests failed: Unknown: UnknownError (HTTP 503, after 5 attempts)`,
    );
  });
});

describe('permanent failures', () => {
  it('reports exactly which datums a refused request held, and still publishes the other requests', async () => {
    // Prepare: 2,500 datums → 3 requests; the marker datum sits in the second one
    const refusal = awsError(
      400,
      'InvalidParameterValueException',
      'The value for parameter MetricData.member.500.MetricName is invalid.',
      'InvalidParameterValue;Sender',
    );
    const { fake, client } = await setUp((r) =>
      r.body.MetricData.some((d) => d.MetricName === 'Marker') ? refusal : OK,
    );
    const datums = Array.from({ length: 2_500 }, (_, i) => datum(i === 1_499 ? 'Marker' : 'Jobs', i, `S${i}`));

    // Act
    const report = await publishDatums(datums, { namespace: NAMESPACE, client });

    // Assess
    expect(fake.received).toHaveLength(3); // a 400 validation error is not retried
    expect(report.requests).toBe(3);
    expect(report.failedRequests).toBe(1);
    expect(report.published).toBe(1_500);
    expect(report.invalid).toEqual([]);
    expect(report.failed).toHaveLength(1_000);
    expect(report.failed.map((f) => f.dimensions.Status)).toEqual(
      datums.slice(1_000, 2_000).map((d) => d.Dimensions?.[0]?.Value),
    );
    expect(report.failed[499]?.metricName).toBe('Marker');
    const error =
      'InvalidParameterValueException: The value for parameter MetricData.member.500.MetricName is invalid. (HTTP 400)';
    expect(new Set(report.failed.map((f) => f.error))).toEqual(new Set([error]));
    const accepted = fake.received.filter((r) => !r.body.MetricData.some((d) => d.MetricName === 'Marker'));
    expect(
      accepted.flatMap((r) => r.body.MetricData.map((d) => (d.Dimensions as Array<{ Value: string }>)[0]?.Value)),
    ).toEqual(
      expect.arrayContaining([...datums.slice(0, 1_000), ...datums.slice(2_000)].map((d) => d.Dimensions?.[0]?.Value)),
    );
    let thrown: unknown;
    try {
      assertPublished(report);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(PublishError);
    expect((thrown as PublishError).message).toBe(`published 1500 of 2500 datums; 1 requests failed: ${error}`);
    expect((thrown as PublishError).report).toBe(report);
  });
});

describe('on the wire', () => {
  it('sends an account of 5,000 workflows in bodies under 1 MB and 1,000 datums, never larger than estimated', async () => {
    // Prepare
    const nowMs = Math.floor(Date.now() / 60_000) * 60_000;
    const aggregator = new Aggregator({
      nowMs,
      runtimeWindowSeconds: 86_400,
      maxWorkflows: 5_000,
      histogramBuckets: [10],
      quantiles: [0.5, 0.9, 0.95, 0.99, 1],
    });
    for (let i = 0; i < 5_000; i++) {
      const workflowId = `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
      for (const status of ['COMPLETED', 'FAILED', 'STOPPED', 'IN_PROGRESS']) {
        aggregator.add(
          job({
            workflowId,
            workflowName: `Ingest pipeline ${i} "docs"`,
            status,
            createdAtMs: nowMs - 3_600_000,
            runtimeSeconds: 42.125,
          }),
        );
      }
    }
    const collection: Collection = {
      ok: true,
      snapshot: aggregator.snapshot(),
      durationSeconds: 1.5,
      finishedAtMs: nowMs,
    };
    const datums = renderDatums(collection);
    const { fake, client } = await setUp(() => OK);

    // Act
    const report = await publishCollection(collection, {
      namespace: NAMESPACE,
      quantiles: [0.5, 0.9, 0.95, 0.99, 1],
      client,
    });

    // Assess
    expect(report.published).toBe(datums.length);
    expect(fake.received).toHaveLength(Math.ceil(datums.length / MAX_DATUMS_PER_REQUEST));
    // As deployed, the SDK gzips bodies of 10,240 bytes or more.
    expect(fake.received.filter((r) => r.bodyBytes >= 10_240).every((r) => r.contentEncoding === 'gzip')).toBe(true);
    expect(fake.received.filter((r) => r.contentEncoding === 'gzip')).toHaveLength(fake.received.length - 1);
    let offset = 0;
    for (const r of fake.received.sort((a, b) => a.invocation.localeCompare(b.invocation))) {
      expect(r.body.MetricData.length).toBeLessThanOrEqual(MAX_DATUMS_PER_REQUEST);
      expect(r.bodyBytes).toBeLessThan(MAX_REQUEST_BYTES);
      offset += r.body.MetricData.length;
    }
    expect(offset).toBe(datums.length);
    // The estimate planRequests packs by is an upper bound of the real body, request by request.
    for (const r of fake.received) {
      const estimate =
        envelopeBytes(NAMESPACE) +
        r.body.MetricData.reduce(
          (sum, d) =>
            sum + estimateDatumBytes({ ...d, Timestamp: new Date(Number(d.Timestamp) * 1000) } as MetricDatum),
          0,
        );
      expect(r.bodyBytes).toBeLessThanOrEqual(estimate);
    }
  });
});
