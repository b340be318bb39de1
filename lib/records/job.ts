/** A job record that passed validation: what aggregation consumes. */
export interface Job {
  readonly id: string;
  readonly workflowId: string;
  readonly workflowName: string;
  /** The API's status string as sent (unknown values are kept). */
  readonly status: string;
  readonly jobType: string;
  /** created_at as epoch milliseconds. */
  readonly createdAtMs: number;
  /** Parsed runtime in seconds; undefined when absent, null, unparsable, negative or longer than the job's age. */
  readonly runtimeSeconds: number | undefined;
  /** True when a runtime was present but unparsable or negative (counted, kept out of runtime stats). */
  readonly runtimeInvalid: boolean;
  /**
   * True when a valid duration ends more than MAX_CLOCK_SKEW_MS after "now" (created_at + runtime > now + skew,
   * runtime-bound.ts): impossible, so counted and kept out of runtime stats and events like an unparsable one.
   */
  readonly runtimeLongerThanAge: boolean;
}
