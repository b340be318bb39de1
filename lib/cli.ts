/**
 * Command line: `serve` (the long-running exporter, `npm start`) and `collect` (one collection to stdout
 * or to CloudWatch). Flags override the environment variables of the same meaning.
 */
import { parseArgs } from 'node:util';
import type { Collection } from './collection.js';
import { ConfigError, loadConfig, parseDurationSetting } from './config.js';
import { loadEventsConfig, type EventsConfig } from './events/config.js';
import type { StateStore } from './events/store.js';
import { createExporter, type Exporter } from './exporter.js';
import { Logger, logLevelFromEnv } from './log.js';
import { renderPrometheus } from './outputs/prometheus/render.js';
import { startServer } from './outputs/http/server.js';
import { renderTable } from './outputs/table.js';
import { VERSION } from './version.js';

const USAGE = `unstructured-jobs-exporter ${VERSION}

Usage:
  unstructured-jobs-exporter serve [--port 9464] [--host 0.0.0.0] [--runtime-window 24h]
  unstructured-jobs-exporter collect [--format prometheus|json|table] [--now ISO8601] [--runtime-window 24h]
  unstructured-jobs-exporter collect --sink cloudwatch [--state FILE]

serve    Serves /metrics (Prometheus), / (status page) and /healthz. With no UNSTRUCTURED_API_KEY
         (nor UNSTRUCTURED_API_KEY_PARAM) it runs an embedded demo with simulated jobs.
collect  Pulls once and prints the exposition text, the snapshot as JSON, or a table for people
         (--format table: what the status page shows); exits 1 if the pull fails.
         With --sink cloudwatch it publishes the CloudWatch metrics instead (AWS_REGION, the SDK's
         credential chain and AWS_ENDPOINT_URL apply) and prints what was published.
         With --state FILE (or STATE_BUCKET) it also publishes the jobs that finished since the last
         run (JobsFinished, JobRuntime), once each, keeping what was published in FILE (docs/events.md).

Configuration comes from environment variables (see README.md); flags override them.
`;

