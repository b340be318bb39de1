/**
 * Where the finished-job state lives: a pluggable store of one small document with optimistic concurrency.
 * A store only moves bytes and versions; the format is state.ts's business.
 *
 * Implementations: S3StateStore (s3-store.ts, the Lambda: conditional PutObject) and FileStateStore
 * (file-store.ts, the CLI: lock file + atomic rename). Another backend (e.g. DynamoDB with a ConditionExpression
 * on a version attribute) implements the same two methods.
 */

export interface StoredState {
  /**
   * The state's UTF-8 bytes, as stored: never made into one string (decodeState reads a large state from its
   * bytes, so that its 11 MB of ids at 500k exist once, not three times).
   */
  readonly bytes: Uint8Array;
  /** Opaque version token of these bytes (an S3 ETag, a content hash …): what `write` compares against. */
  readonly version: string;
}

export interface StateStore {
  /** Where the state is, for messages (`s3://bucket/key`, a file path). */
  readonly description: string;
  /** The current state, or undefined when there is none yet. */
  read(): Promise<StoredState | undefined>;
  /**
   * Replaces the state only if it is still at `expectedVersion` (undefined: only if there is no state yet),
   * atomically; returns the new version. Throws StateConflictError when the condition does not hold. The state
   * comes as text or as its UTF-8 bytes: a large one is written from its bytes (encodeStateBytes), so that it
   * never exists a second time as a string. The store keeps no reference to `content` once the write settled
   * (the caller reuses the buffer).
   */
  write(content: string | Uint8Array, expectedVersion: string | undefined): Promise<string>;
}

/** The state changed (or appeared) since it was read: another run wrote it. */
export class StateConflictError extends Error {
  override readonly name = 'StateConflictError';
  constructor(
    readonly description: string,
    detail: string,
  ) {
    super(`${description}: ${detail}`);
  }
}

/** The stored state cannot be read as a finished-jobs state: nothing is published until it is fixed. */
export class StateCorruptError extends Error {
  override readonly name = 'StateCorruptError';
  constructor(
    readonly description: string,
    detail: string,
  ) {
    super(
      `${description}: the finished-jobs state is unreadable (${detail}). No finished-job events are published until it is ` +
        'fixed: restore the previous version of the object (or file), or delete it to start afresh (docs/events.md, "Corrupted state").',
    );
  }
}

/** A store in memory (tests, and a model of the contract). */
export class MemoryStateStore implements StateStore {
  readonly description: string;
  #current: StoredState | undefined;
  #counter = 0;

  constructor(description = 'memory') {
    this.description = description;
  }

  async read(): Promise<StoredState | undefined> {
    return this.#current;
  }

  async write(content: string | Uint8Array, expectedVersion: string | undefined): Promise<string> {
    if (this.#current?.version !== expectedVersion) {
      throw new StateConflictError(
        this.description,
        expectedVersion === undefined ? 'already exists' : 'changed since it was read',
      );
    }
    const version = `v${++this.#counter}`;
    // A copy: the caller reuses its buffer.
    this.#current = {
      bytes: typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content),
      version,
    };
    return version;
  }
}
