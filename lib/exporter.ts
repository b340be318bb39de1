/**
 * Wiring shared by every entry point (local server, CLI, Lambda handlers): configuration, secrets,
 * logging, the single-flight collection cache and the HTTP app. No I/O happens here until asked.
 */
import { SingleFlightCache } from './outputs/http/cache.js';
import type { Collection } from './collection.js';
import { collect, type CollectOptions } from './collector.js';
import { checkMetricsToken, loadConfig, type Config } from './config.js';
import { ExporterApp } from './outputs/http/app.js';
import { Logger, logLevelFromEnv } from './log.js';
import { SecretSource, type ParameterReader } from './secrets.js';
import { VERSION } from './version.js';
import { KnownDetails } from './details/known-details.js';
import { WorkflowNames } from './aggregate/workflow-names.js';

export interface Exporter {
  readonly config: Config;
  readonly logger: Logger;
  readonly apiKey: SecretSource;
  readonly metricsToken: SecretSource;
  readonly cache: SingleFlightCache<Collection>;
  readonly app: ExporterApp;
  /** The API is the embedded demo. */
  readonly demo: boolean;
  /** The details remembered across this process's collections (lib/details/known-details.ts). */
  readonly details: KnownDetails;
  /** One collection now, bypassing the cache (`collect`, the scheduled Lambda). */
  collectNow(options?: CollectOptions): Promise<Collection>;
}

export interface ExporterOptions {
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly config?: Config;
  readonly logger?: Logger;
  readonly readParameter?: ParameterReader;
  readonly maxBodyBytes?: number;
  readonly now?: () => number;
  /** The API is the embedded demo: outputs are labelled as such. */
  readonly demo?: boolean;
}

export function createExporter(options: ExporterOptions = {}): Exporter {
  const env = options.env ?? process.env;
  const config = options.config ?? loadConfig(env);
  const logger = options.logger ?? new Logger({ level: logLevelFromEnv(env) });
  logger.addSecret(config.apiKey);
  logger.addSecret(config.metricsToken);
  const read = options.readParameter;
  const apiKey = new SecretSource({
    variable: 'UNSTRUCTURED_API_KEY',
    direct: config.apiKey,
    param: config.apiKeyParam,
    ...(read && { read }),
  });
  const metricsToken = new SecretSource({
    variable: 'METRICS_TOKEN',
    direct: config.metricsToken,
    param: config.metricsTokenParam,
    ...(read && { read }),
  });
  const now = options.now ?? Date.now;
  const details = new KnownDetails();
  const workflowNames = new WorkflowNames();
  const collectNow = (collectOptions?: CollectOptions) =>
    collect({ config, apiKey, logger, now, details, workflowNames }, collectOptions);
  const cache = new SingleFlightCache(() => collectNow(), { ttlMs: config.cacheTtlMs, now });
  const app = new ExporterApp({
    version: VERSION,
    demo: options.demo === true,
    collection: () => cache.get(),
    token: async () => {
      try {
        const token = await metricsToken.get();
        logger.addSecret(token);
        // A token read from SSM is checked when read: one a Bearer header cannot carry fails closed (503), logged.
        if (token !== undefined && config.metricsToken === undefined) checkMetricsToken('METRICS_TOKEN_PARAM', token);
        return token;
      } catch (error) {
        // The app answers 503 (fail closed); this line says why. ConfigError names the parameter, never a value.
        logger.error('cannot read the metrics token', {
          error: logger.scrub(error instanceof Error ? error.message : String(error)),
        });
        throw error;
      }
    },
    ...(options.maxBodyBytes !== undefined && { maxBodyBytes: options.maxBodyBytes }),
  });
  return { config, logger, apiKey, metricsToken, cache, app, collectNow, details, demo: options.demo === true };
}
