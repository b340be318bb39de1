/**
 * Command line: `serve` (the long-running exporter, `npm start`) and `collect` (one collection to stdout
 * or to CloudWatch). Flags override the environment variables of the same meaning.
 */
import { detailsJson } from './outputs/details-view.js';
import { parseArgs } from 'node:util';
import type { Collection } from './collection.js';
import {
  ACCOUNT_VARIABLES,
  ConfigError,
  loadConfig,
  parseDurationSetting,
  requireApiKey,
  wantsDemo,
} from './config.js';
import { loadEventsConfig, type EventsConfig } from './events/config.js';
import type { StateStore } from './events/store.js';
import { createExporter, type Exporter } from './exporter.js';
import { Logger, logLevelFromEnv } from './log.js';
import { loadCloudWatchSdk } from './outputs/cloudwatch/publisher.js';
import { startServer } from './outputs/http/server.js';
import { renderPrometheus } from './outputs/prometheus/render.js';
import { renderTable } from './outputs/table.js';
import { loadSsmSdk } from './secrets.js';
import { VERSION } from './version.js';

const SERVE_USAGE = `Usage: unstructured-jobs-exporter serve [options]

Serves /metrics (Prometheus), / (status page) and /healthz until SIGTERM or SIGINT.
With none of UNSTRUCTURED_API_KEY, UNSTRUCTURED_API_KEY_PARAM and UNSTRUCTURED_API_URL set it runs the
embedded demo (simulated jobs, labelled demo="true"); a key variable set but empty, or an API URL without
a key, is a configuration error (exit 2).

Options:
  --port N                 listen port (PORT, default 9464; 0 picks a free one)
  --host ADDRESS           listen address (HOST, default 0.0.0.0)
  --runtime-window DUR     window of the recent-runtime summary, with a unit: 90m, 24h, 7d (RUNTIME_WINDOW)
  --max-workflows N        workflows exported before the rest fold into "other" (MAX_WORKFLOWS, default 50)
  --demo                   serve the embedded demo, ignoring the UNSTRUCTURED_API_* variables
  -h, --help               this help
`;

const COLLECT_USAGE = `Usage: unstructured-jobs-exporter collect [options]

Pulls the job list once and prints the exposition text, the snapshot as JSON, or a table for people
(--format table: what the status page shows). With --sink cloudwatch it publishes the CloudWatch metrics
instead (AWS_REGION, the SDK's credential chain and AWS_ENDPOINT_URL apply; both are checked before the
pull) and prints what was published. With --state FILE (or STATE_BUCKET) it also publishes the jobs that
finished since the last run (JobsFinished, JobRuntime), once each, keeping what was published in FILE.
With --dry-run it publishes nothing and needs no AWS access: it renders as the deployed collect function
(MAX_WORKFLOWS 20 and its other defaults, events on, unless set) and prints the custom metrics and the
monthly cost it would create (docs/cloudwatch.md). With --sink remote-write it pushes the same series as
/metrics to REMOTE_WRITE_URL by Prometheus remote write (auth: REMOTE_WRITE_BEARER_TOKEN, REMOTE_WRITE_USERNAME
and REMOTE_WRITE_PASSWORD, or REMOTE_WRITE_SIGV4_REGION for Amazon Managed Service for Prometheus; docs/remote-write.md)
and prints what was delivered.

Options:
  --format F               prometheus (default), json or table (stdout sink only)
  --sink S                 stdout (default), cloudwatch or remote-write
  --state FILE             with --sink cloudwatch: finished-job events, state kept in FILE (docs/events.md)
  --dry-run                with --sink cloudwatch: no AWS call; print metrics and cost instead (--demo allowed)
  --schedule RATE          with --dry-run: the collect schedule, e.g. 'rate(1 minute)' (default rate(5 minutes))
  --now ISO8601            evaluate at this instant (ages, runtime window), e.g. 2026-11-29T12:00:00Z
  --runtime-window DUR     window of the recent-runtime summary, with a unit: 90m, 24h, 7d (RUNTIME_WINDOW)
  --max-workflows N        workflows exported before the rest fold into "other" (MAX_WORKFLOWS, default 50)
  --demo                   collect from the embedded demo (simulated jobs) instead of an account
  -h, --help               this help

Exit status: 0 ok, 1 the pull or a publish failed, 2 usage or configuration error.
`;

