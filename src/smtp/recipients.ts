/**
 * RCPT TO checks (issue 6 "Recipients are checked at RCPT time"): is the
 * address ours, does it lead anywhere, and is there room for the message.
 * Refusing here, while the client is still connected, is what keeps the
 * queue from having to bounce mail to senders that may be forged.
 */
import type { AccountStore } from '../accounts/store.js';
import { tryParseAddress } from '../accounts/address.js';
import { MaildirQuota } from '../../maildir/quota.js';
import type { RecipientVerdict } from '../queue/types.js';
import { AccountError } from '../errors.js';

export type RecipientAccounts = Pick<AccountStore, 'resolve' | 'hasDomain' | 'maildirPath'>;

/**
 * The verdict for one recipient. `declaredSize` is MAIL FROM's SIZE= (RFC
 * 1870), 0 when the client gave none.
 *
 * Quota: an address is refused for quota only when every mailbox it reaches
 * is full (and it forwards nowhere): an alias for a team, one of whom is over
 * quota, still takes the mail, and the queue retries that one mailbox. It is
 * permanent (552 5.2.2) when the declared size alone exceeds every limit,
 * since no amount of waiting will make it fit (RFC 1870 6.2).
 */
export async function checkRecipient(accounts: RecipientAccounts, address: string, declaredSize: number): Promise<RecipientVerdict> {
  try {
    const at = address.lastIndexOf('@');
    if (at <= 0 || !(await isOurDomain(accounts, address.slice(at + 1)))) return { kind: 'remote' };
    // one of our domains: from here on the address must name something here
    const a = tryParseAddress(address);
    if (!a) return { kind: 'unknown' };
    const r = await accounts.resolve(a.address);
    if (r === null) return { kind: 'unknown' };
    if (r.local.length === 0 && r.remote.length === 0) return { kind: 'unknown' }; // an alias to nobody that exists
    if (r.remote.length > 0) return { kind: 'local' }; // it forwards somewhere: the queue relays it
    const rooms = await Promise.all(r.local.map((u) => room(accounts.maildirPath(u), declaredSize)));
    if (rooms.some((x) => x === 'ok')) return { kind: 'local' };
    return { kind: 'overquota', permanent: rooms.every((x) => x === 'never') };
  } catch {
    return { kind: 'unavailable' };
  }
}

/** A domain that is not a valid name (a literal such as [192.0.2.1], say) is not one of ours. */
async function isOurDomain(accounts: RecipientAccounts, domain: string): Promise<boolean> {
  try {
    return await accounts.hasDomain(domain);
  } catch (e) {
    if (e instanceof AccountError) return false;
    throw e;
  }
}

/** Whether a message of `size` bytes fits in the Maildir at `root` now, later, or never. */
async function room(root: string, size: number): Promise<'ok' | 'later' | 'never'> {
  const q = new MaildirQuota(root);
  // limit() first: without a maildirsize file there is no quota, and usage()
  // would then walk the whole Maildir to count it
  const limit = await q.limit();
  if (limit === null) return 'ok';
  const u = await q.usage();
  if (u.limitBytes !== undefined) {
    if (size > u.limitBytes) return 'never';
    if (u.usedBytes >= u.limitBytes || u.usedBytes + size > u.limitBytes) return 'later';
  }
  if (u.limitMessages !== undefined && u.usedMessages + 1 > u.limitMessages) return 'later';
  return 'ok';
}
