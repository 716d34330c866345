/**
 * Text lines encoded straight into a reused buffer and handed on in pieces
 * that end on line boundaries. The uidlist's first numbering and the folder
 * snapshot write one line per message (100,000 for a big folder); a string
 * per line, joined and then copied into a Buffer, made most of their time
 * garbage collection, and the fresh memory cost page faults on top.
 */
const PIECE = 256 * 1024;

export class LineBuffer {
  private buf = Buffer.allocUnsafe(PIECE);
  private at = 0;

  /** `take` gets each full piece; it must be done with it when it returns (the buffer is reused). */
  constructor(private readonly take: (piece: Buffer) => void) {}

  /** All that `fill` writes, as one Buffer (for files written whole). */
  static collect(fill: (out: LineBuffer) => void): Buffer {
    const pieces: Buffer[] = [];
    const out = new LineBuffer((piece) => pieces.push(Buffer.from(piece)));
    fill(out);
    out.flush();
    return Buffer.concat(pieces);
  }

  /** Make room for a line of `units` UTF-16 units of text plus `digits` digits and separators. */
  room(units: number, digits = 24): void {
    const need = units * 3 + digits; // UTF-8 takes at most 3 bytes per UTF-16 unit
    if (this.at + need <= this.buf.length) return;
    this.flush();
    if (need > this.buf.length) this.buf = Buffer.allocUnsafe(need);
  }

  byte(c: number): void {
    this.buf[this.at++] = c;
  }

  text(s: string): void {
    // Buffer#write would silently cut the text short: a missing room() call is a bug, not a short line
    if (this.at + s.length * 3 > this.buf.length) throw new Error('LineBuffer: no room made for this text');
    this.at += this.buf.write(s, this.at, 'utf8');
  }

  /** One `<n> <s>\n` line, room included (the uidlist's line). */
  numbered(n: number, s: string): void {
    this.room(s.length);
    this.decimal(n);
    this.byte(32);
    this.text(s);
    this.byte(10);
  }

  /** a non-negative integer's decimal digits */
  decimal(n: number): void {
    let digits = 1;
    for (let m = n; m >= 10; m = Math.floor(m / 10)) digits++;
    const buf = this.buf;
    const end = this.at + digits;
    for (let i = end - 1; i >= this.at; i--) {
      buf[i] = 48 + (n % 10);
      n = Math.floor(n / 10);
    }
    this.at = end;
  }

  /** Hand on what is buffered. */
  flush(): void {
    if (this.at > this.buf.length) throw new Error('LineBuffer: written past the room made');
    if (this.at === 0) return;
    this.take(this.buf.subarray(0, this.at));
    this.at = 0;
  }
}
