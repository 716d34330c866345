/**
 * The composition root of `mailroom serve` (DESIGN.md layer rule 3): builds
 * the stores, the authenticator and TLS, binds the listeners, and offers the
 * two things the process does with signals: reload TLS (SIGHUP) and shut down
 * (SIGTERM/SIGINT).
 *
 * Nothing here assumes this is the only process on the data directory:
 * accounts are re-read when their files change, the Maildir store locks and
 * watches, and the self-signed certificate is generated under a lock.
 */
import type { Logger } from 'pino';
import { MaildirStore } from '../../maildir/store.js';
import { AuthService } from '../accounts/auth.js';
import { AccountStore } from '../accounts/store.js';
import type { Config } from '../config/schema.js';
import { TlsProvider } from '../tls/context.js';
import { formatEndpoint } from './address.js';
import { checkDataDir } from './data-dir.js';
import { imapListeners } from './imap.js';
import type { SessionListener } from './listener.js';
import { pop3Listeners } from './pop3.js';
import { startQueue, type RunningQueue } from '../queue/index.js';
import { startSmtp } from '../smtp/index.js';

export interface ListeningOn {
  name: string;
  host: string;
  port: number;
  tls: 'starttls' | 'implicit' | 'none';
  /** a Unix socket (LMTP) instead of host:port */
  path?: string;
}

/** What each listener is, for the startup lines. */
const DESCRIPTION: Record<string, string> = {
  imap: 'IMAP, STARTTLS',
  imaps: 'IMAP over TLS',
  pop3: 'POP3, STLS',
  pop3s: 'POP3 over TLS',
  smtp: 'SMTP (MX, no relay), STARTTLS',
  submission: 'SMTP submission, AUTH required, STARTTLS',
  submissions: 'SMTP submission over TLS',
  lmtp: 'LMTP',
};

export interface RunningServer {
  listening: ListeningOn[];
  tls: TlsProvider;
  /** re-read the certificate files; open sessions keep theirs */
  reloadTls(): Promise<void>;
  /** stop accepting, BYE to every session, wait up to the configured deadline; idempotent */
  shutdown(reason?: string): Promise<void>;
}

export async function startServer(config: Config, log: Logger): Promise<RunningServer> {
  await checkDataDir(config.data);
  const { provider: tls, generated } = await TlsProvider.fromConfig(config);
  const cert = tls.current;
  log.info(
    { cert: cert.certPath, subject: cert.subject, fingerprint: cert.fingerprint, validTo: cert.validTo, selfSigned: tls.selfSigned },
    generated ? `generated a self-signed certificate for ${config.hostname} in ${cert.certPath}` : `TLS certificate ${cert.certPath}`,
  );

  const accounts = new AccountStore(config.data);
  const auth = AuthService.fromConfig(accounts, config.auth, {
    onError: (err, context) => log.error({ err: err instanceof Error ? err.message : String(err), context }, 'accounts error'),
  });
  const rootOf = (user: string) => accounts.maildirPath(user);
  const store = new MaildirStore({ rootOf });
  const listeners: SessionListener[] = [
    ...imapListeners(config, { store, auth, tls, log }),
    ...pop3Listeners(config, { store, auth, tls, log, rootOf }),
  ];

  const listening: ListeningOn[] = [];
  let queue: RunningQueue | null = null;
  let smtp: Awaited<ReturnType<typeof startSmtp>> | null = null;
  try {
    for (const l of listeners) {
      const a = await l.listen();
      listening.push({ name: l.name, host: a.address, port: a.port, tls: l.implicitTls ? 'implicit' : 'starttls' });
    }
    // The queue delivers into the same store, so IMAP IDLE sessions of this
    // process see local deliveries at once; the SMTP receivers spool into it.
    queue = await startQueue(config, { accounts, store, log: log.child({ part: 'queue' }) });
    smtp = await startSmtp({
      smtp: config.smtp,
      lmtp: config.lmtp,
      bind: config.bind,
      hostname: config.hostname,
      allowPlaintextAuth: config.auth.allowPlaintext,
      tls,
      auth,
      accounts,
      queue: queue.intake,
      log: log.child({ part: 'smtp' }),
      closeTimeoutMs: config.imap.shutdownTimeoutSeconds * 1000,
    });
    for (const a of smtp.addresses()) {
      listening.push({
        name: a.name,
        host: a.path ? '' : config.bind,
        port: a.port,
        tls: a.name === 'submissions' ? 'implicit' : a.name === 'lmtp' ? 'none' : 'starttls',
        ...(a.path ? { path: a.path } : {}),
      });
    }
  } catch (e) {
    await Promise.all(listeners.map((l) => l.stopAccepting()));
    await smtp?.close();
    await queue?.stop();
    await store.close();
    throw e;
  }
  for (const l of listening) {
    const where = l.path ?? formatEndpoint(l.host, l.port);
    log.info({ listener: l.name, address: l.path ?? l.host, port: l.port, tls: l.tls }, `${l.name} listening on ${where} (${DESCRIPTION[l.name] ?? l.name})`);
  }

  let stopping: Promise<void> | null = null;
  return {
    listening,
    tls,
    async reloadTls() {
      try {
        const c = await tls.reload();
        log.info({ cert: c.certPath, fingerprint: c.fingerprint, validTo: c.validTo }, 'TLS certificate reloaded');
      } catch (err) {
        log.error({ err: err instanceof Error ? err.message : String(err) }, 'TLS reload failed; the previous certificate stays in use');
      }
    },
    shutdown(reason = 'Server shutting down') {
      stopping ??= (async () => {
        log.info({ sessions: listeners.reduce((n, l) => n + l.sessionCount, 0) }, 'shutting down');
        await Promise.all([
          ...listeners.map((l) => l.shutdown(reason, (l.name.startsWith('pop3') ? config.pop3 : config.imap).shutdownTimeoutSeconds * 1000)),
          smtp?.close(),
        ]);
        // the queue stops after the receivers: nothing accepted is left half-spooled
        await queue?.stop();
        await store.close();
        log.info({}, 'stopped');
      })();
      return stopping;
    },
  };
}
