/**
 * ENVELOPE (RFC 3501 7.4.2) from the index's raw envelope, written the way
 * Dovecot's imap-envelope.c does: NIL for an absent field, addresses back to
 * back inside one list (`((…)(…))`), NIL for an empty list, group syntax as
 * `(NIL NIL "group" NIL)` … `(NIL NIL NIL NIL)`. Strings are the raw header
 * bytes (latin1); 8-bit bytes go out as literals. Rendered as one latin1
 * string (a Buffer per field cost more than the rest of the rendering).
 */
import type { Address, Envelope } from '../../../maildir/mime/types.js';
import { nstringRaw } from '../serialize.js';

const NIL = 'NIL';
const SP = ' ';
const OPEN = '(';
const CLOSE = ')';

function addressList(list: readonly Address[] | null, out: string[]): void {
  if (list === null || list.length === 0) {
    out.push(NIL);
    return;
  }
  out.push(OPEN);
  for (const a of list) {
    out.push(OPEN, nstringRaw(a.name), SP, nstringRaw(a.adl), SP, nstringRaw(a.mailbox), SP, nstringRaw(a.host), CLOSE);
  }
  out.push(CLOSE);
}

/** Appends the parenthesised envelope to `out`. */
export function writeEnvelope(e: Envelope, out: string[]): void {
  out.push(OPEN, nstringRaw(e.date), SP, nstringRaw(e.subject), SP);
  addressList(e.from, out);
  out.push(SP);
  addressList(e.sender, out);
  out.push(SP);
  addressList(e.replyTo, out);
  out.push(SP);
  addressList(e.to, out);
  out.push(SP);
  addressList(e.cc, out);
  out.push(SP);
  addressList(e.bcc, out);
  out.push(SP, nstringRaw(e.inReplyTo), SP, nstringRaw(e.messageId), CLOSE);
}

/** The parenthesised envelope, latin1 (one character per byte). */
export function renderEnvelope(e: Envelope): string {
  const out: string[] = [];
  writeEnvelope(e, out);
  return out.join('');
}
