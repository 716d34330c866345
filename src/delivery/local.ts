/**
 * Local delivery: from a spooled message into a user's Maildir.
 *
 * Two steps, so that the queue can checkpoint between them:
 *
 *   expandRecipient  an address → "a mailbox of ours", "not ours" (remote),
 *                    "no such user", or the targets of its alias, catch-all
 *                    or forward (AccountStore.resolve, loop-safe and bounded);
 *   deliverToMailbox one mailbox: prepend Return-Path, Delivered-To and
 *                    Received, then stream the spooled bytes after them into
 *                    INBOX through UserStore.deliver (tmp → fsync → rename →
 *                    fsync dir, quota checked, IMAP sessions of this process
 *                    notified at once).
 *
 * Failures are sorted as an MTA must sort them: no such user, a loop and a
 * message bigger than the whole quota are permanent (bounce); a full mailbox
 * and a storage error are temporary (try again later).
 */
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { errnoCode, isStoreError } from '../../maildir/errors.js';
import type { MailStore } from '../../maildir/types.js';
import { tryParseAddress } from '../accounts/address.js';
import type { AccountStore } from '../accounts/store.js';
import type { QueueInfo } from '../queue/spool.js';
import { hasDeliveredTo, type HeaderSection, headerSectionOf, readHeaderSection, traceHeaders } from './headers.js';
import { deferred, delivered, type DeliveryOutcome, failed } from './outcome.js';

export interface LocalDeliveryDeps {
  accounts: AccountStore;
  store: MailStore;
  /** our host name, for Received */
  hostname: string;
  now?: () => number;
}

export type Expansion =
  /** a user of ours that takes the mail itself (no forward, or a forward that keeps a copy is expanded instead) */
  | { kind: 'mailbox'; address: string }
  /** not one of our domains */
  | { kind: 'remote' }
  /** an alias, catch-all or forward: deliver to these instead */
  | { kind: 'targets'; local: string[]; remote: string[]; unknown: string[] }
  | { kind: 'failed'; outcome: DeliveryOutcome };

const NO_SUCH_USER = (a: string) => failed('5.1.1', `x-mailroom; no mailbox here by that name: ${a}`);
const LOOP = (a: string) => failed('5.4.6', `x-mailroom; mail forwarding loop: the message already has Delivered-To: ${a}`);

/**
 * Where mail for `address` goes. `headers` is the message's header section,
 * for the loop check: a message that was already delivered to (or forwarded
 * by) this address comes back as a loop.
 */
export async function expandRecipient(accounts: AccountStore, address: string, headers: HeaderSection): Promise<Expansion> {
  const a = tryParseAddress(address);
  if (!a) {
    // not something we can name a directory after; outside our domains it is the next hop's business
    const at = address.lastIndexOf('@');
    const ours = at > 0 && (await accounts.hasDomain(address.slice(at + 1)).catch(() => false));
    return ours ? { kind: 'failed', outcome: NO_SUCH_USER(address) } : { kind: 'remote' };
  }
  if (!(await accounts.hasDomain(a.domain))) return { kind: 'remote' };
  const r = await accounts.resolve(a.address);
  if (!r) return { kind: 'failed', outcome: NO_SUCH_USER(a.address) };
  if (r.local.length === 1 && r.local[0] === a.address && r.remote.length === 0 && r.unknown.length === 0) {
    return { kind: 'mailbox', address: a.address };
  }
  if (hasDeliveredTo(headers.text, a.address)) return { kind: 'failed', outcome: LOOP(a.address) };
  return { kind: 'targets', local: r.local, remote: r.remote, unknown: r.unknown };
}

/**
 * Where a message to deliver is: the path of its spooled file, or (a small
 * message delivered before it was ever spooled, queue/intake.ts) its bytes.
 */
export type MessageSource = string | Buffer;

/** Delivers the message at `source` into the INBOX of the local user `address`. */
export async function deliverToMailbox(
  deps: LocalDeliveryDeps,
  info: QueueInfo,
  source: MessageSource,
  address: string,
  headers?: HeaderSection,
): Promise<DeliveryOutcome> {
  let user;
  let h: HeaderSection;
  try {
    h = headers ?? (typeof source === 'string' ? await readHeaderSection(source) : headerSectionOf(source));
    if (hasDeliveredTo(h.text, address)) return LOOP(address);
    user = await deps.accounts.getUser(address);
  } catch (e) {
    return deferred('4.3.0', `x-mailroom; cannot read the accounts or the spool: ${describe(e)}`);
  }
  if (!user) return NO_SUCH_USER(address);
  const date = new Date((deps.now ?? Date.now)());
  const trace = traceHeaders(info, { hostname: deps.hostname, recipient: user.address, date, eol: h.eol, returnPath: true, deliveredTo: user.address });
  let size = info.size;
  try {
    size = typeof source === 'string' ? statSync(source).size : source.length;
    const us = await deps.store.forUser(user.address);
    await us.deliver('INBOX', typeof source === 'string' ? prepend(trace, source, size) : Buffer.concat([trace, source]));
    return delivered(`x-mailroom; delivered to ${user.address}`);
  } catch (e) {
    if (isStoreError(e, 'OVERQUOTA')) return overQuota(deps, user.address, trace.length + size, e.message);
    const code = errnoCode(e);
    if (code === 'ENOSPC' || code === 'EDQUOT') return deferred('4.3.1', `x-mailroom; mail system full: ${describe(e)}`);
    return deferred('4.3.0', `x-mailroom; cannot write to the mailbox: ${describe(e)}`);
  }
}

/**
 * A full mailbox may empty, so it is temporary (RFC 3463 4.2.2); a message
 * that alone is larger than the whole quota will never fit (5.2.2).
 */
async function overQuota(deps: LocalDeliveryDeps, address: string, bytes: number, why: string): Promise<DeliveryOutcome> {
  try {
    const q = await (await deps.store.forUser(address)).quota();
    if ((q.limitBytes !== undefined && bytes > q.limitBytes) || q.limitMessages === 0) {
      return failed('5.2.2', `x-mailroom; message of ${bytes} bytes is larger than the mailbox quota of ${address}`);
    }
  } catch {
    // usage unknown: treat as temporary
  }
  return deferred('4.2.2', `x-mailroom; mailbox of ${address} is full (${why})`);
}

/** Spooled messages up to this size are read in one blocking call (most mail); larger ones stream. */
const WHOLE_READ = 256 * 1024;

/** The trace header bytes, then the spooled message, one chunk at a time. */
async function* prepend(head: Buffer, path: string, size: number): AsyncIterable<Buffer> {
  yield head;
  if (size <= WHOLE_READ) {
    yield readFileSync(path);
    return;
  }
  for await (const chunk of createReadStream(path, { highWaterMark: 64 * 1024 })) yield chunk as Buffer;
}

function describe(e: unknown): string {
  return (errnoCode(e) ?? (e instanceof Error ? e.message : String(e))).replace(/[\r\n]+/g, ' ');
}