const USAGE = `unstructured-jobs-exporter ${VERSION}

Usage:
  unstructured-jobs-exporter serve [--port 9464] [--host 0.0.0.0] [--runtime-window 24h] [--max-workflows N] [--demo]
  unstructured-jobs-exporter collect [--format prometheus|json|table] [--now ISO8601] [--runtime-window 24h]
                                     [--max-workflows N] [--demo]
  unstructured-jobs-exporter collect --sink cloudwatch [--state FILE] [--now ISO8601]
  unstructured-jobs-exporter collect --sink cloudwatch --dry-run [--schedule RATE] [--max-workflows N] [--demo]
  unstructured-jobs-exporter collect --sink remote-write [--now ISO8601] [--demo]
  unstructured-jobs-exporter version
  unstructured-jobs-exporter COMMAND --help

serve    Serves /metrics (Prometheus), / (status page) and /healthz. With no account configured it runs an
         embedded demo with simulated jobs.
collect  Pulls once and prints the metrics (or publishes them to CloudWatch, or pushes them by remote write).

Configuration comes from environment variables (see README.md); flags override them.
Exit status: 0 ok, 1 the pull or a publish failed, 2 usage or configuration error.
`;

/** Exit codes: 0 ok, 1 the collection failed, 2 usage or configuration error. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

interface Io {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Record<string, string | undefined>;
}

const defaultIo: Io = {
  stdout: (t) => {
    if (!stdoutClosed) process.stdout.write(t);
  },
  stderr: (t) => process.stderr.write(t),
  env: process.env,
};

/** Set once the reader of stdout has gone (`collect | head -1`): the rest of the output is dropped quietly. */
let stdoutClosed = false;

function quietOnClosedStdout(): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    stdoutClosed = true;
  });
}

