/**
 * BODY and BODYSTRUCTURE (RFC 3501 7.4.2, grammar `body` in section 9) from
 * the index, matching Dovecot's imap-bodystructure.c where the RFC leaves a
 * choice:
 * - type, subtype, parameter names and values are sent as written in the
 *   header (no case change); the parser's defaults are "text" "plain";
 * - a text/* part without a charset parameter gets ("charset" "us-ascii")
 *   (RFC 2045 5.2 default), other parts without parameters get NIL;
 * - children of a multipart are written back to back: `(…)(…) "mixed"`;
 * - message/rfc822 adds envelope, body and line count; text/* adds lines;
 * - BODYSTRUCTURE adds extension data: single part md5 dsp lang loc,
 *   multipart params dsp lang loc; BODY has none;
 * - a message/rfc822 part the parser could not open (none in practice) gets
 *   an all-NIL envelope and an empty text/plain body so the grammar holds.
 * Built by string concatenation, as envelope.ts (and for the same reason).
 */
import type { BodyPart } from '../../../maildir/mime/types.js';
import { imapStringRaw, nstringRaw } from '../serialize.js';
import { renderEnvelope } from './envelope.js';

const DEFAULT_CHARSET: [string, string] = ['charset', 'us-ascii'];
const EMPTY_ENVELOPE = {
  date: null, subject: null, from: null, sender: null, replyTo: null,
  to: null, cc: null, bcc: null, inReplyTo: null, messageId: null,
};

const lower = (s: string): string => s.toLowerCase();

function paramList(params: readonly [string, string][] | null): string {
  if (params === null || params.length === 0) return 'NIL';
  let s = '(';
  for (let i = 0; i < params.length; i++) {
    if (i > 0) s += ' ';
    s += imapStringRaw(params[i]![0]) + ' ' + imapStringRaw(params[i]![1]);
  }
  return s + ')';
}

/** ` dsp lang loc`, shared by single parts and multiparts */
function commonExtension(p: BodyPart): string {
  let s = ' ';
  s += p.disposition === null ? 'NIL' : '(' + imapStringRaw(p.disposition.type) + ' ' + paramList(p.disposition.params) + ')';
  s += ' ';
  if (p.language === null || p.language.length === 0) s += 'NIL';
  else {
    s += '(';
    for (let i = 0; i < p.language.length; i++) s += (i > 0 ? ' ' : '') + imapStringRaw(p.language[i]!);
    s += ')';
  }
  return s + ' ' + nstringRaw(p.location);
}

function emptyTextBody(): BodyPart {
  return {
    type: 'text', subtype: 'plain', params: [DEFAULT_CHARSET], id: null, description: null, encoding: '7bit',
    md5: null, disposition: null, language: null, location: null,
    headerStart: 0, bodyStart: 0, bodyEnd: 0, headerSize: 0, size: 0, lines: 0,
  };
}

/** One part's body structure, without the outer parentheses. */
function part(p: BodyPart, extended: boolean): string {
  if (p.parts !== undefined && p.parts.length > 0) {
    let s = '';
    for (const child of p.parts) s += '(' + part(child, extended) + ')';
    s += ' ' + imapStringRaw(p.subtype);
    if (!extended) return s;
    return s + ' ' + paramList(p.params) + commonExtension(p);
  }

  const isText = lower(p.type) === 'text';
  const isMessage = lower(p.type) === 'message' && lower(p.subtype) === 'rfc822';
  let params = p.params;
  if (isText && !(params ?? []).some(([k]) => lower(k) === 'charset')) params = [...(params ?? []), DEFAULT_CHARSET];
  let s =
    imapStringRaw(p.type) + ' ' + imapStringRaw(p.subtype) + ' ' + paramList(params) +
    ' ' + nstringRaw(p.id) + ' ' + nstringRaw(p.description) + ' ' + imapStringRaw(p.encoding) + ' ' + p.size;
  if (isText) {
    s += ' ' + p.lines;
  } else if (isMessage) {
    s += ' ' + renderEnvelope(p.message?.envelope ?? EMPTY_ENVELOPE) + ' (' + part(p.message?.body ?? emptyTextBody(), extended) + ') ' + p.lines;
  }
  if (!extended) return s;
  return s + ' ' + nstringRaw(p.md5) + commonExtension(p);
}

/**
 * The parenthesised structure of a message's body: `extended` true for
 * BODYSTRUCTURE, false for BODY.
 */
export function renderBodyStructure(body: BodyPart, extended: boolean): string {
  return '(' + part(body, extended) + ')';
}
