/**
 * The body of a RETR/TOP reply, produced chunk by chunk from the stored file
 * (never the whole message in memory):
 *  - line endings become CRLF: a bare LF gets its CR, an existing CRLF is
 *    kept, including one whose CR ends one chunk and whose LF starts the next;
 *  - byte-stuffing (RFC 1939 section 3): a line starting with '.' gets one
 *    more '.', so no line of the message reads as the terminator;
 *  - the multi-line reply ends with ".\r\n", preceded by a CRLF when the
 *    message does not end with a line break.
 * The output of `multiLineBody` is exactly `rfc822Size` octets plus one per
 * stuffed dot plus the terminator (and the CRLF completing a last line).
 */
const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
const CRLF = Buffer.from('\r\n');
const LF_ONLY = Buffer.from('\n');
const DOT_BUF = Buffer.from('.');
const TERMINATOR = Buffer.from('.\r\n');

export async function* multiLineBody(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let atLineStart = true; // the next byte begins a line
  let pendingCr = false; // the last byte seen was a CR not yet followed by anything
  for await (const chunk of source) {
    if (chunk.length === 0) continue;
    const pieces: Buffer[] = [];
    let segStart = 0;
    let i = 0;
    while (i < chunk.length) {
      if (atLineStart && chunk[i] === DOT) {
        pieces.push(chunk.subarray(segStart, i), DOT_BUF);
        segStart = i; // the original dot follows the added one
      }
      const lf = chunk.indexOf(LF, i);
      if (lf < 0) {
        atLineStart = false;
        pendingCr = chunk[chunk.length - 1] === CR;
        break;
      }
      const hasCr = lf > 0 ? chunk[lf - 1] === CR : pendingCr;
      if (!hasCr) {
        pieces.push(chunk.subarray(segStart, lf), CRLF);
        segStart = lf + 1;
      }
      pendingCr = false;
      atLineStart = true;
      i = lf + 1;
    }
    if (segStart === 0 && pieces.length === 0) {
      yield chunk; // the common case for CRLF files: nothing to change
      continue;
    }
    pieces.push(chunk.subarray(segStart));
    yield Buffer.concat(pieces);
  }
  // a trailing CR only needs its LF; an unterminated last line needs CRLF
  if (!atLineStart) yield Buffer.concat([pendingCr ? LF_ONLY : CRLF, TERMINATOR]);
  else yield TERMINATOR;
}

/**
 * The part of a raw message that TOP n sends (RFC 1939 section 7): the header,
 * the blank line after it, and the first `lines` lines of the body. Stops
 * reading the source as soon as that is reached (the for-await `return`
 * destroys the file stream).
 */
export async function* topOf(source: AsyncIterable<Buffer>, lines: number): AsyncGenerator<Buffer> {
  let inHeader = true;
  let lineLen = 0; // bytes of the current line so far, across chunks
  let lineIsCr = false; // the current line so far is exactly one CR
  let bodyLines = 0;
  for await (const chunk of source) {
    let i = 0;
    while (i < chunk.length) {
      if (!inHeader && bodyLines >= lines) {
        if (i > 0) yield chunk.subarray(0, i);
        return;
      }
      const lf = chunk.indexOf(LF, i);
      if (lf < 0) {
        const add = chunk.length - i;
        lineIsCr = (lineLen === 0 && add === 1 && chunk[i] === CR) || (lineIsCr && add === 0);
        lineLen += add;
        break;
      }
      const add = lf - i;
      const blank = lineLen + add === 0 || (lineLen + add === 1 && (add === 1 ? chunk[i] === CR : lineIsCr));
      if (inHeader) {
        if (blank) inHeader = false;
      } else {
        bodyLines++;
      }
      lineLen = 0;
      lineIsCr = false;
      i = lf + 1;
    }
    if (!inHeader && bodyLines >= lines) {
      if (i > 0) yield chunk.subarray(0, i);
      return;
    }
    yield chunk;
  }
}
