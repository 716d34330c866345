/**
 * Reading message text for SEARCH HEADER/BODY/TEXT, streaming and bounded.
 *
 * What is searched follows Dovecot's message-search.c:
 *  - a part's body is searched only when its Content-Type is text/* or
 *    message/* (a missing Content-Type means text/plain); images, archives
 *    and other binary parts are skipped, as are the preamble and epilogue of
 *    a multipart (its own type is multipart/*, not text);
 *  - bodies are decoded (base64 / quoted-printable, then the part's charset)
 *    before comparison, by createBodyDecoder;
 *  - a match never spans two parts: the finder is reset at each part;
 *  - TEXT also searches MIME part headers and the headers of encapsulated
 *    message/rfc822 messages, as "name: decoded value" lines.
 *
 * Bytes are pulled from the candidate's readRange in whatever chunks it
 * gives and decoded chunk by chunk; the StreamingFinder keeps only a
 * needle-sized window, so memory does not grow with the message. Reading
 * stops as soon as the needle is found or when the per-message byte budget
 * is spent (then the message counts as not matching).
 */
import { findParam } from '../mime/content-type.js';
import { decodeHeaderValue } from '../mime/decode.js';
import { parseHeaderFields, type HeaderField } from '../mime/header-fields.js';
import { createBodyDecoder } from '../mime/transfer.js';
import type { BodyPart } from '../mime/types.js';
import type { SearchCandidate } from './evaluate.js';
import type { StreamingFinder } from './text.js';

/** Collects bytes [start, end) of the message, at most `limit` of them. */
export async function readBytes(c: SearchCandidate, start: number, end: number, limit: number): Promise<Buffer> {
  const stop = Math.min(end, start + Math.max(0, limit));
  if (stop <= start) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of c.readRange(start, stop)) {
    const room = stop - start - total;
    const piece = chunk.length > room ? chunk.subarray(0, room) : chunk;
    chunks.push(piece);
    total += piece.length;
    if (total >= stop - start) break;
  }
  return Buffer.concat(chunks, total);
}

/** A header block as TEXT sees it: one "name: value" line per field, values decoded. */
export function headerBlockText(fields: readonly HeaderField[], decode: (f: HeaderField) => string): string {
  let text = '';
  for (const f of fields) text += f.name + ': ' + decode(f) + '\n';
  return text;
}

export interface BodyScanOptions {
  /** also search MIME part headers and encapsulated messages' headers (TEXT) */
  withPartHeaders: boolean;
  /** raw bytes that may be read in total */
  budget: number;
}

/** Searches the decoded text parts of the message whose top-level part is `root`. */
export async function scanMessageBody(
  c: SearchCandidate,
  root: BodyPart,
  finder: StreamingFinder,
  o: BodyScanOptions,
): Promise<boolean> {
  const scan = new BodyScan(c, finder, o);
  return scan.part(root, true);
}

/** Dovecot's "text/any or message/any" test (message-search.c parse_content_type). */
function isSearchableType(p: BodyPart): boolean {
  const t = p.type.toLowerCase();
  return t === 'text' || t === 'message';
}

class BodyScan {
  private budget: number;

  constructor(
    private readonly c: SearchCandidate,
    private readonly finder: StreamingFinder,
    private readonly o: BodyScanOptions,
  ) {
    this.budget = o.budget;
  }

  async part(p: BodyPart, isRoot: boolean): Promise<boolean> {
    if (this.budget <= 0) return false;
    // The root header was searched by the caller (it needs it for HEADER keys too).
    if (this.o.withPartHeaders && !isRoot && p.bodyStart > p.headerStart) {
      if (await this.header(p)) return true;
    }
    if (p.parts !== undefined) {
      for (const child of p.parts) {
        if (await this.part(child, false)) return true;
        if (this.budget <= 0) return false;
      }
      return false;
    }
    // message/rfc822: its body is a message, whose header starts where this body does.
    if (p.message !== undefined) return this.part(p.message.body, false);
    if (!isSearchableType(p)) return false;
    return this.body(p);
  }

  private async header(p: BodyPart): Promise<boolean> {
    const block = await readBytes(this.c, p.headerStart, p.bodyStart, this.budget);
    this.budget -= block.length;
    this.finder.reset();
    this.finder.push(headerBlockText(parseHeaderFields(block), (f) => decodeHeaderValue(f.value)));
    return this.finder.end();
  }

  private async body(p: BodyPart): Promise<boolean> {
    const end = Math.min(p.bodyEnd, p.bodyStart + this.budget);
    if (end <= p.bodyStart) return false;
    this.finder.reset();
    const decoder = createBodyDecoder(p.encoding, findParam(p.params, 'charset'));
    for await (const chunk of this.c.readRange(p.bodyStart, end)) {
      this.budget -= chunk.length;
      if (this.finder.push(decoder.write(chunk))) return true;
      if (this.budget <= 0) break;
    }
    this.finder.push(decoder.end());
    return this.finder.end();
  }
}
