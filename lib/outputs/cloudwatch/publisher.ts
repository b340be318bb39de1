/**
 * CloudWatch publishing: validated datums → the fewest PutMetricData requests within CloudWatch's limits,
 * sent a few at a time, with an exact account of what was published and what was not.
 *
 * The SDK is loaded only here, and only when publishing (`await import(...)`): the Prometheus path and cold
 * starts that never publish do not pay for it.
 */
import type {
  CloudWatchClient,
  CloudWatchClientConfig,
  MetricDatum,
  PutMetricDataCommand,
} from '@aws-sdk/client-cloudwatch';
import { whenMissing } from '../../common/optional-dependency.js';
import { dimensionRecord, validateDatum, validateNamespace } from './datums.js';
import { MAX_DATUMS_PER_REQUEST, SAFE_REQUEST_BYTES } from './limits.js';

/** What the publisher needs of a client: a real CloudWatchClient, or a fake in tests. */
export interface CloudWatchClientLike {
  send(command: PutMetricDataCommand): Promise<unknown>;
}

/**
 * The SDK's standard retry strategy: up to 5 attempts, exponential backoff with full jitter, a longer base delay
 * for throttling errors, and a retry quota so an outage does not multiply traffic. Throttling, 5xx and
 * connection errors are retried; 4xx validation errors are not.
 */
export const CLIENT_RETRY = { maxAttempts: 5, retryMode: 'standard' } as const;
export const DEFAULT_CONCURRENCY = 4;

export interface PublishOptions {
  readonly namespace: string;
  /** Default: a CloudWatchClient from the SDK's standard environment (AWS_REGION, credential chain, AWS_ENDPOINT_URL). */
  readonly client?: CloudWatchClientLike;
  /** Requests in flight at once; default DEFAULT_CONCURRENCY. */
  readonly concurrency?: number;
  /** Overrides for the default client only. */
  readonly region?: string;
  readonly endpoint?: string;
  /** Clock for the timestamp window check (default Date.now). */
  readonly now?: () => number;
}

export interface DatumRef {
  readonly metricName: string;
  readonly dimensions: Record<string, string>;
}

export interface FailedDatum extends DatumRef {
  /** `<error name>: <message> (HTTP <status>[, after <n> attempts])` of the request that carried it. */
  readonly error: string;
}

export interface InvalidDatum extends DatumRef {
  /** Every limit it breaks, joined with "; ". */
  readonly reason: string;
}

export interface PublishReport {
  /** Datums given (valid or not). */
  readonly total: number;
  /** PutMetricData requests made (each counted once, whatever its retries). */
  readonly requests: number;
  /** Requests that failed for good (after the SDK's retries). */
  readonly failedRequests: number;
  /** Datums CloudWatch accepted. */
  readonly published: number;
  /** Datums of failed requests: not published. */
  readonly failed: FailedDatum[];
  /** Datums that break a PutMetricData limit: never sent. */
  readonly invalid: InvalidDatum[];
}

export class PublishError extends Error {
  override readonly name = 'PublishError';
  constructor(readonly report: PublishReport) {
    super(describeShortfall(report));
  }
}

function describeShortfall(r: PublishReport): string {
  const firstError = r.failed[0]?.error;
  let message = `published ${r.published} of ${r.total} datums; ${r.failedRequests} requests failed`;
  if (firstError !== undefined) message += `: ${firstError}`;
  const firstInvalid = r.invalid[0];
  if (firstInvalid !== undefined) {
    message += `; ${r.invalid.length} invalid datums, first ${firstInvalid.metricName}: ${firstInvalid.reason}`;
  }
  return message;
}

/** Throws a PublishError when any datum was not published (so the Lambda invocation fails and its Errors metric fires). */
export function assertPublished(report: PublishReport): void {
  if (report.failed.length > 0 || report.invalid.length > 0) throw new PublishError(report);
}

/** The CloudWatch SDK (an optional dependency): a MissingDependencyError when it is not installed. */
export function loadCloudWatchSdk(): Promise<typeof import('@aws-sdk/client-cloudwatch')> {
  return import('@aws-sdk/client-cloudwatch').catch(
    whenMissing('@aws-sdk/client-cloudwatch', 'publishing to CloudWatch'),
  );
}

/** A CloudWatchClient with the exporter's retry settings; anything in `config` wins. */
export async function createCloudWatchClient(config: CloudWatchClientConfig = {}): Promise<CloudWatchClient> {
  const { CloudWatchClient } = await loadCloudWatchSdk();
  return new CloudWatchClient({ ...CLIENT_RETRY, ...config });
}

/** Default clients, kept across warm Lambda invocations (connection reuse), one per region/endpoint override. */
const defaultClients = new Map<string, Promise<CloudWatchClient>>();

