/**
 * The parsed structure of one message: what RFC 3501 ENVELOPE and
 * BODYSTRUCTURE need, plus decoded header values for SEARCH/SORT.
 *
 * Byte conventions. Maildir files are stored as written (normally LF line
 * endings). IMAP speaks CRLF, so every *size* and *lines* count here is for the
 * CRLF form of the bytes (bare LF counted as CRLF; an existing CRLF counted
 * once), which is what the wire layer produces by streaming the raw byte range
 * `[start, end)` through an LF→CRLF transform. Offsets (`*Start`, `*End`) are raw
 * positions in the file.
 *
 * Raw strings (envelope fields, parameter values) are the header bytes decoded
 * as latin1 so that `Buffer.from(s, 'latin1')` gives back the exact bytes.
 */
export interface Address {
  /** display name, raw (may hold RFC 2047 encoded words; IMAP sends it as is) */
  name: string | null;
  adl: string | null;
  /** local part; for a group start: the group name; null for a group end */
  mailbox: string | null;
  /** domain; null marks group syntax (RFC 3501 7.4.2) */
  host: string | null;
}

export interface Envelope {
  date: string | null;
  subject: string | null;
  from: Address[] | null;
  sender: Address[] | null;
  replyTo: Address[] | null;
  to: Address[] | null;
  cc: Address[] | null;
  bcc: Address[] | null;
  inReplyTo: string | null;
  messageId: string | null;
}

export interface Disposition {
  type: string;
  params: [string, string][] | null;
}

export interface BodyPart {
  /** as written in Content-Type, default "text"/"plain" (RFC 2045 5.2) */
  type: string;
  subtype: string;
  params: [string, string][] | null;
  id: string | null;
  description: string | null;
  /** Content-Transfer-Encoding, default "7BIT" */
  encoding: string;
  md5: string | null;
  disposition: Disposition | null;
  language: string[] | null;
  location: string | null;

  /** raw offset where this part's MIME header starts (for a whole message: 0) */
  headerStart: number;
  /** raw offset where the body starts (after the blank line) */
  bodyStart: number;
  /** raw offset just past the body */
  bodyEnd: number;
  /** CRLF size of the header including the blank line */
  headerSize: number;
  /** CRLF size of the body (BODYSTRUCTURE body size) */
  size: number;
  /** CRLF line count of the body (reported for text/* and message/rfc822) */
  lines: number;

  /** multipart/*: the children (at least one; an empty multipart degrades to text/plain) */
  parts?: BodyPart[];
  /** message/rfc822: the encapsulated message */
  message?: { envelope: Envelope; body: BodyPart };
}

/**
 * The header values SEARCH compares against, raw: unfolded latin1 strings as
 * in the file, "" when the header is absent. They are decoded (charset,
 * RFC 2047) only when a search looks at them (search-headers.ts
 * decodedHeader), not when a message is parsed: a cold FETCH of ENVELOPE and
 * BODYSTRUCTURE never needs them decoded, and decoding every field of every
 * message was a tenth of its cost.
 *
 * from/to/cc/bcc hold every occurrence of the field, joined by "\n" (an
 * unfolded value never holds a line feed); the others the first occurrence.
 * The sent date is the envelope's raw `date`.
 */
export interface SearchHeaders {
  from: string;
  to: string;
  cc: string;
  bcc: string;
  subject: string;
  messageId: string;
  inReplyTo: string;
  references: string;
}

export interface MessageIndex {
  envelope: Envelope;
  body: BodyPart;
  /** raw values for SEARCH */
  headers: SearchHeaders;
  /** raw file size */
  rawSize: number;
  /** CRLF size (RFC822.SIZE) */
  size: number;
}
