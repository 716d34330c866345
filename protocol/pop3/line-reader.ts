/**
 * Splits the POP3 input stream into command lines without ever holding more
 * than `maxLineLength` bytes of one line (RFC 2449 section 4 allows 255 octets
 * per command line; the caller configures a little more for lenient clients).
 * A longer line is not buffered: its bytes are skipped up to the next LF and
 * it is reported once as `overlong`, so the session can answer `-ERR` for it
 * and stay in step with pipelined commands that follow.
 *
 * Lines end with CRLF; a bare LF is accepted too (some scripts send it).
 * The terminator is not part of the line.
 */
export type LineEvent = { kind: 'line'; line: Buffer } | { kind: 'overlong' };

export class LineReader {
  private parts: Buffer[] = [];
  private held = 0;
  private skipping = false;

  constructor(public maxLineLength: number) {}

  /** Feed bytes; returns the complete lines (and overlong reports) they finish, in order. */
  push(chunk: Buffer): LineEvent[] {
    const out: LineEvent[] = [];
    let start = 0;
    while (start < chunk.length) {
      const lf = chunk.indexOf(0x0a, start);
      const end = lf < 0 ? chunk.length : lf;
      if (!this.skipping) {
        const total = this.held + (end - start);
        // the line's content excludes the CR of its CRLF; until the LF is
        // seen, one extra byte may be that CR
        let tooLong: boolean;
        if (lf < 0) tooLong = total > this.maxLineLength + 1;
        else {
          const last = end > start ? chunk[end - 1] : this.held > 0 ? this.lastHeldByte() : -1;
          tooLong = total - (last === 0x0d ? 1 : 0) > this.maxLineLength;
        }
        if (tooLong) {
          this.parts = [];
          this.held = 0;
          this.skipping = true;
        } else if (end > start) {
          this.parts.push(chunk.subarray(start, end));
          this.held += end - start;
        }
      }
      if (lf < 0) break;
      if (this.skipping) {
        out.push({ kind: 'overlong' });
        this.skipping = false;
      } else {
        out.push({ kind: 'line', line: this.take() });
      }
      start = lf + 1;
    }
    return out;
  }

  /** Forget everything buffered (STLS: discard what was pipelined before the handshake). */
  reset(): void {
    this.parts = [];
    this.held = 0;
    this.skipping = false;
  }

  private lastHeldByte(): number {
    const p = this.parts[this.parts.length - 1];
    return p[p.length - 1];
  }

  private take(): Buffer {
    let line = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts, this.held);
    this.parts = [];
    this.held = 0;
    if (line.length && line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1);
    // copy: the chunk may be a view into a pooled buffer the connection reuses
    return Buffer.from(line);
  }
}
