/**
 * The push cycle: one collection, published to every push output in turn, then one report. The scheduled
 * Lambda (functions/collect.ts) and `collect --sink cloudwatch` (cli.ts) both run it; they differ only in how
 * they report (a log line and a thrown error, or a JSON line, stderr and an exit code).
 *
 *   collect  one pull; each output's `onJob` sees every valid job of it (no second pull)
 *   publish  output by output, in order: the snapshot before the finished-job events, so that a problem with a
 *            later output never holds an earlier one back
 *   report   reportToLog (the Lambda) or reportToTerminal (the CLI)
 *
 * Which outputs a run has, in which order: push-outputs.ts (adding an output is one line there).
 */
import type { Collection } from '../collection.js';
import type { CollectOptions } from '../collector.js';
import type { Logger } from '../log.js';
import type { Job } from '../records/job.js';

/** Something every collection is pushed to (CloudWatch, the finished-job events …). */
export interface PushOutput {
  /** Names the output in messages. */
  readonly name: string;
  /** Sees every valid job of the pull, in response order, duplicates included (the collector's onJob). */
  readonly onJob?: (job: Job) => void;
  /**
   * Called once before the pull: what the output reads first (the finished-job events read their state, so that
   * onJob keeps only the jobs it has not seen, and the details they have published are not requested again:
   * CollectOptions.detailsSettled). Returns what it adds to the collection's options ({} for nothing). Never throws: a failure is
   * the output's to report in `publish`.
   */
  readonly prepare?: () => Promise<Pick<CollectOptions, 'detailsSettled'>>;
  /**
   * Publishes one collection, a failed one too (each output decides what a failed pull means for it).
   * Whatever the destination refuses is a `problem` in the report, not an exception: the outputs after this
   * one still run. Throws only for what no later run would fix by itself (a malformed CloudWatch namespace,
   * no AWS SDK), which ends the cycle at once.
   */
  publish(collection: Collection): Promise<PushReport>;
}

export interface PushReport {
  /** Fields this output adds to the run's summary (the Lambda's result and log line, the CLI's JSON line). */
  readonly summary: Readonly<Record<string, unknown>>;
  /** What this output published for a failed pull, told after the CLI's error line (`published CollectorUp 0`). */
  readonly afterFailedPull?: string;
  /** Set when something was not published. */
  readonly problem?: PushProblem;
}

export interface PushProblem {
  /** One line for people: the CLI prints `error: <message>`. */
  readonly message: string;
  /** The scheduled run's log line (level error). */
  readonly log: { readonly message: string; readonly fields: Readonly<Record<string, unknown>> };
  /** What the scheduled run throws, so that Lambda's own Errors metric fires. */
  readonly error: unknown;
}

export interface PushCycle {
  /** One collection (Exporter.collectNow). */
  readonly collect: (options: CollectOptions) => Promise<Collection>;
  /** "now" of the collection; default the collector's clock. */
  readonly nowMs?: number;
  /** In publishing order; the first is the run's sink (see reportToLog). */
  readonly outputs: readonly PushOutput[];
}

export interface PushRun {
  readonly collection: Collection;
  /** Parallel to the cycle's outputs. */
  readonly reports: readonly PushReport[];
}

export async function runPushCycle(cycle: PushCycle): Promise<PushRun> {
  const hooks = cycle.outputs.flatMap((o) => (o.onJob === undefined ? [] : [o.onJob]));
  const onJob = hooks.length <= 1 ? hooks[0] : (job: Job) => hooks.forEach((hook) => hook(job));
  const prepared: Pick<CollectOptions, 'detailsSettled'>[] = [];
  for (const output of cycle.outputs) if (output.prepare !== undefined) prepared.push(await output.prepare());
  const collection = await cycle.collect({
    ...Object.assign({}, ...prepared),
    ...(cycle.nowMs !== undefined && { nowMs: cycle.nowMs }),
    ...(onJob !== undefined && { onJob }),
  });
  const reports: PushReport[] = [];
  for (const output of cycle.outputs) reports.push(await output.publish(collection));
  return { collection, reports };
}

/** Every output's summary fields, in output order. */
export function pushSummary(run: PushRun): Record<string, unknown> {
  return Object.assign({}, ...run.reports.map((r) => r.summary)) as Record<string, unknown>;
}

/**
 * The scheduled run's report: one line for the run (`<message>` at info, with every output's summary; the
 * first output's problem turns it into that problem's error line), one error line for each later output's
 * problem; then the first problem's error is thrown. A failed pull alone does not throw: the outputs published
 * what it means (CollectorUp 0), and throwing would only make Lambda retry a pull that is failing.
 */
export function reportToLog(
  run: PushRun,
  logger: Logger,
  line: { readonly message: string; readonly fields: Record<string, unknown> },
): Record<string, unknown> {
  const summary = pushSummary(run);
  const [first, ...rest] = run.reports;
  if (first?.problem === undefined) logger.info(line.message, { ...line.fields, ...summary });
  else logger.error(first.problem.log.message, { ...line.fields, ...summary, ...first.problem.log.fields });
  for (const report of rest) {
    if (report.problem !== undefined)
      logger.error(report.problem.log.message, { ...line.fields, ...report.problem.log.fields });
  }
  const problem = run.reports.find((r) => r.problem !== undefined)?.problem;
  if (problem !== undefined) throw problem.error;
  return summary;
}

/**
 * Summary fields the CLI's JSON line leaves out: it tells a failed pull on stderr instead, and its line has
 * kept the fields it always had (the Lambda's result has these too).
 */
const CLI_OMITTED_FIELDS: ReadonlySet<string> = new Set(['errorKind', 'collectionSeconds']);

/**
 * The CLI's report: the summary as one JSON line on stdout, then on stderr one `error: …` line for a failed
 * pull and one for each output's problem. True when the pull succeeded and every output published everything.
 */
export function reportToTerminal(
  run: PushRun,
  io: { readonly stdout: (text: string) => void; readonly stderr: (text: string) => void },
): boolean {
  const line = Object.fromEntries(Object.entries(pushSummary(run)).filter(([field]) => !CLI_OMITTED_FIELDS.has(field)));
  io.stdout(`${JSON.stringify(line)}\n`);
  let ok = true;
  const c = run.collection;
  if (!c.ok) {
    const notes = run.reports
      .flatMap((r) => (r.afterFailedPull === undefined ? [] : [`; ${r.afterFailedPull}`]))
      .join('');
    io.stderr(`error: collection failed (${c.errorKind}): ${c.errorMessage}${notes}\n`);
    ok = false;
  }
  for (const report of run.reports) {
    if (report.problem === undefined) continue;
    io.stderr(`error: ${report.problem.message}\n`);
    ok = false;
  }
  return ok;
}
