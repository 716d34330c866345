/** What the SMTP and LMTP receivers are given by the composition root (src/server/serve.ts). */
import type { SecureContextOptions } from 'node:tls';
import type { Logger } from 'pino';
import type { AuthService } from '../accounts/auth.js';
import type { AccountStore } from '../accounts/store.js';
import type { Config } from '../config/schema.js';
import type { QueueIntake } from '../queue/types.js';

/**
 * The TLS credentials, read when a listener starts and again after each
 * reload; src/tls/context.ts's TlsProvider is one. Open sessions keep theirs.
 */
export interface TlsSource {
  readonly current: { readonly options: SecureContextOptions };
  onReload?(listener: (c: { readonly options: SecureContextOptions }) => void): () => void;
}

export interface SmtpOptions {
  /** ports and limits (mailroom.yaml `smtp:`); a port of 0 binds an ephemeral port (tests), false none */
  smtp: Config['smtp'];
  /** mailroom.yaml `lmtp:`; both absent or false: no LMTP */
  lmtp?: Partial<Config['lmtp']>;
  /** address the TCP listeners bind (mailroom.yaml `bind`) */
  bind: string;
  /** the name in the greeting and in EHLO (mailroom.yaml `hostname`) */
  hostname: string;
  /**
   * Plaintext AUTH on a cleartext connection from a non-loopback peer
   * (mailroom.yaml `auth.allowPlaintext`, shared with IMAP and POP3).
   */
  allowPlaintextAuth: boolean;
  /** peers that may use plaintext AUTH without TLS even so (default: loopback, isLoopback in server.ts) */
  plaintextAuthFrom?: (remoteAddress: string) => boolean;
  tls: TlsSource;
  auth: Pick<AuthService, 'authenticate'>;
  accounts: Pick<AccountStore, 'resolve' | 'hasDomain' | 'maildirPath'>;
  queue: QueueIntake;
  log: Logger;
  /** how long close() lets sessions finish before cutting them (default 10 s) */
  closeTimeoutMs?: number;
  /** idle time after which a session is dropped (default 5 minutes, RFC 5321 4.5.3.2.7) */
  socketTimeoutMs?: number;
}
