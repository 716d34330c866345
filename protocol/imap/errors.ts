/**
 * Parse errors of the IMAP wire layer. Like go-imap, an error *is* a response:
 * it carries the status (`BAD`, `NO`, or a fatal `BYE`), the response code and
 * the human text, so the session's one error mapper can write it unchanged.
 *
 * `BAD`/`NO` mean the reader has resynchronised (it skipped to the end of the
 * offending command); `BYE` means it could not, and it has stopped reading.
 */

/** Response codes the parser itself produces (RFC 3501 7.1, RFC 5530, RFC 4469, RFC 3501 6.4.4). */
export type ParseResponseCode =
  | 'CLIENTBUG' // a well-formed but nonsensical request (RFC 5530)
  | 'LIMIT' // an implementation limit was hit: line length, nesting depth, command size (RFC 5530)
  | 'TOOBIG' // a literal larger than we accept (RFC 4469, used by RFC 7888 and RFC 7889)
  | 'BADCHARSET' // SEARCH CHARSET we cannot decode (RFC 3501 6.4.4)
  | 'SERVERBUG'; // a bug in the parser itself, reported rather than thrown (RFC 5530)

export type ParseErrorKind = 'BAD' | 'NO' | 'BYE';

export class ImapParseError extends Error {
  readonly kind: ParseErrorKind;
  readonly code?: ParseResponseCode;
  /** the command's tag when it could be read; absent → untagged (`* BAD …`) */
  readonly tag?: string;
  /** human-readable response text (no CRLF) */
  readonly text: string;
  /** extra data of the response code, e.g. the charsets of `[BADCHARSET (US-ASCII UTF-8)]` */
  readonly codeData?: string[];

  constructor(o: { kind: ParseErrorKind; text: string; code?: ParseResponseCode; tag?: string; codeData?: string[] }) {
    super(o.text);
    this.name = 'ImapParseError';
    this.kind = o.kind;
    this.text = o.text;
    if (o.code !== undefined) this.code = o.code;
    if (o.tag !== undefined) this.tag = o.tag;
    if (o.codeData !== undefined) this.codeData = o.codeData;
  }

  /** the same error addressed to a (newly known) tag */
  withTag(tag: string | undefined): ImapParseError {
    if (tag === this.tag) return this;
    return new ImapParseError({ kind: this.kind, text: this.text, code: this.code, tag, codeData: this.codeData });
  }

  get fatal(): boolean {
    return this.kind === 'BYE';
  }
}
