import type { Snapshot } from './aggregate/snapshot.js';
import type { JobDetailsReport } from './details/stage.js';

/** What one collection produced: a snapshot, or a failure that must look like one (never zeros). */
export type Collection = CollectionSuccess | CollectionFailure;

export interface CollectionSuccess {
  readonly ok: true;
  readonly snapshot: Snapshot;
  /** Wall time of the pull and aggregation, seconds. */
  readonly durationSeconds: number;
  /** When the collection finished, epoch ms. */
  readonly finishedAtMs: number;
  /** Outcomes of the jobs finished inside the window (lib/details/stage.ts); absent when JOB_DETAILS=off. */
  readonly details?: JobDetailsReport;
}

export interface CollectionFailure {
  readonly ok: false;
  /** Machine-readable reason, bounded set (see PULL_ERROR_KINDS plus 'config' and 'internal'). */
  readonly errorKind: string;
  /** One line, safe to log and show: never contains a secret. */
  readonly errorMessage: string;
  readonly durationSeconds: number;
  readonly finishedAtMs: number;
}
