import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, pollUntil } from './ports.js';

export interface ScrapeTarget {
  readonly job: string;
  /** host:port */
  readonly address: string;
  readonly bearerToken?: string;
}

export interface RunningPrometheus {
  readonly url: string;
  /** Runs an instant query; returns the result vector. */
  query(expr: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>>;
  /** Polls a query until it returns at least one series (first scrapes land ~5 s after start). */
  waitFor(
    expr: string,
    deadlineMs?: number,
  ): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>>;
  /**
   * Prometheus' own "now" (epoch seconds, the time an instant query is evaluated at). A Go binary, Prometheus
   * keeps the real clock when the tests run under libfaketime: ranges and offsets must be taken from here.
   */
  now(): Promise<number>;
  stop(): Promise<void>;
}

/** Starts the real Prometheus (Debian package) on a free loopback port, scraping the given targets every second. */
export async function startPrometheus(
  targets: readonly ScrapeTarget[],
  extraConfig = '',
  /** More command-line flags, e.g. --web.enable-remote-write-receiver. */
  flags: readonly string[] = [],
): Promise<RunningPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'uje-prom-'));
  const port = await freePort();
  const scrapeConfigs = targets
    .map(
      (t) => `  - job_name: ${JSON.stringify(t.job)}
    scrape_interval: 1s
    scrape_timeout: 1s
    static_configs: [{ targets: [${JSON.stringify(t.address)}] }]${
      t.bearerToken ? `\n    authorization: { type: Bearer, credentials: ${JSON.stringify(t.bearerToken)} }` : ''
    }`,
    )
    .join('\n');
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global: { scrape_interval: 1s, evaluation_interval: 1s }\n${extraConfig}\nscrape_configs:\n${scrapeConfigs}\n`,
  );
  const child: ChildProcess = spawn(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.console.templates=/dev/null',
      '--web.console.libraries=/dev/null',
      ...flags,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr?.on('data', (d: Buffer) => {
    log = (log + d.toString()).slice(-20_000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('error', (e) => {
    log += `\nspawn failed: ${e.message} (install the Debian package prometheus)`;
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(killer);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await pollUntil(
      'Prometheus to be ready',
      async () => ((await fetch(`${url}/-/ready`)).ok ? true : undefined),
      15_000,
      100,
    );
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}\n${log}`);
  }
  const query = async (expr: string) => {
    const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await res.json()) as {
      status: string;
      error?: string;
      data?: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
    };
    if (body.status !== 'success') throw new Error(`query ${expr} failed: ${body.error}`);
    return body.data?.result ?? [];
  };
  const now = async () => {
    const res = await fetch(`${url}/api/v1/query?query=time()`);
    const body = (await res.json()) as {
      status: string;
      error?: string;
      data?: { resultType: string; result: [number, string] };
    };
    if (body.status !== 'success' || body.data?.resultType !== 'scalar')
      throw new Error(`query time() failed: ${body.error ?? JSON.stringify(body)}`);
    return body.data.result[0];
  };
  return {
    url,
    query,
    now,
    waitFor: (expr, deadlineMs = 20_000) =>
      pollUntil(
        `series for ${expr}`,
        async () => {
          const r = await query(expr);
          return r.length > 0 ? r : undefined;
        },
        deadlineMs,
        250,
      ),
    stop,
  };
}
