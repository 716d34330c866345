/**
 * One IMAP connection: bytes in through the resumable CommandReader, one
 * command at a time through the command table and its handler, replies out
 * through SessionIO.
 *
 * How input flows. The socket adapter calls receive(chunk); the reader
 * frames it; the pump takes events one by one and awaits each command, with
 * the connection paused (io.pause) while there is work, so a client cannot
 * make us buffer more than the reader's bounds. Commands run strictly one
 * after another: RFC 3501 5.5 allows running some concurrently but never
 * requires it, and serial execution keeps sequence numbers simple.
 *
 * Order of the replies. Before each tagged reply the session syncs the
 * selected mailbox and sends what changed (view.ts); EXPUNGE only after
 * commands that may renumber (command table: mayExpunge, or no message
 * numbers at all), never after FETCH, STORE, SEARCH or COPY (RFC 3501 7.4.1).
 *
 * Commands that span more input (AUTHENTICATE exchanges, IDLE until DONE)
 * return CONTINUES and leave a continuation in the core; the matching input
 * event (`line`, `done`) finishes them.
 *
 * Endings. LOGOUT, a fatal parse error, too many bad commands or failed
 * logins, the autologout timer and shutdown() all send BYE and close; the
 * adapter calls closed() when the connection is gone, which aborts an APPEND
 * in flight (storage then discards it) and releases the mailbox.
 */
import { commandKey, type Command, type CommandKey, type CommandName } from '../commands.js';
import { commandSpec, isAllowedIn } from '../command-table.js';
import { ImapParseError } from '../errors.js';
import { CommandReader, type ReaderEvent } from '../reader.js';
import type { SessionIO } from '../../session-io.js';
import { beginAppend } from './cmd-append.js';
import type { ImapContext } from './context.js';
import { SessionCore } from './core.js';
import { toWireError } from './error-map.js';
import { handlerFor } from './handlers.js';
import { CONTINUES, statusLine, type HandlerResult } from './response.js';

/** Dovecot closes a connection after this many bad commands in a row; so do we */
const MAX_BAD_COMMANDS = 20;
/** how long shutdown() waits for a running command by default */
const SHUTDOWN_DEADLINE_MS = 10_000;

export class ImapSession {
  private readonly reader: CommandReader;
  private readonly core: SessionCore;
  /** the pump is taking events (set and cleared synchronously: no input can slip between) */
  private pumping = false;
  /** the last pump, for closed() and shutdown() to wait on */
  private running: Promise<void> = Promise.resolve();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private gone = false;
  private stopping = false;
  private badCommands = 0;

  constructor(
    private readonly io: SessionIO,
    private readonly ctx: ImapContext,
  ) {
    this.reader = new CommandReader({ maxLineLength: ctx.limits.maxLineLength, appendLimit: ctx.limits.appendLimit });
    this.core = new SessionCore(io, ctx, this.reader);
  }

  /** send the greeting (with CAPABILITY, as Dovecot does) and start the autologout timer */
  async start(): Promise<void> {
    this.armTimer();
    await this.core.send(statusLine('*', 'OK', `${this.ctx.hostname} Mailroom ready.`, `CAPABILITY ${this.core.capabilities().join(' ')}`));
  }

  /** input from the connection; the session takes ownership of `chunk` */
  receive(chunk: Buffer): void {
    if (this.gone || this.core.ending || this.core.tlsStarting) return;
    this.reader.push(chunk);
    this.armTimer();
    if (!this.pumping) this.running = this.pump();
  }

  /** the connection is gone: abort an APPEND in flight (nothing lands) and release the mailbox */
  closed(): void {
    if (this.gone) return;
    this.gone = true;
    this.clearTimer();
    this.core.endIdle();
    this.core.upload?.abort();
    this.core.upload = null;
    const release = async (): Promise<void> => {
      await this.running;
      try {
        await this.core.deselect();
      } catch (e) {
        this.ctx.log.warn({ err: e }, 'imap: releasing the mailbox failed');
      }
      if (this.core.address !== null) this.ctx.log.info({ user: this.core.address }, 'imap logout');
    };
    void release();
  }

