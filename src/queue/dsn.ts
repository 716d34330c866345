/**
 * Delivery status notifications, RFC 3464 (the report) inside RFC 6522
 * multipart/report:
 *
 *   multipart/report; report-type=delivery-status
 *     1. text/plain               what happened, for a person
 *     2. message/delivery-status  per-message fields, then per-recipient fields
 *     3. message/rfc822           the original (RET=FULL), or
 *        text/rfc822-headers      only its header section (RET=HDRS)
 *
 * A DSN is sent with the null reverse-path (RFC 3461 6.2, RFC 5321 4.5.5),
 * so that a DSN that cannot be delivered is never answered by another one:
 * that is how bounce loops are avoided. And no DSN ever goes to the null
 * sender (see `wantsReport`).
 *
 * The body is produced as a stream: the original message is read from the
 * spool in chunks, never held whole in memory.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { HeaderSection } from '../delivery/headers.js';
import { rfc5322Date } from '../delivery/headers.js';
import type { QueueInfo, SpoolRecipient } from './spool.js';
import type { QueueEnvelope } from './types.js';

/** Without RET, the whole original is returned only when it is at most this big (then headers only). */
export const RETURN_FULL_LIMIT = 256 * 1024;

export type ReportKind = 'failure' | 'success';

/**
 * Whether a recipient's final state calls for a DSN (RFC 3461 4.1): never to
 * the null sender; NOTIFY=NEVER asks for none; a failure is reported unless
 * NOTIFY was given without FAILURE; a success only when NOTIFY has SUCCESS.
 */
export function wantsReport(info: QueueInfo, r: SpoolRecipient): ReportKind | null {
  if (info.from === '') return null;
  const n = r.notify;
  if (n?.includes('NEVER')) return null;
  if (r.state === 'failed') return !n || n.length === 0 || n.includes('FAILURE') ? 'failure' : null;
  if (r.state === 'delivered') return n?.includes('SUCCESS') ? 'success' : null;
  return null;
}

/** RFC 3461 4: ENVID and ORCPT travel as xtext ("+" and two hex digits for special characters). */
export function decodeXtext(s: string): string {
  return s.replace(/\+([0-9A-Fa-f]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
}

/** A DSN field value: one line, no control characters. */
function field(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\x00-\x1f\x7f]+/g, ' ').trim();
}

/** RFC 3464 2.3.3 Action for a final state; a remote "delivered" was only relayed onwards (we pass no DSN request on). */
function actionOf(r: SpoolRecipient): 'failed' | 'delivered' | 'relayed' {
  if (r.state === 'failed') return 'failed';
  return r.route === 'remote' ? 'relayed' : 'delivered';
}

export interface DsnInput {
  info: QueueInfo;
  recipients: SpoolRecipient[];
  messPath: string;
  headers: HeaderSection;
  hostname: string;
  now: Date;
}

export interface Dsn {
  envelope: QueueEnvelope;
  body: AsyncIterable<Buffer>;
}

