/**
 * A lock held for as long as its holder lives (a POP3 session, the queue
 * runner), possibly hours, so age alone cannot tell a stale lock from a live
 * one. Two signals are used:
 *  - the file names the holder (`<host> <pid>`): a holder on this host whose
 *    process no longer exists crashed, and its lock is broken at once;
 *  - the holder refreshes the file's mtime every `staleMs / 3` with an
 *    unref'd timer, so a lock not refreshed within `staleMs` belongs to a
 *    holder that died on another host (NFS) or hung, and is broken too.
 * Created with O_EXCL (atomic on NFSv3+), like the short-lived dot-lock of
 * dotlock.ts.
 */
import { hostname } from 'node:os';
import { link, open, readFile, rename, stat, unlink, utimes } from 'node:fs/promises';
import { errnoCode } from './errors.js';


/** Take the lock at `path`, breaking it once if its holder is gone; null if a live holder has it. */
export async function tryHolderLock(path: string, staleMs: number): Promise<(() => Promise<void>) | null> {
  const owner = `${hostname()} ${process.pid}\n`;
  // Two attempts: the second after breaking a stale lock. If someone else
  // took the lock in between, that is a live holder.
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const h = await open(path, 'wx', 0o600);
      try {
        await h.writeFile(owner);
      } finally {
        await h.close();
      }
      return holdLock(path, owner, staleMs);
    } catch (e) {
      if (errnoCode(e) !== 'EEXIST') throw e;
    }
    if (attempt > 0 || !(await breakIfStale(path, staleMs))) break;
  }
  return null;
}

function holdLock(path: string, owner: string, staleMs: number): () => Promise<void> {
  const refresh = setInterval(
    () => {
      const now = new Date();
      utimes(path, now, now).catch(() => {});
    },
    Math.max(10, Math.floor(staleMs / 3)),
  );
  refresh.unref();
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    clearInterval(refresh);
    // only remove the file if it is still ours (it may have been broken as stale)
    try {
      if ((await readFile(path, 'utf8')) !== owner) return;
      await unlink(path);
    } catch {
      // already gone
    }
  };
}

/** Whether the lock at `path` is abandoned; if so it is removed. True when the caller may retry. */
async function breakIfStale(path: string, staleMs: number): Promise<boolean> {
  let content: string;
  let mtimeMs: number;
  try {
    content = await readFile(path, 'utf8');
    mtimeMs = (await stat(path)).mtimeMs;
  } catch (e) {
    return errnoCode(e) === 'ENOENT'; // released meanwhile
  }
  if (!holderIsDead(content) && Date.now() - mtimeMs < staleMs) return false;
  // Rename aside first (like dotlock.ts) so that two breakers cannot both
  // delete a lock the other has just taken.
  const aside = `${path}.stale.${process.pid}.${Date.now()}`;
  try {
    await rename(path, aside);
  } catch {
    return true; // someone else broke it; retry once
  }
  try {
    const moved = await readFile(aside, 'utf8');
    const movedMtime = (await stat(aside)).mtimeMs;
    if (moved !== content || (!holderIsDead(moved) && Date.now() - movedMtime < staleMs)) {
      // we moved a fresh lock taken after our check: put it back (link never overwrites)
      await link(aside, path).catch(() => {});
    }
  } catch {
    // vanished: nothing to restore
  }
  await unlink(aside).catch(() => {});
  return true;
}

/** The holder is a process on this host that no longer exists. */
function holderIsDead(content: string): boolean {
  const m = /^(\S+) (\d+)\n?$/.exec(content);
  if (!m || m[1] !== hostname()) return false;
  const pid = Number(m[2]);
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return errnoCode(e) === 'ESRCH'; // EPERM: alive, owned by another user
  }
}