  /**
   * The server is stopping: take no new command, let the running one (and an
   * APPEND being received) finish up to `deadlineMs`, then `* BYE` and close.
   */
  async shutdown(reason: string, deadlineMs = SHUTDOWN_DEADLINE_MS): Promise<void> {
    if (this.gone) return;
    this.stopping = true;
    const deadline = Date.now() + deadlineMs;
    while ((this.pumping || this.core.upload !== null) && Date.now() < deadline) {
      await Promise.race([this.running, sleep(Math.min(50, Math.max(1, deadline - Date.now())))]);
    }
    if (this.gone) return;
    this.core.endIdle(); // RFC 2177: an IDLE may simply be interrupted by BYE
    await this.bye(reason);
  }

  /* ----------------------------------------------------------- input */

  private async pump(): Promise<void> {
    this.pumping = true;
    this.io.pause();
    try {
      for (;;) {
        if (this.gone || this.core.ending) return;
        const ev = this.reader.next();
        if (ev === null) break;
        // stopping: no new command runs, but an APPEND whose literal we accepted is received whole
        if (this.stopping && !this.partOfAppend(ev)) return;
        try {
          await this.onEvent(ev);
        } catch (e) {
          // a bug of ours in the event handling itself: report it, keep serving
          this.ctx.log.error({ err: e }, 'imap: unexpected error while handling input');
        }
      }
    } finally {
      this.pumping = false;
      if (!this.gone && !this.core.ending) this.io.resume();
      this.armTimer();
    }
  }

  private partOfAppend(ev: ReaderEvent): boolean {
    if (ev.type === 'append-start' || ev.type === 'append-chunk' || ev.type === 'append-literal-end') return true;
    return ev.type === 'command' && ev.command.name === 'APPEND' && this.core.upload !== null;
  }

  private async onEvent(ev: ReaderEvent): Promise<void> {
    switch (ev.type) {
      case 'command':
        return this.onCommand(ev.tag, ev.command);
      case 'literal-request':
        return this.onLiteralRequest(ev.key);
      case 'append-start':
        beginAppend(this.core, ev.header);
        return;
      case 'append-chunk':
        await this.core.upload?.write(ev.data);
        return;
      case 'append-literal-end':
        return;
      case 'done':
        return this.onDone();
      case 'line':
        return this.onLine(ev.text);
      case 'error':
        return this.onError(ev.error);
    }
  }

  private async onCommand(tag: string, command: Command): Promise<void> {
    await this.interruptContinuation();
    const key = commandKey(command);
    if (!isAllowedIn(key, this.core.state)) {
      this.core.upload?.abort();
      this.core.upload = null;
      await this.refuse(tag, `Command ${key} is not valid in this state`);
      return;
    }
    this.badCommands = 0;
    await this.complete(tag, key, command.name, () => handlerFor(command)(this.core, command, tag));
  }

  /** RFC 3501 7.5: "+" only when the command is acceptable so far; the state is part of that */
  private async onLiteralRequest(key: CommandKey): Promise<void> {
    if (this.core.continuation !== null || !isAllowedIn(key, this.core.state)) {
      this.reader.rejectLiteral(new ImapParseError({ kind: 'BAD', text: `Command ${key} is not valid in this state` }));
      return;
    }
    this.reader.acceptLiteral();
    await this.core.send('+ Ready for literal data\r\n');
  }

  private async onDone(): Promise<void> {
    const tag = this.core.endIdle();
    if (tag === null) {
      await this.refuse('*', 'Unexpected DONE');
      return;
    }
    await this.core.settleIdle();
    await this.complete(tag, 'IDLE', 'IDLE', async () => ({ text: 'Idle completed' }));
  }

  private async onLine(text: string): Promise<void> {
    const c = this.core.continuation;
    if (c?.kind !== 'sasl') return;
    this.core.continuation = null;
    await this.complete(c.tag, 'AUTHENTICATE', 'AUTHENTICATE', () => c.onLine(text));
  }

