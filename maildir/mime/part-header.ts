/**
 * The BODYSTRUCTURE fields of one part from its MIME header (RFC 2045, RFC
 * 3501 7.4.2). Offsets and sizes are filled in by the parser.
 */
import { parseContentType, parseStructuredValue } from './content-type.js';
import { firstField, type HeaderField } from './header-fields.js';
import type { BodyPart, Disposition } from './types.js';

/** The MIME header fields of a part (BodyPart's descriptive half). */
export type PartHeader = Pick<
  BodyPart,
  'type' | 'subtype' | 'params' | 'id' | 'description' | 'encoding' | 'md5' | 'disposition' | 'language' | 'location'
>;

/** RFC 2045 5.2: the type of a part without (a valid) Content-Type. A fresh object each time. */
export function textPlainDefault(): { type: string; subtype: string; params: [string, string][] } {
  return { type: 'text', subtype: 'plain', params: [['charset', 'us-ascii']] };
}

/**
 * `inDigest`: the part is a child of multipart/digest, whose default type is
 * message/rfc822 (RFC 2046 5.1.5).
 */
export function partHeader(fields: readonly HeaderField[], inDigest: boolean): PartHeader {
  const ctRaw = firstField(fields, 'content-type');
  const ct = ctRaw === null ? null : parseContentType(ctRaw);
  const type = ct ?? (inDigest ? { type: 'message', subtype: 'rfc822', params: [] } : textPlainDefault());

  const dispRaw = firstField(fields, 'content-disposition');
  let disposition: Disposition | null = null;
  if (dispRaw !== null) {
    const d = parseStructuredValue(dispRaw);
    if (d.value.length > 0) disposition = { type: d.value, params: d.params.length > 0 ? d.params : null };
  }
  const langRaw = firstField(fields, 'content-language');
  const language = langRaw === null ? null
    : langRaw.replace(/\([^)]*\)/g, '').split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  const location = firstField(fields, 'content-location');
  const encoding = firstField(fields, 'content-transfer-encoding');
  return {
    type: type.type,
    subtype: type.subtype,
    params: type.params.length > 0 ? type.params : null,
    id: firstField(fields, 'content-id'),
    description: firstField(fields, 'content-description'),
    encoding: encoding === null || encoding.length === 0 ? '7BIT' : encoding.replace(/\([^)]*\)/g, '').trim() || '7BIT',
    md5: firstField(fields, 'content-md5'),
    disposition,
    language: language && language.length > 0 ? language : null,
    // RFC 2557 4.4.2: folding whitespace inside a URL is not part of it.
    location: location === null ? null : location.replace(/[ \t\r\n]+/g, ''),
  };
}

export function isType(p: Pick<BodyPart, 'type' | 'subtype'>, type: string, subtype?: string): boolean {
  return p.type.toLowerCase() === type && (subtype === undefined || p.subtype.toLowerCase() === subtype);
}
