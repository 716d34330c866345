// SMTP/LMTP receivers on ephemeral loopback ports over a temporary data
// directory, a spool-to-disk fake of the queue intake, and a raw line client.
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { open, rename, rm, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { pino } from 'pino';
import { AuthService } from '../src/accounts/auth.js';
import { hashPassword } from '../src/accounts/passwords.js';
import { AccountStore } from '../src/accounts/store.js';
import { DEFAULT_SMTP_LIMITS, type SmtpLimits } from '../src/config/schema.js';
import type { QueueEnvelope, QueueIntake } from '../src/queue/types.js';
import { type RunningSmtp, type SmtpOptions, startSmtp } from '../src/smtp/index.js';

export const PASSWORD = 'alice-pw';
const FAST = { ln: 10, r: 8, p: 1 };

/** One self-signed certificate for every test file run (openssl is on every Debian). */
export function testCertificate(dir: string): { key: Buffer; cert: Buffer } {
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=mx.example.org'], {
    stdio: 'ignore',
  });
  return { key: readFileSync(key), cert: readFileSync(cert) };
}

export interface Spooled {
  id: string;
  envelope: QueueEnvelope;
  body: Buffer;
}

/**
 * A QueueIntake that writes the body to tmp/ as it streams, then renames it
 * into mess/ with its envelope in info/ (the contract of src/queue/types.ts,
 * without fsync: the tests do not pull the plug). `hold` delays the resolve,
 * to show that the receiver waits for it.
 */
export class SpoolQueue implements QueueIntake {
  readonly outcomes: ('queued' | 'rejected')[] = [];
  private n = 0;
  private waiters: (() => void)[] = [];
  /** set by enqueue just before it resolves */
  lastResolvedId: string | null = null;
  hold: (() => Promise<void>) | null = null;

  constructor(readonly dir: string) {
    for (const d of ['tmp', 'mess', 'info']) mkdirSync(join(dir, d), { recursive: true });
  }

  async enqueue(envelope: QueueEnvelope, body: Readable | AsyncIterable<Buffer>, o: { maxBytes?: number } = {}): Promise<string> {
    const id = `${process.pid}.${++this.n}`;
    const tmp = join(this.dir, 'tmp', id);
    const h = await open(tmp, 'wx');
    try {
      let bytes = 0;
      for await (const chunk of body) {
        bytes += chunk.length;
        if (o.maxBytes !== undefined && bytes > o.maxBytes) throw new Error('too big');
        await h.write(chunk);
      }
      await h.close();
      if (this.hold) await this.hold();
      await writeFile(join(this.dir, 'info', id), JSON.stringify(envelope));
      await rename(tmp, join(this.dir, 'mess', id));
      this.lastResolvedId = id;
      this.settle('queued');
      return id;
    } catch (e) {
      await h.close().catch(() => {});
      await rm(tmp, { force: true });
      this.settle('rejected');
      throw e;
    }
  }

  /** Messages in the spool, oldest first. */
  spooled(): Spooled[] {
    return readdirSync(join(this.dir, 'mess'))
      .sort((a, b) => Number(a.split('.')[1]) - Number(b.split('.')[1]))
      .map((id) => ({
        id,
        envelope: JSON.parse(readFileSync(join(this.dir, 'info', id), 'utf8')) as QueueEnvelope,
        body: readFileSync(join(this.dir, 'mess', id)),
      }));
  }

  leftovers(): string[] {
    return readdirSync(join(this.dir, 'tmp'));
  }

  /** Resolves once `count` enqueue calls have finished either way. */
  async settled(count: number): Promise<void> {
    while (this.outcomes.length < count) await new Promise<void>((r) => this.waiters.push(r));
  }

  private settle(outcome: 'queued' | 'rejected'): void {
    this.outcomes.push(outcome);
    for (const w of this.waiters.splice(0)) w();
  }
}

export interface Harness {
  dir: string;
  accounts: AccountStore;
  queue: SpoolQueue;
  smtp: RunningSmtp;
  port(name: 'smtp' | 'submission' | 'submissions' | 'lmtp'): number;
  close(): Promise<void>;
}

export interface HarnessOptions {
  limits?: Partial<SmtpLimits>;
  lmtpSocket?: boolean;
  allowPlaintextAuth?: boolean;
  plaintextAuthFrom?: (remoteAddress: string) => boolean;
}

/**
 * Accounts: example.org with alice (password PASSWORD), bob (quota 1000
 * bytes, empty), carol (quota 1000 bytes, full), jörg, the alias
 * sales@example.org → alice, and example.com whose catch-all is alice.
 */