  private async onError(error: ImapParseError): Promise<void> {
    this.core.upload?.abort();
    this.core.upload = null;
    await this.interruptContinuation();
    const w = toWireError(error, this.ctx.log);
    if (w.status === 'BYE') {
      await this.bye(w.text, w.code);
      return;
    }
    await this.refuse(error.tag ?? '*', w.text, w.code, w.status);
  }

  /** input other than the awaited DONE / SASL line ends IDLE or the exchange with a BAD */
  private async interruptContinuation(): Promise<void> {
    const c = this.core.continuation;
    if (c === null) return;
    if (c.kind === 'idle') {
      this.core.endIdle();
      await this.core.settleIdle();
      await this.core.send(statusLine(c.tag, 'BAD', 'Expected DONE'));
    } else {
      this.core.continuation = null;
      await this.core.send(statusLine(c.tag, 'BAD', 'Expected a SASL response'));
    }
  }

  /* -------------------------------------------------------- replies */

  /** run a handler and write its tagged reply (after the unsolicited updates it allows) */
  private async complete(tag: string, key: CommandKey, name: CommandName, run: () => Promise<HandlerResult>): Promise<void> {
    let result: HandlerResult | undefined;
    let failure: ReturnType<typeof toWireError> | undefined;
    try {
      result = await run();
    } catch (e) {
      failure = toWireError(e, this.ctx.log, name);
    }
    if (result === CONTINUES) return;
    if (this.gone) return;
    if (!this.core.ending) {
      const spec = commandSpec(key);
      try {
        await this.core.announce(spec.mayExpunge || spec.numbering === 'none');
      } catch (e) {
        this.ctx.log.warn({ err: e }, 'imap: mailbox sync after a command failed');
      }
    }
    if (failure === undefined) {
      await this.core.send(statusLine(tag, 'OK', result?.text ?? 'Completed', result?.code));
    } else if (failure.status === 'BYE') {
      await this.bye(failure.text, failure.code);
      return;
    } else {
      await this.core.send(statusLine(tag, failure.status, failure.text, failure.code));
      if (failure.status === 'BAD') this.badCommands++;
    }
    if (this.core.ending) await this.end();
    else if (this.core.authFailuresExhausted && this.core.state === 'not-authenticated') await this.bye('Too many invalid authentication attempts');
    else if (this.badCommands >= MAX_BAD_COMMANDS) await this.bye('Too many invalid IMAP commands');
  }

  /** a BAD (or NO) that is not a command's outcome: wrong state, parse errors */
  private async refuse(tag: string, text: string, code?: string, status: 'BAD' | 'NO' = 'BAD'): Promise<void> {
    await this.core.send(statusLine(tag, status, text, code));
    if (status === 'BAD' && ++this.badCommands >= MAX_BAD_COMMANDS) await this.bye('Too many invalid IMAP commands');
  }

  private async bye(text: string, code?: string): Promise<void> {
    this.core.ending = true;
    try {
      await this.core.send(statusLine('*', 'BYE', text, code));
    } catch {
      // the connection may already be gone; closing is all that is left to do
    }
    await this.end();
  }

  /** close after LOGOUT or BYE: the handle is released, the connection closed once flushed */
  private async end(): Promise<void> {
    this.core.ending = true;
    this.clearTimer();
    this.core.upload?.abort();
    this.core.upload = null;
    try {
      await this.core.deselect();
    } catch (e) {
      this.ctx.log.warn({ err: e }, 'imap: releasing the mailbox failed');
    }
    this.io.close();
  }

  /* ---------------------------------------------------------- timers */

  /** autologout: RFC 3501 5.4 (at least 30 minutes once authenticated; shorter before) */
  private armTimer(): void {
    if (this.gone || this.core.ending) return;
    this.clearTimer();
    const ms = this.core.state === 'not-authenticated' ? this.ctx.limits.preauthTimeoutMs : this.ctx.limits.idleTimeoutMs;
    this.timer = setTimeout(() => this.autologout(), ms);
    this.timer.unref?.();
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private autologout(): void {
    this.timer = null;
    if (this.pumping) {
      this.armTimer(); // a long command is not idleness
      return;
    }
    void this.bye('Autologout; idle for too long');
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
