/**
 * Secrets (the API key, the /metrics token) come from the environment or, deployed, from SSM
 * Parameter Store at run time, so they never appear in the CloudFormation template.
 */
import { ConfigError } from './config.js';
import { whenMissing } from './common/optional-dependency.js';

/** Re-read SSM parameters this often so a rotated secret is picked up without a redeploy. */
export const SECRET_TTL_MS = 5 * 60 * 1000;

export type ParameterReader = (name: string) => Promise<string>;

/**
 * The SSM client package, named through a variable so bundlers leave the import alone: the Lambda runtime
 * ships it (serverless.yml keeps it out of the zip), npm installs it for the CLI (an optional dependency), and a /metrics bundle without
 * it is 60 KB instead of 680 KB, which is what a cold start has to read.
 */
const SSM_CLIENT_PACKAGE: string = '@aws-sdk/client-ssm';

/** The SSM SDK (an optional dependency): a MissingDependencyError when it is not installed. */
export function loadSsmSdk(): Promise<typeof import('@aws-sdk/client-ssm')> {
  return (import(SSM_CLIENT_PACKAGE) as Promise<typeof import('@aws-sdk/client-ssm')>).catch(
    whenMissing(SSM_CLIENT_PACKAGE, 'reading secrets from SSM (UNSTRUCTURED_API_KEY_PARAM, METRICS_TOKEN_PARAM)'),
  );
}

/** Reads a SecureString (or String) parameter with decryption; the SSM SDK is loaded only when needed. */
export const readSsmParameter: ParameterReader = async (name) => {
  const { SSMClient, GetParameterCommand } = await loadSsmSdk();
  const client = new SSMClient({});
  try {
    const out = await client.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
    const value = out.Parameter?.Value;
    if (value === undefined || value === '') throw new Error('the parameter has no value');
    return value;
  } finally {
    client.destroy();
  }
};

export class SecretSource {
  readonly #variable: string;
  readonly #direct: string | undefined;
  readonly #param: string | undefined;
  readonly #read: ParameterReader;
  readonly #now: () => number;
  #cached: { value: string; atMs: number } | undefined;

  constructor(options: {
    variable: string;
    direct: string | undefined;
    param: string | undefined;
    read?: ParameterReader;
    now?: () => number;
  }) {
    this.#variable = options.variable;
    this.#direct = options.direct;
    this.#param = options.param;
    this.#read = options.read ?? readSsmParameter;
    this.#now = options.now ?? Date.now;
  }

  get configured(): boolean {
    return this.#direct !== undefined || this.#param !== undefined;
  }

  /** The secret, or undefined when neither the variable nor its `_PARAM` twin is set. */
  async get(): Promise<string | undefined> {
    if (this.#direct !== undefined) return this.#direct;
    if (this.#param === undefined) return undefined;
    const now = this.#now();
    if (this.#cached !== undefined && now - this.#cached.atMs < SECRET_TTL_MS) return this.#cached.value;
    try {
      const value = await this.#read(this.#param);
      this.#cached = { value, atMs: now };
      return value;
    } catch (error) {
      // The error names the parameter, never a value.
      const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      throw new ConfigError(
        `${this.#variable}_PARAM`,
        `cannot read SSM parameter ${JSON.stringify(this.#param)}: ${reason}`,
      );
    }
  }
}
