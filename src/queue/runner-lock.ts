/**
 * One delivery runner per spool, like one qmail-send per queue: two runners
 * on the same entries would deliver every recipient twice. Any number of
 * processes may enqueue (SMTP, LMTP, `mailroom deliver` forwarding); only the
 * holder of queue/runner.lock delivers.
 *
 * The lock is held for the life of the process, so age alone cannot tell a
 * dead holder from a live one. As with the POP3 maildrop lock: the file names
 * its holder (`<host> <pid>`), and a holder on this host whose process is gone
 * died (SIGKILL, power loss of a container); the holder also refreshes the
 * mtime, so a lock not refreshed within `staleMs` belongs to a holder on
 * another host that died or hangs. Either way the lock is broken and taken.
 */
import { open, readFile, rename, stat, unlink, utimes } from 'node:fs/promises';
import { hostname } from 'node:os';
import { errnoCode } from '../../maildir/errors.js';

export interface RunnerLock {
  release(): Promise<void>;
}

export async function tryRunnerLock(path: string, staleMs = 5 * 60_000): Promise<RunnerLock | null> {
  const owner = `${hostname()} ${process.pid}\n`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const h = await open(path, 'wx', 0o600);
      try {
        await h.writeFile(owner);
        await h.sync();
      } finally {
        await h.close();
      }
      const refresh = setInterval(() => {
        const now = new Date();
        utimes(path, now, now).catch(() => {});
      }, Math.max(10, Math.floor(staleMs / 3)));
      refresh.unref();
      return {
        async release() {
          clearInterval(refresh);
          // only our own lock: a broken-and-retaken one belongs to someone else now
          if ((await readFile(path, 'utf8').catch(() => '')) === owner) await unlink(path).catch(() => {});
        },
      };
    } catch (e) {
      if (errnoCode(e) !== 'EEXIST') throw e;
    }
    if (attempt > 0 || !(await breakIfDead(path, staleMs))) return null;
  }
  return null;
}

async function breakIfDead(path: string, staleMs: number): Promise<boolean> {
  let text: string;
  let mtime: number;
  try {
    text = await readFile(path, 'utf8');
    mtime = (await stat(path)).mtimeMs;
  } catch {
    return true; // gone meanwhile: try again
  }
  const [host, pidText] = text.trim().split(/\s+/);
  const pid = Number(pidText);
  const deadHere = host === hostname() && Number.isInteger(pid) && pid > 0 && !alive(pid);
  if (!deadHere && Date.now() - mtime < staleMs) return false;
  // rename aside first: of two processes breaking the same lock, only one wins
  const aside = `${path}.broken.${process.pid}.${Date.now()}`;
  try {
    await rename(path, aside);
  } catch {
    return false;
  }
  await unlink(aside).catch(() => {});
  return true;
}

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errnoCode(e) === 'EPERM'; // exists, owned by someone else
  }
}
