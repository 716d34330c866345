/**
 * The POP3 listeners: `pop3.port` (cleartext, STLS offered) and
 * `pop3.tlsPort` (implicit TLS, RFC 8314), each handing connections to a
 * Pop3Session over a SocketSessionIO, with the same storage, accounts, TLS
 * and connection limits plumbing as IMAP.
 */
import type { Logger } from 'pino';
import type { MailStore } from '../../maildir/types.js';
import { acquireMaildropLock } from '../../maildir/maildrop-lock.js';
import { DEFAULT_POP3_LIMITS, Pop3Session, type Pop3Context } from '../../protocol/pop3/session.js';
import type { Authenticator } from '../../protocol/session-io.js';
import type { Config } from '../config/schema.js';
import type { TlsProvider } from '../tls/context.js';
import type { SessionListener } from './listener.js';
import { listenerPair } from './listener-pair.js';

export interface Pop3Services {
  store: MailStore;
  auth: Authenticator;
  tls: TlsProvider | null;
  log: Logger;
  /** the user's Maildir root, where the maildrop lock lives */
  rootOf: (user: string) => string;
}

export function pop3Context(config: Config, services: Pop3Services, log: Logger): Pop3Context {
  return {
    store: services.store,
    auth: services.auth,
    lockMaildrop: (user) => acquireMaildropLock(services.rootOf(user)),
    log,
    hostname: config.hostname,
    allowPlaintextAuth: config.auth.allowPlaintext,
    limits: {
      maxLineLength: DEFAULT_POP3_LIMITS.maxLineLength,
      idleTimeoutMs: config.pop3.idleTimeoutSeconds * 1000,
      maxAuthFailures: config.pop3.maxFailedLogins,
      loginTimeoutMs: config.pop3.loginTimeoutSeconds * 1000,
    },
  };
}

/** The listeners the configuration asks for (none when both ports are `false`), not yet bound. */
export function pop3Listeners(config: Config, services: Pop3Services): SessionListener[] {
  return listenerPair({
    names: ['pop3', 'pop3s'],
    ports: config.pop3,
    limits: config.pop3,
    bind: config.bind,
    tls: services.tls,
    log: services.log,
    createSession: (conn) => new Pop3Session(conn.io, pop3Context(config, services, conn.log)),
    // RFC 2449 8.1.2: [SYS/TEMP] marks a temporary refusal
    refusal: (reason) =>
      reason === 'total' ? '-ERR [SYS/TEMP] Too many connections, try again later\r\n' : '-ERR [SYS/TEMP] Too many connections from your address\r\n',
  });
}
