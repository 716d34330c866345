/**
 * Response text written straight into bytes: what FETCH uses to make a
 * message's `* n FETCH (…)` without building it as a string first.
 *
 * Why: for `FETCH 1:* (ENVELOPE BODYSTRUCTURE …)` on a big folder, building
 * each response by string concatenation allocated ~6 KiB a message (the
 * intermediate strings and their flattened copies) for ~600 bytes of output,
 * a third of all the allocation of a cold fetch. Here each byte is written
 * once, into a buffer reused from one message to the next.
 *
 * Everything written is latin1: one character per byte (IMAP response text
 * is ASCII; raw header values keep their 8-bit bytes as latin1 characters,
 * as maildir/mime hands them over, and go out in literals).
 *
 * A body (a Buffer the caller owns, often a view of memory reused later) is
 * not copied in but spliced: `splice()` notes where it goes, and the
 * consumer copies the text and the splices in order (spliceCount,
 * splicedAt, splicedBody).
 */

/** Longer strings are sent as literals even when they could be quoted (serialize.ts does the same). */
const QUOTED_MAX = 1024;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const SPACE = 0x20;

export class ResponseBytes {
  buf: Buffer;
  pos = 0;
  /** bodies to insert: splices[k] goes before text byte spliceAt[k] */
  private readonly splices: Buffer[] = [];
  private readonly spliceAt: number[] = [];

  constructor(initial = 4096) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  /** Forgets what was written (and the splices): the buffer is reused. */
  reset(): void {
    this.pos = 0;
    this.splices.length = 0;
    this.spliceAt.length = 0;
  }

  /** Room for `n` more bytes. */
  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }

  byte(c: number): void {
    if (this.pos >= this.buf.length) this.ensure(1);
    this.buf[this.pos++] = c;
  }

  space(): void {
    this.byte(SPACE);
  }

  /** Latin1 text (every character below 256), as it is. */
  text(s: string): void {
    const n = s.length;
    this.ensure(n);
    if (n > 64) {
      this.pos += this.buf.write(s, this.pos, 'latin1');
      return;
    }
    // short text (most of it): a loop is cheaper than a call into the binding
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) buf[p++] = s.charCodeAt(i);
    this.pos = p;
  }

  /** A non-negative integer in decimal (sizes, line counts, UIDs). */
  number(v: number): void {
    if (!Number.isSafeInteger(v) || v < 0) {
      this.text(String(v));
      return;
    }
    this.ensure(16);
    const buf = this.buf;
    let digits = 1;
    for (let x = v; x >= 10; x = Math.floor(x / 10)) digits++;
    let p = this.pos + digits;
    this.pos = p;
    let x = v;
    do {
      buf[--p] = 0x30 + (x % 10);
      x = Math.floor(x / 10);
    } while (x > 0);
  }

  /**
   * An IMAP string from raw bytes held as latin1: quoted (with `\` and `"`
   * escaped) when RFC 3501 4.3 allows, else a literal (CR, LF, NUL, 8-bit
   * bytes, or longer than QUOTED_MAX). One pass: the quoted form is written
   * while checking, and written over by the literal if a byte forbids it.
   */
  stringRaw(s: string): void {
    const n = s.length;
    if (n > QUOTED_MAX) return this.literal(s);
    this.ensure(2 * n + 2);
    const buf = this.buf;
    let p = this.pos;
    buf[p++] = QUOTE;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c === 0 || c === 10 || c === 13 || c > 0x7e) return this.literal(s);
      if (c === QUOTE || c === BACKSLASH) buf[p++] = BACKSLASH;
      buf[p++] = c;
    }
    buf[p++] = QUOTE;
    this.pos = p;
  }

  /** stringRaw, or NIL for null. */
  nstringRaw(s: string | null): void {
    if (s === null) this.text('NIL');
    else this.stringRaw(s);
  }

  private literal(s: string): void {
    this.byte(0x7b);
    this.number(s.length);
    this.text('}\r\n');
    this.text(s);
  }

  /** `bytes` goes here, after what was written so far; keep it unchanged until the response is consumed. */
  splice(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.splices.push(bytes);
    this.spliceAt.push(this.pos);
  }

  /** How many bodies were spliced in. */
  get spliceCount(): number {
    return this.splices.length;
  }

  /** The k-th spliced body, and the text offset it goes before. */
  splicedBody(k: number): Buffer {
    return this.splices[k]!;
  }

  splicedAt(k: number): number {
    return this.spliceAt[k]!;
  }

  /** What was written, as a latin1 string (there must be no splices). */
  toString(): string {
    return this.buf.toString('latin1', 0, this.pos);
  }
}