export function buildDsn(o: DsnInput): Dsn {
  const { info, hostname } = o;
  const eol = o.headers.eol;
  const boundary = `=_mailroom_dsn_${randomBytes(12).toString('hex')}`;
  const anyFailed = o.recipients.some((r) => r.state === 'failed');
  const full = info.ret === 'FULL' || (info.ret === undefined && info.size <= RETURN_FULL_LIMIT);
  const arrival = new Date(info.firstSeen);

  const L = (...lines: string[]) => lines.map((l) => l + eol).join('');
  const head = L(
    `From: Mail Delivery System <MAILER-DAEMON@${hostname}>`,
    `To: <${field(info.from)}>`,
    `Subject: ${anyFailed ? 'Undelivered Mail Returned to Sender' : 'Successful Mail Delivery Report'}`,
    `Date: ${rfc5322Date(o.now)}`,
    `Message-ID: <${info.id}.dsn.${Date.now().toString(36)}@${hostname}>`,
    'Auto-Submitted: auto-replied', // RFC 3834 5
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status;${eol}\tboundary="${boundary}"`,
    '',
    'This is a MIME-encapsulated message.',
    '',
  );

  const human: string[] = anyFailed
    ? [`This is the mail system at ${hostname}.`, '', 'Your message could not be delivered to one or more recipients.', '']
    : [`This is the mail system at ${hostname}.`, '', 'Your message was delivered to the recipients below, as you asked to be told.', ''];
  for (const r of o.recipients) {
    human.push(`<${field(r.address)}>${r.parent ? ` (sent to ${field(r.parent)})` : ''}: ${actionOf(r)}`);
    if (r.diagnostic) human.push(`    ${field(r.diagnostic.replace(/^[\w-]+;\s*/, ''))}`);
  }
  const part1 = L(`--${boundary}`, 'Content-Type: text/plain; charset=utf-8', 'Content-Description: Notification', '', ...human, '');

  const perMessage = [`Reporting-MTA: dns; ${hostname}`];
  if (info.envId !== undefined) perMessage.push(`Original-Envelope-Id: ${field(decodeXtext(info.envId))}`);
  perMessage.push(`Arrival-Date: ${rfc5322Date(arrival)}`);
  const perRecipient: string[] = [];
  for (const r of o.recipients) {
    perRecipient.push('');
    if (r.orcpt) {
      const semi = r.orcpt.indexOf(';');
      const type = semi > 0 ? r.orcpt.slice(0, semi).trim() : 'rfc822';
      const addr = semi > 0 ? r.orcpt.slice(semi + 1) : r.orcpt;
      perRecipient.push(`Original-Recipient: ${field(type)};${field(decodeXtext(addr))}`);
    }
    perRecipient.push(`Final-Recipient: rfc822;${field(r.address)}`);
    perRecipient.push(`Action: ${actionOf(r)}`);
    perRecipient.push(`Status: ${r.status ?? (r.state === 'failed' ? '5.0.0' : '2.0.0')}`);
    if (r.remoteMta) perRecipient.push(`Remote-MTA: ${field(r.remoteMta)}`);
    if (r.diagnostic) perRecipient.push(`Diagnostic-Code: ${field(r.diagnostic)}`);
    if (r.lastAttempt !== undefined) perRecipient.push(`Last-Attempt-Date: ${rfc5322Date(new Date(r.lastAttempt))}`);
  }
  const part2 = L(
    `--${boundary}`,
    'Content-Type: message/delivery-status',
    'Content-Description: Delivery report',
    '',
    ...perMessage,
    ...perRecipient,
    '',
  );

  const eightBit = info.bodyType === '8BITMIME' || info.smtputf8 === true;
  const part3Head = L(
    `--${boundary}`,
    `Content-Type: ${full ? 'message/rfc822' : 'text/rfc822-headers'}`,
    `Content-Description: ${full ? 'Undelivered message' : 'Undelivered message headers'}`.replace('Undelivered', anyFailed ? 'Undelivered' : 'Delivered'),
    ...(eightBit ? ['Content-Transfer-Encoding: 8bit'] : []),
    '',
  );
  const tail = L('', `--${boundary}--`);

  async function* body(): AsyncIterable<Buffer> {
    yield Buffer.from(head + part1 + part2 + part3Head, 'utf8');
    if (full) {
      for await (const chunk of createReadStream(o.messPath, { highWaterMark: 64 * 1024 })) yield chunk as Buffer;
    } else {
      yield Buffer.from(o.headers.text + eol, 'latin1');
    }
    yield Buffer.from(tail, 'utf8');
  }

  return {
    envelope: {
      from: '',
      recipients: [{ address: info.from }],
      received: { helo: hostname, remoteAddress: '127.0.0.1', protocol: 'local' },
    },
    body: body(),
  };
}
