/**
 * A POP3 session over the real Maildir store in a temporary directory, with
 * a fake authenticator and the real maildrop lock. Users:
 *   alice@example.org / secret       — the mailbox under test
 *   bob@example.org / hunter2        — another, empty mailbox
 *   locked@example.org, disabled@example.org, down@example.org — the
 *   Authenticator's failure reasons 'locked', 'disabled', 'unavailable'.
 */
import { join } from 'node:path';
import { MaildirStore } from '../../maildir/store.js';
import { provisionMaildir } from '../../maildir/provision.js';
import { acquireMaildropLock } from '../../maildir/maildrop-lock.js';
import { Pop3Session, DEFAULT_POP3_LIMITS, type Pop3Context, type Pop3Limits } from '../../protocol/pop3/session.js';
import type { Authenticator, SessionLog } from '../../protocol/session-io.js';
import { Pop3MemoryIO, type MemoryIOOptions } from './pop3-memory-io.js';
import { tempDir } from './tmp.js';

export const ALICE = 'alice@example.org';
export const BOB = 'bob@example.org';

const PASSWORDS: Record<string, string> = { [ALICE]: 'secret', [BOB]: 'hunter2' };

export const fakeAuth: Authenticator = {
  async authenticate(identity, password) {
    const id = identity.toLowerCase();
    if (id === 'locked@example.org') return { ok: false, reason: 'locked' };
    if (id === 'disabled@example.org') return { ok: false, reason: 'disabled' };
    if (id === 'down@example.org') return { ok: false, reason: 'unavailable' };
    return PASSWORDS[id] !== undefined && PASSWORDS[id] === password ? { ok: true, address: id } : { ok: false, reason: 'failed' };
  },
};

export interface LogEntry {
  level: string;
  obj: object;
  msg?: string;
}

export function memoryLog(entries: LogEntry[] = []): SessionLog & { entries: LogEntry[] } {
  const at = (level: string) => (obj: object, msg?: string) => void entries.push({ level, obj, msg });
  return { entries, info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug') };
}

export interface ConnectOptions extends MemoryIOOptions {
  allowPlaintextAuth?: boolean;
  limits?: Partial<Pop3Limits>;
  /** instead of the fixture's store (e.g. one whose INBOX opens late: gatedStore) */
  store?: Pop3Context['store'];
}

/**
 * `store` with every UserStore.open() waiting for `gate` first (and failing
 * if it rejects): a maildrop that takes long to list, or cannot be opened.
 */
export function gatedStore(store: MaildirStore, gate: Promise<void>): Pop3Context['store'] {
  const forward = <T extends object>(target: T, k: string | symbol) => {
    const v = Reflect.get(target, k) as unknown;
    return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
  };
  return new Proxy(store, {
    get(t, k) {
      if (k !== 'forUser') return forward(t, k);
      return async (user: string) => {
        const u = await t.forUser(user);
        return new Proxy(u, {
          get(tu, ku) {
            if (ku !== 'open') return forward(tu, ku);
            return async (...args: Parameters<typeof u.open>) => {
              await gate;
              return tu.open(...args);
            };
          },
        });
      };
    },
  });
}

export interface Pop3Fixture {
  dir: string;
  store: MaildirStore;
  rootOf(user: string): string;
  connect(o?: ConnectOptions): Promise<{ session: Pop3Session; io: Pop3MemoryIO; log: ReturnType<typeof memoryLog> }>;
  cleanup(): void;
}

export async function pop3Fixture(messages: readonly Buffer[] = []): Promise<Pop3Fixture> {
  const { dir, cleanup } = tempDir('mailroom-pop3-');
  const rootOf = (user: string) => join(dir, user, 'Maildir');
  const store = new MaildirStore({ rootOf });
  for (const user of [ALICE, BOB]) await provisionMaildir(rootOf(user));
  const alice = await store.forUser(ALICE);
  for (const m of messages) await alice.append('INBOX', m);
  return {
    dir,
    store,
    rootOf,
    cleanup,
    async connect(o = {}) {
      const io = new Pop3MemoryIO(o);
      const log = memoryLog();
      const ctx: Pop3Context = {
        store: o.store ?? store,
        auth: fakeAuth,
        lockMaildrop: (user) => acquireMaildropLock(rootOf(user)),
        log,
        hostname: 'mail.example.org',
        allowPlaintextAuth: o.allowPlaintextAuth ?? false,
        limits: { ...DEFAULT_POP3_LIMITS, ...o.limits },
      };
      const session = new Pop3Session(io, ctx);
      await session.start();
      return { session, io, log };
    },
  };
}

/** Send one or more lines (CRLF added) and wait until the session has answered them. */
export async function exchange(session: Pop3Session, io: Pop3MemoryIO, ...lines: string[]): Promise<string> {
  io.take();
  session.receive(Buffer.from(lines.map((l) => `${l}\r\n`).join(''), 'latin1'));
  await session.idle();
  return io.take();
}
