/**
 * SigV4 for Amazon Managed Service for Prometheus: a test receiver on 127.0.0.1 verifies every request's signature
 * with the AWS SDK's own signer (@smithy/signature-v4), as AMP would: it signs the request it received again, with
 * the same credentials, at the request's x-amz-date, and compares. The exporter takes its credentials from the SDK's
 * default chain (here the environment, as a Lambda's role is given to it). A tampered signature and a tampered
 * body are refused.
 */
import { createHash } from 'node:crypto';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Aggregator } from '../lib/aggregate/aggregator.js';
import type { Collection } from '../lib/collection.js';
import { loadConfig } from '../lib/config.js';
import { Logger } from '../lib/log.js';
import { sigv4Authorizer } from '../lib/outputs/remote-write/auth.js';
import { REMOTE_WRITE_HEADERS } from '../lib/outputs/remote-write/encode.js';
import { remoteWriteOutput } from '../lib/outputs/remote-write/output.js';
import { loadRemoteWriteSettings, type RemoteWriteSettings } from '../lib/outputs/remote-write/settings.js';
import { job } from './support/jobs.js';
import { type ReceivedRequest, type Receiver, startReceiver } from './support/remote-write-receiver.js';

const REGION = 'eu-west-1';
const CREDENTIALS = { accessKeyId: 'AKIDREMOTEWRITETEST', secretAccessKey: 'remote-write-test-secret-key-0123456789' };

