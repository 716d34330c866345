/**
 * ENVELOPE (RFC 3501 7.4.2) from a message's header fields: raw unfolded
 * values, the first occurrence of each field, NIL for absent fields; sender
 * and reply-to default to from (RFC 3501: "the server MUST default ... to the
 * from field").
 */
import { parseAddressList } from './address.js';
import { firstField, type HeaderField } from './header-fields.js';
import type { Envelope } from './types.js';

export function buildEnvelope(fields: readonly HeaderField[]): Envelope {
  const get = (name: string): string | null => firstField(fields, name);
  const from = parseAddressList(get('from'));
  return {
    date: get('date'),
    subject: get('subject'),
    from,
    sender: parseAddressList(get('sender')) ?? from,
    replyTo: parseAddressList(get('reply-to')) ?? from,
    to: parseAddressList(get('to')),
    cc: parseAddressList(get('cc')),
    bcc: parseAddressList(get('bcc')),
    inReplyTo: get('in-reply-to'),
    messageId: get('message-id'),
  };
}
