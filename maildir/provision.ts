/**
 * A new user's Maildir: the root (INBOX) and the special-use folders of
 * DESIGN.md, all subscribed. Idempotent: folders that exist are left alone.
 */
import { MaildirStore } from './store.js';
import { DEFAULT_FOLDERS } from './special-use.js';
import { isStoreError } from './errors.js';

export async function provisionMaildir(root: string): Promise<void> {
  const store = new MaildirStore({ rootOf: () => root });
  const user = await store.forUser('');
  for (const [name, use] of DEFAULT_FOLDERS) {
    try {
      await user.create(name, use);
    } catch (e) {
      if (!isStoreError(e, 'ALREADYEXISTS')) throw e;
    }
  }
  for (const name of ['INBOX', ...DEFAULT_FOLDERS.map(([n]) => n)]) await user.subscribe(name, true);
}
