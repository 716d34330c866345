/**
 * The message as it comes out of DATA, with its line ends turned from CRLF
 * into LF, counting the bytes received.
 *
 * Where CRLF→LF happens, and why here: SMTP carries lines ending in CRLF
 * (RFC 5321 2.3.8), while a Maildir holds messages with the local line end,
 * LF (qmail-local, Dovecot and Courier all store LF; DESIGN.md "Maildir++").
 * Converting once while the message streams in means the spool, the Maildir
 * copy and the sizes the queue and the quota see all agree, and local
 * delivery copies bytes without touching them. Remote delivery hands the LF
 * text to the nodemailer client, which writes CRLF on the wire again.
 *
 * A lone CR (not followed by LF) is kept as it is: it is not a line end, and
 * dropping it would change the message. A CR at the end of one chunk is held
 * back until the next chunk shows whether an LF follows.
 *
 * The size bound counts the bytes *received* (before conversion), the same
 * count smtp-server compares with its SIZE limit, so the two never disagree
 * about whether a message was too big: past the bound the transform fails
 * with MessageTooBigError and whoever is reading it (the queue) gives up.
 */
import { Transform, type TransformCallback } from 'node:stream';

export class MessageTooBigError extends Error {
  constructor(readonly limit: number) {
    super(`message exceeds the size limit of ${limit} bytes`);
    this.name = 'MessageTooBigError';
  }
}

const CR = 0x0d;
const LF = 0x0a;

export class CrlfToLf extends Transform {
  /** bytes received so far (before conversion) */
  received = 0;
  private pendingCr = false;

  constructor(private readonly maxBytes: number = Infinity) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.received += chunk.length;
    if (this.received > this.maxBytes) {
      done(new MessageTooBigError(this.maxBytes));
      return;
    }
    done(null, this.convert(chunk));
  }

  override _flush(done: TransformCallback): void {
    done(null, this.pendingCr ? Buffer.from([CR]) : undefined);
  }

  private convert(chunk: Buffer): Buffer {
    if (chunk.length === 0) return chunk;
    const out = Buffer.allocUnsafe(chunk.length + 1);
    let n = 0;
    let i = 0;
    if (this.pendingCr) {
      // the CR held back from the previous chunk: a line end if an LF follows
      if (chunk[0] !== LF) out[n++] = CR;
      this.pendingCr = false;
    }
    const last = chunk.length - 1;
    while (i <= last) {
      const cr = chunk.indexOf(CR, i);
      const end = cr === -1 ? chunk.length : cr;
      n += chunk.copy(out, n, i, end);
      if (cr === -1) break;
      if (cr === last) {
        this.pendingCr = true;
        break;
      }
      if (chunk[cr + 1] !== LF) out[n++] = CR; // a lone CR stays
      i = cr + 1; // the LF (if any) is copied with the next run
    }
    return out.subarray(0, n);
  }
}
