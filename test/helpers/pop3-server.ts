// `mailroom serve` with POP3 on for the POP3 end-to-end tests: IMAP stays on
// (the tests check POP3 against it), SMTP is off, every port is free when
// chosen. Also the things those tests share: running a client program,
// the INBOX files as POP3 serves them, and a raw POP3 line client.
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import { CLI, freePorts, PASSWORD } from './server.js';

export interface Pop3Ports {
  imap: number;
  imaps: number;
  pop3: number;
  pop3s: number;
}

export interface Pop3ServeProcess {
  ports: Pop3Ports;
  stderr: () => string;
  /** the process is still running */
  alive: () => boolean;
  /** SIGTERM and wait; resolves to the exit code */
  stop(): Promise<number | null>;
}

/** Writes `dir/mailroom.yaml`: data in `dir/data`, IMAP and POP3 on free ports, SMTP off. */
export async function writePop3Config(dir: string, pop3Extra = ''): Promise<{ file: string; ports: Pop3Ports }> {
  mkdirSync(dir, { recursive: true });
  const [imap, imaps, pop3, pop3s] = await freePorts(4);
  const file = join(dir, 'mailroom.yaml');
  writeFileSync(
    file,
    `hostname: mail.example.test\ndata: ./data\n` +
      `imap: { port: ${imap}, tlsPort: ${imaps} }\n` +
      `pop3: { port: ${pop3}, tlsPort: ${pop3s}${pop3Extra ? `, ${pop3Extra}` : ''} }\n` +
      `smtp: { port: false, submissionPort: false, tlsPort: false }\nauth: { failureDelayMs: 10 }\n`,
  );
  return { file, ports: { imap, imaps, pop3, pop3s } };
}

const LISTENERS = ['imap', 'imaps', 'pop3', 'pop3s'] as const;

/** `mailroom serve --config FILE`; resolves once the IMAP and POP3 listeners logged their ports. */
export async function spawnPop3Serve(configFile: string, cwd: string): Promise<Pop3ServeProcess> {
  const child = spawn(process.execPath, [CLI, 'serve', '--config', configFile], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  const ports = await new Promise<Pop3Ports>((resolve, reject) => {
    const check = () => {
      const found = new Map<string, number>();
      for (const l of err.split('\n')) {
        if (!l.startsWith('{')) continue;
        const rec = JSON.parse(l) as { listener?: string; port?: number; msg?: string };
        if (rec.listener && rec.port && /listening/.test(rec.msg ?? '')) found.set(rec.listener, rec.port);
      }
      if (LISTENERS.every((n) => found.has(n))) {
        resolve({ imap: found.get('imap')!, imaps: found.get('imaps')!, pop3: found.get('pop3')!, pop3s: found.get('pop3s')! });
      }
    };
    child.stderr!.on('data', check);
    child.once('exit', (code) => reject(new Error(`mailroom serve exited ${code} before listening: ${err}`)));
  });
  return {
    ports,
    stderr: () => err,
    alive: () => child.exitCode === null && child.signalCode === null,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number | null];
      return code;
    },
  };
}

export interface RunResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

/** Runs a client program to completion (bounded), never rejecting. */
export function run(cmd: string, args: string[], o: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(
      cmd,
      args,
      { timeout: 30_000, encoding: 'buffer', maxBuffer: 64 * 1024 * 1024, env: o.env ?? process.env, cwd: o.cwd },
      (e, stdout, stderr) => {
        resolve({ code: e ? (typeof e.code === 'number' ? e.code : -1) : 0, stdout, stderr: stderr.toString() });
      },
    );
    child.stdin?.end(o.input ?? '');
  });
}

/** A Maildir's INBOX files with every line ending made CRLF, as POP3 and IMAP serve them. */
export function inboxAsServed(maildir: string): Buffer[] {
  return ['cur', 'new'].flatMap((d) =>
    readdirSync(join(maildir, d)).map((n) => Buffer.from(readFileSync(join(maildir, d, n), 'latin1').replace(/\r?\n/g, '\r\n'), 'latin1')),
  );
}

export interface ImapView {
  uidValidity: number;
  /** UIDs in message-sequence order, so uids[n-1] is POP3 message n's */
  uids: number[];
  /** BODY[] of each, same order */
  bodies: Buffer[];
}

/** What an IMAP client sees in the INBOX (STARTTLS, the self-signed certificate not verified). */
export async function imapView(port: number, user: string, withBodies = true): Promise<ImapView> {
  const client = new ImapFlow({
    host: '127.0.0.1',
    port,
    secure: false,
    auth: { user, pass: PASSWORD },
    tls: { rejectUnauthorized: false },
    logger: false,
  });
  await client.connect();
  try {
    const box = await client.mailboxOpen('INBOX', { readOnly: true });
    const uids: number[] = [];
    const bodies: Buffer[] = [];
    if (box.exists > 0) {
      for await (const m of client.fetch('1:*', { uid: true, ...(withBodies ? { source: true } : {}) })) {
        uids.push(m.uid);
        if (withBodies) bodies.push(m.source!);
      }
    }
    return { uidValidity: Number(box.uidValidity), uids, bodies };
  } finally {
    await client.logout().catch(() => {});
  }
}

/** A bare POP3 connection reading CRLF lines, for the tests that speak the protocol by hand. */
export class RawPop3 {
  private buf = '';
  private waiter?: () => void;
  closed = false;

  private constructor(readonly socket: Socket) {
    socket.on('data', (b: Buffer) => {
      this.buf += b.toString('latin1');
      this.waiter?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.waiter?.();
    });
    socket.on('error', () => {});
  }

  static async open(port: number): Promise<RawPop3> {
    const s = connect({ host: '127.0.0.1', port });
    await once(s, 'connect');
    return new RawPop3(s);
  }

  /** The next CRLF-terminated line, or null when the server closed the connection first. */
  async line(timeoutMs = 10_000): Promise<string | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.buf.indexOf('\r\n');
      if (i >= 0) {
        const l = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 2);
        return l;
      }
      if (this.closed) return null;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no line within ${timeoutMs} ms (have ${JSON.stringify(this.buf.slice(0, 200))})`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiter = () => {
          clearTimeout(t);
          this.waiter = undefined;
          r();
        };
      });
    }
  }

  /** Lines up to and including the "." that ends a multi-line reply (after a +OK status line). */
  async multiLine(): Promise<string[]> {
    const out: string[] = [];
    for (;;) {
      const l = await this.line();
      if (l === null) throw new Error('connection closed inside a multi-line reply');
      out.push(l);
      if (l === '.') return out;
    }
  }

  /** Whatever arrived and has not been read as a line yet. */
  unread(): string {
    return this.buf;
  }

  send(data: string | Buffer): void {
    this.socket.write(data);
  }

  async command(cmd: string): Promise<string | null> {
    this.send(`${cmd}\r\n`);
    return this.line();
  }

  /** Resolves once the server has closed the connection (bounded). */
  async waitClosed(timeoutMs = 10_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    return this.closed;
  }

  close(): void {
    this.socket.destroy();
  }
}
