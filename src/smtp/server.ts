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
 *
 * 3. Replies of one turn of the event loop go out in one write. smtp-server
 *    writes every reply on its own; a PIPELINING client's MAIL, RCPT and
 *    DATA (RFC 2920 3.1) then cost three socket writes, each waking the
 *    client, where one does (RFC 2920 3.2 asks servers to group the replies
 *    of a pipelined group). Only positive replies are held: a 220 may be
 *    followed by the TLS handshake on the same socket, and an error may be
 *    followed by closing it.
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

/** The parts of smtp-server's connection that the write grouping touches (not in its typings). */
interface ConnectionInternals {
  _socket?: import('node:net').Socket;
  _upgrading?: boolean;
}

function hook(c: SMTPConnection, cleartextAuth: CleartextAuthPolicy | null): void {
  const rawSend = c.send.bind(c);
  const internals = c as unknown as ConnectionInternals;
  let corked: import('node:net').Socket | null = null;
  const send: typeof rawSend = (code, data, context) => {
    const socket = internals._socket;
    const groupable = code === 250 || code === 354 || code === 334;
    if (!groupable && corked !== null) {
      // whatever was held goes out first, in order, and this reply unheld
      corked.uncork();
      corked = null;
    } else if (groupable && corked === null && socket && !internals._upgrading && socket.writable) {
      const held = socket;
      corked = held;
      held.cork();
      setImmediate(() => {
        if (corked === held) corked = null;
        held.uncork();
      });
    }
    return rawSend(code, data, context);
  };
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
