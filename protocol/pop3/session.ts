/**
 * One POP3 session (RFC 1939, with RFC 2449 CAPA/RESP-CODES/PIPELINING,
 * RFC 5034 AUTH, RFC 2595 STLS, RFC 3206 response codes).
 *
 * States: AUTHORIZATION → (USER/PASS or AUTH, maildrop locked) → TRANSACTION
 * → (QUIT) → UPDATE. Deletions are only marks until QUIT; they are applied
 * in UPDATE (\Deleted + expunge of exactly those UIDs). A dropped connection,
 * an idle timeout or a server shutdown never enters UPDATE (RFC 1939
 * section 6), so nothing is removed.
 *
 * The message list is a snapshot taken at login (RFC 1939 section 4: the
 * maildrop is locked, and message numbers must not change during the
 * session), so mail delivered meanwhile shows up at the next login.
 *
 * Input is split into lines by a bounded LineReader and queued; one loop
 * takes lines in order and runs one command at a time, so pipelined commands
 * (RFC 2449 PIPELINING) are answered in order. The connection is paused
 * while the queue is long, so a client flooding commands is bounded too.
 */
import type { Authenticator, SessionIO, SessionLog } from '../session-io.js';
import type { Mailbox, MailStore } from '../../maildir/types.js';
import { COMMAND_STATES, parseCommand, type Pop3Command } from './commands.js';
import { LineReader, type LineEvent } from './line-reader.js';
import { crlfInput } from '../crlf.js';
import { multiLineBody, topOf, wholeMultiLine } from './message-stream.js';
import { err, ok, storeErrorCode, storeErrorReply } from './responses.js';
import {
  decodeBase64,
  isSaslMechanism,
  LOGIN_PASSWORD_PROMPT,
  LOGIN_USERNAME_PROMPT,
  parsePlain,
  SASL_MECHANISMS,
  type Credentials,
} from './sasl.js';
import { uidl } from './uidl.js';

export interface Pop3Limits {
  /** longest command line accepted, without CRLF (RFC 2449 says 255; be a little lenient) */
  maxLineLength: number;
  /** inactivity autologout; RFC 1939 section 3 says at least 10 minutes */
  idleTimeoutMs: number;
  /** failed logins before the connection is closed */
  maxAuthFailures: number;
  /** a client still in AUTHORIZATION after this long is disconnected (unset: only the idle timeout applies) */
  loginTimeoutMs?: number;
}

export interface Pop3Context {
  store: MailStore;
  auth: Authenticator;
  /** lock the user's maildrop for the session; throws StoreError INUSE when another session holds it */
  lockMaildrop(user: string): Promise<() => Promise<void>>;
  log: SessionLog;
  hostname: string;
  /** allow USER/PASS and AUTH PLAIN/LOGIN without TLS on non-loopback connections */
  allowPlaintextAuth: boolean;
  limits: Pop3Limits;
}

export const DEFAULT_POP3_LIMITS: Pop3Limits = {
  maxLineLength: 512,
  idleTimeoutMs: 10 * 60_000,
  maxAuthFailures: 3,
};

type State = 'AUTHORIZATION' | 'TRANSACTION' | 'UPDATE';

/** The maildrop as of login: message number n is index n-1. */
interface Maildrop {
  user: string;
  release: () => Promise<void>;
  mailbox: Mailbox;
  uids: number[];
  sizes: number[];
  deleted: Uint8Array;
  deletedCount: number;
  deletedBytes: number;
  totalBytes: number;
  /** message numbers fully retrieved (RETR): marked \Seen in UPDATE, as Dovecot does */
  retrieved: Set<number>;
}

type OpenedMessage = Awaited<ReturnType<Mailbox['read']>>;
/** A message opened for RETR/TOP; `retrReply` is its whole RETR reply, made ahead when it was read whole. */
interface Prepared {
  /** null when the message was read whole without waiting (readNow): then retrReply is there */
  opened: OpenedMessage | null;
  retrReply?: Buffer;
}

const PLAINTEXT_REFUSED = 'Plaintext authentication is not allowed on an unencrypted connection; use STLS or the TLS port first';
/** pause reading once this many lines wait; resume when the queue is empty */
const QUEUE_HIGH_WATER = 32;
/** RFC822 size lookups in flight at login */
const SIZE_LOOKUPS = 16;
/** messages opened ahead of a RETR (each holds a file descriptor and up to 64 KiB) */
const READ_AHEAD = 4;
/** LIST/UIDL replies are written in pieces of about this size */
const WRITE_BATCH = 32 * 1024;

