/**
 * The SMTP and LMTP receivers (issue 6 "Receiving"): the MX listener, the
 * submission listeners (STARTTLS and implicit TLS), and LMTP on a port
 * and/or a Unix socket, all feeding one QueueIntake.
 *
 * Every listener advertises SIZE, 8BITMIME, PIPELINING, SMTPUTF8,
 * ENHANCEDSTATUSCODES and DSN; the SMTP ones also STARTTLS, and submission
 * AUTH PLAIN LOGIN (RFC 4954). LMTP offers neither: it is meant for an MTA on
 * this machine or this network (RFC 2033 1 says it is not for the WAN).
 */
import { connect } from 'node:net';
import { unlink } from 'node:fs/promises';
import type { SMTPServerOptions } from 'smtp-server';
import { ConnectionGate } from './connection-gate.js';
import { type ListenerKind, makeHandlers } from './handlers.js';
import type { SmtpOptions } from './options.js';
import { isLoopback, MailroomSmtpServer } from './server.js';

export type { SmtpOptions, TlsSource } from './options.js';

export interface RunningSmtp {
  /** stop accepting; sessions get up to closeTimeoutMs to finish, then 421 */
  close(): Promise<void>;
  /** what is listening: name (smtp, submission, submissions, lmtp), port (0 for a Unix socket), path for a Unix socket */
  addresses(): { name: string; port: number; path?: string }[];
}

interface ListenerSpec {
  name: string;
  kind: ListenerKind;
  implicitTls: boolean;
  at: { port: number } | { path: string };
}

export async function startSmtp(o: SmtpOptions): Promise<RunningSmtp> {
  const specs: ListenerSpec[] = [];
  const tcp = (name: string, kind: ListenerKind, port: number | false | undefined, implicitTls = false) => {
    if (port !== false && port !== undefined) specs.push({ name, kind, implicitTls, at: { port } });
  };
  tcp('smtp', 'mx', o.smtp.port);
  tcp('submission', 'submission', o.smtp.submissionPort);
  tcp('submissions', 'submission', o.smtp.tlsPort, true);
  tcp('lmtp', 'lmtp', o.lmtp?.port);
  if (o.lmtp?.socket) specs.push({ name: 'lmtp', kind: 'lmtp', implicitTls: false, at: { path: o.lmtp.socket } });

  const gate = new ConnectionGate(o.smtp);
  const localPeer = o.plaintextAuthFrom ?? isLoopback;
  const cleartextAuth = (remoteAddress: string) => o.allowPlaintextAuth || localPeer(remoteAddress);
  const started: { spec: ListenerSpec; server: MailroomSmtpServer; address: { name: string; port: number; path?: string } }[] = [];
  const offReload: (() => void)[] = [];
  try {
    for (const spec of specs) {
      const server = new MailroomSmtpServer(serverOptions(spec, o, gate), spec.kind === 'submission' ? cleartextAuth : null);
      server.on('error', (err) => o.log.warn({ listener: spec.name, err: err.message }, 'smtp connection error'));
      const address = await listen(server, spec, o.bind);
      started.push({ spec, server, address });
      const off = o.tls.onReload?.((c) => server.updateSecureContext(c.options));
      if (off) offReload.push(off);
      o.log.debug({ listener: spec.name, ...address }, `${spec.name} listening`);
    }
  } catch (e) {
    for (const off of offReload) off();
    await Promise.all(started.map((s) => closeServer(s.server)));
    throw e;
  }

  let closing: Promise<void> | null = null;
  return {
    addresses: () => started.map((s) => s.address),
    close() {
      closing ??= (async () => {
        for (const off of offReload) off();
        await Promise.all(started.map((s) => closeServer(s.server)));
        for (const s of started) if ('path' in s.spec.at) await unlink(s.spec.at.path).catch(() => {});
      })();
      return closing;
    },
  };
}

function serverOptions(spec: ListenerSpec, o: SmtpOptions, gate: ConnectionGate): SMTPServerOptions {
  const common: SMTPServerOptions = {
    ...o.tls.current.options,
    name: o.hostname,
    banner: 'Mailroom',
    size: o.smtp.maxMessageSize,
    maxRecipients: o.smtp.maxRecipients,
    // every listener shares the gate's total; this is each one's own backstop,
    // which also bounds sockets still in their TLS handshake
    maxClients: o.smtp.maxConnections,
    hideENHANCEDSTATUSCODES: false,
    hideDSN: false,
    hideREQUIRETLS: true,
    // the reverse lookup would only decorate the Received: header, at the price of a DNS wait per connection
    disableReverseLookup: true,
    logger: false,
    socketTimeout: o.socketTimeoutMs ?? 5 * 60_000,
    closeTimeout: o.closeTimeoutMs ?? 10_000,
    ...makeHandlers(spec.kind, o, gate),
  };
  switch (spec.kind) {
    case 'mx':
      return { ...common, disabledCommands: ['AUTH'] };
    case 'lmtp':
      return { ...common, lmtp: true, disabledCommands: ['AUTH', 'STARTTLS'] };
    case 'submission':
      return {
        ...common,
        secure: spec.implicitTls,
        authMethods: ['PLAIN', 'LOGIN'],
        authOptional: false,
        authRequiredMessage: '5.7.0 Authentication required',
        // refused or allowed per connection by server.ts's hook instead
        allowInsecureAuth: true,
      };
  }
}

async function listen(server: MailroomSmtpServer, spec: ListenerSpec, bind: string): Promise<{ name: string; port: number; path?: string }> {
  if ('path' in spec.at) {
    const path = spec.at.path;
    try {
      await listenOnce(server, (cb) => server.listen(path, cb));
    } catch (e) {
      // a socket file left by a process that died: nobody answers on it, take it over
      if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || (await socketAnswers(path))) throw e;
      await unlink(path);
      await listenOnce(server, (cb) => server.listen(path, cb));
    }
    return { name: spec.name, port: 0, path };
  }
  const port = spec.at.port;
  await listenOnce(server, (cb) => server.listen(port, bind, cb));
  const a = server.server.address();
  return { name: spec.name, port: typeof a === 'object' && a ? a.port : port };
}

function listenOnce(server: MailroomSmtpServer, start: (cb: () => void) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => reject(e);
    server.server.once('error', onError);
    start(() => {
      server.server.off('error', onError);
      resolve();
    });
  });
}

function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function closeServer(server: MailroomSmtpServer): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
