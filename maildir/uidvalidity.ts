/**
 * UIDVALIDITY allocation, per user: `mailroom-uidvalidity` in the Maildir root
 * holds the last value handed out. A new value is max(now in seconds, last+1),
 * taken under a dot-lock, so it differs between folders and between a deleted
 * folder and a re-created namesake (RFC 3501 2.3.1.1), even within one second.
 */
import { readFile } from 'node:fs/promises';
import { withDotLock } from './dotlock.js';
import { writeFileAtomic } from './fsutil.js';

const FILE = 'mailroom-uidvalidity';

export async function allocateUidValidity(root: string): Promise<number> {
  return withDotLock(`${root}/${FILE}.lock`, async () => {
    const last = Number((await readFile(`${root}/${FILE}`, 'utf8').catch(() => '0')).trim()) || 0;
    const next = Math.min(Math.max(Math.floor(Date.now() / 1000), last + 1), 0xffffffff);
    await writeFileAtomic(`${root}/${FILE}`, `${next}\n`);
    return next;
  });
}

/** Raise the stored value so a value imported from elsewhere is never handed out again. */
export async function reserveUidValidity(root: string, value: number): Promise<void> {
  await withDotLock(`${root}/${FILE}.lock`, async () => {
    const last = Number((await readFile(`${root}/${FILE}`, 'utf8').catch(() => '0')).trim()) || 0;
    if (value > last) await writeFileAtomic(`${root}/${FILE}`, `${value}\n`);
  });
}
