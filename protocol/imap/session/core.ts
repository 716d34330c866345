/**
 * The state a command handler works on: protocol state, the logged-in user's
 * store, the selected mailbox and this session's view of it, and the few
 * transitions (login, select, deselect) that must always happen the same
 * way. The input pump (session.ts) owns the connection's timing; handlers
 * own nothing but their reply.
 */
import type { Mailbox, UserStore } from '../../../maildir/types.js';
import type { SessionState } from '../command-table.js';
import type { CommandReader } from '../reader.js';
import type { SessionIO } from '../../session-io.js';
import { capabilities } from './capabilities.js';
import type { ImapContext } from './context.js';
import { bad, no, type HandlerResult, type Reply } from './response.js';
import { MessageView } from './view.js';
import type { AppendUpload } from './append-upload.js';

export interface Selected {
  mailbox: Mailbox;
  view: MessageView;
  readOnly: boolean;
  stopListening: () => void;
}

/** a command that continues over more input: SASL exchanges and IDLE */
export type Continuation =
  | { kind: 'sasl'; tag: string; onLine: (text: string) => Promise<HandlerResult> }
  | { kind: 'idle'; tag: string; keepalive: ReturnType<typeof setInterval> };

export class SessionCore {
  state: SessionState = 'not-authenticated';
  user: UserStore | null = null;
  address: string | null = null;
  selected: Selected | null = null;
  continuation: Continuation | null = null;
  upload: AppendUpload | null = null;
  authFailures = 0;
  /** between STARTTLS OK and the end of the handshake: input is dropped (CVE-2011-0411) */
  tlsStarting = false;
  /** set by LOGOUT and fatal errors: no more input is processed */
  ending = false;
  /** a sync requested by a change hint while idling; the next one waits for it */
  private idleSync: Promise<void> | null = null;
  private idleSyncAgain = false;

  constructor(
    readonly io: SessionIO,
    readonly ctx: ImapContext,
    readonly reader: CommandReader,
  ) {}

  get log(): ImapContext['log'] {
    return this.ctx.log;
  }

  send(...lines: string[]): Promise<void> {
    if (lines.length === 0) return Promise.resolve();
    return this.io.write(lines.length === 1 ? lines[0] : lines.join(''));
  }

  /** cleartext authentication is allowed here (RFC 3501 6.2.3, DESIGN.md security posture) */
  get plaintextAllowed(): boolean {
    return this.io.secure || this.io.loopback || this.ctx.allowPlaintextAuth;
  }

  capabilities(): string[] {
    return capabilities({
      authenticated: this.state === 'authenticated' || this.state === 'selected',
      tlsAvailable: this.io.tlsAvailable && !this.io.secure,
      plaintextAllowed: this.plaintextAllowed,
      appendLimit: this.ctx.limits.appendLimit,
    });
  }

  requireUser(): UserStore {
    if (this.user === null) throw bad('Not authenticated');
    return this.user;
  }

  requireSelected(): Selected {
    if (this.selected === null) throw bad('No mailbox selected');
    return this.selected;
  }

  /**
   * Check credentials and log in. Failures are counted; after the last
   * allowed one the caller's NO is followed by BYE (see session.ts).
   */
  async login(identity: string, password: string, mechanism: string): Promise<Reply> {
    if (!this.plaintextAllowed) throw no('Plaintext authentication disallowed on non-secure connections', 'PRIVACYREQUIRED');
    const r = await this.ctx.auth.authenticate(identity, password, this.io.remoteAddress);
    if (!r.ok) {
      this.authFailures++;
      this.log.info({ user: identity, mechanism, reason: r.reason, tls: this.io.secure, remote: this.io.remoteAddress }, 'imap login failed');
      if (r.reason === 'unavailable') throw no('Authentication service is temporarily unavailable', 'UNAVAILABLE');
      throw no('Authentication failed', 'AUTHENTICATIONFAILED');
    }
    this.user = await this.ctx.store.forUser(r.address);
    this.address = r.address;
    this.state = 'authenticated';
    this.log.info({ user: r.address, mechanism, tls: this.io.secure, remote: this.io.remoteAddress }, 'imap login');
    return { code: `CAPABILITY ${this.capabilities().join(' ')}`, text: 'Logged in' };
  }

  get authFailuresExhausted(): boolean {
    return this.authFailures >= this.ctx.limits.maxAuthFailures;
  }

  /** open `name` as the selected mailbox, releasing the previous one first (RFC 3501 6.3.1) */
  async select(name: string, readOnly: boolean): Promise<Selected> {
    await this.deselect();
    const user = this.requireUser();
    const mailbox = await user.open(name, { readOnly });
    const view = new MessageView(mailbox);
    let stopListening = (): void => {};
    try {
      stopListening = mailbox.onChange(() => this.onMailboxChange());
    } catch (e) {
      await mailbox.close();
      throw e;
    }
    this.selected = { mailbox, view, readOnly, stopListening };
    this.state = 'selected';
    return this.selected;
  }

  /** leave the selected state; the handle is closed, never leaked */
  async deselect(): Promise<void> {
    const sel = this.selected;
    if (sel === null) return;
    this.selected = null;
    if (this.state === 'selected') this.state = 'authenticated';
    sel.stopListening();
    await sel.mailbox.close();
  }

  /**
   * After a command: fetch what changed underneath us and tell the client
   * (RFC 3501 7.4.1). `allowExpunge` is false after FETCH, STORE and SEARCH.
   */
  async announce(allowExpunge: boolean): Promise<void> {
    const sel = this.selected;
    if (sel === null) return;
    const changes = await sel.mailbox.sync();
    if (this.selected !== sel) return;
    await this.send(...sel.view.apply(changes, allowExpunge));
  }

  /** a change hint from storage: only an idling client is told at once; others at their next command */
  private onMailboxChange(): void {
    if (this.continuation?.kind !== 'idle') return;
    this.syncWhileIdle();
  }

  /** run an IDLE sync, folding hints that arrive meanwhile into one more run */
  syncWhileIdle(): void {
    if (this.idleSync !== null) {
      this.idleSyncAgain = true;
      return;
    }
    this.idleSync = (async () => {
      do {
        this.idleSyncAgain = false;
        try {
          await this.announce(true);
        } catch (e) {
          this.log.warn({ err: e }, 'imap idle sync failed');
        }
      } while (this.idleSyncAgain && this.continuation?.kind === 'idle');
      this.idleSync = null;
    })();
  }

  /** wait for an IDLE sync in progress (before the tagged reply that ends IDLE) */
  async settleIdle(): Promise<void> {
    while (this.idleSync !== null) await this.idleSync;
  }

  /** end IDLE: stop the keepalive; the caller writes the tagged reply */
  endIdle(): string | null {
    const c = this.continuation;
    if (c?.kind !== 'idle') return null;
    clearInterval(c.keepalive);
    this.continuation = null;
    return c.tag;
  }
}