export class Pop3Session {
  private state: State = 'AUTHORIZATION';
  private readonly reader: LineReader;
  private queue: LineEvent[] = [];
  private wake?: () => void;
  private paused = false;
  /** STLS accepted, handshake not done: input is discarded (RFC 2595 section 4, CVE-2011-0411) */
  private discarding = false;
  /** set once: no more commands will run */
  private ending = false;
  /** the peer is gone: write nothing more */
  private gone = false;
  /** a last line to send before closing (autologout, shutdown, too many failures) */
  private farewell?: string;
  private idleTimer?: ReturnType<typeof setTimeout>;
  private loginTimer?: ReturnType<typeof setTimeout>;
  private idleWaiters: (() => void)[] = [];
  private waitingForInput = false;
  private done?: Promise<void>;
  private pendingUser?: string;
  private failures = 0;
  private drop?: Maildrop;
  /**
   * The maildrop being opened after a successful PASS/AUTH, until a command
   * needs it (maildrop()). The +OK does not wait for the listing: RFC 1939
   * section 4 wants the lock before the reply, not the scan, and Dovecot
   * answers PASS the same way; the listing of a big INBOX (a quarter of a
   * second at 100,000 messages) then overlaps the client's next round trip.
   */
  private dropOpening?: Promise<Maildrop>;
  /**
   * The next messages' files, opened and read while the client is still
   * reading the current one: "download everything" clients (fetchmail,
   * getmail, the benchmark) RETR 1, 2, 3… one at a time, so the file system
   * round trips of the next ones overlap the network's instead of adding to
   * them. At most READ_AHEAD files, in message order.
   */
  private prefetched: { index: number; opening: Promise<Prepared> }[] = [];
  /** index of the message the last RETR/TOP opened: a read-ahead queued before a newer RETR is skipped */
  private lastOpened = -1;

  constructor(
    private readonly io: SessionIO,
    private readonly ctx: Pop3Context,
  ) {
    this.reader = new LineReader(ctx.limits.maxLineLength);
  }

  /** Send the greeting and start answering commands. */
  async start(): Promise<void> {
    const loginTimeout = this.ctx.limits.loginTimeoutMs;
    if (loginTimeout !== undefined) {
      // the idle timer alone would let a client that never logs in keep a
      // connection (and a slot of the per-address limit) for 10 minutes or more
      this.loginTimer = setTimeout(() => {
        if (this.state !== 'AUTHORIZATION') return;
        this.ctx.log.info({ remote: this.io.remoteAddress }, 'pop3 login timeout');
        this.end(err('Login timeout, closing the connection'));
      }, loginTimeout);
      this.loginTimer.unref?.();
    }
    await this.send(ok(`${this.ctx.hostname} Mailroom POP3 server ready`));
    this.done = this.run().then(
      () => this.finish(),
      (e: unknown) => {
        this.ctx.log.error({ err: e }, 'pop3 session loop failed');
        return this.finish();
      },
    );
  }

  /** Bytes from the client. */
  receive(chunk: Buffer): void {
    if (this.ending || this.discarding) return;
    const events = this.reader.push(chunk);
    if (!events.length) return;
    for (const e of events) this.queue.push(e);
    if (this.queue.length >= QUEUE_HIGH_WATER && !this.paused) {
      this.paused = true;
      this.io.pause();
    }
    this.wakeLoop();
  }

  /** The connection dropped: release the maildrop, apply no deletions (RFC 1939 section 6). */
  closed(): void {
    this.gone = true;
    this.end();
    if (!this.done) this.done = this.finish();
  }

  /** Server shutdown: let the running command finish, say why, close; no deletions. */
  async shutdown(reason: string): Promise<void> {
    this.end(err(reason, 'SYS/TEMP'));
    if (!this.done) this.done = this.finish();
    await this.done;
  }

