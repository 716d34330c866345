/**
 * The resumable IMAP command reader: bytes in, in any chunking; events out.
 *
 * Why it looks like this (Stalwart's receiver, Dovecot's imap-parser):
 * - It never needs a whole command in one chunk and never buffers more than
 *   one line (`maxLineLength`) plus the small literals of one command
 *   (`maxLiteralSize`, `maxCommandSize`). An APPEND message literal is not
 *   buffered at all: it is handed out as `append-chunk` slices of the input
 *   between `append-start` (with the parsed mailbox, flags, date) and
 *   `append-literal-end`; the APPEND `command` event follows the final CRLF.
 * - Synchronizing literals `{n}`: the client waits for "+" (RFC 3501 7.5). We
 *   first parse what we have; only if it is valid so far do we emit
 *   `literal-request` and wait until the session calls `acceptLiteral()`
 *   (it writes "+ …", after checking e.g. the command table) or
 *   `rejectLiteral()`. A refused literal is never sent, so the next line is a
 *   new command.
 * - Non-synchronizing literals `{n+}` (LITERAL+, RFC 7888) arrive without
 *   asking. If one is larger than we accept, its bytes are already on the
 *   way and we cannot tell where the next command starts without reading
 *   them all: RFC 7888 section 4 lets the server close the connection, and
 *   we do (`BYE [TOOBIG]`). If the command is refused for another reason,
 *   its literal is skipped (up to the APPEND limit) and one BAD reported.
 * - A line longer than `maxLineLength` is discarded as it streams in (a 10 MB
 *   line costs no memory) and answered with one BAD [LIMIT]; if it ended with
 *   `{n+}` that literal is skipped too, so its bytes are not taken as commands.
 * - Pull, not push: `next()` does work only when asked and returns after each
 *   event, so the session can switch modes between events: `expectLine()`
 *   after AUTHENTICATE (the next line is a SASL response, not a command),
 *   `discardInput()` after STARTTLS (drop what the client pipelined in
 *   cleartext, CVE-2011-0411), `abortCommand()` when storage refuses an
 *   APPEND midway. `feed()` is the push-style convenience for simple users.
 * - Nothing in here throws for bad input: every violation is an `error` event
 *   carrying an ImapParseError (`BAD`/`NO` after resynchronising, `BYE` when
 *   the stream cannot be resynchronised; the reader then stops).
 */
import type { AppendHeader, Command, CommandKey } from './commands.js';
import type { CommandPart } from './decoder.js';
import { ImapParseError } from './errors.js';
import { parseCommand } from './parse-command.js';

export interface ReaderOptions {
  /** longest command line (CRLF excluded) we keep; longer lines are skipped and refused. Default 64 KiB. */
  maxLineLength?: number;
  /** largest literal in any command but APPEND's message (a password, a SEARCH string). Default 64 KiB. */
  maxLiteralSize?: number;
  /** largest APPEND message (APPENDLIMIT, RFC 7889). Default 50 MiB. */
  appendLimit?: number;
  /** total of the lines and small literals of one command. Default 1 MiB. */
  maxCommandSize?: number;
  /** deepest nesting of parenthesised lists and NOT/OR chains. Default 32. */
  maxDepth?: number;
  /** literals in one command (each synchronizing one re-checks the command so far). Default 100. */
  maxLiteralsPerCommand?: number;
}

export const READER_DEFAULTS: Required<ReaderOptions> = {
  maxLineLength: 64 * 1024,
  maxLiteralSize: 64 * 1024,
  appendLimit: 50 * 1024 * 1024,
  maxCommandSize: 1024 * 1024,
  maxDepth: 32,
  maxLiteralsPerCommand: 100,
};

