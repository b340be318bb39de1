/**
 * The remote-write output (lib/outputs/remote-write/) against a test receiver on 127.0.0.1 that decodes what it gets
 * (test/support/remote-write-receiver.ts): the series are those of the exposition /metrics serves, read by the
 * tests' own parser; the spec's headers; requests split; bearer and basic auth (direct and from SSM); retries on
 * 5xx, 429 and network errors within the deadline; 4xx not retried, with the receiver's message bounded and
 * scrubbed; what was not delivered named exactly; a failed pull pushed as unstructured_up 0.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Aggregator } from '../lib/aggregate/aggregator.js';
import type { Collection } from '../lib/collection.js';
import { loadConfig } from '../lib/config.js';
import { Logger } from '../lib/log.js';
import { renderPrometheus } from '../lib/outputs/prometheus/render.js';
import { pushOutputs } from '../lib/outputs/push-outputs.js';
import { reportToLog, runPushCycle } from '../lib/outputs/push.js';
import { RemoteWriteError, remoteWriteOutput } from '../lib/outputs/remote-write/output.js';
import {
  MAX_RECEIVER_MESSAGE_CHARS,
  MAX_SERIES_PER_REQUEST,
  REQUEST_CONCURRENCY,
} from '../lib/outputs/remote-write/sender.js';
import { exposedSeries } from '../lib/outputs/remote-write/series.js';
import { loadRemoteWriteSettings, type RemoteWriteSettings } from '../lib/outputs/remote-write/settings.js';
import { parseExposition } from './support/exposition.js';
import { job } from './support/jobs.js';
import { freePort } from './support/ports.js';
import { startReceiver, type ReceivedSeries, type Receiver } from './support/remote-write-receiver.js';

const VERSION = '9.9.9-test';
const TOKEN = 'rw-token-3b8e61f0c2d94a7e';
const PASSWORD = 'rw-password-9d2c4e7a1b';

/** A collection of `workflows` workflows with finished and pending jobs, evaluated at `nowMs`. */
function collectionOf(workflows: number, nowMs: number): Collection {
  const config = loadConfig({ MAX_WORKFLOWS: String(Math.max(workflows, 1)) });
  const aggregator = new Aggregator({
    nowMs,
    runtimeWindowSeconds: config.runtimeWindowSeconds,
    maxWorkflows: config.maxWorkflows,
    histogramBuckets: config.histogramBuckets,
    quantiles: config.quantiles,
  });
  for (let w = 0; w < workflows; w++) {
    const ids = { workflowId: `wf-${w}`, workflowName: w === 0 ? 'quote " back\\slash\nnewline ü' : `Workflow ${w}` };
    aggregator.add(job({ ...ids, createdAtMs: nowMs - 3_600_000, runtimeSeconds: 42.5 + w }));
    aggregator.add(job({ ...ids, status: 'FAILED', createdAtMs: nowMs - 7_200_000, runtimeSeconds: 7 }));
    aggregator.add(job({ ...ids, status: 'IN_PROGRESS', createdAtMs: nowMs - 600_000, runtimeSeconds: undefined }));
  }
  const snapshot = aggregator.snapshot();
  aggregator.release();
  return { ok: true, snapshot, durationSeconds: 0.125, finishedAtMs: nowMs };
}

function settingsFor(url: string, env: Record<string, string> = {}): RemoteWriteSettings {
  return loadRemoteWriteSettings({
    REMOTE_WRITE_URL: url,
    REMOTE_WRITE_INSTANCE: 'test-instance',
    REMOTE_WRITE_DEADLINE: '5s',
    REMOTE_WRITE_TIMEOUT: '1s',
    ...env,
  }) as RemoteWriteSettings;
}

function logLines(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: new Logger({ write: (line) => lines.push(line) }), lines };
}