/** Exit codes: 0 ok, 1 the collection failed, 2 usage or configuration error. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

interface Io {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Record<string, string | undefined>;
}

const defaultIo: Io = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  env: process.env,
};

export async function main(argv: readonly string[], io: Io = defaultIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'serve':
        return await serve(rest, io);
      case 'collect':
        return await collectCommand(rest, io);
      case '--version':
      case 'version':
        io.stdout(`${VERSION}\n`);
        return EXIT.ok;
      case undefined:
      case '--help':
      case '-h':
      case 'help':
        io.stdout(USAGE);
        return command === undefined ? EXIT.usage : EXIT.ok;
      default:
        io.stderr(`error: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
        return EXIT.usage;
    }
  } catch (error) {
    // One line, no stack: configuration and usage errors name what to fix.
    const message = error instanceof Error ? error.message : String(error);
    io.stderr(`error: ${message}\n`);
    return EXIT.usage;
  }
}

function flagsToEnv(env: Io['env'], values: Record<string, string | boolean | undefined>): Record<string, string | undefined> {
  const out = { ...env };
  const map: Record<string, string> = { port: 'PORT', host: 'HOST', 'runtime-window': 'RUNTIME_WINDOW', 'max-workflows': 'MAX_WORKFLOWS' };
  for (const [flag, variable] of Object.entries(map)) {
    const value = values[flag];
    if (typeof value === 'string') {
      if (flag === 'runtime-window') parseDurationSetting('--runtime-window', value); // name the flag in the error
      out[variable] = value;
    }
  }
  return out;
}

async function serve(args: readonly string[], io: Io): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: { port: { type: 'string' }, host: { type: 'string' }, 'runtime-window': { type: 'string' }, 'max-workflows': { type: 'string' } },
    strict: true,
  });
  let env = flagsToEnv(io.env, values);
  const logger = new Logger({ level: logLevelFromEnv(env), write: (line) => io.stderr(`${line}\n`) });
  loadConfig(env); // validate before anything starts
  let demo: { url: string; apiKey: string; close(): Promise<void> } | undefined;
  if (!env.UNSTRUCTURED_API_KEY && !env.UNSTRUCTURED_API_KEY_PARAM) {
    const { startDemoApi } = await import('./demo-api.js');
    demo = await startDemoApi({});
    env = { ...env, UNSTRUCTURED_API_URL: demo.url, UNSTRUCTURED_API_KEY: demo.apiKey };
    logger.warn('no UNSTRUCTURED_API_KEY set: running the embedded DEMO with simulated jobs, not your account', {
      demoApi: demo.url,
    });
  }
  const exporter = createExporter({ env, logger });
  const { config } = exporter;
  const server = await startServer(exporter.app, { port: config.port, host: config.host, logger });
  logger.info('serving', {
    url: `${server.url}/metrics`,
    version: VERSION,
    auth: exporter.metricsToken.configured ? 'bearer token' : 'none',
    demo: demo !== undefined,
  });
  io.stderr(`unstructured-jobs-exporter ${VERSION} listening on ${server.url}/metrics${demo ? ' (demo data)' : ''}\n`);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info('shutting down', { signal });
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  await server.close();
  await demo?.close();
  return EXIT.ok;
}

async function collectCommand(args: readonly string[], io: Io): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      format: { type: 'string', default: 'prometheus' },
      sink: { type: 'string', default: 'stdout' },
      now: { type: 'string' },
      'runtime-window': { type: 'string' },
      'max-workflows': { type: 'string' },
      state: { type: 'string' },
    },
    strict: true,
  });
  const format = values.format;
  if (format !== 'prometheus' && format !== 'json' && format !== 'table') {
    throw new ConfigError('--format', `expected prometheus, json or table, got ${JSON.stringify(format)}`);
  }
  const sink = values.sink;
  if (sink !== 'stdout' && sink !== 'cloudwatch') {
    throw new ConfigError('--sink', `expected stdout or cloudwatch, got ${JSON.stringify(sink)}`);
  }
  let nowMs: number | undefined;
  if (values.now !== undefined) {
    nowMs = Date.parse(values.now);
    if (!/^\d{4}-\d{2}-\d{2}T/.test(values.now) || Number.isNaN(nowMs)) {
      throw new ConfigError('--now', `expected an ISO 8601 date-time like 2026-11-29T12:00:00Z, got ${JSON.stringify(values.now)}`);
    }
  }
  if (values.state !== undefined && sink !== 'cloudwatch') throw new ConfigError('--state', 'only applies with --sink cloudwatch');
  if (values.state !== undefined && values.state.trim() === '') throw new ConfigError('--state', 'expected a file path');
  const env = flagsToEnv(io.env, values);
  const logger = new Logger({ level: logLevelFromEnv(env), write: (line) => io.stderr(`${line}\n`) });
  // Logs go to stderr only when asked: stdout is the data, stderr carries the one-line error.
  const quiet = new Logger({ level: 'error', write: () => undefined });
  const exporter = createExporter({ env, logger: env.LOG_LEVEL ? logger : quiet });
  if (sink === 'cloudwatch') return pushToCloudWatch(exporter, env, values.state, nowMs, io);
  const collection: Collection = await exporter.collectNow(nowMs === undefined ? {} : { nowMs });
  if (!collection.ok) {
    io.stderr(`error: collection failed (${collection.errorKind}): ${collection.errorMessage}\n`);
    return EXIT.failed;
  }
  if (format === 'json') io.stdout(`${JSON.stringify(collection.snapshot, null, 2)}\n`);
  else if (format === 'table') io.stdout(renderTable(collection, { version: VERSION }));
  else io.stdout((await renderPrometheus(collection, { version: VERSION })).body); // one-shot: nothing to reuse
  return EXIT.ok;
}

/** Finished-job events for `collect --sink cloudwatch`: --state FILE, else STATE_BUCKET, else off. */
async function eventsSetup(env: Io['env'], statePath: string | undefined): Promise<{ config: EventsConfig; store: StateStore } | undefined> {
  const config = loadEventsConfig(env);
  if (statePath !== undefined) {
    const { FileStateStore } = await import('./events/file-store.js');
    return { config, store: new FileStateStore(statePath) };
  }
  if (config.stateBucket !== undefined) {
    const { S3StateStore } = await import('./events/s3-store.js');
    return { config, store: new S3StateStore({ bucket: config.stateBucket, key: config.stateKey }) };
  }
  return undefined;
}

/** `collect --sink cloudwatch`: the scheduled Lambda's push cycle, from the command line. */
async function pushToCloudWatch(exporter: Exporter, env: Io['env'], statePath: string | undefined, nowMs: number | undefined, io: Io): Promise<number> {
  const events = await eventsSetup(env, statePath);
  const runNowMs = events === undefined ? nowMs : (nowMs ?? Date.now());
  const [{ pushOutputs }, { reportToTerminal, runPushCycle }] = await Promise.all([import('./outputs/push-outputs.js'), import('./outputs/push.js')]);
  const outputs = pushOutputs({ config: exporter.config, nowMs: runNowMs, logger: exporter.logger, ...(events !== undefined && { events }) });
  const run = await runPushCycle({ collect: exporter.collectNow, ...(runNowMs !== undefined && { nowMs: runNowMs }), outputs });
  return reportToTerminal(run, io) ? EXIT.ok : EXIT.failed;
}
