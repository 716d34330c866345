/**
 * Commands on messages of the selected mailbox, in sequence-number and UID
 * form (RFC 3501 6.4 and 6.4.8, RFC 4315 UID EXPUNGE, RFC 6851 MOVE):
 * EXPUNGE, STORE, COPY, MOVE. FETCH and SEARCH have their own files.
 */
import type { Command } from './commands.js';
import type { Decoder } from './decoder.js';

/** expunge = "EXPUNGE"; uid-expunge = "UID" SP "EXPUNGE" SP sequence-set */
export function parseExpunge(d: Decoder, uid: boolean): Command {
  if (!uid) return { name: 'EXPUNGE', uid: false };
  d.expectSP();
  return { name: 'EXPUNGE', uid: true, set: d.expectSeqSet() };
}

/** copy = "COPY" SP sequence-set SP mailbox (MOVE alike) */
export function copyLike(name: 'COPY' | 'MOVE') {
  return (d: Decoder, uid: boolean): Command => {
    d.expectSP();
    const set = d.expectSeqSet();
    d.expectSP();
    return { name, uid, set, mailbox: d.expectMailbox() };
  };
}

/**
 * store = "STORE" SP sequence-set SP store-att-flags
 * store-att-flags = (["+" / "-"] "FLAGS" [".SILENT"]) SP (flag-list / (flag *(SP flag)))
 */
export function parseStore(d: Decoder, uid: boolean): Command {
  d.expectSP();
  const set = d.expectSeqSet();
  d.expectSP();
  const att = d.expectAtom('a store attribute').toUpperCase();
  const m = /^([+-]?)FLAGS(\.SILENT)?$/.exec(att);
  if (m === null) d.fail(`Invalid store attribute ${att}`);
  d.expectSP();
  let flags: string[];
  if (d.peek() === 0x28) flags = d.expectFlagList();
  else {
    flags = [d.expectFlag()];
    while (d.sp()) flags.push(d.expectFlag());
  }
  const mode = m[1] === '+' ? 'add' : m[1] === '-' ? 'remove' : 'replace';
  return { name: 'STORE', uid, set, mode, silent: m[2] !== undefined, flags };
}