/** `name{sorted labels} value` of one received series, for comparing sets. */
function keyOf(labels: ReadonlyArray<readonly [string, string]>, value: number): string {
  const sorted = [...labels].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `${JSON.stringify(sorted)} ${Number.isNaN(value) ? 'NaN' : value}`;
}

function receivedKeys(receiver: Receiver): string[] {
  return receiver.requests.flatMap((r) =>
    (r.series as ReceivedSeries[]).map((s) => keyOf(s.labels, (s.samples[0] as { value: number }).value)),
  );
}

/** What a scrape of the same collection reads, with the job and instance labels a scrape would add. */
async function scrapedKeys(collection: Collection, job: string, instance: string): Promise<string[]> {
  const rendered = await renderPrometheus(collection, { version: VERSION });
  const samples = parseExposition(rendered.body);
  rendered.release();
  return samples.map((s) =>
    keyOf([['__name__', s.name], ...Object.entries(s.labels), ['job', job], ['instance', instance]], s.value),
  );
}

describe('the exposition read back (series.ts)', () => {
  it("reads every sample as the tests' own parser does, whatever the workflow names hold", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.string({ unit: fc.constantFrom('a', 'ü', '"', '\\', '\n', '}', ',', '=', ' ', '数', '🚀') }), {
          minLength: 1,
          maxLength: 4,
        }),
        async (names) => {
          // Prepare
          const nowMs = Date.now();
          const aggregator = new Aggregator({
            nowMs,
            runtimeWindowSeconds: 86_400,
            maxWorkflows: 10,
            histogramBuckets: [1, 10],
            quantiles: [0.5],
          });
          names.forEach((name, w) =>
            aggregator.add(job({ workflowId: `wf-${w}`, workflowName: name, createdAtMs: nowMs - 60_000 })),
          );
          const collection: Collection = {
            ok: true,
            snapshot: aggregator.snapshot(),
            durationSeconds: 1,
            finishedAtMs: nowMs,
          };
          aggregator.release();
          const rendered = await renderPrometheus(collection, { version: VERSION });

          // Act
          const read = [...exposedSeries(rendered.bytes)].map((s) => ({
            name: s.name,
            labels: Object.fromEntries(s.labels),
            value: s.value,
          }));

          // Assess
          expect(read).toEqual(parseExposition(rendered.body));
          rendered.release();
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('remote write to a test receiver', () => {
  let receiver: Receiver;
  beforeEach(async () => {
    receiver = await startReceiver();
  });
  afterEach(async () => {
    await receiver.close();
  });

  it('sends exactly the series of the exposition, labels sorted, timestamped at the collection, with the spec headers', async () => {
    // Prepare
    const nowMs = Date.now();
    const collection = collectionOf(3, nowMs);
    const { logger } = logLines();
    const output = remoteWriteOutput({ settings: settingsFor(receiver.url), logger, version: VERSION });

    // Act
    const report = await output.publish(collection);

    // Assess
    expect(report.problem).toBeUndefined();
    expect(receiver.requests).toHaveLength(1);
    const request = receiver.requests[0] as (typeof receiver.requests)[number];
    expect(request.headers['content-encoding']).toBe('snappy');
    expect(request.headers['content-type']).toBe('application/x-protobuf');
    expect(request.headers['x-prometheus-remote-write-version']).toBe('0.1.0');
    expect(request.headers.authorization).toBeUndefined();
    const expected = await scrapedKeys(collection, 'unstructured-jobs-exporter', 'test-instance');
    expect(receivedKeys(receiver).sort()).toEqual(expected.sort());
    for (const s of request.series as ReceivedSeries[]) {
      const names = s.labels.map(([n]) => n);
      expect(names).toEqual([...names].sort());
      expect(s.samples).toEqual([{ value: expect.anything(), timestampMs: nowMs }]);
    }
    expect(report.summary).toMatchObject({
      remoteWrite: { series: expected.length, delivered: expected.length, undelivered: 0, requests: 1, retries: 0 },
    });
  });

  it(`splits a large collection into requests of at most ${MAX_SERIES_PER_REQUEST} series, all delivered`, async () => {
    // Prepare
    const collection = collectionOf(60, Date.now());
    const { logger } = logLines();
    const output = remoteWriteOutput({ settings: settingsFor(receiver.url), logger, version: VERSION });

    // Act
    const report = await output.publish(collection);

    // Assess
    const expected = await scrapedKeys(collection, 'unstructured-jobs-exporter', 'test-instance');
    expect(expected.length).toBeGreaterThan(2 * MAX_SERIES_PER_REQUEST);
    expect(receiver.requests.length).toBe(Math.ceil(expected.length / MAX_SERIES_PER_REQUEST));
    for (const r of receiver.requests) expect(r.series?.length).toBeLessThanOrEqual(MAX_SERIES_PER_REQUEST);
    expect(receivedKeys(receiver).sort()).toEqual(expected.sort());
    expect(report.problem).toBeUndefined();
  });

  it('pushes a failed pull as unstructured_up 0 and its error kind, no job numbers', async () => {
    // Prepare
    const failed: Collection = {
      ok: false,
      errorKind: 'http_5xx',
      errorMessage: 'the API answered 503',
      durationSeconds: 2,
      finishedAtMs: Date.now(),
    };
    const { logger } = logLines();
    const output = remoteWriteOutput({ settings: settingsFor(receiver.url), logger, version: VERSION });

    // Act
    const report = await output.publish(failed);

    // Assess
    const series = receiver.requests.flatMap((r) => r.series ?? []);
    const byName = new Map(series.map((s) => [s.labels.find(([n]) => n === '__name__')?.[1], s]));
    expect(byName.get('unstructured_up')?.samples[0]?.value).toBe(0);
    expect(byName.get('unstructured_collect_error')?.labels).toContainEqual(['kind', 'http_5xx']);
    expect([...byName.keys()].some((n) => n === 'unstructured_jobs')).toBe(false);
    expect(report.afterFailedPull).toBe('pushed unstructured_up 0 by remote write');
    expect(report.problem).toBeUndefined();
  });

  it('sends the bearer token, read from SSM by REMOTE_WRITE_BEARER_TOKEN_PARAM, and never logs it', async () => {
    // Prepare
    receiver.check = (r) => (r.headers.authorization === `Bearer ${TOKEN}` ? undefined : { status: 401 });
    const { logger, lines } = logLines();
    const reads: string[] = [];
    const output = remoteWriteOutput({
      settings: settingsFor(receiver.url, { REMOTE_WRITE_BEARER_TOKEN_PARAM: '/rw/token' }),
      logger,
      version: VERSION,
      readParameter: async (name) => {
        reads.push(name);
        return TOKEN;
      },
    });

    // Act
    const report = await output.publish(collectionOf(2, Date.now()));

    // Assess
    expect(reads).toEqual(['/rw/token']);
    expect(report.problem).toBeUndefined();
    expect(receiver.requests[0]?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    logger.error('a line quoting the token', { error: `header was Bearer ${TOKEN}` });
    expect(lines.join('\n')).not.toContain(TOKEN.slice(0, 10));
  });

  it('a bearer token that cannot be read from SSM sends nothing, names the parameter and reports every series', async () => {
    // Prepare
    const { logger } = logLines();
    const output = remoteWriteOutput({
      settings: settingsFor(receiver.url, { REMOTE_WRITE_BEARER_TOKEN_PARAM: '/rw/missing' }),
      logger,
      version: VERSION,
      readParameter: async () => {
        throw new Error('ParameterNotFound');
      },
    });

    // Act
    const report = await output.publish(collectionOf(2, Date.now()));

    // Assess
    expect(receiver.requests).toHaveLength(0);
    const series = (report.summary.remoteWrite as { series: number }).series;
    expect(report.summary).toMatchObject({ remoteWrite: { delivered: 0, undelivered: series, requests: 0 } });
    expect(report.problem?.message).toContain('no credentials: ConfigError: REMOTE_WRITE_BEARER_TOKEN_PARAM');
    expect(report.problem?.message).toContain('/rw/missing');
  });

  it('sends basic auth, and a wrong password is refused once (401 stops the run): every series reported undelivered', async () => {
    // Prepare
    const good = `Basic ${Buffer.from(`pusher:${PASSWORD}`).toString('base64')}`;
    receiver.check = (r) =>
      r.headers.authorization === good
        ? undefined
        : { status: 401, body: `bad credentials ${r.headers.authorization}` };
    const { logger } = logLines();
    const collection = collectionOf(40, Date.now());
    const right = remoteWriteOutput({
      settings: settingsFor(receiver.url, { REMOTE_WRITE_USERNAME: 'pusher', REMOTE_WRITE_PASSWORD: PASSWORD }),
      logger,
      version: VERSION,
    });
    const wrong = remoteWriteOutput({
      settings: settingsFor(receiver.url, { REMOTE_WRITE_USERNAME: 'pusher', REMOTE_WRITE_PASSWORD: `${PASSWORD}x` }),
      logger,
      version: VERSION,
    });

    // Act
    const accepted = await right.publish(collection);
    const acceptedRequests = receiver.requests.length;
    const refused = await wrong.publish(collection);

    // Assess
    expect(accepted.problem).toBeUndefined();
    expect(acceptedRequests).toBeGreaterThan(1);
    // The run stops at the first 401 (the other workers' requests already in flight may also have been sent).
    expect(receiver.requests.length - acceptedRequests).toBeLessThanOrEqual(4);
    const series = (accepted.summary.remoteWrite as { series: number }).series;
    expect(refused.summary).toMatchObject({ remoteWrite: { series, delivered: 0, undelivered: series } });
    expect(refused.problem?.message).toContain('HTTP 401');
    expect(refused.problem?.message).toContain('bad credentials Basic [REDACTED]');
    expect(refused.problem?.message).not.toContain(Buffer.from(`pusher:${PASSWORD}x`).toString('base64').slice(0, 8));
    expect(refused.problem?.error).toBeInstanceOf(RemoteWriteError);
    expect(refused.problem?.log.fields).toMatchObject({ undelivered: series, undeliveredByMetric: expect.any(Object) });
  });

  it('retries 5xx, 429 (after Retry-After) and a dropped connection, then delivers everything', async () => {
    // Prepare
    receiver.answers.push(
      { status: 503, body: 'overloaded' },
      { status: 429, headers: { 'retry-after': '0' }, body: 'slow down' },
      { destroy: true },
    );
    const { logger } = logLines();
    const collection = collectionOf(2, Date.now());
    const output = remoteWriteOutput({ settings: settingsFor(receiver.url), logger, version: VERSION });

    // Act
    const report = await output.publish(collection);

    // Assess
    expect(report.problem).toBeUndefined();
    expect(receiver.requests).toHaveLength(4);
    expect(report.summary).toMatchObject({ remoteWrite: { requests: 4, retries: 3, undelivered: 0 } });
    const bodies = new Set(receiver.requests.map((r) => r.bytes.toString('base64')));
    expect(bodies.size).toBe(1); // the same request, resent
    expect(receivedKeys({ ...receiver, requests: receiver.requests.slice(-1) }).sort()).toEqual(
      (await scrapedKeys(collection, 'unstructured-jobs-exporter', 'test-instance')).sort(),
    );
  });

  it('does not retry a 400, quotes the receiver bounded and scrubbed, still sends the other requests, and names what was lost', async () => {
    // Prepare
    const long = `out of order sample; token ${TOKEN}; ${'x'.repeat(5000)}`;
    receiver.answers.push({ status: 400, body: long });
    const { logger } = logLines();
    const collection = collectionOf(40, Date.now());
    const output = remoteWriteOutput({
      settings: settingsFor(receiver.url, { REMOTE_WRITE_BEARER_TOKEN: TOKEN }),
      logger,
      version: VERSION,
    });

    // Act
    const report = await output.publish(collection);

    // Assess
    const lost = receiver.requests[0]?.series as ReceivedSeries[];
    const total = (report.summary.remoteWrite as { series: number }).series;
    expect(receiver.requests.length).toBe(Math.ceil(total / MAX_SERIES_PER_REQUEST)); // no retry of the 400
    expect(report.summary).toMatchObject({ remoteWrite: { undelivered: lost.length, delivered: total - lost.length } });
    const message = report.problem?.message as string;
    expect(message).toContain(`${lost.length} of ${total} series not delivered`);
    expect(message).toContain('HTTP 400');
    expect(message).toContain('out of order sample; token [REDACTED]');
    expect(message).not.toContain(TOKEN);
    expect(message.length).toBeLessThan(MAX_RECEIVER_MESSAGE_CHARS + 2000);
    // Exactly the series of the refused request, counted by metric.
    const byMetric: Record<string, number> = {};
    for (const s of lost) {
      const name = s.labels.find(([n]) => n === '__name__')?.[1] as string;
      byMetric[name] = (byMetric[name] ?? 0) + 1;
    }
    expect(report.problem?.log.fields.undeliveredByMetric).toEqual(byMetric);
    // The first of them named, in order.
    const named = report.problem?.log.fields.undeliveredSeries as string[];
    expect(named).toHaveLength(10);
    expect(named.map((n) => n.split('{')[0])).toEqual(
      lost.slice(0, 10).map((s) => s.labels.find(([n]) => n === '__name__')?.[1]),
    );
    expect(message).toContain(`not delivered: ${named.join(' ')} and ${lost.length - 10} more`);
  });

  it('a receiver echoing the token in its status line, with no body, is quoted scrubbed (report, thrown error, log)', async () => {
    // Prepare
    receiver.check = (request) => ({ status: 400, reason: `refused ${String(request.headers.authorization)}` });
    const { logger, lines } = logLines();
    const output = remoteWriteOutput({
      settings: settingsFor(receiver.url, { REMOTE_WRITE_BEARER_TOKEN: TOKEN }),
      logger,
      version: VERSION,
    });

    // Act
    const report = await output.publish(collectionOf(1, Date.now()));
    let thrown: unknown;
    try {
      reportToLog({ collection: collectionOf(1, Date.now()), reports: [report] }, logger, {
        message: 'cloudwatch publish',
        fields: {},
      });
    } catch (error) {
      thrown = error;
    }

    // Assess
    expect(report.problem?.message).toContain('HTTP 400');
    expect(report.problem?.message).toContain('refused Bearer [REDACTED]');
    expect(thrown).toBeInstanceOf(RemoteWriteError);
    for (const text of [report.problem?.message, (thrown as Error).message, lines.join('\n')])
      expect(text).not.toContain(TOKEN.slice(-10));
  });

  it('never follows a redirect to another host with the token, and does not retry it: the push stops', async () => {
    // Prepare: the receiver points elsewhere (another loopback port), where a request would be recorded
    const elsewhere = await startReceiver();
    receiver.check = () => ({ status: 307, headers: { location: elsewhere.url } });
    const { logger } = logLines();
    const collection = collectionOf(40, Date.now());
    const output = remoteWriteOutput({
      settings: settingsFor(receiver.url, { REMOTE_WRITE_BEARER_TOKEN: TOKEN }),
      logger,
      version: VERSION,
    });

    // Act
    const report = await output.publish(collection).finally(() => elsewhere.close());

    // Assess
    expect(elsewhere.requests).toEqual([]);
    const series = (report.summary.remoteWrite as { series: number }).series;
    const batches = Math.ceil(series / MAX_SERIES_PER_REQUEST);
    expect(batches).toBeGreaterThan(1);
    // Each request at most once (no retry); those not yet in flight when the first answer came are not sent.
    expect(receiver.requests.length).toBeLessThanOrEqual(Math.min(batches, REQUEST_CONCURRENCY));
    expect(report.summary).toMatchObject({
      remoteWrite: { delivered: 0, undelivered: series, retries: 0, requests: receiver.requests.length },
    });
    expect(report.problem?.message).toContain('HTTP 307');
    expect(report.problem?.message).toContain('redirect not followed');
  });

  it('gives up at the deadline when the secret cannot be read in time (SSM never answers): nothing sent', async () => {
    // Prepare
    const { logger } = logLines();
    const settings = { ...settingsFor(receiver.url, { REMOTE_WRITE_BEARER_TOKEN_PARAM: '/rw/slow' }), deadlineMs: 500 };
    const output = remoteWriteOutput({
      settings,
      logger,
      version: VERSION,
      readParameter: () => new Promise<string>(() => undefined),
    });

    // Act: the push must end by itself; the bound here is far above its deadline, only so a hang fails the test
    let bound: ReturnType<typeof setTimeout> | undefined;
    const report = await Promise.race([
      output.publish(collectionOf(1, Date.now())),
      new Promise<'hung'>((resolve) => (bound = setTimeout(() => resolve('hung'), 20 * settings.deadlineMs))),
    ]);
    clearTimeout(bound);

    // Assess
    expect(report).not.toBe('hung');
    const { summary, problem } = report as Exclude<typeof report, 'hung'>;
    expect(receiver.requests).toHaveLength(0);
    const series = (summary.remoteWrite as { series: number }).series;
    expect(summary).toMatchObject({ remoteWrite: { delivered: 0, undelivered: series, requests: 0 } });
    expect(problem?.message).toContain('deadline reached');
  });

  it("stops at the run's end (the Lambda's remaining time) before its own deadline, and says so", async () => {
    // Prepare: a receiver that never answers, REMOTE_WRITE_DEADLINE 15 s, but the run must end in 0.8 s
    receiver.check = () => ({ hang: true });
    const { logger } = logLines();
    const settings = { ...settingsFor(receiver.url), deadlineMs: 15_000, timeoutMs: 400 };
    const started = Date.now();
    const output = remoteWriteOutput({ settings, logger, version: VERSION, runEndsAtMs: started + 800 });

    // Act
    const report = await output.publish(collectionOf(1, started));

    // Assess
    expect(Date.now() - started).toBeLessThan(settings.deadlineMs / 3); // far from its own deadline
    expect(report.problem?.message).toMatch(/deadline reached/);
    const series = (report.summary.remoteWrite as { series: number }).series;
    expect(report.summary).toMatchObject({ remoteWrite: { undelivered: series, delivered: 0 } });
  });

  it('gives up at the deadline on a receiver that never answers, and on one that is not there', async () => {
    // Prepare
    receiver.check = () => ({ hang: true });
    const { logger } = logLines();
    const collection = collectionOf(1, Date.now());
    const settings = { ...settingsFor(receiver.url), deadlineMs: 1500, timeoutMs: 400 };
    const hanging = remoteWriteOutput({ settings, logger, version: VERSION });
    const absent = remoteWriteOutput({
      settings: { ...settings, url: `http://127.0.0.1:${await freePort()}/api/v1/write` },
      logger,
      version: VERSION,
    });

    // Act
    const started = Date.now();
    const hung = await hanging.publish(collection);
    const hungMs = Date.now() - started;
    const refused = await absent.publish(collection);

    // Assess
    expect(receiver.requests.length).toBeGreaterThan(1); // timed out, retried
    expect(hungMs).toBeLessThan(settings.deadlineMs + 2000); // the deadline holds (with room for a loaded machine)
    expect(hung.problem?.message).toMatch(/deadline reached after: .*(TimeoutError|aborted)/);
    expect(refused.problem?.message).toMatch(/deadline reached after: .*ECONNREFUSED/);
    const series = (hung.summary.remoteWrite as { series: number }).series;
    expect(hung.summary).toMatchObject({ remoteWrite: { undelivered: series, delivered: 0 } });
  });

  it('in the push cycle, CloudWatch throwing and remote write failing too, on a failed pull: both logged, the run throws', async () => {
    // Prepare: the pull failed, CloudWatch cannot be called, the receiver is down (5xx until the deadline)
    receiver.check = () => ({ status: 503, body: 'receiver down' });
    const { logger, lines } = logLines();
    const nowMs = Date.now();
    const failed: Collection = {
      ok: false,
      errorKind: 'timeout',
      errorMessage: 'the pull timed out',
      durationSeconds: 40,
      finishedAtMs: nowMs,
    };
    const outputs = pushOutputs({
      config: loadConfig({}),
      nowMs,
      logger,
      cloudWatchClient: async () => {
        throw new Error('the CloudWatch client cannot be made');
      },
      remoteWrite: { settings: { ...settingsFor(receiver.url), deadlineMs: 800, timeoutMs: 300 }, version: VERSION },
    });

    // Act
    const run = await runPushCycle({ collect: async () => failed, nowMs, outputs });
    let thrown: unknown;
    try {
      reportToLog(run, logger, { message: 'cloudwatch publish', fields: {} });
    } catch (error) {
      thrown = error;
    }

    // Assess: what was tried was the failed pull's series alone (unstructured_up 0), and both failures are told
    const pushed = receiver.requests.flatMap((r) => r.series as ReceivedSeries[]);
    const up = pushed.filter((s) => s.labels.some(([n, v]) => n === '__name__' && v === 'unstructured_up'));
    expect(up.length).toBeGreaterThan(0);
    expect(up.every((s) => s.samples[0]?.value === 0)).toBe(true);
    expect(pushed.some((s) => s.labels.some(([n, v]) => n === '__name__' && v === 'unstructured_jobs'))).toBe(false);
    expect((thrown as Error).message).toBe('the CloudWatch client cannot be made');
    const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logged.map((l) => [l.level, l.message])).toEqual([
      ['error', 'cloudwatch failed'],
      ['error', 'remote write incomplete'],
    ]);
    expect(String(logged[1]?.firstError)).toMatch(/deadline reached after: HTTP 503 .*receiver down/);
    expect(run.reports[1]?.afterFailedPull).toBe('pushed unstructured_up 0 by remote write');
  });

  it('in the push cycle, a CloudWatch output that throws does not stop remote write; both are reported and the run throws', async () => {
    // Prepare
    const { logger, lines } = logLines();
    const nowMs = Date.now();
    const outputs = pushOutputs({
      config: loadConfig({}),
      nowMs,
      logger,
      cloudWatchClient: async () => {
        throw new Error('the CloudWatch client cannot be made');
      },
      remoteWrite: { settings: settingsFor(receiver.url), version: VERSION },
    });

    // Act
    const run = await runPushCycle({ collect: async () => collectionOf(2, nowMs), nowMs, outputs });
    let thrown: unknown;
    try {
      reportToLog(run, logger, { message: 'cloudwatch publish', fields: {} });
    } catch (error) {
      thrown = error;
    }

    // Assess
    expect(outputs.map((o) => o.name)).toEqual(['cloudwatch', 'remote-write']);
    expect(receiver.requests.length).toBe(1);
    expect(run.reports[1]?.problem).toBeUndefined();
    expect((thrown as Error).message).toBe('the CloudWatch client cannot be made');
    const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logged[0]).toMatchObject({ level: 'error', message: 'cloudwatch failed', remoteWrite: { undelivered: 0 } });
  });
});
