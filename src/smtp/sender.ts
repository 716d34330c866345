/**
 * Which MAIL FROM an authenticated submitter may use (issue 6: "own address
 * or an alias of theirs"; RFC 6409 8.1 lets a submission server refuse a
 * sender the user is not authorised to use). An alias is theirs when mail to
 * it reaches their mailbox, which also covers a catch-all pointing at them.
 * The null sender `<>` is allowed: it is how a client sends a notification
 * that must never be answered (RFC 5321 4.5.5), and it claims no address.
 */
import { tryParseAddress } from '../accounts/address.js';
import type { AccountStore } from '../accounts/store.js';

export async function maySendAs(accounts: Pick<AccountStore, 'resolve'>, user: string, from: string): Promise<boolean> {
  if (from === '') return true;
  const a = tryParseAddress(from);
  if (!a) return false;
  if (a.address === user) return true;
  const r = await accounts.resolve(a.address);
  return r !== null && r.local.includes(user);
}
