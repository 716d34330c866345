/**
 * What an IMAP session is given by the composition root (src/): storage,
 * authentication, logging and the limits of the configuration. Nothing here
 * is a socket: the connection itself is the SessionIO passed alongside.
 */
import type { MailStore } from '../../../maildir/types.js';
import type { Authenticator, SessionLog } from '../../session-io.js';

export interface ImapLimits {
  /** largest APPEND message in octets (APPENDLIMIT, RFC 7889) */
  appendLimit: number;
  /** longest command line the reader keeps (CRLF excluded) */
  maxLineLength: number;
  /** autologout after this long without input once authenticated; at least 30 minutes (RFC 3501 5.4) */
  idleTimeoutMs: number;
  /** autologout before authentication (kept short: an unauthenticated connection costs us and gives nothing) */
  preauthTimeoutMs: number;
  /** failed LOGIN/AUTHENTICATE attempts before the connection is closed */
  maxAuthFailures: number;
}

export interface ImapContext {
  store: MailStore;
  auth: Authenticator;
  log: SessionLog;
  /** our host name, for the greeting */
  hostname: string;
  /** the operator allows LOGIN/AUTHENTICATE PLAIN on cleartext, non-loopback connections */
  allowPlaintextAuth: boolean;
  limits: ImapLimits;
  /** interval of `* OK Still here` during IDLE (RFC 2177 section 3: keep NATs and clients from timing out) */
  idleKeepaliveMs: number;
  /** clock, replaceable in tests */
  now?: () => Date;
}