export type ReaderEvent =
  | { type: 'command'; tag: string; command: Command }
  /** a synchronizing literal is announced: answer with acceptLiteral() (and write "+ …") or rejectLiteral() */
  | { type: 'literal-request'; tag: string; key: CommandKey; size: number; append: boolean }
  /** an APPEND message of `size` octets begins; `append-chunk` events carry exactly `size` octets in total */
  | { type: 'append-start'; tag: string; size: number; header: AppendHeader }
  /** a slice of the caller's input buffer (not copied): consume or copy it before reusing that buffer */
  | { type: 'append-chunk'; data: Buffer }
  | { type: 'append-literal-end' }
  /** a line reading just DONE (ends IDLE, RFC 2177); the session decides whether it is expected */
  | { type: 'done' }
  /** the raw line requested with expectLine() (a SASL response), CRLF removed */
  | { type: 'line'; text: string }
  | { type: 'error'; error: ImapParseError };

type Mode = 'line' | 'literal' | 'append' | 'await' | 'skip-line' | 'skip-literal' | 'closed';

interface Marker {
  size: number;
  sync: boolean;
}

const TAIL = 32; // enough to see a "{4294967295+}" literal marker at the end of a skipped line

/** `{n}` or `{n+}` at the end of a line; size is Infinity when absurdly long */
function literalMarker(tail: string): Marker | null {
  const m = /\{([0-9]+)(\+?)\}$/.exec(tail);
  if (m === null) return null;
  return { size: m[1].length > 15 ? Infinity : Number(m[1]), sync: m[2] === '' };
}

