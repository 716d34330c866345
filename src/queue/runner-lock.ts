/**
 * One delivery runner per spool, like one qmail-send per queue: two runners
 * on the same entries would deliver every recipient twice. Any number of
 * processes may enqueue (SMTP, LMTP, `mailroom deliver` forwarding); only the
 * holder of queue/runner.lock delivers.
 *
 * The lock is held for the life of the process, so age alone cannot tell a
 * dead holder from a live one. It is a holder lock (maildir/holder-lock.ts, shared with the POP3 maildrop lock): the file names
 * its holder (`<host> <pid>`), and a holder on this host whose process is gone
 * died (SIGKILL, power loss of a container); the holder also refreshes the
 * mtime, so a lock not refreshed within `staleMs` belongs to a holder on
 * another host that died or hangs. Either way the lock is broken and taken.
 */
import { tryHolderLock } from '../../maildir/holder-lock.js';

export interface RunnerLock {
  release(): Promise<void>;
}

export async function tryRunnerLock(path: string, staleMs = 5 * 60_000): Promise<RunnerLock | null> {
  const release = await tryHolderLock(path, staleMs);
  return release ? { release } : null;
}