/** AMP's check, with the SDK's signer: true when the request's Authorization is the one these credentials give. */
async function verify(request: ReceivedRequest, url: URL): Promise<boolean> {
  const authorization = String(request.headers.authorization ?? '');
  const m =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(
      authorization,
    );
  if (m === null || m[1] !== CREDENTIALS.accessKeyId || m[3] !== REGION || m[4] !== 'aps') return false;
  // AWS checks the body against the hash the signature covers, then the signature.
  const bodyHash = createHash('sha256').update(request.bytes).digest('hex');
  if (request.headers['x-amz-content-sha256'] !== bodyHash) return false;
  const amzDate = String(request.headers['x-amz-date']);
  const signingDate = new Date(
    `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
  );
  const headers: Record<string, string> = {};
  for (const name of (m[5] as string).split(';')) headers[name] = String(request.headers[name]);
  const signer = new SignatureV4({
    service: 'aps',
    region: REGION,
    credentials: CREDENTIALS,
    sha256: Hash.bind(null, 'sha256'),
  });
  const resigned = await signer.sign(
    {
      method: 'POST',
      protocol: url.protocol,
      hostname: url.hostname,
      port: Number(url.port),
      path: url.pathname,
      query: {},
      headers,
      body: new Uint8Array(request.bytes),
    },
    { signingDate },
  );
  return resigned.headers.authorization === authorization;
}

function collection(): Collection {
  const config = loadConfig({});
  const nowMs = Date.now();
  const aggregator = new Aggregator({
    nowMs,
    runtimeWindowSeconds: config.runtimeWindowSeconds,
    maxWorkflows: config.maxWorkflows,
    histogramBuckets: config.histogramBuckets,
    quantiles: config.quantiles,
  });
  aggregator.add(job({ createdAtMs: nowMs - 600_000, runtimeSeconds: 12 }));
  const snapshot = aggregator.snapshot();
  aggregator.release();
  return { ok: true, snapshot, durationSeconds: 0.5, finishedAtMs: nowMs };
}

describe('remote write with SigV4 (Amazon Managed Service for Prometheus)', () => {
  let receiver: Receiver;
  let url: URL;

  beforeEach(async () => {
    // The default chain's first source; no other source (no instance metadata) is ever asked.
    vi.stubEnv('AWS_ACCESS_KEY_ID', CREDENTIALS.accessKeyId);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', CREDENTIALS.secretAccessKey);
    vi.stubEnv('AWS_SESSION_TOKEN', '');
    vi.stubEnv('AWS_EC2_METADATA_DISABLED', 'true');
    receiver = await startReceiver();
    url = new URL(receiver.url);
    // AMP's answer: 204 for a signature that verifies, 403 with its message for any other.
    receiver.check = async (request) =>
      (await verify(request, url))
        ? undefined
        : {
            status: 403,
            body: '{"message":"The request signature we calculated does not match the signature you provided."}',
          };
  });
  afterEach(async () => {
    vi.unstubAllEnvs();
    await receiver.close();
  });

  it('signs every request with the default credentials, service aps, and the signature verifies', async () => {
    // Prepare
    const settings = loadRemoteWriteSettings({
      REMOTE_WRITE_URL: receiver.url,
      REMOTE_WRITE_SIGV4_REGION: REGION,
    }) as RemoteWriteSettings;
    const output = remoteWriteOutput({ settings, logger: new Logger({ write: () => undefined }), version: 'x' });

    // Act
    const report = await output.publish(collection());

    // Assess: every request verified (the receiver answered 204 to each)
    expect(report.problem).toBeUndefined();
    expect(receiver.requests.length).toBeGreaterThan(0);
    expect(report.summary).toMatchObject({ remoteWrite: { undelivered: 0, retries: 0 } });
    const authorization = String(receiver.requests[0]?.headers.authorization);
    expect(authorization).toContain(`Credential=${CREDENTIALS.accessKeyId}/`);
    expect(authorization).toContain(`/${REGION}/aps/aws4_request`);
    // The spec's headers and the body's hash are covered by the signature.
    expect(authorization).toMatch(/SignedHeaders=[^,]*content-encoding;content-type;host;/);
    expect(authorization).toMatch(/SignedHeaders=[^,]*x-amz-content-sha256/);
    expect(report.summary).toMatchObject({ remoteWrite: { auth: 'sigv4' } });
  });

  it('a tampered signature, or a body changed after signing, does not verify and is refused', async () => {
    // Prepare
    const authorize = sigv4Authorizer(REGION);
    const body = new Uint8Array([1, 2, 3, 4, 5]);
    const headers = { ...REMOTE_WRITE_HEADERS };
    const signed = { ...headers, ...(await authorize({ url, headers, body })) };
    const flip = (s: string) => s.slice(0, -1) + (s.endsWith('0') ? '1' : '0');
    const post = (h: Record<string, string>, b: Uint8Array) => fetch(url, { method: 'POST', headers: h, body: b });

    // Act
    const statuses = [
      (await post(signed, body)).status,
      (await post({ ...signed, authorization: flip(signed.authorization as string) }, body)).status,
      (await post(signed, new Uint8Array([1, 2, 3, 4, 6]))).status,
    ];

    // Assess
    expect(statuses).toEqual([204, 403, 403]);
  });

  it("a receiver echoing the request's headers never gets the session token into the report or the log", async () => {
    // Prepare: temporary credentials, as a Lambda's role gives them; the receiver quotes every header back
    const sessionToken = 'IQoJb3JpZ2luX2VjEJr7Q8mZx4TbWv0pLk2N';
    vi.stubEnv('AWS_SESSION_TOKEN', sessionToken);
    receiver.check = (request) => ({ status: 400, body: JSON.stringify(request.headers) });
    const settings = loadRemoteWriteSettings({
      REMOTE_WRITE_URL: receiver.url,
      REMOTE_WRITE_SIGV4_REGION: REGION,
    }) as RemoteWriteSettings;
    const lines: string[] = [];
    const logger = new Logger({ write: (line) => lines.push(line) });
    const output = remoteWriteOutput({ settings, logger, version: 'x' });

    // Act
    const report = await output.publish(collection());
    logger.error('remote write incomplete', { message: report.problem?.message });

    // Assess
    expect(receiver.requests[0]?.headers['x-amz-security-token']).toBe(sessionToken);
    expect(report.problem?.message).toContain('HTTP 400');
    expect(report.problem?.message).toContain('"x-amz-security-token":"[REDACTED]"');
    expect(report.problem?.message).not.toContain(sessionToken.slice(-10));
    expect(lines.join('\n')).not.toContain(sessionToken.slice(-10));
  });

  it('a request signed with other credentials is refused (403): reported with its message, not retried', async () => {
    // Prepare: the exporter's credentials are not the ones the receiver knows
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'another-secret-key-that-the-receiver-does-not-know');
    const settings = loadRemoteWriteSettings({
      REMOTE_WRITE_URL: receiver.url,
      REMOTE_WRITE_SIGV4_REGION: REGION,
    }) as RemoteWriteSettings;
    const output = remoteWriteOutput({ settings, logger: new Logger({ write: () => undefined }), version: 'x' });

    // Act
    const report = await output.publish(collection());

    // Assess
    expect(receiver.requests).toHaveLength(1);
    expect(report.problem?.message).toContain('HTTP 403');
    expect(report.problem?.message).toContain('The request signature we calculated does not match');
    expect(report.problem?.message).not.toContain('another-secret');
  });
});
