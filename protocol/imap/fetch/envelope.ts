/**
 * ENVELOPE (RFC 3501 7.4.2) from the index's raw envelope, written the way
 * Dovecot's imap-envelope.c does: NIL for an absent field, addresses back to
 * back inside one list (`((…)(…))`), NIL for an empty list, group syntax as
 * `(NIL NIL "group" NIL)` … `(NIL NIL NIL NIL)`. Strings are the raw header
 * bytes (latin1); 8-bit bytes go out as literals. Written straight into the
 * response's bytes (response-bytes.ts says why).
 */
import type { Address, Envelope } from '../../../maildir/mime/types.js';
import { ResponseBytes } from '../response-bytes.js';

function writeAddressList(out: ResponseBytes, list: readonly Address[] | null): void {
  if (list === null || list.length === 0) {
    out.text('NIL');
    return;
  }
  out.byte(0x28);
  for (let i = 0; i < list.length; i++) {
    const a = list[i]!;
    out.byte(0x28);
    out.nstringRaw(a.name);
    out.space();
    out.nstringRaw(a.adl);
    out.space();
    out.nstringRaw(a.mailbox);
    out.space();
    out.nstringRaw(a.host);
    out.byte(0x29);
  }
  out.byte(0x29);
}

/** ` list list list`: three address lists, each after a space. */
function writeAddressLists(out: ResponseBytes, a: readonly Address[] | null, b: readonly Address[] | null, c: readonly Address[] | null): void {
  out.space();
  writeAddressList(out, a);
  out.space();
  writeAddressList(out, b);
  out.space();
  writeAddressList(out, c);
}

/** The parenthesised envelope, into `out`. */
export function writeEnvelope(out: ResponseBytes, e: Envelope): void {
  out.byte(0x28);
  out.nstringRaw(e.date);
  out.space();
  out.nstringRaw(e.subject);
  writeAddressLists(out, e.from, e.sender, e.replyTo);
  writeAddressLists(out, e.to, e.cc, e.bcc);
  out.space();
  out.nstringRaw(e.inReplyTo);
  out.space();
  out.nstringRaw(e.messageId);
  out.byte(0x29);
}

/** The parenthesised envelope as a latin1 string (one character per byte). */
export function renderEnvelope(e: Envelope): string {
  const out = new ResponseBytes(1024);
  writeEnvelope(out, e);
  return out.toString();
}