  /**
   * Resolves when every line received so far has been answered and the
   * session waits for input (or has ended). For tests and transcript runners.
   */
  idle(): Promise<void> {
    if (this.ending) return this.done ?? Promise.resolve();
    if (this.waitingForInput && this.queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  // ---- the command loop ------------------------------------------------------

  private async run(): Promise<void> {
    for (;;) {
      const ev = await this.next();
      if (!ev) return;
      try {
        await this.handle(ev);
      } catch (e) {
        const { line, unexpected } = storeErrorReply(e);
        if (unexpected) this.ctx.log.error({ err: e, user: this.drop?.user }, 'pop3 command failed');
        await this.send(line);
      }
      if (this.ending) return;
    }
  }

  /** The next line (or overlong report), waiting for input if needed; undefined once the session ends. */
  private async next(): Promise<LineEvent | undefined> {
    while (!this.ending) {
      const ev = this.queue.shift();
      if (ev) {
        if (this.queue.length === 0 && this.paused) {
          this.paused = false;
          this.io.resume();
        }
        return ev;
      }
      this.armIdle();
      this.waitingForInput = true;
      for (const r of this.idleWaiters.splice(0)) r();
      await new Promise<void>((r) => (this.wake = r));
      this.waitingForInput = false;
      this.disarmIdle();
    }
    return undefined;
  }

  private wakeLoop(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private end(farewell?: string): void {
    if (this.ending) return;
    this.ending = true;
    this.farewell = farewell;
    this.disarmIdle();
    this.wakeLoop();
  }

  /** After the loop: say goodbye, close the connection, unlock the maildrop. No UPDATE here. */
  private async finish(): Promise<void> {
    this.disarmIdle();
    clearTimeout(this.loginTimer);
    if (this.farewell) await this.send(this.farewell);
    if (!this.gone) this.io.close();
    await this.discardPrefetch();
    const opening = this.dropOpening;
    this.dropOpening = undefined;
    // gone before any command needed the maildrop: it is closed once open (a failed open released it)
    const drop = this.drop ?? (opening ? await opening.catch(() => undefined) : undefined);
    this.drop = undefined;
    if (drop) {
      await drop.mailbox.close().catch((e: unknown) => this.ctx.log.warn({ err: e }, 'pop3 mailbox close failed'));
      await drop.release().catch((e: unknown) => this.ctx.log.warn({ err: e }, 'pop3 maildrop unlock failed'));
    }
    for (const r of this.idleWaiters.splice(0)) r();
  }

  private armIdle(): void {
    this.disarmIdle();
    this.idleTimer = setTimeout(() => {
      this.ctx.log.info({ user: this.drop?.user }, 'pop3 autologout');
      this.end(err('Autologout: idle for too long'));
    }, this.ctx.limits.idleTimeoutMs);
    this.idleTimer.unref?.();
  }

  private disarmIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  private async send(data: string | Buffer): Promise<void> {
    if (this.gone) return;
    try {
      await this.io.write(data);
    } catch {
      this.gone = true;
      this.end();
    }
  }

  // ---- dispatch --------------------------------------------------------------

  private async handle(ev: LineEvent): Promise<void> {
    if (ev.kind === 'overlong') {
      await this.send(err(`Line too long (the limit is ${this.ctx.limits.maxLineLength} octets)`));
      return;
    }
    const parsed = parseCommand(ev.line.toString('utf8'));
    if (!parsed.ok) {
      await this.send(err(parsed.error === 'unknown' ? 'Unknown command' : parsed.text));
      return;
    }
    const cmd = parsed.command;
    if (this.state === 'UPDATE') return;
    if (!COMMAND_STATES[cmd.name].includes(this.state)) {
      await this.send(err(this.state === 'AUTHORIZATION' ? `${cmd.name} is only valid after login` : `${cmd.name} is only valid before login`));
      return;
    }
    await this.dispatch(cmd);
  }

  private async dispatch(cmd: Pop3Command): Promise<void> {
    switch (cmd.name) {
      case 'CAPA':
        return this.send(this.capabilities());
      case 'QUIT':
        return this.quit();
      case 'STLS':
        return this.stls();
      case 'USER':
        if (!this.plaintextAllowed()) return this.send(err(PLAINTEXT_REFUSED, 'AUTH'));
        this.pendingUser = cmd.user;
        return this.send(ok('Send your password'));
      case 'PASS': {
        if (!this.plaintextAllowed()) return this.send(err(PLAINTEXT_REFUSED, 'AUTH'));
        const user = this.pendingUser;
        this.pendingUser = undefined;
        if (user === undefined) return this.send(err('Send USER first'));
        return this.login({ identity: user, password: cmd.password });
      }
      case 'AUTH':
        return this.authenticate(cmd.mechanism, cmd.initialResponse);
      default: {
        const d = await this.maildrop();
        return d === undefined ? undefined : this.transaction(cmd, d);
      }
    }
  }

  /**
   * The open maildrop, waiting for the open that login started; undefined
   * (the client told, the session ending) when that open failed.
   */
  private async maildrop(): Promise<Maildrop | undefined> {
    if (this.drop !== undefined) return this.drop;
    const opening = this.dropOpening;
    if (opening === undefined) return undefined;
    try {
      this.drop = await opening;
      return this.drop;
    } catch (e) {
      this.ctx.log.error({ err: e }, 'pop3 could not open the maildrop');
      await this.send(err('The maildrop could not be opened, try again later', 'SYS/TEMP'));
      this.end();
      return undefined;
    } finally {
      this.dropOpening = undefined;
    }
  }

  private plaintextAllowed(): boolean {
    return this.io.secure || this.io.loopback || this.ctx.allowPlaintextAuth;
  }

  /** RFC 2449 section 5; what is offered depends on the state and on the connection. */
  private capabilities(): string {
    const caps = ['TOP', 'UIDL', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING'];
    if (this.state === 'AUTHORIZATION') {
      if (this.plaintextAllowed()) caps.push('USER', `SASL ${SASL_MECHANISMS.join(' ')}`);
      if (this.io.tlsAvailable && !this.io.secure) caps.push('STLS');
    }
    caps.push('IMPLEMENTATION Mailroom');
    return `+OK Capability list follows\r\n${caps.join('\r\n')}\r\n.\r\n`;
  }

  /** RFC 2595 section 4. */
  private async stls(): Promise<void> {
    if (this.io.secure) return this.send(err('TLS is already active'));
    if (!this.io.tlsAvailable) return this.send(err('STLS is not available on this connection'));
    // Anything pipelined after STLS was sent in cleartext and must not be
    // executed inside the TLS session: drop it, and what arrives until the
    // handshake is done.
    this.discarding = true;
    this.queue = [];
    this.reader.reset();
    this.pendingUser = undefined;
    await this.send(ok('Begin TLS negotiation'));
    try {
      await this.io.startTls();
    } catch (e) {
      this.ctx.log.info({ err: e }, 'pop3 TLS handshake failed');
      this.gone = true;
      this.end();
    } finally {
      this.discarding = false;
      this.reader.reset();
      if (this.paused) {
        this.paused = false;
        this.io.resume();
      }
    }
  }

  // ---- authentication ----------------------------------------------------------

  /** RFC 5034. */
  private async authenticate(mechanism: string | undefined, initial: string | undefined): Promise<void> {
    if (mechanism === undefined) {
      // RFC 1734 clients (Outlook) send a bare AUTH to list the mechanisms
      const list = this.plaintextAllowed() ? SASL_MECHANISMS.map((m) => `${m}\r\n`).join('') : '';
      return this.send(`+OK Supported mechanisms follow\r\n${list}.\r\n`);
    }
    if (!this.plaintextAllowed()) return this.send(err(PLAINTEXT_REFUSED, 'AUTH'));
    if (!isSaslMechanism(mechanism)) return this.send(err(`Unsupported authentication mechanism ${mechanism.slice(0, 20)}`));
    let creds: Credentials | undefined;
    if (mechanism === 'PLAIN') {
      const data = await this.saslStep(initial, '');
      if (!data) return;
      creds = parsePlain(data);
    } else {
      const user = await this.saslStep(initial, LOGIN_USERNAME_PROMPT);
      if (!user) return;
      const pass = await this.saslStep(undefined, LOGIN_PASSWORD_PROMPT);
      if (!pass) return;
      const identity = user.toString('utf8');
      const password = pass.toString('utf8');
      if (identity !== '' && password !== '') creds = { identity, password };
    }
    if (!creds) return this.authFailed('failed');
    return this.login(creds);
  }

  /**
   * One client response: the initial response if given, else a `+ challenge`
   * continuation and the next line. Undefined (with the reply already sent)
   * when the client cancelled with `*`, sent bad base64, or went away.
   */
  private async saslStep(initial: string | undefined, challenge: string): Promise<Buffer | undefined> {
    let text = initial;
    if (text === undefined) {
      await this.send(`+ ${challenge}\r\n`);
      const ev = await this.next();
      if (!ev) return undefined;
      if (ev.kind === 'overlong') {
        await this.send(err('Authentication response too long'));
        return undefined;
      }
      text = ev.line.toString('latin1');
    }
    if (text === '*') {
      await this.send(err('Authentication cancelled'));
      return undefined;
    }
    const data = decodeBase64(text);
    if (!data) await this.send(err('Invalid base64 in authentication response'));
    return data;
  }

  private async authFailed(reason: 'failed' | 'locked' | 'disabled' | 'unavailable'): Promise<void> {
    this.ctx.log.info({ reason, remote: this.io.remoteAddress }, 'pop3 authentication failed');
    if (reason === 'unavailable') return this.send(err('Authentication is temporarily unavailable, try again later', 'SYS/TEMP'));
    if (reason === 'disabled') return this.send(err('This account is disabled', 'SYS/PERM'));
    this.failures++;
    const text = reason === 'locked' ? 'Too many failed logins, try again later' : 'Authentication failed';
    const code = reason === 'locked' ? 'SYS/TEMP' : 'AUTH';
    if (this.failures >= this.ctx.limits.maxAuthFailures) {
      await this.send(err(`${text}; too many failures, closing the connection`, code));
      this.end();
      return;
    }
    await this.send(err(text, code));
  }

  /** Verify, lock the maildrop, start taking the snapshot, enter TRANSACTION (RFC 1939 section 4). */
  private async login(creds: Credentials): Promise<void> {
    const r = await this.ctx.auth.authenticate(creds.identity, creds.password, this.io.remoteAddress);
    if (!r.ok) return this.authFailed(r.reason);
    let release: () => Promise<void>;
    try {
      release = await this.ctx.lockMaildrop(r.address);
    } catch (e) {
      if (storeErrorCode(e) !== 'INUSE') throw e;
      this.ctx.log.info({ user: r.address }, 'pop3 maildrop in use');
      // RFC 1939 section 4: the server stays in AUTHORIZATION
      return this.send(err('The maildrop is in use by another POP3 session', 'IN-USE'));
    }
    const opening = this.openMaildrop(r.address, release);
    opening.catch(() => {}); // (reported by maildrop() when a command needs it)
    this.dropOpening = opening;
    this.state = 'TRANSACTION';
    clearTimeout(this.loginTimer);
    this.ctx.log.info({ user: r.address }, 'pop3 login');
    await this.send(ok('Logged in'));
  }

  /** The INBOX snapshot under the lock `release` frees; on failure the lock is released. */
  private async openMaildrop(user: string, release: () => Promise<void>): Promise<Maildrop> {
    try {
      // unwatched: a snapshot needs no news from outside (see UserStore.open)
      const mailbox = await (await this.ctx.store.forUser(user)).open('INBOX', { readOnly: false, watch: false });
      const uids = mailbox.uids().slice();
      let sizes: number[];
      let totalBytes = 0;
      try {
        sizes = await sizesOf(mailbox, uids);
        for (const n of sizes) totalBytes += n;
      } catch (e) {
        await mailbox.close().catch(() => {});
        throw e;
      }
      this.ctx.log.info({ user, messages: uids.length }, 'pop3 maildrop open');
      return {
        user,
        release,
        mailbox,
        uids,
        sizes,
        deleted: new Uint8Array(uids.length),
        deletedCount: 0,
        deletedBytes: 0,
        totalBytes,
        retrieved: new Set(),
      };
    } catch (e) {
      await release().catch(() => {});
      throw e;
    }
  }

  // ---- TRANSACTION -------------------------------------------------------------

  private async transaction(cmd: Pop3Command, d: Maildrop): Promise<void> {
    switch (cmd.name) {
      case 'STAT':
        return this.send(ok(`${d.uids.length - d.deletedCount} ${d.totalBytes - d.deletedBytes}`));
      case 'NOOP':
        return this.send(ok());
      case 'RSET':
        d.deleted.fill(0);
        d.deletedCount = 0;
        d.deletedBytes = 0;
        return this.send(ok(`Maildrop has ${d.uids.length} messages (${d.totalBytes} octets)`));
      case 'LIST':
      case 'UIDL': {
        const line = cmd.name === 'LIST' ? (i: number) => `${i + 1} ${d.sizes[i]}` : (i: number) => `${i + 1} ${uidl(d.mailbox.uidValidity, d.uids[i])}`;
        if (cmd.msg !== undefined) {
          const i = await this.message(d, cmd.msg);
          return i === undefined ? undefined : this.send(ok(line(i)));
        }
        return this.listing(d, cmd.name === 'LIST' ? `${d.uids.length - d.deletedCount} messages (${d.totalBytes - d.deletedBytes} octets)` : 'Unique-ID listing follows', line);
      }
      case 'DELE': {
        const i = await this.message(d, cmd.msg);
        if (i === undefined) return;
        d.deleted[i] = 1;
        d.deletedCount++;
        d.deletedBytes += d.sizes[i];
        return this.send(ok(`Message ${cmd.msg} marked for deletion`));
      }
      case 'RETR':
      case 'TOP': {
        const i = await this.message(d, cmd.msg);
        if (i === undefined) return;
        // open before answering, so a vanished message still gets an -ERR
        const prepared = await this.openMessage(d, i);
        this.lastOpened = i;
        const whole = cmd.name !== 'RETR' ? null : (prepared.retrReply ?? (prepared.opened?.bytes ? this.retrReply(d, i, prepared.opened.bytes) : null));
        if (whole) {
          // read whole (a small message): one write, no stream machinery
          await this.send(whole);
          if (!this.gone) d.retrieved.add(i);
          // Read ahead once the reply has left: the socket adapter flushes
          // what this turn wrote in a setImmediate queued before this one,
          // so the next files are read while the client takes this message,
          // not while it waits for it.
          setImmediate(() => {
            if (this.lastOpened === i) this.prefetch(d, i);
          });
          return;
        }
        // TOP of a message read ahead whole for RETR: opened again, to stream
        const opened = prepared.opened ?? (await d.mailbox.read(d.uids[i]));
        this.prefetch(d, i);
        // the status line leaves with the first piece of the body
        const head = Buffer.from(ok(cmd.name === 'RETR' ? `${d.sizes[i]} octets` : 'Top of message follows'));
        const { size, stream } = opened;
        const body = cmd.name === 'RETR' ? multiLineBody(stream, { head, sourceBytes: size }) : multiLineBody(topOf(stream, cmd.lines), { head });
        if (this.gone) {
          stream.destroy();
          return;
        }
        try {
          await this.io.pipe(body);
        } catch (e) {
          // Mid-reply there is no way to signal an error: the client would
          // take a truncated message for a whole one. Drop the connection.
          this.ctx.log.error({ err: e, user: d.user, uid: d.uids[i] }, 'pop3 message streaming failed');
          stream.destroy();
          this.end();
          return;
        }
        if (cmd.name === 'RETR') d.retrieved.add(i);
        return;
      }
      default:
        return this.send(err('Unexpected command'));
    }
  }

  /** The message at index i: the prefetched file if it is that one, else opened now. */
  private openMessage(d: Maildrop, i: number): Promise<Prepared> {
    const k = this.prefetched.findIndex((p) => p.index === i);
    // whatever was read ahead of i is not going to be asked for next
    const passed = this.prefetched.splice(0, k < 0 ? this.prefetched.length : k + 1);
    for (const p of passed) if (p.index !== i) void this.discard(p.opening);
    return k < 0 ? d.mailbox.read(d.uids[i]).then((opened) => ({ opened })) : passed[k].opening;
  }

  /** The whole RETR reply of a message read into memory. */
  private retrReply(d: Maildrop, i: number, bytes: Buffer): Buffer {
    return wholeMultiLine(ok(`${d.sizes[i]} octets`), bytes);
  }

  /**
   * Keeps the READ_AHEAD messages after index `current` that are not marked
   * deleted opened and read; a small one also gets its RETR reply made, so
   * that answering its RETR is a single write.
   */
  private prefetch(d: Maildrop, current: number): void {
    if (this.ending) return;
    let j = this.prefetched.length ? this.prefetched[this.prefetched.length - 1].index + 1 : current + 1;
    while (this.prefetched.length < READ_AHEAD && j < d.uids.length) {
      if (!d.deleted[j]) {
        const index = j;
        // A small file is read now, straight into the CRLF converter, and its
        // reply made at once (this runs in the turn after a reply left).
        const now = d.mailbox.readNow(d.uids[index], crlfInput);
        if (now !== null) {
          this.prefetched.push({ index, opening: Promise.resolve({ opened: null, retrReply: this.retrReply(d, index, now) }) });
          j++;
          continue;
        }
        const opening = d.mailbox.read(d.uids[index]).then((opened): Prepared => {
          if (opened.bytes) return { opened, retrReply: this.retrReply(d, index, opened.bytes) };
          // start reading (read(0) fills the stream's buffer without consuming it)
          opened.stream.read(0);
          return { opened };
        });
        // a failure here is reported by the RETR that wants it
        opening.catch(() => {});
        this.prefetched.push({ index, opening });
      }
      j++;
    }
  }

  private async discardPrefetch(): Promise<void> {
    const all = this.prefetched.splice(0);
    await Promise.all(all.map((p) => this.discard(p.opening)));
  }

  private async discard(opening: Promise<Prepared>): Promise<void> {
    await opening.then(
      (m) => m.opened?.release(),
      () => {},
    );
  }

  /** Message number n → index, or undefined after answering -ERR (RFC 1939: out of range, or marked deleted). */
  private async message(d: Maildrop, n: number): Promise<number | undefined> {
    if (n < 1 || n > d.uids.length) {
      await this.send(err(`No such message (the maildrop has ${d.uids.length})`));
      return undefined;
    }
    if (d.deleted[n - 1]) {
      await this.send(err(`Message ${n} is marked for deletion`));
      return undefined;
    }
    return n - 1;
  }

  private async listing(d: Maildrop, head: string, line: (i: number) => string): Promise<void> {
    let buf = ok(head);
    for (let i = 0; i < d.uids.length; i++) {
      if (d.deleted[i]) continue;
      buf += `${line(i)}\r\n`;
      if (buf.length >= WRITE_BATCH) {
        await this.send(buf);
        buf = '';
      }
    }
    await this.send(`${buf}.\r\n`);
  }

  // ---- QUIT and UPDATE -----------------------------------------------------------

  private async quit(): Promise<void> {
    const d = this.state === 'TRANSACTION' ? await this.maildrop() : undefined;
    if (this.ending) return; // the maildrop could not be opened, and maildrop() said so
    if (d === undefined) {
      await this.send(ok(`${this.ctx.hostname} Mailroom POP3 server signing off`));
      this.end();
      return;
    }
    this.state = 'UPDATE';
    const remaining = d.uids.length - d.deletedCount;
    const reply = await this.update(d);
    await this.send(reply ?? ok(`${this.ctx.hostname} Mailroom POP3 server signing off (${remaining} messages left)`));
    this.end();
  }

  /** RFC 1939 section 6. Returns an -ERR line when some deletions could not be applied. */
  private async update(d: Maildrop): Promise<string | undefined> {
    const seen = [...d.retrieved].filter((i) => !d.deleted[i]).map((i) => d.uids[i]);
    if (seen.length) {
      try {
        await d.mailbox.setFlags(seen, 'add', ['\\Seen'], { silent: true });
      } catch (e) {
        this.ctx.log.warn({ err: e, user: d.user }, 'pop3 could not mark retrieved messages seen');
      }
    }
    const doomed = d.uids.filter((_, i) => d.deleted[i]);
    if (!doomed.length) return undefined;
    try {
      await d.mailbox.setFlags(doomed, 'add', ['\\Deleted'], { silent: true });
      const removed = await d.mailbox.expunge(doomed);
      this.ctx.log.info({ user: d.user, deleted: removed.length }, 'pop3 update');
      return undefined;
    } catch (e) {
      this.ctx.log.error({ err: e, user: d.user }, 'pop3 update failed');
      return err('Some deleted messages were not removed', 'SYS/TEMP');
    }
  }
}

/**
 * Every message's RFC822 size, several lookups at a time: most are known
 * from the file name (W=) or the cache, but a message without them is read
 * and parsed, and a maildrop filled by another MDA may have thousands such;
 * in parallel their file reads overlap.
 */
async function sizesOf(mailbox: Mailbox, uids: readonly number[]): Promise<number[]> {
  const sizes = new Array<number>(uids.length);
  // the known ones first, without a wait each (100,000 of them in a big maildrop)
  const unknown: number[] = [];
  for (let i = 0; i < uids.length; i++) {
    const known = mailbox.knownRfc822Size(uids[i]);
    if (known === undefined) unknown.push(i);
    else sizes[i] = known;
  }
  let next = 0;
  const worker = async () => {
    while (next < unknown.length) {
      const i = unknown[next++];
      sizes[i] = await mailbox.rfc822Size(uids[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(SIZE_LOOKUPS, unknown.length) }, worker));
  return sizes;
}