export async function main(argv: readonly string[], io: Io = defaultIo): Promise<number> {
  if (io === defaultIo) quietOnClosedStdout();
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

/** Options every command takes; each overrides the environment variable of the same meaning. */
const COMMON_OPTIONS = {
  'runtime-window': { type: 'string' },
  'max-workflows': { type: 'string' },
  demo: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const FLAG_VARIABLES: Readonly<Record<string, string>> = {
  port: 'PORT',
  host: 'HOST',
  'runtime-window': 'RUNTIME_WINDOW',
  'max-workflows': 'MAX_WORKFLOWS',
};

function flagsToEnv(
  env: Io['env'],
  values: Record<string, string | boolean | undefined>,
): Record<string, string | undefined> {
  const out = { ...env };
  for (const [flag, variable] of Object.entries(FLAG_VARIABLES)) {
    const value = values[flag];
    if (typeof value === 'string') {
      if (flag === 'runtime-window') parseDurationSetting('--runtime-window', value); // name the flag in the error
      out[variable] = value;
    }
  }
  return out;
}

/** The environment without the account variables: `--demo` ignores them. */
function withoutAccount(env: Io['env']): Record<string, string | undefined> {
  const out = { ...env };
  for (const variable of ACCOUNT_VARIABLES) delete out[variable];
  return out;
}

async function startDemo(
  env: Io['env'],
): Promise<{ env: Record<string, string | undefined>; close(): Promise<void>; url: string }> {
  const { startDemoApi } = await import('./demo-api.js');
  const demo = await startDemoApi({});
  return {
    env: { ...env, UNSTRUCTURED_API_URL: demo.url, UNSTRUCTURED_API_KEY: demo.apiKey },
    close: () => demo.close(),
    url: demo.url,
  };
}

async function serve(args: readonly string[], io: Io): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: { port: { type: 'string' }, host: { type: 'string' }, ...COMMON_OPTIONS },
    strict: true,
    allowPositionals: false,
  });
  if (values.help === true) {
    io.stdout(SERVE_USAGE);
    return EXIT.ok;
  }
  let env = flagsToEnv(values.demo === true ? withoutAccount(io.env) : io.env, values);
  const logger = new Logger({ level: logLevelFromEnv(env), write: (line) => io.stderr(`${line}\n`) });
  loadConfig(env); // validate before anything starts
  await loadOptionalSdks(env, { metricsToken: true, cloudwatch: false });
  let demo: Awaited<ReturnType<typeof startDemo>> | undefined;
  if (wantsDemo(env)) {
    demo = await startDemo(env);
    env = demo.env;
    logger.warn(
      'DEMO: no account configured (UNSTRUCTURED_API_KEY unset): serving simulated jobs from the embedded demo API, labelled demo="true"',
      {
        demoApi: demo.url,
      },
    );
  }
  const exporter = createExporter({ env, logger, demo: demo !== undefined });
  const { config } = exporter;
  const limits = { maxConnections: config.maxConnections, sendTimeoutMs: config.sendTimeoutMs };
  const server = await startServer(exporter.app, { port: config.port, host: config.host, logger, limits });
  logger.info('serving', {
    url: `${server.url}/metrics`,
    version: VERSION,
    auth: exporter.metricsToken.configured ? 'bearer token' : 'none',
    demo: demo !== undefined,
  });
  io.stderr(
    `unstructured-jobs-exporter ${VERSION} listening on ${server.url}/metrics${demo ? ' (DEMO: simulated jobs, not your account)' : ''}\n`,
  );
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
      state: { type: 'string' },
      'dry-run': { type: 'boolean' },
      schedule: { type: 'string' },
      ...COMMON_OPTIONS,
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help === true) {
    io.stdout(COLLECT_USAGE);
    return EXIT.ok;
  }
  const format = values.format;
  if (format !== 'prometheus' && format !== 'json' && format !== 'table') {
    throw new ConfigError('--format', `expected prometheus, json or table, got ${JSON.stringify(format)}`);
  }
  const sink = values.sink;
  if (sink !== 'stdout' && sink !== 'cloudwatch' && sink !== 'remote-write') {
    throw new ConfigError('--sink', `expected stdout, cloudwatch or remote-write, got ${JSON.stringify(sink)}`);
  }
  let nowMs: number | undefined;
  if (values.now !== undefined) {
    nowMs = Date.parse(values.now);
    if (!/^\d{4}-\d{2}-\d{2}T/.test(values.now) || Number.isNaN(nowMs)) {
      throw new ConfigError(
        '--now',
        `expected an ISO 8601 date-time like 2026-11-29T12:00:00Z, got ${JSON.stringify(values.now)}`,
      );
    }
  }
  if (values.state !== undefined && sink !== 'cloudwatch')
    throw new ConfigError('--state', 'only applies with --sink cloudwatch');
  if (values.state !== undefined && values.state.trim() === '')
    throw new ConfigError('--state', 'expected a file path');
  const demoWanted = values.demo === true;
  const dryRun = values['dry-run'] === true;
  if ((dryRun || values.schedule !== undefined) && sink !== 'cloudwatch')
    throw new ConfigError(dryRun ? '--dry-run' : '--schedule', 'only applies with --sink cloudwatch');
  if (values.schedule !== undefined && !dryRun) throw new ConfigError('--schedule', 'only applies with --dry-run');
  if (dryRun && values.state !== undefined)
    throw new ConfigError('--state', 'not with --dry-run: a dry run reads and writes no state');
  if (demoWanted && sink === 'cloudwatch' && !dryRun)
    throw new ConfigError(
      '--demo',
      'not with --sink cloudwatch (only with --dry-run): simulated jobs would land in your CloudWatch account',
    );
  let env = flagsToEnv(demoWanted ? withoutAccount(io.env) : io.env, values);
  if (dryRun) env = (await import('./outputs/cloudwatch/cost.js')).withDeployedDefaults(env);
  loadConfig(env); // configuration errors first, before anything starts
  if (!demoWanted) requireApiKey(env, ', or pass --demo to collect from the embedded demo');
  await loadOptionalSdks(env, { metricsToken: false, cloudwatch: sink === 'cloudwatch' && !dryRun });
  const logger = new Logger({ level: logLevelFromEnv(env), write: (line) => io.stderr(`${line}\n`) });
  // Logs go to stderr only when asked: stdout is the data, stderr carries the one-line error.
  const quiet = new Logger({ level: 'error', write: () => undefined });
  const events = sink === 'cloudwatch' && !dryRun ? await eventsSetup(env, values.state) : undefined;
  if (sink === 'cloudwatch' && !dryRun) {
    (await import('./outputs/cloudwatch/settings.js')).loadCloudWatchSettings(env, { eventsOn: false }); // a bad value is named before the pull
    const { checkAwsConfiguration } = await import('./outputs/cloudwatch/preflight.js');
    await checkAwsConfiguration();
  }
  // Remote write: its settings and the packages it will load, checked before the pull.
  const remoteWrite = sink === 'remote-write' ? await remoteWriteSetup(env) : undefined;
  const demo = demoWanted ? await startDemo(env) : undefined;
  if (demo !== undefined) env = demo.env;
  try {
    if (remoteWrite !== undefined)
      return await pushByRemoteWrite(
        env,
        remoteWrite,
        { nowMs, demo: demo !== undefined, logger: env.LOG_LEVEL ? logger : quiet },
        io,
      );
    const run: CollectRun = {
      format,
      sink,
      nowMs,
      demo: demo !== undefined,
      events,
      logger: env.LOG_LEVEL ? logger : quiet,
    };
    return dryRun ? await dryRunOnce(env, { ...run, schedule: values.schedule }, io) : await collectOnce(env, run, io);
  } finally {
    await demo?.close();
  }
}

