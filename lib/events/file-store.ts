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
 *   LOCK_STALE_MS was left by a process that died inside that window: it is removed (docs/events.md). Its age
 *   is read on the clock that stamped it, the file system's (the kernel's, or a file server's), which need not
 *   be this process's: a clock ahead by more than LOCK_STALE_MS would take every live lock for a crashed one
 *   and let two writers in.
 */
import { createHash, randomUUID } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { StateConflictError, type StateStore, type StoredState } from './store.js';

/** A lock this old was left behind by a crash (the critical section lasts milliseconds). */
export const LOCK_STALE_MS = 30_000;
/** How long `write` waits for another process's lock before giving up. */
export const LOCK_WAIT_MS = 5_000;
/** Bytes read at a time when `write` hashes the current file for its version. */
const VERSION_CHUNK_BYTES = 256 * 1024;

export class StateLockError extends Error {
  override readonly name = 'StateLockError';
}

function versionOf(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function isCode(error: unknown, code: string): boolean {
  return (error as { code?: unknown })?.code === code;
}

export interface FileStateStoreOptions {
  readonly lockStaleMs?: number;
  readonly lockWaitMs?: number;
  /** This process's clock (default Date.now), for the wait deadline and to read the file system's clock. */
  readonly now?: () => number;
}

export class FileStateStore implements StateStore {
  readonly description: string;
  readonly path: string;
  readonly lockPath: string;
  readonly #staleMs: number;
  readonly #waitMs: number;
  readonly #now: () => number;

  constructor(path: string, options: FileStateStoreOptions = {}) {
    this.path = path;
    this.lockPath = `${path}.lock`;
    this.description = path;
    this.#staleMs = options.lockStaleMs ?? LOCK_STALE_MS;
    this.#waitMs = options.lockWaitMs ?? LOCK_WAIT_MS;
    this.#now = options.now ?? Date.now;
  }

  async read(): Promise<StoredState | undefined> {
    const bytes = await this.#bytes();
    return bytes === undefined ? undefined : { bytes, version: versionOf(bytes) };
  }

  /** versionOf the file's bytes, read in chunks; undefined when there is no file. */
  async #currentVersion(): Promise<string | undefined> {
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(this.path, constants.O_RDONLY);
    } catch (error) {
      if (isCode(error, 'ENOENT')) return undefined;
      throw error;
    }
    try {
      const hash = createHash('sha256');
      const chunk = Buffer.allocUnsafe(VERSION_CHUNK_BYTES);
      for (;;) {
        const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
        if (bytesRead === 0) break;
        hash.update(chunk.subarray(0, bytesRead));
      }
      return hash.digest('hex');
    } finally {
      await handle.close();
    }
  }

  /** The file's bytes, or undefined when there is none. */
  async #bytes(): Promise<Buffer | undefined> {
    try {
      return await fs.readFile(this.path);
    } catch (error) {
      if (isCode(error, 'ENOENT')) return undefined;
      throw error;
    }
  }

  async write(content: string | Uint8Array, expectedVersion: string | undefined): Promise<string> {
    const release = await this.#lock();
    try {
      // The version only, hashed as the file streams in: a state of 500k ids is 11 MB, not read whole again.
      const currentVersion = await this.#currentVersion();
      if (currentVersion !== expectedVersion) {
        throw new StateConflictError(
          this.description,
          expectedVersion === undefined
            ? 'another run created it first'
            : currentVersion === undefined
              ? 'it was deleted since it was read'
              : 'another run changed it since it was read',
        );
      }
      const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
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
    const deadline = this.#now() + this.#waitMs;
    let skewMs: number | undefined; // measured once, at the first wait: most writes never wait
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
      skewMs ??= await this.#fileClockSkewMs();
      await this.#breakIfStale(skewMs);
      if (this.#now() > deadline) {
        throw new StateLockError(
          `${this.description}: the lock file ${this.lockPath} is held by another run for more than ${this.#waitMs} ms ` +
            `(a lock older than ${this.#staleMs} ms is taken as left by a crash and removed)`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  /** The file system's clock minus this process's (ms), read off the modification time of a probe file it stamps. */
  async #fileClockSkewMs(): Promise<number> {
    const probe = join(dirname(this.path), `.${basename(this.path)}.${process.pid}.${randomUUID()}.clock`);
    const before = this.#now();
    const handle = await fs.open(probe, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    try {
      const after = this.#now();
      return (await handle.stat()).mtimeMs - (before + after) / 2;
    } finally {
      await handle.close();
      await fs.rm(probe, { force: true });
    }
  }

  /** Removes the lock if it is older than the stale limit on the file system's clock (ours + `skewMs`). */
  async #breakIfStale(skewMs: number): Promise<void> {
    const before = await fs.stat(this.lockPath).catch(() => undefined);
    if (before === undefined || this.#now() + skewMs - before.mtimeMs < this.#staleMs) return;
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
