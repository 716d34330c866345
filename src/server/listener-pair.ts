/**
 * The two listeners of a mail-access protocol: the cleartext port (STARTTLS
 * or STLS offered) and the implicit-TLS port (RFC 8314), sharing one
 * connection budget so that a client cannot double its share by using both.
 */
import type { Logger } from 'pino';
import type { Port } from '../config/schema.js';
import type { TlsProvider } from '../tls/context.js';
import { ConnectionLimits } from './connection-limits.js';
import { type Connection, type ProtocolSession, SessionListener } from './listener.js';

export interface ListenerPairOptions {
  /** names for logs: e.g. ["imap", "imaps"] */
  names: [cleartext: string, implicitTls: string];
  ports: { port: Port; tlsPort: Port };
  limits: { maxConnections: number; maxConnectionsPerIp: number };
  bind: string;
  tls: TlsProvider | null;
  log: Logger;
  createSession(conn: Connection): ProtocolSession;
  /** what to send a connection refused by the limits before closing it */
  refusal(reason: 'total' | 'perIp'): string;
}

/** The listeners the configuration asks for (none when both ports are `false`), not yet bound. */
export function listenerPair(o: ListenerPairOptions): SessionListener[] {
  const limits = new ConnectionLimits(o.limits);
  const make = (name: string, port: number, implicitTls: boolean) =>
    new SessionListener({
      name,
      host: o.bind,
      port,
      implicitTls,
      tls: o.tls,
      limits,
      log: o.log,
      createSession: o.createSession,
      refusal: o.refusal,
    });
  const out: SessionListener[] = [];
  if (o.ports.port !== false) out.push(make(o.names[0], o.ports.port, false));
  if (o.ports.tlsPort !== false && o.tls) out.push(make(o.names[1], o.ports.tlsPort, true));
  return out;
}