interface CollectRun {
  readonly format: 'prometheus' | 'json' | 'table';
  readonly sink: 'stdout' | 'cloudwatch' | 'remote-write';
  readonly nowMs: number | undefined;
  readonly demo: boolean;
  readonly events: CliEvents | undefined;
  readonly logger: Logger;
}

async function collectOnce(env: Io['env'], run: CollectRun, io: Io): Promise<number> {
  const { format, sink, nowMs } = run;
  const exporter = createExporter({ env, logger: run.logger, demo: run.demo });
  if (sink === 'cloudwatch') return pushToCloudWatch(exporter, env, run.events, nowMs, io);
  const collection: Collection = await exporter.collectNow(nowMs === undefined ? {} : { nowMs });
  if (!collection.ok) {
    io.stderr(`error: collection failed (${collection.errorKind}): ${collection.errorMessage}\n`);
    return EXIT.failed;
  }
  // The demo's JSON says so in its first field; an account's snapshot is printed as it is.
  if (format === 'json') {
    // The outcomes of job details (when on) under `details`, after the snapshot's own fields.
    const details = detailsJson(collection);
    const out = { ...(run.demo && { demo: true }), ...collection.snapshot, ...(details !== undefined && { details }) };
    io.stdout(`${JSON.stringify(out, null, 2)}\n`);
  } else if (format === 'table') io.stdout(renderTable(collection, { version: VERSION, demo: run.demo }));
  else io.stdout((await renderPrometheus(collection, { version: VERSION, demo: run.demo })).body); // one-shot: nothing to reuse
  return EXIT.ok;
}

/**
 * Loads now the optional AWS SDK clients (package.json optionalDependencies) this command will use, so that an
 * install without them (`npm install --omit=optional`) fails at start with a MissingDependencyError naming the
 * package (exit 2, a configuration problem), not on every scrape or after a pull.
 */
async function loadOptionalSdks(
  env: Io['env'],
  uses: { readonly metricsToken: boolean; readonly cloudwatch: boolean },
): Promise<void> {
  const config = loadConfig(env);
  const apiKeyFromSsm = config.apiKey === undefined && config.apiKeyParam !== undefined;
  const tokenFromSsm = uses.metricsToken && config.metricsToken === undefined && config.metricsTokenParam !== undefined;
  if (apiKeyFromSsm || tokenFromSsm) await loadSsmSdk();
  if (uses.cloudwatch) await loadCloudWatchSdk();
}

/** `collect --sink cloudwatch --dry-run` (lib/outputs/cloudwatch/dry-run.ts): no AWS call, the cost on stdout. */
async function dryRunOnce(
  env: Io['env'],
  run: CollectRun & { readonly schedule: string | undefined },
  io: Io,
): Promise<number> {
  const { dryRun } = await import('./outputs/cloudwatch/dry-run.js');
  const exporter = createExporter({ env, logger: run.logger, demo: run.demo });
  const { collection, summary } = await dryRun(exporter, {
    env,
    ...(run.nowMs !== undefined && { nowMs: run.nowMs }),
    ...(run.schedule !== undefined && { schedule: run.schedule }),
  });
  if (!collection.ok) {
    io.stderr(`error: collection failed (${collection.errorKind}): ${collection.errorMessage}\n`);
    return EXIT.failed;
  }
  io.stdout(`${JSON.stringify(summary, null, 2)}\n`);
  return EXIT.ok;
}

