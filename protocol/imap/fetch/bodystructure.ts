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
 */
import type { BodyPart } from '../../../maildir/mime/types.js';
import { imapStringRaw, nstringRaw } from '../serialize.js';
import { writeEnvelope } from './envelope.js';

const NIL = 'NIL';
const SP = ' ';
const OPEN = '(';
const CLOSE = ')';
const DEFAULT_CHARSET: [string, string] = ['charset', 'us-ascii'];
const EMPTY_ENVELOPE = {
  date: null, subject: null, from: null, sender: null, replyTo: null,
  to: null, cc: null, bcc: null, inReplyTo: null, messageId: null,
};

const lower = (s: string): string => s.toLowerCase();

function paramList(params: readonly [string, string][] | null, out: string[]): void {
  if (params === null || params.length === 0) {
    out.push(NIL);
    return;
  }
  out.push(OPEN);
  params.forEach(([k, v], i) => {
    if (i > 0) out.push(SP);
    out.push(imapStringRaw(k), SP, imapStringRaw(v));
  });
  out.push(CLOSE);
}

/** `dsp lang loc`, shared by single parts and multiparts */
function commonExtension(p: BodyPart, out: string[]): void {
  out.push(SP);
  if (p.disposition === null) out.push(NIL);
  else {
    out.push(OPEN, imapStringRaw(p.disposition.type), SP);
    paramList(p.disposition.params, out);
    out.push(CLOSE);
  }
  out.push(SP);
  if (p.language === null || p.language.length === 0) out.push(NIL);
  else {
    out.push(OPEN);
    p.language.forEach((l, i) => {
      if (i > 0) out.push(SP);
      out.push(imapStringRaw(l));
    });
    out.push(CLOSE);
  }
  out.push(SP, nstringRaw(p.location));
}

function emptyTextBody(): BodyPart {
  return {
    type: 'text', subtype: 'plain', params: [DEFAULT_CHARSET], id: null, description: null, encoding: '7bit',
    md5: null, disposition: null, language: null, location: null,
    headerStart: 0, bodyStart: 0, bodyEnd: 0, headerSize: 0, size: 0, lines: 0,
  };
}

/** Appends one part's body structure, without the outer parentheses. */
function writePart(p: BodyPart, extended: boolean, out: string[]): void {
  if (p.parts !== undefined && p.parts.length > 0) {
    for (const child of p.parts) {
      out.push(OPEN);
      writePart(child, extended, out);
      out.push(CLOSE);
    }
    out.push(SP, imapStringRaw(p.subtype));
    if (!extended) return;
    out.push(SP);
    paramList(p.params, out);
    commonExtension(p, out);
    return;
  }

  const isText = lower(p.type) === 'text';
  const isMessage = lower(p.type) === 'message' && lower(p.subtype) === 'rfc822';
  out.push(imapStringRaw(p.type), SP, imapStringRaw(p.subtype), SP);
  let params = p.params;
  if (isText && !(params ?? []).some(([k]) => lower(k) === 'charset')) params = [...(params ?? []), DEFAULT_CHARSET];
  paramList(params, out);
  out.push(SP, nstringRaw(p.id), SP, nstringRaw(p.description), SP, imapStringRaw(p.encoding), SP, String(p.size));
  if (isText) {
    out.push(SP, String(p.lines));
  } else if (isMessage) {
    out.push(SP);
    writeEnvelope(p.message?.envelope ?? EMPTY_ENVELOPE, out);
    out.push(SP, OPEN);
    writePart(p.message?.body ?? emptyTextBody(), extended, out);
    out.push(CLOSE, SP, String(p.lines));
  }
  if (!extended) return;
  out.push(SP, nstringRaw(p.md5));
  commonExtension(p, out);
}

/**
 * The parenthesised structure of a message's body: `extended` true for
 * BODYSTRUCTURE, false for BODY.
 */
export function renderBodyStructure(body: BodyPart, extended: boolean): string {
  const out: string[] = [OPEN];
  writePart(body, extended, out);
  out.push(CLOSE);
  return out.join('');
}
