// An in-memory SessionIO for protocol session tests (STYLE.md 10/11, Stalwart's DummyIo):
// records what the session writes, lets a test wait for a reply, and simulates STARTTLS.
import { join } from 'node:path';
import { MaildirStore } from '../../maildir/store.js';
import { provisionMaildir } from '../../maildir/provision.js';
import type { Authenticator, SessionIO, SessionLog } from '../../protocol/session-io.js';
import { ImapSession } from '../../protocol/imap/session/index.js';
import type { ImapContext } from '../../protocol/imap/session/index.js';
import { tempDir } from './tmp.js';

export interface MemoryIOOptions {
  secure?: boolean;
  tlsAvailable?: boolean;
  loopback?: boolean;
  remoteAddress?: string;
}

export class MemoryIO implements SessionIO {
  secure: boolean;
  tlsAvailable: boolean;
  readonly loopback: boolean;
  readonly remoteAddress: string;
  private chunks: Buffer[] = [];
  private waiters: (() => void)[] = [];
  closed = false;
  paused = false;
  tlsStarts = 0;
  /** where waitFor() continues searching from */
  private cursor = 0;

  constructor(o: MemoryIOOptions = {}) {
    this.secure = o.secure ?? false;
    this.tlsAvailable = o.tlsAvailable ?? false;
    this.loopback = o.loopback ?? true;
    this.remoteAddress = o.remoteAddress ?? (this.loopback ? '127.0.0.1' : '192.0.2.7');
  }

  async write(data: Buffer | string, written?: () => void): Promise<void> {
    if (!this.closed) {
      this.chunks.push(Buffer.isBuffer(data) ? Buffer.from(data) : Buffer.from(data, 'utf8'));
      this.wake();
    }
    written?.();
  }

  async pipe(source: AsyncIterable<Buffer>): Promise<void> {
    for await (const c of source) await this.write(c);
  }

  /** a handshake is in progress: a well-behaved client sends nothing until it is done */
  tlsInProgress = false;

  async startTls(): Promise<void> {
    this.tlsStarts++;
    this.tlsInProgress = true;
    await new Promise((r) => setImmediate(r));
    this.secure = true;
    this.tlsAvailable = false;
    this.tlsInProgress = false;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }

  close(): void {
    this.closed = true;
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** everything written so far, as latin1 text (bytes preserved) */
  get output(): string {
    return Buffer.concat(this.chunks).toString('latin1');
  }

  /** output lines (CRLF split) */
  lines(): string[] {
    const text = this.output;
    const parts = text.split('\r\n');
    if (parts[parts.length - 1] === '') parts.pop();
    return parts;
  }

  /** resolves when `pred` holds for the output; rejects after `timeoutMs` (a hung session fails the test, not the suite) */
  async until(pred: (output: string) => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred(this.output)) {
      if (Date.now() > deadline) throw new Error(`timed out; output so far:\n${this.output}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 20);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** wait for `text` to appear after what earlier waitFor() calls consumed; returns the output in between */
  async waitFor(text: string | RegExp, timeoutMs = 5000): Promise<string> {
    let found = -1;
    let end = 0;
    await this.until((out) => {
      const rest = out.slice(this.cursor);
      if (typeof text === 'string') {
        found = rest.indexOf(text);
        end = found + text.length;
      } else {
        const m = text.exec(rest);
        found = m ? m.index : -1;
        end = m ? m.index + m[0].length : 0;
      }
      return found >= 0;
    }, timeoutMs);
    const out = this.output.slice(this.cursor, this.cursor + end);
    this.cursor += end;
    return out;
  }
}

/* ------------------------------------------------------------------------------------------ */
/* A session world for tests: a real Maildir store in a temp dir, a fake Authenticator, a log. */


export const ALICE = 'alice@example.org';

/** alice/secret logs in; "locked" is refused as locked; "down" finds the service unavailable */
export const fakeAuth: Authenticator = {
  async authenticate(identity, password) {
    if (identity === 'down') return { ok: false, reason: 'unavailable' };
    if ((identity === 'alice' || identity === ALICE) && password === 'secret') return { ok: true, address: ALICE };
    return { ok: false, reason: identity === 'locked' ? 'locked' : 'failed' };
  },
};

export interface LogEntry {
  level: string;
  obj: object;
  msg?: string;
}

export function memoryLog(entries: LogEntry[] = []): SessionLog & { entries: LogEntry[] } {
  const at = (level: string) => (obj: object, msg?: string) => void entries.push({ level, obj, ...(msg !== undefined ? { msg } : {}) });
  return { entries, info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug') };
}

export interface ImapWorld {
  dir: string;
  store: MaildirStore;
  ctx: ImapContext;
  log: ReturnType<typeof memoryLog>;
  /** alice's Maildir root */
  aliceRoot: string;
  connect(o?: MemoryIOOptions): Promise<{ io: MemoryIO; session: ImapSession }>;
  /** a connected session logged in as alice (greeting and login consumed) */
  login(o?: MemoryIOOptions): Promise<{ io: MemoryIO; session: ImapSession; send: (line: string) => Promise<string> }>;
  close(): Promise<void>;
}

export async function imapWorld(over: Partial<ImapContext> = {}): Promise<ImapWorld> {
  const { dir, cleanup } = tempDir('mailroom-imap-');
  const rootOf = (user: string) => join(dir, user.replace(/[^a-z0-9.@-]/gi, '_'), 'Maildir');
  const aliceRoot = rootOf(ALICE);
  await provisionMaildir(aliceRoot);
  const store = new MaildirStore({ rootOf });
  const log = memoryLog();
  const ctx: ImapContext = {
    store,
    auth: fakeAuth,
    log,
    hostname: 'mail.example.org',
    allowPlaintextAuth: false,
    limits: { appendLimit: 1024 * 1024, maxLineLength: 8192, idleTimeoutMs: 30 * 60_000, preauthTimeoutMs: 60_000, maxAuthFailures: 3 },
    idleKeepaliveMs: 120_000,
    ...over,
  };
  const sessions: { io: MemoryIO; session: ImapSession }[] = [];
  const connect = async (o: MemoryIOOptions = {}) => {
    const io = new MemoryIO(o);
    const session = new ImapSession(io, ctx);
    sessions.push({ io, session });
    await session.start();
    return { io, session };
  };
  let tags = 0;
  return {
    dir,
    store,
    ctx,
    log,
    aliceRoot,
    connect,
    async login(o = {}) {
      const c = await connect(o);
      await c.io.waitFor('\r\n');
      /** send one command line and wait for its tagged reply; returns everything up to it */
      const send = async (line: string): Promise<string> => {
        const tag = `t${++tags}`;
        c.session.receive(Buffer.from(`${tag} ${line}\r\n`));
        return c.io.waitFor(new RegExp(`^${tag} (OK|NO|BAD) .*\\r\\n`, 'm'));
      };
      const r = await send('LOGIN alice secret');
      if (!/ OK /.test(r)) throw new Error(`login failed: ${r}`);
      return { ...c, send };
    },
    async close() {
      for (const s of sessions) {
        s.session.closed();
        s.io.close();
      }
      // let released handles close before the store goes
      await new Promise((r) => setTimeout(r, 20));
      await store.close();
      cleanup();
    },
  };
}
