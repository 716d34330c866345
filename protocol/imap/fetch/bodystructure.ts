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
 * Written straight into the response's bytes, as envelope.ts (and for the
 * same reason).
 */
import type { BodyPart } from '../../../maildir/mime/types.js';
import { ResponseBytes } from '../response-bytes.js';
import { writeEnvelope } from './envelope.js';

const DEFAULT_CHARSET: [string, string] = ['charset', 'us-ascii'];
const EMPTY_ENVELOPE = {
  date: null, subject: null, from: null, sender: null, replyTo: null,
  to: null, cc: null, bcc: null, inReplyTo: null, messageId: null,
};

const lower = (s: string): string => s.toLowerCase();

function writeParamList(out: ResponseBytes, params: readonly [string, string][] | null): void {
  if (params === null || params.length === 0) {
    out.text('NIL');
    return;
  }
  out.byte(0x28);
  for (let i = 0; i < params.length; i++) {
    if (i > 0) out.space();
    out.stringRaw(params[i]![0]);
    out.space();
    out.stringRaw(params[i]![1]);
  }
  out.byte(0x29);
}

/** ` dsp lang loc`, shared by single parts and multiparts */
function writeCommonExtension(out: ResponseBytes, p: BodyPart): void {
  out.space();
  if (p.disposition === null) out.text('NIL');
  else {
    out.byte(0x28);
    out.stringRaw(p.disposition.type);
    out.space();
    writeParamList(out, p.disposition.params);
    out.byte(0x29);
  }
  out.space();
  if (p.language === null || p.language.length === 0) out.text('NIL');
  else {
    out.byte(0x28);
    for (let i = 0; i < p.language.length; i++) {
      if (i > 0) out.space();
      out.stringRaw(p.language[i]!);
    }
    out.byte(0x29);
  }
  out.space();
  out.nstringRaw(p.location);
}

function emptyTextBody(): BodyPart {
  return {
    type: 'text', subtype: 'plain', params: [DEFAULT_CHARSET], id: null, description: null, encoding: '7bit',
    md5: null, disposition: null, language: null, location: null,
    headerStart: 0, bodyStart: 0, bodyEnd: 0, headerSize: 0, size: 0, lines: 0,
  };
}

function hasCharset(params: readonly [string, string][] | null): boolean {
  if (params === null) return false;
  for (let i = 0; i < params.length; i++) if (lower(params[i]![0]) === 'charset') return true;
  return false;
}

/** One part's body structure, without the outer parentheses. */
function writePart(out: ResponseBytes, p: BodyPart, extended: boolean): void {
  if (p.parts !== undefined && p.parts.length > 0) {
    for (const child of p.parts) {
      out.byte(0x28);
      writePart(out, child, extended);
      out.byte(0x29);
    }
    out.space();
    out.stringRaw(p.subtype);
    if (!extended) return;
    out.space();
    writeParamList(out, p.params);
    writeCommonExtension(out, p);
    return;
  }

  const isText = lower(p.type) === 'text';
  const isMessage = lower(p.type) === 'message' && lower(p.subtype) === 'rfc822';
  let params = p.params;
  if (isText && !hasCharset(params)) params = [...(params ?? []), DEFAULT_CHARSET];
  out.stringRaw(p.type);
  out.space();
  out.stringRaw(p.subtype);
  out.space();
  writeParamList(out, params);
  out.space();
  out.nstringRaw(p.id);
  out.space();
  out.nstringRaw(p.description);
  out.space();
  out.stringRaw(p.encoding);
  out.space();
  out.number(p.size);
  if (isText) {
    out.space();
    out.number(p.lines);
  } else if (isMessage) {
    out.space();
    writeEnvelope(out, p.message?.envelope ?? EMPTY_ENVELOPE);
    out.text(' (');
    writePart(out, p.message?.body ?? emptyTextBody(), extended);
    out.text(') ');
    out.number(p.lines);
  }
  if (!extended) return;
  out.space();
  out.nstringRaw(p.md5);
  writeCommonExtension(out, p);
}

/**
 * The parenthesised structure of a message's body, into `out`: `extended`
 * true for BODYSTRUCTURE, false for BODY.
 */
export function writeBodyStructure(out: ResponseBytes, body: BodyPart, extended: boolean): void {
  out.byte(0x28);
  writePart(out, body, extended);
  out.byte(0x29);
}

/** writeBodyStructure as a latin1 string. */
export function renderBodyStructure(body: BodyPart, extended: boolean): string {
  const out = new ResponseBytes(1024);
  writeBodyStructure(out, body, extended);
  return out.toString();
}
