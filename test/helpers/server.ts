// Real Mailroom IMAP servers for end-to-end tests: in this process
// (startServer on ephemeral ports, logs captured) or as `mailroom serve`
// child processes running the built JavaScript (dist/, test/setup-build.ts).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { hashPassword } from '../../src/accounts/passwords.js';
import { AccountStore } from '../../src/accounts/store.js';
import { type Config, defaultConfig } from '../../src/config/schema.js';
import { startServer, type RunningServer } from '../../src/server/serve.js';

export const root = join(import.meta.dirname, '..', '..');
export const CLI = join(root, 'dist', 'src', 'cli.js');
export const PASSWORD = 'correct horse battery';
/** cheap scrypt for test accounts (the server re-hashes on first login, which is fine) */
const FAST = { ln: 10, r: 8, p: 1 };

/** Creates `address` with PASSWORD and fills its INBOX with `messages` corpus messages (bench/corpus.mjs). */
export async function seedUser(data: string, address: string, messages: number): Promise<string> {
  const accounts = new AccountStore(data);
  const domain = address.split('@')[1];
  if (!(await accounts.hasDomain(domain))) await accounts.addDomain(domain);
  await accounts.addUser(address, await hashPassword(PASSWORD, FAST));
  const maildir = accounts.maildirPath(address);
  if (messages > 0) {
    // corpus.mjs wants a fresh target: build beside the provisioned Maildir, then take its place
    const built = `${maildir}.corpus`;
    execFileSync(process.execPath, [join(root, 'bench', 'corpus.mjs'), built, String(messages), '--sent=3', '--archive=2'], { stdio: 'ignore' });
    rmSync(maildir, { recursive: true, force: true });
    renameSync(built, maildir);
  }
  return maildir;
}

export interface InProcessServer {
  config: Config;
  server: RunningServer;
  port: number;
  tlsPort: number;
  /** every pino line logged so far, parsed */
  logs: Record<string, unknown>[];
  logText: () => string;
  stop(): Promise<void>;
}

/** A server in this process on ports chosen by the kernel, data under `dir`. */
export async function startInProcess(dir: string, tune: (c: Config) => void = () => {}): Promise<InProcessServer> {
  const config = defaultConfig(dir);
  config.hostname = 'mail.example.test';
  config.imap.port = 0;
  config.imap.tlsPort = 0;
  // only IMAP: the default POP3 and SMTP ports are fixed numbers, which test files running side by side would fight over
  config.pop3.port = false;
  config.pop3.tlsPort = false;
  config.smtp.port = false;
  config.smtp.submissionPort = false;
  config.smtp.tlsPort = false;
  config.auth.failureDelayMs = 10;
  tune(config);
  const logs: Record<string, unknown>[] = [];
  let text = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      text += chunk.toString();
      for (const line of chunk.toString().split('\n')) if (line.trim()) logs.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  const log = pino({ level: 'debug' }, sink);
  const server = await startServer(config, log);
  const port = server.listening.find((l) => l.tls === 'starttls')?.port ?? 0;
  const tlsPort = server.listening.find((l) => l.tls === 'implicit')?.port ?? 0;
  return { config, server, port, tlsPort, logs, logText: () => text, stop: () => server.shutdown() };
}

/** Ports free right now (for child processes, whose configuration cannot say 0). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, async () => {
      const s = createServer();
      s.listen(0, '127.0.0.1');
      await once(s, 'listening');
      return s;
    }),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

export interface ServeProcess {
  child: ChildProcess;
  port: number;
  tlsPort: number;
  stderr: () => string;
  /** SIGTERM and wait; resolves to the exit code */
  stop(): Promise<number | null>;
}

/** Writes `dir/mailroom.yaml` with the given ports; `data` defaults to ./data, `imap` adds keys to the imap mapping. */
export function writeConfig(dir: string, port: number, tlsPort: number, o: { data?: string; imap?: string } = {}): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'mailroom.yaml');
  const imap = `port: ${port}, tlsPort: ${tlsPort}${o.imap ? `, ${o.imap}` : ''}`;
  // only IMAP: the other listeners are off so that several processes can run side by side
  writeFileSync(
    file,
    `hostname: mail.example.test\ndata: ${o.data ?? './data'}\nimap: { ${imap} }\npop3: { port: false, tlsPort: false }\n` +
      `smtp: { port: false, submissionPort: false, tlsPort: false }\nauth: { failureDelayMs: 10 }\n`,
  );
  return file;
}

/** `mailroom serve --config FILE`; resolves once both IMAP listeners logged their address. */
export async function spawnServe(configFile: string, cwd: string): Promise<ServeProcess> {
  const child = spawn(process.execPath, [CLI, 'serve', '--config', configFile], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  const ports = await new Promise<{ port: number; tlsPort: number }>((resolve, reject) => {
    const check = () => {
      const lines = err.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { listener?: string; port?: number; msg?: string });
      const plain = lines.find((l) => l.listener === 'imap' && /listening/.test(l.msg ?? ''));
      const tls = lines.find((l) => l.listener === 'imaps' && /listening/.test(l.msg ?? ''));
      if (plain?.port && tls?.port) resolve({ port: plain.port, tlsPort: tls.port });
    };
    child.stderr!.on('data', check);
    child.once('exit', (code) => reject(new Error(`mailroom serve exited ${code} before listening: ${err}`)));
  });
  return {
    child,
    ...ports,
    stderr: () => err,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number | null];
      return code;
    },
  };
}
