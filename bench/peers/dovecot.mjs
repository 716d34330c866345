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

/**
 * Copy `maildir` into `work/<name>` without anyone's index files, start
 * Dovecot on it (IMAP on ports[0], POP3 on ports[1] if given), run `fn`,
 * stop Dovecot and remove the copy.
 */
export async function withDovecot(work, name, maildir, ports, fn) {
  const dir = join(work, name);
  rmSync(dir, { recursive: true, force: true });
  execFileSync('mkdir', ['-p', dir]);
  execFileSync('cp', ['-a', maildir, join(dir, 'Maildir')]);
  execFileSync('find', [join(dir, 'Maildir'), '-maxdepth', '2', '(', '-name', 'mailroom-*', '-o', '-name', 'dovecot*', ')', '-delete']);
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
