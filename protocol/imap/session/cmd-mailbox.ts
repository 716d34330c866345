/**
 * Commands on mailboxes as a whole (RFC 3501 6.3): SELECT, EXAMINE, CREATE,
 * DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, LIST, LSUB, XLIST, STATUS; and QUOTA
 * (RFC 9208) over the Maildir++ quota, one root "" for all of a user's mail.
 */
import type { MailboxStatus } from '../../../maildir/types.js';
import type { Command, StatusItem } from '../commands.js';
import type { SessionCore } from './core.js';
import type { Handler } from './handler.js';
import { listResponses } from './list.js';
import { mailboxName, no } from './response.js';
import { imapString } from '../serialize.js';

/** RFC 3501 2.3.2 system flags, in the order Dovecot lists them */
const SYSTEM_FLAGS = ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft'];

type OneMailbox<N extends Command['name']> = Handler<Extract<Command, { name: N }>>;

export const select: OneMailbox<'SELECT' | 'EXAMINE'> = async (core, cmd) => {
  const readOnly = cmd.name === 'EXAMINE';
  const { mailbox, view } = await core.select(cmd.mailbox, readOnly);
  const flags = [...SYSTEM_FLAGS, ...mailbox.keywords()].join(' ');
  const unseenUid = mailbox.firstUnseenUid();
  const firstUnseen = unseenUid === null ? 0 : view.seqOf(unseenUid);
  await core.send(
    `* FLAGS (${flags})\r\n`,
    readOnly ? '* OK [PERMANENTFLAGS ()] Read-only mailbox.\r\n' : `* OK [PERMANENTFLAGS (${flags} \\*)] Flags permitted.\r\n`,
    `* ${view.exists} EXISTS\r\n`,
    `* ${view.recentCount} RECENT\r\n`,
    ...(firstUnseen > 0 ? [`* OK [UNSEEN ${firstUnseen}] First unseen.\r\n`] : []),
    `* OK [UIDVALIDITY ${mailbox.uidValidity}] UIDs valid\r\n`,
    `* OK [UIDNEXT ${mailbox.uidNext}] Predicted next UID\r\n`,
  );
  return readOnly ? { code: 'READ-ONLY', text: 'Examine completed' } : { code: 'READ-WRITE', text: 'Select completed' };
};

export const create: OneMailbox<'CREATE'> = async (core, cmd) => {
  // RFC 3501 6.3.3: a trailing delimiter only declares the intent to create children
  const name = cmd.mailbox.replace(/\/+$/, '');
  if (name === '') throw no('Invalid mailbox name', 'CANNOT');
  await core.requireUser().create(name);
  return { text: 'Create completed' };
};

export const del: OneMailbox<'DELETE'> = async (core, cmd) => {
  if (core.selected?.mailbox.name === cmd.mailbox) throw no('Cannot delete the selected mailbox', 'INUSE');
  await core.requireUser().delete(cmd.mailbox);
  return { text: 'Delete completed' };
};

export const rename: Handler<{ name: 'RENAME'; from: string; to: string }> = async (core, cmd) => {
  await core.requireUser().rename(cmd.from, cmd.to.replace(/\/+$/, ''));
  return { text: 'Rename completed' };
};

export const subscribe: OneMailbox<'SUBSCRIBE' | 'UNSUBSCRIBE'> = async (core, cmd) => {
  await core.requireUser().subscribe(cmd.mailbox, cmd.name === 'SUBSCRIBE');
  return { text: `${cmd.name === 'SUBSCRIBE' ? 'Subscribe' : 'Unsubscribe'} completed` };
};

export const list: Handler<{ name: 'LIST' | 'LSUB' | 'XLIST'; reference: string; pattern: string }> = async (core, cmd) => {
  const mailboxes = await core.requireUser().list();
  await core.send(...listResponses(cmd.name, mailboxes, cmd.reference, cmd.pattern));
  return { text: `${cmd.name} completed` };
};

/** existing, selectable mailbox names (STATUS and GETQUOTAROOT must not invent one) */
async function requireMailbox(core: SessionCore, name: string): Promise<void> {
  const found = (await core.requireUser().list()).find((m) => m.name === name);
  if (found === undefined || found.nonExistent) throw no('Mailbox does not exist', 'NONEXISTENT');
}

function statusValue(item: StatusItem, s: MailboxStatus, appendLimit: number): number {
  switch (item) {
    case 'MESSAGES':
      return s.messages;
    case 'RECENT':
      return s.recent;
    case 'UIDNEXT':
      return s.uidNext;
    case 'UIDVALIDITY':
      return s.uidValidity;
    case 'UNSEEN':
      return s.unseen;
    case 'SIZE':
      return s.size;
    case 'APPENDLIMIT':
      return appendLimit;
  }
}

export const status: Handler<{ name: 'STATUS'; mailbox: string; items: StatusItem[] }> = async (core, cmd) => {
  await requireMailbox(core, cmd.mailbox);
  const s = await core.requireUser().status(cmd.mailbox);
  const values = cmd.items.map((i) => `${i} ${statusValue(i, s, core.ctx.limits.appendLimit)}`);
  await core.send(`* STATUS ${mailboxName(cmd.mailbox)} (${values.join(' ')})\r\n`);
  return { text: 'Status completed' };
};

/** `* QUOTA "" (STORAGE used limit MESSAGE used limit)`; STORAGE counts KiB (RFC 9208 5.1) */
async function quotaLine(core: SessionCore): Promise<string | null> {
  const q = await core.requireUser().quota();
  const res: string[] = [];
  if (q.limitBytes !== undefined) res.push(`STORAGE ${Math.ceil(q.usedBytes / 1024)} ${Math.floor(q.limitBytes / 1024)}`);
  if (q.limitMessages !== undefined) res.push(`MESSAGE ${q.usedMessages} ${q.limitMessages}`);
  return res.length ? `* QUOTA "" (${res.join(' ')})\r\n` : null;
}

export const getquotaroot: Handler<{ name: 'GETQUOTAROOT'; mailbox: string }> = async (core, cmd) => {
  await requireMailbox(core, cmd.mailbox);
  const line = await quotaLine(core);
  // without a limit there is no quota root at all (RFC 9208 4.3.2)
  await core.send(`* QUOTAROOT ${mailboxName(cmd.mailbox)}${line !== null ? ' ""' : ''}\r\n`, ...(line !== null ? [line] : []));
  return { text: 'Getquotaroot completed' };
};

export const getquota: Handler<{ name: 'GETQUOTA'; root: string }> = async (core, cmd) => {
  const line = cmd.root === '' ? await quotaLine(core) : null;
  if (line === null) throw no(`No quota root ${imapString(cmd.root)}`, 'NONEXISTENT');
  await core.send(line);
  return { text: 'Getquota completed' };
};

/** quotas are the operator's business (`mailroom user`); we do not advertise QUOTASET */
export const setquota: Handler<{ name: 'SETQUOTA'; root: string; limits: { resource: string; limit: number }[] }> = async () => {
  throw no('Quota limits are set by the administrator', 'NOPERM');
};
