/**
 * The workflow names of the last successful workflows request, kept for the collections whose request fails.
 *
 * The workflows API's name is authoritative and replaces the job list's copy (collect-workflows.ts). Without this
 * memory, one failed workflows request would switch every job series of a renamed workflow back to the list's old
 * name and forth again at the next success: new series in Prometheus, reset histograms, and new CloudWatch metrics
 * (the `Workflow` dimension holds the name) whose alarms have no data. Bounded by MAX_LISTED_WORKFLOWS (ids and
 * names cut to their label bounds): a few MB at most. In memory only: a cold Lambda starts without it.
 */
export interface NamedWorkflow {
  readonly id: string;
  readonly name: string;
}

export class WorkflowNames {
  #last: readonly NamedWorkflow[] | undefined;
  #atMs = 0;

  remember(workflows: readonly NamedWorkflow[], atMs: number): void {
    this.#last = workflows.map(({ id, name }) => ({ id, name }));
    this.#atMs = atMs;
  }

  /** The names of the last success and when it was, or undefined when none succeeded in this process. */
  last(): { readonly workflows: readonly NamedWorkflow[]; readonly atMs: number } | undefined {
    return this.#last === undefined ? undefined : { workflows: this.#last, atMs: this.#atMs };
  }
}
