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
import { crlfBytes, crlfOfInput, isCrlfInput } from '../crlf.js';

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
const CRLF = Buffer.from('\r\n');
const LF_ONLY = Buffer.from('\n');
const DOT_BUF = Buffer.from('.');
const TERMINATOR = Buffer.from('.\r\n');
const LF_TERMINATOR = Buffer.from('\n.\r\n');
const CRLF_TERMINATOR = Buffer.from('\r\n.\r\n');

/** The transformation itself, one chunk at a time (a streamed message). */
class DotStuffer {
  private atLineStart = true; // the next byte begins a line
  private pendingCr = false; // the last byte seen was a CR not yet followed by anything

  /** The chunk as it goes on the wire (the same Buffer when nothing changes). */
  push(chunk: Buffer): Buffer {
    if (chunk.length === 0) return chunk;
    const pieces: Buffer[] = [];
    let segStart = 0;
    let i = 0;
    while (i < chunk.length) {
      if (this.atLineStart && chunk[i] === DOT) {
        pieces.push(chunk.subarray(segStart, i), DOT_BUF);
        segStart = i; // the original dot follows the added one
      }
      const lf = chunk.indexOf(LF, i);
      if (lf < 0) {
        this.atLineStart = false;
        this.pendingCr = chunk[chunk.length - 1] === CR;
        break;
      }
      const hasCr = lf > 0 ? chunk[lf - 1] === CR : this.pendingCr;
      if (!hasCr) {
        pieces.push(chunk.subarray(segStart, lf), CRLF);
        segStart = lf + 1;
      }
      this.pendingCr = false;
      this.atLineStart = true;
      i = lf + 1;
    }
    if (segStart === 0 && pieces.length === 0) return chunk; // the common case for CRLF files
    pieces.push(chunk.subarray(segStart));
    return Buffer.concat(pieces);
  }

  /** The end of the reply: the terminator, after a CRLF completing an unterminated last line. */
  finish(): Buffer {
    if (this.atLineStart) return TERMINATOR;
    // a trailing CR only needs its LF
    return Buffer.concat([this.pendingCr ? LF_ONLY : CRLF, TERMINATOR]);
  }
}

/**
 * A whole message already in memory as its complete reply: `head` (the
 * status line, CRLF included), the body through the same rules as
 * DotStuffer, and the terminator, in one Buffer for one write. The CRLF rule
 * is crlfBytes (several times faster than DotStuffer's line-by-line copy);
 * after it every LF ends a line, so "\n." finds exactly the lines to stuff,
 * and the few messages that have one are stuffed with native string
 * replacement on a latin1 string (one character per byte).
 */
export function wholeMultiLine(head: string, raw: Buffer): Buffer {
  // raw read straight into the converter's input area: converted in place (the view is copied below)
  const body = isCrlfInput(raw) ? crlfOfInput(raw.length) : crlfBytes(raw);
  const last = body.length === 0 ? LF : body[body.length - 1];
  const end = body.length === 0 || last === LF ? TERMINATOR : last === CR ? LF_TERMINATOR : CRLF_TERMINATOR;
  if (body[0] !== DOT && body.indexOf('\n.') < 0) {
    const out = Buffer.allocUnsafe(head.length + body.length + end.length);
    out.write(head, 0, 'latin1');
    body.copy(out, head.length);
    end.copy(out, head.length + body.length);
    return out;
  }
  let text = body.toString('latin1');
  if (text.charCodeAt(0) === DOT) text = '.' + text;
  text = text.replaceAll('\n.', '\n..');
  return Buffer.concat([Buffer.from(head + text, 'latin1'), end]);
}

export interface MultiLineOptions {
  /** sent in front of the first piece (the "+OK" status line), so that a small reply leaves as one write */
  head?: Buffer;
  /**
   * The source's length when known: once that many bytes came, the reply is
   * finished with the last piece instead of waiting for the source to say it
   * has ended (a file stream needs another turn for that, and the terminator
   * would go out in a packet of its own).
   */
  sourceBytes?: number;
}

export async function* multiLineBody(source: AsyncIterable<Buffer>, o: MultiLineOptions = {}): AsyncGenerator<Buffer> {
  let head = o.head;
  const withHead = (b: Buffer): Buffer => {
    if (!head) return b;
    const r = Buffer.concat([head, b]);
    head = undefined;
    return r;
  };
  const stuffer = new DotStuffer();
  let seen = 0;
  let finished = false; // the terminator is out: anything more is not part of the message
  for await (const chunk of source) {
    if (chunk.length === 0 || finished) continue;
    seen += chunk.length;
    const piece = stuffer.push(chunk);
    if (o.sourceBytes !== undefined && seen >= o.sourceBytes) {
      // Not `break`: that would destroy the source, which costs an
      // AbortError (with its stack trace) per message. A source of the
      // promised length ends on its own without another read.
      finished = true;
      yield withHead(Buffer.concat([piece, stuffer.finish()]));
      continue;
    }
    yield withHead(piece);
  }
  if (!finished) yield withHead(stuffer.finish());
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
