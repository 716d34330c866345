/**
 * The queue envelope (src/queue/types.ts) from an smtp-server session at the
 * end of DATA: the reverse-path, each accepted recipient with its DSN
 * parameters (RFC 3461 4.1 NOTIFY, 4.2 ORCPT), and the transaction's ENVID,
 * RET, BODY and SMTPUTF8.
 */
import type { SMTPServerAddress, SMTPServerSession } from 'smtp-server';
import type { DsnNotify, QueueEnvelope, QueueRecipient } from '../queue/types.js';

const NOTIFY = new Set<string>(['SUCCESS', 'FAILURE', 'DELAY', 'NEVER']);

/** The address with its domain lower-cased (domains are case-insensitive, local parts are not: RFC 5321 2.4). */
export function normalizeRecipient(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? address : address.slice(0, at + 1) + address.slice(at + 1).toLowerCase();
}

/** MAIL FROM's SIZE= value, 0 when absent (RFC 1870 6). */
export function declaredSize(session: SMTPServerSession): number {
  const from = session.envelope.mailFrom;
  const size = from && from.args ? from.args.SIZE : undefined;
  const n = typeof size === 'string' ? Number(size) : 0;
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
}

function recipient(r: SMTPServerAddress): QueueRecipient {
  const out: QueueRecipient = { address: normalizeRecipient(r.address) };
  if (r.dsn?.orcpt) out.orcpt = r.dsn.orcpt;
  const notify = r.dsn?.notify?.filter((n): n is DsnNotify => NOTIFY.has(n));
  if (notify && notify.length > 0) out.notify = notify;
  return out;
}

export function buildEnvelope(session: SMTPServerSession, protocol: string): QueueEnvelope {
  const e = session.envelope;
  const env: QueueEnvelope = {
    from: e.mailFrom ? e.mailFrom.address : '',
    recipients: e.rcptTo.map(recipient),
    received: {
      // hostNameAppearsAs is false until HELO/EHLO/LHLO, which DATA requires
      helo: typeof session.hostNameAppearsAs === 'string' ? session.hostNameAppearsAs : '',
      remoteAddress: session.remoteAddress,
      protocol,
    },
  };
  if (typeof session.user === 'string') env.received.authUser = session.user;
  if (e.dsn?.envid) env.envId = e.dsn.envid;
  if (e.dsn?.ret === 'FULL' || e.dsn?.ret === 'HDRS') env.ret = e.dsn.ret;
  if (e.bodyType) env.bodyType = e.bodyType.toLowerCase() === '8bitmime' ? '8BITMIME' : '7BIT';
  if (e.smtpUtf8) env.smtputf8 = true;
  return env;
}
