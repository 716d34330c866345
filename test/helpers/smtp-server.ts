// `mailroom serve` with the SMTP side switched on, for the end-to-end SMTP
// tests: a config writer choosing free loopback ports for the listeners a
// test asks for, a spawner that waits until every one of them is listening
// (and can be killed with SIGKILL and started again on the same ports), and
// small readers of the resulting Maildirs.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, freePorts } from './server.js';

export type ListenerName = 'smtp' | 'submission' | 'submissions' | 'lmtp' | 'imap' | 'imaps' | 'pop3' | 'pop3s';

export interface SmtpServeOptions {
  /** listeners to switch on besides the MX port ('smtp', always on) */
  with?: ListenerName[];
  /** static routes, e.g. { 'remote.test': '127.0.0.1:2626' } */
  routes?: Record<string, string>;
  /** extra keys of the queue mapping, e.g. 'retryRemote: 1, scanIntervalSeconds: 1' */
  queue?: string;
  /** extra keys of the smtp mapping */
  smtp?: string;
}

export interface SmtpServeConfig {
  file: string;
  dir: string;
  data: string;
  ports: Partial<Record<ListenerName, number>>;
  /** the listeners `spawnSmtpServe` waits for */
  listeners: ListenerName[];
}

/** Writes `dir/mailroom.yaml`: SMTP on the MX port plus whatever `o.with` names, each on a free port; the rest off. */
export async function writeSmtpConfig(dir: string, o: SmtpServeOptions = {}): Promise<SmtpServeConfig> {
  mkdirSync(dir, { recursive: true });
  const listeners: ListenerName[] = ['smtp', ...(o.with ?? []).filter((l) => l !== 'smtp')];
  const free = await freePorts(listeners.length);
  const ports: Partial<Record<ListenerName, number>> = {};
  listeners.forEach((l, i) => (ports[l] = free[i]));
  const p = (l: ListenerName) => ports[l] ?? 'false';
  const routes = Object.entries(o.routes ?? {})
    .map(([d, hop]) => `  ${JSON.stringify(d)}: ${JSON.stringify(hop)}\n`)
    .join('');
  const yaml =
    `hostname: mail.example.test\ndata: ./data\n` +
    `imap: { port: ${p('imap')}, tlsPort: ${p('imaps')} }\n` +
    `pop3: { port: ${p('pop3')}, tlsPort: ${p('pop3s')} }\n` +
    `smtp: { port: ${p('smtp')}, submissionPort: ${p('submission')}, tlsPort: ${p('submissions')}${o.smtp ? `, ${o.smtp}` : ''} }\n` +
    `lmtp: { port: ${p('lmtp')} }\n` +
    `auth: { failureDelayMs: 10 }\n` +
    (o.queue ? `queue: { ${o.queue} }\n` : '') +
    (routes ? `routes:\n${routes}` : '');
  const file = join(dir, 'mailroom.yaml');
  writeFileSync(file, yaml);
  return { file, dir, data: join(dir, 'data'), ports, listeners };
}

export interface SmtpServeProcess {
  child: ChildProcess;
  /** everything logged on stderr so far */
  stderr: () => string;
  /** parsed pino lines so far */
  logs: () => Record<string, unknown>[];
  /** SIGTERM and wait; resolves to the exit code */
  stop(): Promise<number | null>;
  /** SIGKILL and wait for the exit */
  kill(): Promise<void>;
}

/** `mailroom serve --config FILE`; resolves once every configured listener logged that it listens. */
export async function spawnSmtpServe(c: SmtpServeConfig): Promise<SmtpServeProcess> {
  const child = spawn(process.execPath, [CLI, 'serve', '--config', c.file], { cwd: c.dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const logs = () =>
    err
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => {
        try {
          return JSON.parse(l) as Record<string, unknown>;
        } catch {
          return {}; // a line still being written
        }
      });
  await new Promise<void>((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`mailroom serve exited ${code} before listening: ${err}`));
    child.stderr!.on('data', (b: Buffer) => {
      err += b.toString();
      const up = new Set(logs().filter((l) => /listening on/.test(String(l.msg ?? ''))).map((l) => l.listener));
      if (c.listeners.every((l) => up.has(l))) {
        child.off('exit', onExit);
        resolve();
      }
    });
    child.once('exit', onExit);
  });
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  return {
    child,
    stderr: () => err,
    logs,
    async stop() {
      if (exited()) return child.exitCode;
      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number | null];
      return code;
    },
    async kill() {
      if (exited()) return;
      child.kill('SIGKILL');
      await once(child, 'exit');
    },
  };
}

/** The files of a Maildir's INBOX (new/ and cur/), contents as latin1 strings. */
export function inboxFiles(maildir: string): { name: string; text: string }[] {
  const out: { name: string; text: string }[] = [];
  for (const sub of ['new', 'cur']) {
    const d = join(maildir, sub);
    if (!existsSync(d)) continue;
    for (const name of readdirSync(d)) out.push({ name: `${sub}/${name}`, text: readFileSync(join(d, name)).toString('latin1') });
  }
  return out;
}

/** Polls `check` every 50 ms until it returns a value other than undefined/false, or throws after `ms`. */
export async function waitFor<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
