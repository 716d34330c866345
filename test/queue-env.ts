// A data directory with accounts, a Maildir store and a queue, for the queue
// and delivery tests. The clock is injected: tests move it forward by hand.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { MaildirStore } from '../maildir/store.js';
import { AccountStore } from '../src/accounts/store.js';
import { defaultConfig, type Config } from '../src/config/schema.js';
import { startQueue, type RunningQueue } from '../src/queue/index.js';
import type { QueueEnvelope } from '../src/queue/types.js';
import { tempDir } from './helpers/tmp.js';

export interface QueueEnv {
  dir: string;
  config: Config;
  accounts: AccountStore;
  store: MaildirStore;
  queue: RunningQueue;
  clock: { now: number };
  /** contents of the files in a user's INBOX new/ */
  inbox(address: string): string[];
  close(): Promise<void>;
}

export async function queueEnv(o: { routes?: Config['routes']; setup?: (a: AccountStore) => Promise<void>; inlineDelivery?: number } = {}): Promise<QueueEnv> {
  const { dir, cleanup } = tempDir('mailroom-queue-');
  const config = defaultConfig(dir);
  config.hostname = 'mx.example.org';
  config.routes = o.routes ?? {};
  if (o.inlineDelivery !== undefined) config.queue.inlineDelivery = o.inlineDelivery;
  const accounts = new AccountStore(config.data);
  await accounts.addDomain('example.org');
  await o.setup?.(accounts);
  const store = new MaildirStore({ rootOf: (u) => accounts.maildirPath(u) });
  const clock = { now: Date.parse('2026-11-24T10:00:00Z') };
  const queue = await startQueue(config, { accounts, store, now: () => clock.now });
  return {
    dir,
    config,
    accounts,
    store,
    queue,
    clock,
    inbox(address) {
      const d = join(accounts.maildirPath(address), 'new');
      return readdirSync(d)
        .sort()
        .map((f) => readFileSync(join(d, f), 'latin1'));
    },
    async close() {
      await queue.stop();
      await store.close();
      cleanup();
    },
  };
}

export function envelope(from: string, to: string[], extra: Partial<QueueEnvelope> = {}): QueueEnvelope {
  return {
    from,
    recipients: to.map((address) => ({ address })),
    received: { helo: 'client.example.com', remoteAddress: '192.0.2.7', protocol: 'ESMTP' },
    ...extra,
  };
}

export const message = (subject: string, extraHeaders = '') =>
  Buffer.from(
    `${extraHeaders}From: Carol <carol@example.com>\r\nTo: someone\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, '')}@example.com>\r\n\r\nHello, ${subject}.\r\n`,
  );

/** A parsed multipart/report: the delivery-status groups as maps of lower-cased field names. */
export function parseDsn(text: string): { contentType: string; human: string; perMessage: Map<string, string>; perRecipient: Map<string, string>[]; original: string; originalType: string } {
  const headEnd = text.indexOf('\r\n\r\n') >= 0 && (text.indexOf('\n\n') < 0 || text.indexOf('\r\n\r\n') < text.indexOf('\n\n')) ? text.indexOf('\r\n\r\n') : text.indexOf('\n\n');
  const head = text.slice(0, headEnd).replace(/\r?\n[ \t]+/g, ' ');
  const ct = /^Content-Type:\s*(.*)$/im.exec(head)?.[1] ?? '';
  const boundary = /boundary="([^"]+)"/.exec(ct)?.[1] ?? '';
  const parts = text.split(`--${boundary}`).slice(1, -1);
  const part = (p: string) => {
    const i = p.search(/\r?\n\r?\n/);
    return { head: p.slice(0, i), body: p.slice(i).replace(/^\r?\n\r?\n/, '') };
  };
  const [p1, p2, p3] = parts.map(part);
  const groups = p2.body
    .split(/\r?\n\r?\n/)
    .map((g) => g.trim())
    .filter((g) => g !== '')
    .map((g) => new Map(g.split(/\r?\n/).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()] as [string, string])));
  return {
    contentType: ct,
    human: p1.body,
    perMessage: groups[0],
    perRecipient: groups.slice(1),
    original: p3?.body ?? '',
    originalType: /Content-Type:\s*(\S+)/i.exec(p3?.head ?? '')?.[1] ?? '',
  };
}

/** `message` as the stream a receiver hands to the intake. */
export const body = (subject: string, extraHeaders = '') => Readable.from([message(subject, extraHeaders)]);
