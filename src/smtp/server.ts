/**
 * smtp-server, with two small hooks on each connection that its options
 * cannot express. Both are installed when a connection is created (the
 * library adds it to `server.connections` just before `init()`, so before
 * the greeting), and both touch only this server's connections.
 *
 * 1. Our enhanced status codes. smtp-server derives the RFC 3463 code from
 *    the reply code (554 → 5.6.0, 553 → 5.1.3, 452 → 4.2.2…), which is wrong
 *    for "554 5.7.1 relay denied" or "452 4.5.3". A reply whose text already
 *    starts with an enhanced code (replies.ts) is sent as it is.
 *
 * 2. Plaintext AUTH per connection (DESIGN.md "Security posture"; RFC 4954
 *    4, RFC 3207 4.1). The library decides server-wide (`allowInsecureAuth`),
 *    but we allow it from loopback, or when the operator says so. On a
 *    cleartext connection that may not use it, AUTH is left out of the EHLO
 *    list (like Postfix's smtpd_tls_auth_only) and the command is refused
 *    with 538 5.7.11 before any credential is asked for.
 */
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import type { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';
import { ENHANCED_PREFIX, replies } from './replies.js';

/** Whether a cleartext connection from this address may authenticate with a plaintext mechanism. */
export type CleartextAuthPolicy = (remoteAddress: string) => boolean;

export class MailroomSmtpServer extends SMTPServer {
  constructor(options: SMTPServerOptions, cleartextAuth: CleartextAuthPolicy | null) {
    super(options);
    this.connections = new HookedConnections(cleartextAuth);
  }
}

class HookedConnections extends Set<SMTPConnection> {
  constructor(private readonly cleartextAuth: CleartextAuthPolicy | null) {
    super();
  }

  override add(c: SMTPConnection): this {
    if (!this.has(c)) hook(c, this.cleartextAuth);
    return super.add(c);
  }
}

function hook(c: SMTPConnection, cleartextAuth: CleartextAuthPolicy | null): void {
  const send = c.send.bind(c);
  const authRefused = () => cleartextAuth !== null && !c.secure && !cleartextAuth(c.remoteAddress);
  c.send = (code, data, context) => {
    if (typeof data === 'string' && ENHANCED_PREFIX.test(data)) return send(code, data, false);
    if (code === 250 && Array.isArray(data) && authRefused()) {
      // the EHLO capability list (the only multi-line 250 smtp-server sends)
      return send(code, data.filter((line) => !/^AUTH\b/i.test(line)), context);
    }
    return send(code, data, context);
  };
  const handleAuth = c.handler_AUTH.bind(c);
  c.handler_AUTH = (command, callback) => {
    if (!authRefused()) return handleAuth(command, callback);
    const r = replies.encryptionRequired();
    c.send(r.responseCode, r.message);
    callback();
  };
}

/** 127.0.0.0/8 and ::1, also as IPv4-mapped IPv6. */
export function isLoopback(address: string): boolean {
  const a = address.toLowerCase().replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
  return a === '::1' || /^127\.\d+\.\d+\.\d+$/.test(a);
}
