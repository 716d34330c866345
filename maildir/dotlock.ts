/**
 * A dot-lock: the lock file is created with O_EXCL, which is atomic on local
 * file systems and on NFSv3+, so it works between processes and between hosts
 * sharing a Maildir. It is held for milliseconds (a uidlist append), never
 * across a network wait, so a lock older than `staleMs` belongs to a process
 * that died holding it and is broken. Breaking is done by renaming the stale
 * file aside first, so two breakers cannot both delete a fresh lock.
 */
import { closeSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { link, rename, stat, unlink } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { errnoCode, StoreError } from './errors.js';

export interface DotLockOptions {
  /** a lock file whose mtime is older than this is considered abandoned */
  staleMs?: number;
  /** give up after waiting this long */
  timeoutMs?: number;
}

export async function withDotLock<T>(lockPath: string, fn: () => Promise<T>, o: DotLockOptions = {}): Promise<T> {
  const release = await acquireDotLock(lockPath, o);
  try {
    return await fn();
  } finally {
    await release();
  }
}

export async function acquireDotLock(lockPath: string, o: DotLockOptions = {}): Promise<() => Promise<void>> {
  const staleMs = o.staleMs ?? 30_000;
  const deadline = Date.now() + (o.timeoutMs ?? 60_000);
  let wait = 1;
  for (;;) {
    // Blocking calls: taking and dropping the lock are four metadata
    // syscalls of microseconds each, and on the APPEND path every thread-pool
    // round trip instead adds its hand-off latency to the client's wait.
    let fd: number;
    try {
      fd = openSync(lockPath, 'wx', 0o600);
    } catch (e) {
      if (errnoCode(e) !== 'EEXIST') throw e;
      fd = -1;
    }
    if (fd >= 0) {
      try {
        writeSync(fd, `${process.pid}\n`);
      } catch (e) {
        closeSync(fd);
        unlinkQuietly(lockPath);
        throw e;
      }
      closeSync(fd);
      return () => {
        unlinkQuietly(lockPath);
        return Promise.resolve();
      };
    }
    await breakIfStale(lockPath, staleMs);
    if (Date.now() > deadline) throw new StoreError('INUSE', `Lock ${lockPath} is held by another process`);
    await sleep(wait);
    wait = Math.min(wait * 2, 50);
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone (broken as stale by another process): nothing to release
  }
}

async function breakIfStale(lockPath: string, staleMs: number): Promise<void> {
  let st;
  try {
    st = await stat(lockPath);
  } catch {
    return;
  }
  if (Date.now() - st.mtimeMs < staleMs) return;
  const aside = `${lockPath}.stale.${process.pid}.${Date.now()}`;
  try {
    await rename(lockPath, aside);
  } catch {
    return;
  }
  // Another process may have broken the old lock and taken a fresh one just
  // before our rename: if what we moved aside is fresh, put it back.
  try {
    const moved = await stat(aside);
    if (Date.now() - moved.mtimeMs < staleMs) {
      // link() fails if a newer lock exists, so we never overwrite one
      await link(aside, lockPath).catch(() => {});
      await unlink(aside).catch(() => {});
      return;
    }
  } catch {
    return;
  }
  await unlink(aside).catch(() => {});
}