export async function startHarness(o: HarnessOptions = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-smtp-'));
  const accounts = new AccountStore(join(dir, 'data'));
  await accounts.addDomain('example.org');
  await accounts.addDomain('example.com');
  const hash = await hashPassword(PASSWORD, FAST);
  await accounts.addUser('alice@example.org', hash);
  await accounts.addUser('bob@example.org', hash, { quota: { bytes: 1000 } });
  await accounts.addUser('carol@example.org', hash, { quota: { bytes: 1000 } });
  await accounts.addUser('jörg@example.org', hash);
  await accounts.addAlias('sales@example.org', ['alice@example.org']);
  await accounts.addAlias('@example.com', ['alice@example.org']);
  // carol's mailbox is full: one 1200-byte message as Courier's maildirsize records it
  const carolSize = join(accounts.maildirPath('carol@example.org'), 'maildirsize');
  await writeFile(carolSize, `${readFileSync(carolSize, 'utf8')}1200 1\n`);

  const tls = testCertificate(dir);
  const queue = new SpoolQueue(join(dir, 'queue'));
  const options: SmtpOptions = {
    smtp: { port: 0, submissionPort: 0, tlsPort: 0, ...DEFAULT_SMTP_LIMITS, ...o.limits },
    lmtp: o.lmtpSocket ? { port: 0, socket: join(dir, 'lmtp.sock') } : { port: 0 },
    bind: '127.0.0.1',
    hostname: 'mx.example.org',
    allowPlaintextAuth: o.allowPlaintextAuth ?? false,
    tls: { current: { options: tls } },
    auth: new AuthService(accounts, { failureDelayMs: 1, scrypt: FAST }),
    accounts,
    queue,
    log: pino({ level: 'silent' }),
    closeTimeoutMs: 1000,
  };
  if (o.plaintextAuthFrom) options.plaintextAuthFrom = o.plaintextAuthFrom;
  const smtp = await startSmtp(options);
  return {
    dir,
    accounts,
    queue,
    smtp,
    port(name) {
      const a = smtp.addresses().find((x) => x.name === name && x.path === undefined);
      if (!a) throw new Error(`no ${name} listener`);
      return a.port;
    },
    async close() {
      await smtp.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One SMTP reply: the code and every line's text (enhanced code included). */
export interface Reply {
  code: number;
  lines: string[];
  text: string;
}

/**
 * A line-oriented SMTP client over a raw socket: what the tests need to see
 * the exact replies, pipeline commands, and misbehave (hang up mid-DATA).
 */
export class RawClient {
  private buf = '';
  private queued: Reply[] = [];
  private waiting: ((r: Reply) => void)[] = [];
  private partial: string[] = [];
  closed = false;

  private constructor(public socket: Socket | TLSSocket) {
    this.attach(socket);
  }

  static async connect(port: number | string): Promise<RawClient> {
    const s = typeof port === 'number' ? connect(port, '127.0.0.1') : connect(port);
    await once(s, 'connect');
    return new RawClient(s);
  }

  static async connectTls(port: number): Promise<RawClient> {
    const s = tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false });
    await once(s, 'secureConnect');
    return new RawClient(s);
  }

  private attach(s: Socket | TLSSocket): void {
    s.setEncoding('utf8');
    s.on('data', (d: string) => this.feed(d));
    s.on('close', () => {
      this.closed = true;
      for (const w of this.waiting.splice(0)) w({ code: 0, lines: [], text: '(connection closed)' });
    });
    s.on('error', () => {});
  }

  private feed(d: string): void {
    this.buf += d;
    let i: number;
    while ((i = this.buf.indexOf('\r\n')) >= 0) {
      const line = this.buf.slice(0, i);
      this.buf = this.buf.slice(i + 2);
      this.partial.push(line.slice(4));
      if (line[3] === '-') continue;
      const r = { code: Number(line.slice(0, 3)), lines: this.partial, text: this.partial.join('\n') };
      this.partial = [];
      const w = this.waiting.shift();
      if (w) w(r);
      else this.queued.push(r);
    }
  }

  reply(): Promise<Reply> {
    const r = this.queued.shift();
    if (r) return Promise.resolve(r);
    if (this.closed) return Promise.resolve({ code: 0, lines: [], text: '(connection closed)' });
    return new Promise((res) => this.waiting.push(res));
  }

  write(raw: string | Buffer): void {
    this.socket.write(raw);
  }

  async cmd(line: string): Promise<Reply> {
    this.write(`${line}\r\n`);
    return this.reply();
  }

  /** STARTTLS, then the TLS handshake on the same connection. */
  async startTls(): Promise<Reply> {
    const r = await this.cmd('STARTTLS');
    if (r.code !== 220) return r;
    this.socket.removeAllListeners('data');
    const t = tlsConnect({ socket: this.socket as Socket, rejectUnauthorized: false });
    await once(t, 'secureConnect');
    this.socket = t;
    this.attach(t);
    return r;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** AUTH PLAIN's initial response (RFC 4616). */
export function plain(user: string, password: string): string {
  return Buffer.from(`\0${user}\0${password}`).toString('base64');
}