interface CliEvents {
  readonly config: EventsConfig;
  readonly store: StateStore;
}

/** Finished-job events for `collect --sink cloudwatch`: --state FILE, else STATE_BUCKET, else off. */
async function eventsSetup(env: Io['env'], statePath: string | undefined): Promise<CliEvents | undefined> {
  const config = loadEventsConfig(env);
  if (statePath !== undefined) {
    const { FileStateStore } = await import('./events/file-store.js');
    return { config, store: new FileStateStore(statePath) };
  }
  if (config.stateBucket !== undefined) {
    const { S3StateStore, loadS3Sdk } = await import('./events/s3-store.js');
    await loadS3Sdk(); // before the pull, like loadOptionalSdks
    return { config, store: new S3StateStore({ bucket: config.stateBucket, key: config.stateKey }) };
  }
  return undefined;
}

/** `collect --sink cloudwatch`: the scheduled Lambda's push cycle (outputs/push.ts), from the command line. */
async function pushToCloudWatch(
  exporter: Exporter,
  env: Io['env'],
  events: CliEvents | undefined,
  nowMs: number | undefined,
  io: Io,
): Promise<number> {
  // With events, the run needs its "now" before the pull: the events' horizon is measured from it.
  const runNowMs = events === undefined ? nowMs : (nowMs ?? Date.now());
  const [{ pushOutputs }, { reportToTerminal, runPushCycle }, { loadCloudWatchSettings }] = await Promise.all([
    import('./outputs/push-outputs.js'),
    import('./outputs/push.js'),
    import('./outputs/cloudwatch/settings.js'),
  ]);
  const cloudWatchMetrics = loadCloudWatchSettings(env, { eventsOn: events !== undefined });
  const outputs = pushOutputs({
    config: exporter.config,
    nowMs: runNowMs,
    logger: exporter.logger,
    cloudWatchMetrics,
    ...(events !== undefined && { events }),
  });
  const run = await runPushCycle({
    collect: exporter.collectNow,
    ...(runNowMs !== undefined && { nowMs: runNowMs }),
    outputs,
  });
  return reportToTerminal(run, io) ? EXIT.ok : EXIT.failed;
}

/** `collect --sink remote-write`: the settings (REMOTE_WRITE_*), and the optional packages they need, loaded now. */
async function remoteWriteSetup(
  env: Io['env'],
): Promise<import('./outputs/remote-write/settings.js').RemoteWriteSettings> {
  const { loadRemoteWriteSettings } = await import('./outputs/remote-write/settings.js');
  const settings = loadRemoteWriteSettings(env);
  if (settings === undefined)
    throw new ConfigError('REMOTE_WRITE_URL', 'not set; --sink remote-write pushes to it (docs/remote-write.md)');
  const { auth } = settings;
  if (auth.kind === 'sigv4') await (await import('./outputs/remote-write/auth.js')).checkSigV4Credentials();
  if ((auth.kind === 'bearer' && auth.token === undefined) || (auth.kind === 'basic' && auth.password === undefined))
    await loadSsmSdk();
  return settings;
}

/** `collect --sink remote-write`: the push cycle (outputs/push.ts) with the remote-write output alone. */
async function pushByRemoteWrite(
  env: Io['env'],
  settings: import('./outputs/remote-write/settings.js').RemoteWriteSettings,
  run: { readonly nowMs: number | undefined; readonly demo: boolean; readonly logger: Logger },
  io: Io,
): Promise<number> {
  const exporter = createExporter({ env, logger: run.logger, demo: run.demo });
  const [{ pushOutputs }, { reportToTerminal, runPushCycle }] = await Promise.all([
    import('./outputs/push-outputs.js'),
    import('./outputs/push.js'),
  ]);
  const outputs = pushOutputs({
    config: exporter.config,
    logger: exporter.logger,
    cloudWatch: false,
    remoteWrite: { settings, version: VERSION, demo: run.demo },
  });
  const cycle = await runPushCycle({
    collect: exporter.collectNow,
    ...(run.nowMs !== undefined && { nowMs: run.nowMs }),
    outputs,
  });
  return reportToTerminal(cycle, io) ? EXIT.ok : EXIT.failed;
}