/** the tag at the start of a line, if it looks like one (for errors about lines we could not keep) */
function tagOf(start: string): string | undefined {
  const m = /^([!#$&'+,\-./0-9:;<=>?@A-Z[\]^_`a-z|}~]+) /.exec(start);
  return m !== null && !m[1].includes('+') ? m[1] : undefined;
}

export class CommandReader {
  private readonly o: Required<ReaderOptions>;
  private mode: Mode = 'line';
  private readonly out: ReaderEvent[] = [];

  // unconsumed input
  private queue: Buffer[] = [];
  private qOff = 0;
  private queued = 0;

  // the line being accumulated
  private line: Buffer[] = [];
  private lineLen = 0;

  // the command being framed
  private parts: CommandPart[] = [];
  private commandBytes = 0;
  private tag: string | undefined;
  private literal: Buffer | undefined;
  private literalFill = 0;
  private remaining = 0;
  private appendSize = 0;
  private literalCount = 0;
  private pending: { tag: string; size: number; append?: AppendHeader } | undefined;
  private pendingError: ImapParseError | undefined;
  private skipTail = '';
  private rawLine = false;

  constructor(options: ReaderOptions = {}) {
    this.o = { ...READER_DEFAULTS, ...options };
  }

  /** bytes the reader itself holds for the current command (input not yet looked at excluded) */
  get bufferedBytes(): number {
    return this.lineLen + this.commandBytes + (this.literal?.length ?? 0);
  }

  /** input pushed but not yet consumed; a socket adapter pauses reading while this is large */
  get pendingInput(): number {
    return this.queued;
  }

  /** true once a BYE was emitted: nothing more will be read */
  get closed(): boolean {
    return this.mode === 'closed';
  }

  /** waiting for acceptLiteral()/rejectLiteral() */
  get awaitingLiteralDecision(): boolean {
    return this.mode === 'await';
  }

  push(chunk: Buffer): void {
    if (this.mode === 'closed' || chunk.length === 0) return;
    this.queue.push(chunk);
    this.queued += chunk.length;
  }

  /** the next event, or null when more input (or a literal decision) is needed */
  next(): ReaderEvent | null {
    for (;;) {
      const ev = this.out.shift();
      if (ev !== undefined) return ev;
      if (!this.step()) return null;
    }
  }

  /** push a chunk and return every event it completes (stops early only at a literal-request) */
  feed(chunk: Buffer): ReaderEvent[] {
    this.push(chunk);
    const events: ReaderEvent[] = [];
    for (let ev = this.next(); ev !== null; ev = this.next()) events.push(ev);
    return events;
  }

  /** accept the announced synchronizing literal; the caller sends the "+" continuation */
  acceptLiteral(): void {
    const p = this.takePending();
    this.startLiteral(p.size, p.tag, p.append);
  }

  /** refuse the announced synchronizing literal; `error` (default: a BAD) becomes the next event */
  rejectLiteral(error?: ImapParseError): void {
    const p = this.takePending();
    const e = (error ?? new ImapParseError({ kind: 'BAD', text: 'Literal refused' })).withTag(p.tag);
    this.resetCommand();
    this.mode = 'line';
    this.out.push({ type: 'error', error: e });
  }

  /**
   * Give up on the command being framed (e.g. storage refused an APPEND midway): the
   * rest of it is skipped and `error` is emitted, tagged, once its end is reached.
   */
  abortCommand(error: ImapParseError): void {
    if (this.mode === 'closed') return;
    const e = error.withTag(this.tag ?? error.tag);
    // drop events of this command not yet handed out
    for (let i = this.out.length - 1; i >= 0; i--) {
      const t = this.out[i].type;
      if (t === 'append-chunk' || t === 'append-literal-end') this.out.splice(i, 1);
    }
    if (this.mode === 'append' || this.mode === 'literal') {
      this.literal = undefined;
      this.pendingError = e;
      this.mode = 'skip-literal';
    } else if (this.mode === 'line' && (this.parts.length > 0 || this.lineLen > 0)) {
      this.skipTail = '';
      this.line = [];
      this.lineLen = 0;
      this.pendingError = e;
      this.mode = 'skip-line';
    } else if (this.mode === 'await') {
      this.pending = undefined;
      this.resetCommand();
      this.mode = 'line';
      this.out.push({ type: 'error', error: e });
    }
  }

  /** the next line is not a command but a raw line (an AUTHENTICATE continuation) */
  expectLine(): void {
    this.rawLine = true;
  }

  /** drop all input not yet consumed and any half-framed command (after STARTTLS: CVE-2011-0411) */
  discardInput(): void {
    if (this.mode === 'closed') return;
    this.queue = [];
    this.qOff = 0;
    this.queued = 0;
    this.line = [];
    this.lineLen = 0;
    this.resetCommand();
    this.mode = 'line';
  }

  /* ------------------------------------------------------------ steps */

  private step(): boolean {
    switch (this.mode) {
      case 'closed':
      case 'await':
        return false;
      case 'line':
        return this.stepLine();
      case 'literal':
        return this.stepLiteral();
      case 'append':
        return this.stepAppend();
      case 'skip-line':
        return this.stepSkipLine();
      case 'skip-literal':
        return this.stepSkipLiteral();
    }
  }

  private head(): Buffer | undefined {
    const b = this.queue[0];
    return b === undefined ? undefined : this.qOff === 0 ? b : b.subarray(this.qOff);
  }

  private advance(n: number): void {
    this.qOff += n;
    this.queued -= n;
    if (this.qOff >= this.queue[0].length) {
      this.queue.shift();
      this.qOff = 0;
    }
  }

  private stepLine(): boolean {
    const h = this.head();
    if (h === undefined) return false;
    const lf = h.indexOf(0x0a);
    const contentLen = lf < 0 ? h.length : lf;
    // a CR ending what we have (before the LF, or last byte so far) is not content: do not count it
    const lastByte = contentLen > 0 ? h[contentLen - 1] : this.line.length > 0 ? this.line[this.line.length - 1].at(-1) : undefined;
    const crAllowance = lastByte === 0x0d ? 1 : 0;
    if (this.lineLen + contentLen - crAllowance > this.o.maxLineLength) {
      this.startSkip(new ImapParseError({ kind: 'BAD', code: 'LIMIT', text: `Command line too long (limit ${this.o.maxLineLength} octets)` }), h);
      return true;
    }
    if (lf < 0) {
      this.line.push(Buffer.from(h)); // a copy: a partial line must not pin the caller's (maybe large) chunk
      this.lineLen += h.length;
      this.advance(h.length);
      return true;
    }
    let text = this.line.length === 0 ? Buffer.from(h.subarray(0, lf)) : Buffer.concat([...this.line, h.subarray(0, lf)]);
    this.advance(lf + 1);
    this.line = [];
    this.lineLen = 0;
    if (text.length > 0 && text[text.length - 1] === 0x0d) text = text.subarray(0, text.length - 1);
    this.onLine(text);
    return true;
  }

  private onLine(text: Buffer): void {
    if (this.parts.length === 0) {
      if (this.rawLine) {
        this.rawLine = false;
        this.out.push({ type: 'line', text: text.toString('utf8') });
        return;
      }
      if (text.length === 0) return; // stray empty lines between commands are ignored
      if (text.length === 4 && text.toString('latin1').toUpperCase() === 'DONE') {
        this.out.push({ type: 'done' });
        return;
      }
    }
    this.commandBytes += text.length;
    const marker = literalMarker(text.toString('latin1', Math.max(0, text.length - TAIL)));
    if (this.commandBytes > this.o.maxCommandSize) {
      this.tag ??= tagOf(text.toString('latin1', 0, Math.min(text.length, 256)));
      this.pendingError = new ImapParseError({ kind: 'BAD', code: 'LIMIT', text: `Command too long (limit ${this.o.maxCommandSize} octets)`, tag: this.tag });
      this.endSkippedLine(marker);
      return;
    }
    this.parts.push({ kind: 'text', data: text });
    if (marker !== null && this.announceWithoutParsing(marker)) return;
    const outcome = parseCommand(this.parts, { maxDepth: this.o.maxDepth });
    if (marker === null) {
      this.resetCommand();
      if (outcome.type === 'command') this.out.push({ type: 'command', tag: outcome.tag, command: outcome.command });
      else if (outcome.type === 'error') this.out.push({ type: 'error', error: outcome.error });
      else this.out.push({ type: 'error', error: new ImapParseError({ kind: 'BAD', code: 'SERVERBUG', text: 'Internal parser error', tag: outcome.tag }) });
      return;
    }
    if (outcome.type !== 'need-literal') {
      // invalid before the literal: never ask for it (RFC 3501 7.5 "+" only when acceptable so far)
      const error =
        outcome.type === 'error' ? outcome.error : new ImapParseError({ kind: 'BAD', text: 'Unexpected literal', tag: outcome.tag });
      this.tag = error.tag;
      this.refuseAnnounced(marker, error);
      return;
    }
    this.tag = outcome.tag;
    const append = outcome.append !== undefined;
    const tooBig = append
      ? marker.size > this.o.appendLimit
      : marker.size > this.o.maxLiteralSize || this.commandBytes + marker.size > this.o.maxCommandSize;
    if (tooBig) {
      const limit = append ? this.o.appendLimit : this.o.maxLiteralSize;
      if (!marker.sync) {
        // RFC 7888 section 4: the octets are already coming and we will not take them
        this.fatal(`Literal of ${marker.size} octets is larger than the limit of ${limit}`);
        return;
      }
      // RFC 7889 section 3: an APPEND over APPENDLIMIT is refused with NO [TOOBIG]
      const error = new ImapParseError({
        kind: append ? 'NO' : 'BAD',
        code: 'TOOBIG',
        text: `Literal of ${marker.size} octets is larger than the limit of ${limit}`,
        tag: outcome.tag,
      });
      this.resetCommand();
      this.out.push({ type: 'error', error });
      return;
    }
    if (marker.sync) {
      this.pending = outcome.append === undefined ? { tag: outcome.tag, size: marker.size } : { tag: outcome.tag, size: marker.size, append: outcome.append };
      this.mode = 'await';
      this.out.push({ type: 'literal-request', tag: outcome.tag, key: outcome.key, size: marker.size, append });
      return;
    }
    this.startLiteral(marker.size, outcome.tag, outcome.append);
  }

  /**
   * Cheap paths for a literal announcement, so that a command with many literals is not
   * re-parsed from its start for each one (that would be quadratic):
   * - past `maxLiteralsPerCommand`, the command is refused and the rest of it skipped;
   * - a non-synchronizing literal outside APPEND needs no "acceptable so far" check (no "+"
   *   is sent) and cannot be a message literal, so it is read and the command parsed at its end.
   * Returns false when the prefix must be parsed.
   */
  private announceWithoutParsing(marker: Marker): boolean {
    this.literalCount++;
    const first = this.parts[0].kind === 'text' ? this.parts[0].data : Buffer.alloc(0);
    const head = first.toString('latin1', 0, Math.min(first.length, 256));
    if (this.literalCount > this.o.maxLiteralsPerCommand) {
      this.tag ??= tagOf(head);
      const error = new ImapParseError({ kind: 'BAD', code: 'LIMIT', text: `More than ${this.o.maxLiteralsPerCommand} literals in one command`, tag: this.tag });
      this.refuseAnnounced(marker, error);
      return true;
    }
    if (marker.sync || /^\S+ APPEND(?: |$)/i.test(head)) return false;
    const tag = tagOf(head);
    if (marker.size > this.o.maxLiteralSize || this.commandBytes + marker.size > this.o.maxCommandSize) {
      // RFC 7888 section 4: the octets are already coming and we will not take them
      this.fatal(`Literal of ${marker.size} octets is larger than the limit of ${this.o.maxLiteralSize}`);
      return true;
    }
    this.startLiteral(marker.size, tag, undefined);
    return true;
  }

  /** a literal was announced for a command we refuse */
  private refuseAnnounced(marker: Marker, error: ImapParseError): void {
    if (marker.sync) {
      this.resetCommand();
      this.out.push({ type: 'error', error });
      return;
    }
    this.pendingError = error;
    this.enterSkipLiteral(marker.size);
  }

  private startLiteral(size: number, tag: string | undefined, append: AppendHeader | undefined): void {
    if (tag !== undefined) this.tag = tag;
    this.remaining = size;
    if (append !== undefined && tag !== undefined) {
      this.appendSize = size;
      this.out.push({ type: 'append-start', tag, size, header: append });
      this.mode = 'append';
      if (size === 0) this.finishAppend();
      return;
    }
    this.literal = Buffer.allocUnsafe(size);
    this.literalFill = 0;
    this.mode = 'literal';
    if (size === 0) this.finishLiteral();
  }

  private stepLiteral(): boolean {
    const h = this.head();
    if (h === undefined || this.literal === undefined) return false;
    const n = Math.min(this.remaining, h.length);
    h.copy(this.literal, this.literalFill, 0, n);
    this.literalFill += n;
    this.remaining -= n;
    this.advance(n);
    if (this.remaining === 0) this.finishLiteral();
    return true;
  }

  private finishLiteral(): void {
    const data = this.literal ?? Buffer.alloc(0);
    this.literal = undefined;
    this.parts.push({ kind: 'literal', data });
    this.commandBytes += data.length;
    this.mode = 'line';
  }

  private stepAppend(): boolean {
    const h = this.head();
    if (h === undefined) return false;
    const n = Math.min(this.remaining, h.length);
    this.out.push({ type: 'append-chunk', data: h.subarray(0, n) });
    this.remaining -= n;
    this.advance(n);
    if (this.remaining === 0) this.finishAppend();
    return true;
  }

  private finishAppend(): void {
    this.out.push({ type: 'append-literal-end' });
    this.parts.push({ kind: 'stream', size: this.appendSize });
    this.mode = 'line';
  }

  /* ------------------------------------------------------- skipping */

  /** start discarding the rest of the current command; `h` is the unconsumed head of input */
  private startSkip(error: ImapParseError, h: Buffer): void {
    if (this.parts.length === 0) {
      // the line so far may be many small chunks: look at its first few hundred bytes for the tag
      let start = '';
      for (const b of [...this.line, h]) {
        start += b.toString('latin1', 0, Math.min(b.length, 256 - start.length));
        if (start.length >= 256) break;
      }
      this.tag = tagOf(start);
    }
    this.pendingError = error.withTag(this.tag);
    const kept = this.line.length > 0 ? Buffer.concat(this.line) : Buffer.alloc(0);
    this.skipTail = kept.toString('latin1', Math.max(0, kept.length - TAIL));
    this.line = [];
    this.lineLen = 0;
    this.mode = 'skip-line';
  }

  private stepSkipLine(): boolean {
    const h = this.head();
    if (h === undefined) return false;
    const lf = h.indexOf(0x0a);
    const end = lf < 0 ? h.length : lf;
    this.skipTail = (this.skipTail + h.toString('latin1', Math.max(0, end - TAIL), end)).slice(-TAIL);
    this.advance(lf < 0 ? h.length : lf + 1);
    if (lf >= 0) {
      const tail = this.skipTail.endsWith('\r') ? this.skipTail.slice(0, -1) : this.skipTail;
      this.skipTail = '';
      this.endSkippedLine(literalMarker(tail));
    }
    return true;
  }

  /** a discarded line ended: skip its non-synchronizing literal too, or report the error */
  private endSkippedLine(marker: Marker | null): void {
    this.rawLine = false;
    if (marker !== null && !marker.sync) {
      this.enterSkipLiteral(marker.size);
      return;
    }
    const error = this.pendingError ?? new ImapParseError({ kind: 'BAD', text: 'Invalid command', tag: this.tag });
    this.resetCommand();
    this.mode = 'line';
    this.out.push({ type: 'error', error });
  }

  private enterSkipLiteral(size: number): void {
    // Skipping costs no memory, but an absurd size would tie the connection up for nothing.
    if (size > Math.max(this.o.appendLimit, this.o.maxLiteralSize)) {
      this.fatal(`Literal of ${size} octets is larger than the limit of ${this.o.appendLimit}`);
      return;
    }
    this.remaining = size;
    this.mode = 'skip-literal';
    if (size === 0) this.mode = 'skip-line';
  }

  private stepSkipLiteral(): boolean {
    if (this.remaining === 0) {
      this.mode = 'skip-line';
      return true;
    }
    const h = this.head();
    if (h === undefined) return false;
    const n = Math.min(this.remaining, h.length);
    this.remaining -= n;
    this.advance(n);
    if (this.remaining === 0) this.mode = 'skip-line';
    return true;
  }

  /* ---------------------------------------------------------- misc */

  private fatal(text: string): void {
    this.out.push({ type: 'error', error: new ImapParseError({ kind: 'BYE', code: 'TOOBIG', text }) });
    this.resetCommand();
    this.queue = [];
    this.qOff = 0;
    this.queued = 0;
    this.line = [];
    this.lineLen = 0;
    this.mode = 'closed';
  }

  private takePending(): { tag: string; size: number; append?: AppendHeader } {
    const p = this.pending;
    if (this.mode !== 'await' || p === undefined) throw new Error('CommandReader: no literal is awaiting a decision');
    this.pending = undefined;
    return p;
  }

  private resetCommand(): void {
    this.literalCount = 0;
    this.parts = [];
    this.commandBytes = 0;
    this.tag = undefined;
    this.literal = undefined;
    this.literalFill = 0;
    this.remaining = 0;
    this.pending = undefined;
    this.pendingError = undefined;
    this.skipTail = '';
  }
}
