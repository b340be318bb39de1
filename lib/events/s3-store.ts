/**
 * The state as one S3 object, with S3's conditional writes for optimistic concurrency:
 * - create: PutObject with `If-None-Match: *` (fails with 412 if the object exists);
 * - update: PutObject with `If-Match: <ETag read>` (fails with 412 if it changed, 404 if it was deleted);
 * - S3 answers 409 ConditionalRequestConflict when two conditional writes race: the loser is a conflict too.
 * S3 (not DynamoDB) because the state can exceed DynamoDB's 400 KB item limit (docs/events.md, "State").
 *
 * The SDK is imported lazily (only when the store is used), like the CloudWatch client.
 */
import type { GetObjectCommand, PutObjectCommand, S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import { whenMissing } from '../common/optional-dependency.js';
import { StateConflictError, type StateStore, type StoredState } from './store.js';

/** What the store needs of a client: a real S3Client, or a wrapper in tests. */
export interface S3ClientLike {
  send(command: GetObjectCommand | PutObjectCommand): Promise<unknown>;
}

interface GetOutput {
  readonly Body?: { transformToByteArray(): Promise<Uint8Array> };
  readonly ETag?: string;
}

/** The SDK's standard retries (as for CloudWatch): 5 attempts, backoff with jitter. */
export const S3_CLIENT_RETRY = { maxAttempts: 5, retryMode: 'standard' } as const;

export interface S3StateStoreOptions {
  readonly bucket: string;
  readonly key: string;
  /** Default: an S3Client from the SDK's standard environment, created on first use. */
  readonly client?: S3ClientLike;
}

/** The S3 SDK (an optional dependency): a MissingDependencyError when it is not installed. */
export function loadS3Sdk(): Promise<typeof import('@aws-sdk/client-s3')> {
  return import('@aws-sdk/client-s3').catch(
    whenMissing('@aws-sdk/client-s3', 'the finished-job events state in S3 (STATE_BUCKET)'),
  );
}

/**
 * An S3Client with the exporter's retry settings. With an endpoint override (AWS_ENDPOINT_URL[_S3]: moto,
 * LocalStack, MinIO) it uses path-style addressing, which those need; anything in `config` wins.
 */
export async function createS3Client(
  config: S3ClientConfig = {},
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<S3Client> {
  const { S3Client } = await loadS3Sdk();
  const overridden = Boolean(env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || config.endpoint);
  return new S3Client({ ...S3_CLIENT_RETRY, ...(overridden && { forcePathStyle: true }), ...config });
}

function errorStatus(error: unknown): { name: string; status: number | undefined } {
  const e = error as { name?: unknown; Code?: unknown; $metadata?: { httpStatusCode?: number } };
  return { name: typeof e?.name === 'string' ? e.name : String(e?.Code ?? ''), status: e?.$metadata?.httpStatusCode };
}

export class S3StateStore implements StateStore {
  readonly description: string;
  readonly #bucket: string;
  readonly #key: string;
  #client: Promise<S3ClientLike> | undefined;

  constructor(options: S3StateStoreOptions) {
    this.#bucket = options.bucket;
    this.#key = options.key;
    this.description = `s3://${options.bucket}/${options.key}`;
    if (options.client !== undefined) this.#client = Promise.resolve(options.client);
  }

  #getClient(): Promise<S3ClientLike> {
    this.#client ??= createS3Client().catch((error: unknown) => {
      this.#client = undefined;
      throw error;
    });
    return this.#client;
  }

  async read(): Promise<StoredState | undefined> {
    const client = await this.#getClient();
    const { GetObjectCommand } = await loadS3Sdk();
    try {
      const out = (await client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: this.#key }))) as GetOutput;
      if (out.ETag === undefined || out.Body === undefined)
        throw new Error(`${this.description}: GetObject answered without an ETag or a body`);
      return { bytes: await out.Body.transformToByteArray(), version: out.ETag };
    } catch (error) {
      const { name, status } = errorStatus(error);
      if (name === 'NoSuchKey' || status === 404) return undefined;
      throw error;
    }
  }

  async write(content: string | Uint8Array, expectedVersion: string | undefined): Promise<string> {
    const client = await this.#getClient();
    const { PutObjectCommand } = await loadS3Sdk();
    try {
      const out = (await client.send(
        new PutObjectCommand({
          Bucket: this.#bucket,
          Key: this.#key,
          Body: content,
          ContentType: 'application/json',
          ...(expectedVersion === undefined ? { IfNoneMatch: '*' } : { IfMatch: expectedVersion }),
        }),
      )) as { ETag?: string };
      if (out.ETag === undefined) throw new Error(`${this.description}: PutObject answered without an ETag`);
      return out.ETag;
    } catch (error) {
      const { name, status } = errorStatus(error);
      if (name === 'PreconditionFailed' || status === 412) {
        throw new StateConflictError(
          this.description,
          expectedVersion === undefined ? 'another run created it first' : 'another run changed it since it was read',
        );
      }
      if (name === 'ConditionalRequestConflict' || status === 409) {
        throw new StateConflictError(this.description, 'another run wrote it at the same time');
      }
      if (expectedVersion !== undefined && (name === 'NoSuchKey' || status === 404)) {
        throw new StateConflictError(this.description, 'it was deleted since it was read');
      }
      throw error;
    }
  }
}
