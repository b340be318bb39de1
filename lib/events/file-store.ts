/**
 * The state as a local file (the CLI: `collect --sink cloudwatch --state <file>`).
 *
 * Compare-and-swap on a file:
 * - the version is the SHA-256 of the file's bytes;
 * - `write` takes an exclusive lock file `<file>.lock` (created with O_CREAT|O_EXCL: exactly one process gets it),
 *   re-reads the file, compares its version with the expected one, writes a temporary file in the same
 *   directory, fsyncs it and renames it over the file (atomic: a reader sees the old or the new state, never
 *   half of one), then removes the lock;
 * - the lock is held for one read and one write of a small file (milliseconds). A lock older than
 *   LOCK_STALE_MS was left by a process that died inside that window: it is removed (docs/events.md).
 */
import { createHash, randomUUID } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { StateConflictError, type StateStore, type StoredState } from './store.js';

/** A lock this old was left behind by a crash (the critical section lasts milliseconds). */
export const LOCK_STALE_MS = 30_000;
/** How long `write` waits for another process's lock before giving up. */
export const LOCK_WAIT_MS = 5_000;

export class StateLockError extends Error {
  override readonly name = 'StateLockError';
}

function versionOf(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function isCode(error: unknown, code: string): boolean {
  return (error as { code?: unknown })?.code === code;
}

export interface FileStateStoreOptions {
  readonly lockStaleMs?: number;
  readonly lockWaitMs?: number;
}

export class FileStateStore implements StateStore {
  readonly description: string;
  readonly path: string;
  readonly lockPath: string;
  readonly #staleMs: number;
  readonly #waitMs: number;

  constructor(path: string, options: FileStateStoreOptions = {}) {
    this.path = path;
    this.lockPath = `${path}.lock`;
    this.description = path;
    this.#staleMs = options.lockStaleMs ?? LOCK_STALE_MS;
    this.#waitMs = options.lockWaitMs ?? LOCK_WAIT_MS;
  }

  async read(): Promise<StoredState | undefined> {
    let bytes: Buffer;
    try {
      bytes = await fs.readFile(this.path);
    } catch (error) {
      if (isCode(error, 'ENOENT')) return undefined;
      throw error;
    }
    return { text: bytes.toString('utf8'), version: versionOf(bytes) };
  }

  async write(text: string, expectedVersion: string | undefined): Promise<string> {
    const release = await this.#lock();
    try {
      const current = await this.read();
      if (current?.version !== expectedVersion) {
        throw new StateConflictError(
          this.description,
          expectedVersion === undefined ? 'another run created it first' : current === undefined ? 'it was deleted since it was read' : 'another run changed it since it was read',
        );
      }
      const bytes = Buffer.from(text, 'utf8');
      const temp = join(dirname(this.path), `.${basename(this.path)}.${process.pid}.${randomUUID()}.tmp`);
      try {
        const handle = await fs.open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
        try {
          await handle.writeFile(bytes);
          await handle.sync();
        } finally {
          await handle.close();
        }
        await fs.rename(temp, this.path);
      } catch (error) {
        await fs.rm(temp, { force: true });
        throw error;
      }
      await syncDirectory(dirname(this.path));
      return versionOf(bytes);
    } finally {
      await release();
    }
  }

  /** Takes the lock file (O_EXCL); returns its release. */
  async #lock(): Promise<() => Promise<void>> {
    const token = `${process.pid} ${randomUUID()}`;
    await fs.mkdir(dirname(this.path), { recursive: true });
    const deadline = Date.now() + this.#waitMs;
    for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
      try {
        const handle = await fs.open(this.lockPath, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
        try {
          await handle.writeFile(`${token}\n`);
        } finally {
          await handle.close();
        }
        return async () => {
          // Remove only our own lock (a stale-lock breaker may, in theory, have replaced it).
          const content = await fs.readFile(this.lockPath, 'utf8').catch(() => '');
          if (content.trim() === token) await fs.rm(this.lockPath, { force: true });
        };
      } catch (error) {
        if (!isCode(error, 'EEXIST')) throw error;
      }
      await this.#breakIfStale();
      if (Date.now() > deadline) {
        throw new StateLockError(
          `${this.description}: the lock file ${this.lockPath} is held by another run for more than ${this.#waitMs} ms ` +
            `(a lock older than ${this.#staleMs} ms is taken as left by a crash and removed)`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  async #breakIfStale(): Promise<void> {
    const before = await fs.stat(this.lockPath).catch(() => undefined);
    if (before === undefined || Date.now() - before.mtimeMs < this.#staleMs) return;
    // Only the lock we judged stale (same inode, same mtime) is removed.
    const again = await fs.stat(this.lockPath).catch(() => undefined);
    if (again !== undefined && again.ino === before.ino && again.mtimeMs === before.mtimeMs) {
      await fs.rm(this.lockPath, { force: true });
    }
  }
}

/** fsync of the directory, so the rename survives a power cut (best effort: not every platform allows it). */
async function syncDirectory(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, constants.O_RDONLY);
    await handle.sync();
  } catch {
    // e.g. EISDIR/EPERM on some platforms: the rename itself is still atomic
  } finally {
    await handle?.close();
  }
}