function defaultClient(region: string | undefined, endpoint: string | undefined): Promise<CloudWatchClient> {
  const key = `${region ?? ''}|${endpoint ?? ''}`;
  let client = defaultClients.get(key);
  if (client === undefined) {
    const config: CloudWatchClientConfig = {};
    if (region !== undefined) config.region = region;
    if (endpoint !== undefined) config.endpoint = endpoint;
    client = createCloudWatchClient(config);
    defaultClients.set(key, client);
  }
  return client;
}

// ---------------------------------------------------------------------------------------------------------
// Splitting

/**
 * Bytes the datum adds to a PutMetricData JSON body (awsJson1_0, timestamps as epoch seconds), plus its comma.
 * An upper estimate: the SDK writes the same keys, and a fractional epoch has at most ~20 characters.
 */
export function estimateDatumBytes(d: MetricDatum): number {
  const { Timestamp, ...rest } = d;
  const json = JSON.stringify(rest);
  const timestampBytes = Timestamp === undefined ? 0 : '"Timestamp":,'.length + 20;
  return Buffer.byteLength(json, 'utf8') + timestampBytes + 1;
}

/** Bytes of a request body without its datums. */
export function envelopeBytes(namespace: string): number {
  return Buffer.byteLength(JSON.stringify({ Namespace: namespace, MetricData: [] }), 'utf8');
}

/**
 * Splits datums, in order, into requests of at most MAX_DATUMS_PER_REQUEST datums and at most `maxBytes` of
 * estimated body. Filling each request before opening the next gives the fewest requests an in-order split can
 * have (and the lower bound max(⌈n/1000⌉, ⌈bytes/limit⌉) whenever datums are of similar size, as they are here).
 */
export function planRequests(
  datums: readonly MetricDatum[],
  namespace: string,
  maxBytes: number = SAFE_REQUEST_BYTES,
  maxDatums: number = MAX_DATUMS_PER_REQUEST,
): MetricDatum[][] {
  const base = envelopeBytes(namespace);
  const batches: MetricDatum[][] = [];
  let current: MetricDatum[] = [];
  let bytes = base;
  for (const d of datums) {
    const size = estimateDatumBytes(d);
    if (current.length > 0 && (current.length >= maxDatums || bytes + size > maxBytes)) {
      batches.push(current);
      current = [];
      bytes = base;
    }
    current.push(d);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

// ---------------------------------------------------------------------------------------------------------
// Publishing

function ref(d: MetricDatum): DatumRef {
  return { metricName: d.MetricName ?? '', dimensions: dimensionRecord(d) };
}

/** `<name>: <message>` on one line, plus the HTTP status and the attempts the SDK made when it knows them. */
function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const text = `${error.name}: ${error.message}`.split('\n')[0] as string;
  const meta = (error as { $metadata?: { httpStatusCode?: number; attempts?: number } }).$metadata;
  const details: string[] = [];
  if (meta?.httpStatusCode !== undefined) details.push(`HTTP ${meta.httpStatusCode}`);
  if (meta?.attempts !== undefined && meta.attempts > 1) details.push(`after ${meta.attempts} attempts`);
  return details.length === 0 ? text : `${text} (${details.join(', ')})`;
}

export async function publishDatums(datums: readonly MetricDatum[], options: PublishOptions): Promise<PublishReport> {
  const namespaceProblems = validateNamespace(options.namespace);
  if (namespaceProblems.length > 0) {
    throw new TypeError(`CloudWatch namespace ${JSON.stringify(options.namespace)}: ${namespaceProblems.join('; ')}`);
  }
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new RangeError(`concurrency must be a whole number ≥ 1, got ${concurrency}`);

  const nowMs = (options.now ?? Date.now)();
  const valid: MetricDatum[] = [];
  const invalid: InvalidDatum[] = [];
  for (const d of datums) {
    const problems = validateDatum(d, nowMs);
    if (problems.length === 0) valid.push(d);
    else invalid.push({ ...ref(d), reason: problems.join('; ') });
  }

  const batches = planRequests(valid, options.namespace);
  const errors: Array<string | undefined> = batches.map(() => undefined);
  if (batches.length > 0) {
    const { PutMetricDataCommand } = await loadCloudWatchSdk();
    const client = options.client ?? (await defaultClient(options.region, options.endpoint));
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let i = next++; i < batches.length; i = next++) {
        try {
          await client.send(new PutMetricDataCommand({ Namespace: options.namespace, MetricData: batches[i] }));
        } catch (error) {
          // Permanent for this request (the SDK has retried what was retryable): carry on with the others.
          errors[i] = describeError(error);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, batches.length) }, worker));
  }

  const failed: FailedDatum[] = [];
  let published = 0;
  batches.forEach((batch, i) => {
    const error = errors[i];
    if (error === undefined) published += batch.length;
    else for (const d of batch) failed.push({ ...ref(d), error });
  });
  return {
    total: datums.length,
    requests: batches.length,
    failedRequests: errors.filter((e) => e !== undefined).length,
    published,
    failed,
    invalid,
  };
}
