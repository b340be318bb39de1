/**
 * The Authorization of a remote-write request: a bearer token, basic auth (each given directly or read from SSM by
 * its `_PARAM` twin, re-read every SECRET_TTL_MS), or SigV4 for Amazon Managed Service for Prometheus (service `aps`,
 * the process' own AWS credentials by the SDK's default chain, signed with the SDK's own signer). Every secret is
 * registered with the logger, which scrubs it from every line and every receiver message quoted.
 */
import { whenMissing } from '../../common/optional-dependency.js';
import { ConfigError } from '../../config.js';
import type { Logger } from '../../log.js';
import { type ParameterReader, SecretSource } from '../../secrets.js';
import { REMOTE_WRITE_VARIABLES, type RemoteWriteAuth } from './settings.js';

/** Headers to add to one request (its URL and body are what SigV4 signs). */
export type Authorizer = (request: {
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
}) => Promise<Record<string, string>>;

/** The signing name of Amazon Managed Service for Prometheus. */
export const AMP_SIGNING_SERVICE = 'aps';

export function authorizer(auth: RemoteWriteAuth, logger: Logger, read?: ParameterReader): Authorizer {
  switch (auth.kind) {
    case 'none':
      return async () => ({});
    case 'bearer': {
      const source = new SecretSource({
        variable: REMOTE_WRITE_VARIABLES.bearerToken,
        direct: auth.token,
        param: auth.tokenParam,
        ...(read && { read }),
      });
      return async () => {
        const token = (await source.get()) as string;
        logger.addSecret(token);
        return { authorization: `Bearer ${token}` };
      };
    }
    case 'basic': {
      const source = new SecretSource({
        variable: REMOTE_WRITE_VARIABLES.password,
        direct: auth.password,
        param: auth.passwordParam,
        ...(read && { read }),
      });
      return async () => {
        const password = (await source.get()) as string;
        const encoded = Buffer.from(`${auth.username}:${password}`, 'utf8').toString('base64');
        logger.addSecret(password);
        logger.addSecret(encoded);
        return { authorization: `Basic ${encoded}` };
      };
    }
    case 'sigv4': {
      const sign = sigv4Authorizer(auth.region);
      return async (request) => {
        const headers = await sign(request);
        // Temporary credentials (a Lambda's role) travel as x-amz-security-token: a receiver may echo it back.
        for (const [name, value] of Object.entries(headers))
          if (name.toLowerCase() === 'x-amz-security-token') logger.addSecret(value);
        return headers;
      };
    }
  }
}

/**
 * The signer packages are optional dependencies, like the AWS SDK clients (lib/common/optional-dependency.ts): the
 * imports are literal, so that the Lambda bundler inlines them (the runtime's own SDK does not promise these
 * packages at top level), while the CLI bundle keeps them external and loads them only for SigV4.
 */
const SIGNER_PACKAGE = '@smithy/signature-v4';
const CREDENTIALS_PACKAGE = '@aws-sdk/credential-provider-node';
const HASH_PACKAGE = '@smithy/hash-node';
const NEEDED_FOR = `remote write with SigV4 (${REMOTE_WRITE_VARIABLES.sigv4Region})`;

interface Signer {
  sign(request: unknown): Promise<{ headers: Record<string, string> }>;
}

export interface SigV4Modules {
  readonly SignatureV4: new (options: {
    service: string;
    region: string;
    credentials: unknown;
    sha256: unknown;
  }) => Signer;
  readonly defaultProvider: () => unknown;
  readonly Hash: new (algorithm: string, secret?: unknown) => unknown;
}

/** The three SDK packages SigV4 needs; a MissingDependencyError names the one missing. */
export async function loadSigV4Modules(): Promise<SigV4Modules> {
  const [signer, credentials, hash] = await Promise.all([
    import('@smithy/signature-v4').catch(whenMissing(SIGNER_PACKAGE, NEEDED_FOR)),
    import('@aws-sdk/credential-provider-node').catch(whenMissing(CREDENTIALS_PACKAGE, NEEDED_FOR)),
    import('@smithy/hash-node').catch(whenMissing(HASH_PACKAGE, NEEDED_FOR)),
  ]);
  return {
    SignatureV4: signer.SignatureV4 as unknown as SigV4Modules['SignatureV4'],
    defaultProvider: credentials.defaultProvider as SigV4Modules['defaultProvider'],
    Hash: hash.Hash as unknown as SigV4Modules['Hash'],
  };
}

/**
 * `collect --sink remote-write` with SigV4 checks before the pull that the default chain finds credentials (as
 * `--sink cloudwatch` does): none is a configuration error named at start, not a pull followed by a refused push.
 */
export async function checkSigV4Credentials(modules: () => Promise<SigV4Modules> = loadSigV4Modules): Promise<void> {
  const { defaultProvider } = await modules();
  try {
    await (defaultProvider() as () => Promise<unknown>)();
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ConfigError(
      'AWS credentials',
      `none found by the SDK's default chain for ${REMOTE_WRITE_VARIABLES.sigv4Region} (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, SSO, web identity, container or instance role): ${reason}`,
    );
  }
}

/** SigV4 over the request as sent (method, host, path, the spec's headers, the body's SHA-256). */
export function sigv4Authorizer(region: string, modules: () => Promise<SigV4Modules> = loadSigV4Modules): Authorizer {
  let signer: Promise<Signer> | undefined;
  const make = async (): Promise<Signer> => {
    const { SignatureV4, defaultProvider, Hash } = await modules();
    // The default chain (environment, web identity, the Lambda's role …) caches and refreshes the credentials.
    return new SignatureV4({
      service: AMP_SIGNING_SERVICE,
      region,
      credentials: defaultProvider(),
      sha256: Hash.bind(null, 'sha256'),
    });
  };
  return async ({ url, headers, body }) => {
    signer ??= make().catch((error: unknown) => {
      signer = undefined;
      throw error;
    });
    const signed = await (await signer).sign({
      method: 'POST',
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port !== '' && { port: Number(url.port) }),
      path: url.pathname,
      query: {},
      headers: { ...headers, host: url.host },
      body,
    });
    const out: Record<string, string> = {};
    for (const [name, value] of Object.entries(signed.headers)) if (name.toLowerCase() !== 'host') out[name] = value;
    return out;
  };
}
