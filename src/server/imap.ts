/**
 * The IMAP listeners: port `imap.port` (cleartext, STARTTLS offered) and
 * `imap.tlsPort` (implicit TLS, RFC 8314), each handing connections to an
 * ImapSession over a SocketSessionIO with the shared storage and accounts.
 */
import type { Logger } from 'pino';
import type { MailStore } from '../../maildir/types.js';
import { READER_DEFAULTS } from '../../protocol/imap/reader.js';
import type { ImapContext } from '../../protocol/imap/session/context.js';
import { ImapSession } from '../../protocol/imap/session/session.js';
import type { Authenticator } from '../../protocol/session-io.js';
import type { Config } from '../config/schema.js';
import type { TlsProvider } from '../tls/context.js';
import type { SessionListener } from './listener.js';
import { listenerPair } from './listener-pair.js';

export interface ImapServices {
  store: MailStore;
  auth: Authenticator;
  tls: TlsProvider | null;
  log: Logger;
}

/** RFC 2177 section 3: clients re-issue IDLE within 29 minutes; a keepalive every 2 minutes keeps NATs open. */
const IDLE_KEEPALIVE_MS = 2 * 60_000;

export function imapContext(config: Config, services: ImapServices, log: Logger): ImapContext {
  const l = config.imap;
  return {
    store: services.store,
    auth: services.auth,
    log,
    hostname: config.hostname,
    allowPlaintextAuth: config.auth.allowPlaintext,
    limits: {
      appendLimit: READER_DEFAULTS.appendLimit,
      maxLineLength: READER_DEFAULTS.maxLineLength,
      idleTimeoutMs: l.idleTimeoutSeconds * 1000,
      preauthTimeoutMs: l.loginTimeoutSeconds * 1000,
      maxAuthFailures: l.maxFailedLogins,
    },
    idleKeepaliveMs: IDLE_KEEPALIVE_MS,
  };
}

/** The listeners the configuration asks for (none when both ports are `false`), not yet bound. */
export function imapListeners(config: Config, services: ImapServices): SessionListener[] {
  return listenerPair({
    names: ['imap', 'imaps'],
    ports: config.imap,
    limits: config.imap,
    bind: config.bind,
    tls: services.tls,
    log: services.log,
    createSession: (conn) => new ImapSession(conn.io, imapContext(config, services, conn.log)),
    // RFC 3501 7.1.5: BYE may be sent instead of a greeting when the server refuses the connection.
    refusal: (reason) =>
      reason === 'total' ? '* BYE [UNAVAILABLE] Too many connections, try again later\r\n' : '* BYE [UNAVAILABLE] Too many connections from your address\r\n',
  });
}
