/**
 * The bytes of a literal body: raw stored bytes (normally LF line endings)
 * turned into the CRLF form IMAP speaks, cut to a window in CRLF space, with
 * an exact length.
 *
 * Why a window in CRLF space: every size and every partial offset a client
 * sees (RFC822.SIZE, BODYSTRUCTURE sizes, BODY[]<start.len>) counts the CRLF
 * form, while storage offsets are raw. The CRLF rule is the MIME parser's
 * (maildir/mime/types.ts): an LF not preceded by CR becomes CRLF, an existing
 * CRLF stays, a lone CR stays. A CR at the end of one chunk and an LF at the
 * start of the next are one CRLF, so `prevCR` is carried across chunks.
 *
 * Why exact: the `{n}` prefix is on the wire before the first body byte, so
 * the source must yield exactly n bytes. Extra bytes (the file grew) are cut.
 * Too few (the file shrank or was replaced underneath the index) cannot be
 * repaired without sending bytes the client will take as the message, so we
 * do what Dovecot does (imap-fetch-body.c "got too little data"): fail, and
 * the caller must drop the connection, which is out of sync from here on.
 */
import { crlfBytes, crlfOfInput } from '../../crlf.js';

/** Thrown when a literal already announced on the wire cannot be completed. The connection must be closed. */
export class FetchAbortError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FetchAbortError';
  }
}

const CR = 0x0d;

/**
 * Converts bare LF to CRLF in one chunk. `prevCR`: the byte before the chunk
 * was CR. Returns the converted chunk (the input itself when it has no LF).
 */
export function toCrlf(chunk: Buffer, prevCR: boolean): Buffer {
  return chunk.indexOf(0x0a) < 0 ? chunk : crlfBytes(chunk, prevCR);
}

export interface CrlfWindow {
  /** CRLF bytes to drop from the start (partial fetch origin) */
  skip: number;
  /** CRLF bytes to yield after the skipped ones: exactly this many, or FetchAbortError */
  length: number;
  /** what is being sent, for the error message */
  what: string;
}

/**
 * The window of an in-memory raw range, in one piece: the synchronous twin of
 * crlfWindow.
 */
export function crlfSlice(raw: Buffer, w: CrlfWindow): Buffer {
  return cut(crlfBytes(raw), w);
}

/**
 * crlfSlice of the first `n` bytes of crlfInput, as a view of the
 * converter's memory (see crlfOfInput): copy it before converting again.
 */
export function crlfViewOfInput(n: number, w: CrlfWindow): Buffer {
  return cut(crlfOfInput(n), w);
}

function cut(all: Buffer, w: CrlfWindow): Buffer {
  const out = all.subarray(Math.min(w.skip, all.length), w.skip + w.length);
  if (out.length < w.length) throw new FetchAbortError(`${w.what}: the stored message is ${w.length - out.length} bytes shorter than its index says`);
  return out;
}

/**
 * Yields exactly `w.length` CRLF-form bytes from `raw`, after skipping `w.skip`.
 * Stops reading (and lets `onDone` release the file) as soon as it has enough.
 */
export async function* crlfWindow(raw: AsyncIterable<Buffer>, w: CrlfWindow, onDone?: () => void): AsyncGenerator<Buffer> {
  let toSkip = w.skip;
  let left = w.length;
  let prevCR = false;
  try {
    if (left > 0) {
      for await (const chunk of raw) {
        if (chunk.length === 0) continue;
        let out = toCrlf(chunk, prevCR);
        prevCR = chunk[chunk.length - 1] === CR;
        if (toSkip > 0) {
          if (out.length <= toSkip) {
            toSkip -= out.length;
            continue;
          }
          out = out.subarray(toSkip);
          toSkip = 0;
        }
        if (out.length >= left) {
          yield out.subarray(0, left);
          left = 0;
          break;
        }
        left -= out.length;
        yield out;
      }
    }
  } finally {
    onDone?.();
  }
  if (left > 0) throw new FetchAbortError(`${w.what}: the stored message is ${left} bytes shorter than its index says`);
}
