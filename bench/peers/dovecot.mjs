// A private Dovecot on a cold copy of a benchmark Maildir (peers/dovecot.sh
// does the work), for the IMAP and POP3 benchmarks.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';

const script = join(import.meta.dirname, 'dovecot.sh');
const quiet = { stdio: ['ignore', 'inherit', 'inherit'] };

export function setupDovecot() {
  execFileSync(script, ['setup'], quiet);
}

/** The warm-up user's login when withDovecot is asked for one (password "bench"). */
export const DOVECOT_WARMUP_USER = 'warmup';

/**
 * Copy `maildir` into `work/<name>` without anyone's index files, start
 * Dovecot on it (IMAP on ports[0], POP3 on ports[1] if given), run `fn`,
 * stop Dovecot and remove the copy. With `warmup`, a second cold copy is
 * the INBOX of DOVECOT_WARMUP_USER.
 */
export async function withDovecot(work, name, maildir, ports, fn, { warmup = false } = {}) {
  const dir = join(work, name);
  rmSync(dir, { recursive: true, force: true });
  execFileSync('mkdir', ['-p', dir]);
  for (const copy of warmup ? [join(dir, 'Maildir'), join(dir, 'warmup', 'Maildir')] : [join(dir, 'Maildir')]) {
    execFileSync('mkdir', ['-p', join(copy, '..')]);
    execFileSync('cp', ['-a', maildir, copy]);
    execFileSync('find', [copy, '-maxdepth', '2', '(', '-name', 'mailroom-*', '-o', '-name', 'dovecot*', ')', '-delete']);
  }
  // the copy's dirty pages written back now, not by the kernel during the timed run (both peers alike)
  execFileSync('sync');
  execFileSync(script, ['start', dir, ...ports.map(String)], quiet);
  try {
    return await fn();
  } finally {
    execFileSync(script, ['stop', dir], quiet);
    rmSync(dir, { recursive: true, force: true });
  }
}
