/**
 * Where a BODY[section] lives in the stored file (RFC 3501 6.4.5).
 *
 * Part numbers are resolved as Dovecot's imap-msgpart.c does:
 * - in a multipart, n is its n-th child;
 * - anything else has only part 1, which is the part itself (so the body of
 *   a non-multipart message is BODY[1]); a further number is allowed only
 *   when that part is message/rfc822;
 * - after a message/rfc822 part, the next number addresses the parts of the
 *   encapsulated message's body (`2.1` = first part of the message in 2).
 * A part that does not exist is an empty string, `{0}` (Dovecot).
 *
 * HEADER, TEXT and HEADER.FIELDS[.NOT] after a part number apply to the
 * message encapsulated in a message/rfc822 part; on any other part they are
 * empty (Dovecot imap_msgpart_find_part). MIME is the part's own header.
 */
import type { BodyPart, MessageIndex } from '../../../maildir/mime/types.js';
import type { BodySection } from '../commands.js';

export type SectionSource =
  | { kind: 'empty' }
  /** stream the raw bytes [start, end) in CRLF form; `size` is their CRLF length */
  | { kind: 'range'; start: number; end: number; size: number }
  /** read the raw header [start, end) and keep (or drop, `not`) the named fields */
  | { kind: 'header-fields'; start: number; end: number; not: boolean; fields: readonly string[] };

/** The part a path of part numbers names, or null. `root` is the message's body part. */
export function findPart(root: BodyPart, path: readonly number[]): BodyPart | null {
  let part: BodyPart | null = root;
  for (let i = 0; i < path.length && part !== null; i++) {
    const n = path[i]!;
    const more = i < path.length - 1;
    if (part.parts !== undefined && part.parts.length > 0) part = part.parts[n - 1] ?? null;
    else if (n !== 1 || (more && part.message === undefined)) part = null;
    if (part !== null && more && part.message !== undefined) part = part.message.body;
  }
  return part;
}

function header(p: BodyPart): SectionSource {
  return { kind: 'range', start: p.headerStart, end: p.bodyStart, size: p.headerSize };
}

function body(p: BodyPart): SectionSource {
  return { kind: 'range', start: p.bodyStart, end: p.bodyEnd, size: p.size };
}

/** HEADER / TEXT / HEADER.FIELDS of a message whose top part is `m` */
function ofMessage(m: BodyPart, s: BodySection): SectionSource {
  switch (s.spec.kind) {
    case 'header':
    case 'mime':
      return header(m);
    case 'text':
      return body(m);
    case 'header.fields':
      return { kind: 'header-fields', start: m.headerStart, end: m.bodyStart, not: s.spec.not, fields: s.spec.fields };
    case 'all':
      return { kind: 'range', start: m.headerStart, end: m.bodyEnd, size: m.headerSize + m.size };
  }
}

export function resolveSection(index: MessageIndex, s: BodySection): SectionSource {
  if (s.part.length === 0) {
    // BODY[] is the whole file, exactly RFC822.SIZE bytes.
    if (s.spec.kind === 'all') return { kind: 'range', start: 0, end: index.rawSize, size: index.size };
    return ofMessage(index.body, s);
  }
  const part = findPart(index.body, s.part);
  if (part === null) return { kind: 'empty' };
  switch (s.spec.kind) {
    case 'all':
      return body(part);
    case 'mime':
      return header(part);
    default:
      return part.message === undefined ? { kind: 'empty' } : ofMessage(part.message.body, s);
  }
}

/** The section as echoed in the response: `1.2.HEADER.FIELDS (FROM TO)` (field names upper-cased, as Dovecot). */
export function sectionName(s: BodySection, astring: (v: string) => string): string {
  const parts = s.part.map(String);
  switch (s.spec.kind) {
    case 'all':
      break;
    case 'header':
      parts.push('HEADER');
      break;
    case 'text':
      parts.push('TEXT');
      break;
    case 'mime':
      parts.push('MIME');
      break;
    case 'header.fields':
      parts.push(`HEADER.FIELDS${s.spec.not ? '.NOT' : ''} (${s.spec.fields.map((f) => astring(f.toUpperCase())).join(' ')})`);
      break;
  }
  return parts.join('.');
}
