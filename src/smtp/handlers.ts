/**
 * The smtp-server callbacks of one listener kind. Each handler checks, asks
 * the accounts or the queue, and answers through its callback with either
 * nothing (accept) or an SmtpReply (replies.ts); nothing here writes to a
 * socket.
 *
 *   mx          smtp.port: no AUTH; local recipients only (never a relay)
 *   submission  smtp.submissionPort / smtp.tlsPort (RFC 6409, RFC 8314):
 *               AUTH first; then MAIL FROM must be the user's, and any
 *               recipient may follow
 *   lmtp        RFC 2033: local recipients only; one reply per recipient
 *               after DATA
 */
import type { Readable } from 'node:stream';
import type { SMTPServerDataStream, SMTPServerOptions, SMTPServerSession } from 'smtp-server';
import type { ConnectionGate } from './connection-gate.js';
import { CrlfToLf, MessageTooBigError } from './crlf.js';
import { buildEnvelope, declaredSize, normalizeRecipient } from './envelope.js';
import type { SmtpOptions } from './options.js';
import { checkRecipient } from './recipients.js';
import { replies, SmtpReply } from './replies.js';
import { maySendAs } from './sender.js';

export type ListenerKind = 'mx' | 'submission' | 'lmtp';

type Handlers = Required<Pick<SMTPServerOptions, 'onConnect' | 'onClose' | 'onAuth' | 'onMailFrom' | 'onRcptTo' | 'onData'>>;

export function makeHandlers(kind: ListenerKind, o: SmtpOptions, gate: ConnectionGate): Handlers {
  const log = o.log.child({ listener: kind });
  const authFailures = new Map<string, number>();
  const maxSize = o.smtp.maxMessageSize;

  /** Runs an async check and hands its outcome to an smtp-server callback; unexpected errors are logged and answered 451. */
  const settle = (session: SMTPServerSession, what: string, cb: (err?: Error | null) => void, fn: () => Promise<SmtpReply | null>) => {
    fn().then(
      (reply) => cb(reply),
      (err: unknown) => {
        log.error({ session: session.id, err: err instanceof Error ? err.message : String(err) }, `${what} failed`);
        cb(replies.lookupFailed());
      },
    );
  };

  return {
    onConnect(session, cb) {
      if (!gate.admit(session.id, session.remoteAddress)) {
        log.warn({ session: session.id, remote: session.remoteAddress, open: gate.open }, 'connection refused: too many connections');
        return cb(replies.tooManyConnections());
      }
      cb();
    },

    onClose(session) {
      gate.release(session.id);
      authFailures.delete(session.id);
    },

    onAuth(auth, session, cb) {
      if (kind !== 'submission') return cb(replies.authFailed());
      // PLAIN may name someone to act as (RFC 4616 2 authzid); we have no proxy users
      const authzid = auth.authzid?.trim().toLowerCase();
      const username = auth.username ?? '';
      const run = async (): Promise<SmtpReply | { user: string }> => {
        if (authzid && authzid !== username.trim().toLowerCase()) return replies.authFailed();
        const r = await o.auth.authenticate(username, auth.password ?? '', session.remoteAddress);
        if (r.ok) return { user: r.address };
        if (r.reason === 'unavailable') return replies.authUnavailable();
        const n = (authFailures.get(session.id) ?? 0) + 1;
        authFailures.set(session.id, n);
        log.info({ session: session.id, remote: session.remoteAddress, user: username, reason: r.reason, failures: n }, 'authentication failed');
        return n >= o.smtp.maxAuthFailures ? replies.tooManyAuthFailures() : replies.authFailed();
      };
      run().then(
        (r) => {
          if (r instanceof SmtpReply) return cb(r);
          log.info({ session: session.id, remote: session.remoteAddress, user: r.user, method: auth.method }, 'authenticated');
          cb(null, { user: r.user });
        },
        (err: unknown) => {
          log.error({ session: session.id, err: err instanceof Error ? err.message : String(err) }, 'authentication error');
          cb(replies.authUnavailable());
        },
      );
    },

    onMailFrom(address, session, cb) {
      settle(session, 'MAIL FROM check', cb, async () => {
        if (kind !== 'submission') return null;
        // smtp-server already answered 530 before MAIL without AUTH; this is the second lock
        if (typeof session.user !== 'string') return replies.authRequired();
        return (await maySendAs(o.accounts, session.user, address.address)) ? null : replies.senderNotOwned(address.address, session.user);
      });
    },

    onRcptTo(address, session, cb) {
      settle(session, 'RCPT TO check', cb, async () => {
        const rcpt = normalizeRecipient(address.address);
        const v = await checkRecipient(o.accounts, rcpt, declaredSize(session));
        switch (v.kind) {
          case 'local':
            return null;
          case 'remote':
            return kind === 'submission' && typeof session.user === 'string' ? null : replies.relayDenied(rcpt);
          case 'unknown':
            return replies.unknownUser(rcpt);
          case 'overquota':
            return v.permanent ? replies.overQuotaForMessage(rcpt) : replies.mailboxFull(rcpt);
          case 'unavailable':
            return replies.lookupFailed();
        }
      });
    },

    onData(stream, session, cb) {
      const envelope = buildEnvelope(session, session.transmissionType || (kind === 'lmtp' ? 'LMTP' : 'ESMTP'));
      receive(stream, envelope, o, maxSize).then(
        ({ id, bytes }) => {
          log.info(
            { session: session.id, id, from: envelope.from, rcpts: envelope.recipients.length, bytes, remote: session.remoteAddress, user: session.user },
            'queued',
          );
          if (kind === 'lmtp') {
            // RFC 2033 4.2: one reply per accepted recipient, in RCPT order. The
            // message is spooled once for all of them, so they share its fate.
            cb(null, envelope.recipients.map((r) => replies.queuedFor(r.address, id)));
          } else cb(null, replies.queued(id));
        },
        (err: unknown) => {
          if (err instanceof SmtpReply) {
            log.info({ session: session.id, reply: err.message }, 'message refused');
            return cb(err);
          }
          if (err instanceof ClientGone) {
            log.info({ session: session.id, remote: session.remoteAddress }, 'client disconnected during DATA; nothing queued');
            return cb(err);
          }
          log.error({ session: session.id, err: err instanceof Error ? err.message : String(err) }, 'queueing failed');
          cb(replies.queueFailed());
        },
      );
    },
  };
}

/**
 * Streams DATA into the queue (never holding the message whole) and resolves
 * with the queue id once the queue says the spool is durable.
 *
 * If the client goes away mid-DATA, smtp-server destroys the data stream;
 * the body stream handed to the queue then fails, so `enqueue` rejects and
 * leaves nothing in the spool. If the queue gives up early (too big, disk
 * error), the rest of the message is read and discarded, because SMTP can
 * only answer after the final dot (RFC 5321 4.1.1.4).
 */
async function receive(stream: SMTPServerDataStream, envelope: ReturnType<typeof buildEnvelope>, o: SmtpOptions, maxSize: number): Promise<{ id: string; bytes: number }> {
  const body = new CrlfToLf(maxSize);
  // The queue may not be reading yet (still opening its spool file) when the
  // client hangs up; an 'error' with no listener would then crash the
  // process. The queue still sees the failure: a destroyed stream fails
  // whoever reads it afterwards.
  body.on('error', () => {});
  const onError = (e: Error) => body.destroy(e);
  const onClose = () => {
    if (!stream.readableEnded) body.destroy(new ClientGone());
  };
  stream.on('error', onError);
  stream.on('close', onClose);
  stream.pipe(body);
  try {
    const id = await o.queue.enqueue(envelope, body as Readable, { maxBytes: maxSize });
    return { id, bytes: body.received };
  } catch (e) {
    stream.unpipe(body);
    body.destroy();
    await drain(stream);
    if (e instanceof MessageTooBigError || stream.sizeExceeded) throw replies.messageTooBig(maxSize);
    if (stream.destroyed && !stream.readableEnded) throw new ClientGone();
    throw e;
  } finally {
    stream.off('error', onError);
    stream.off('close', onClose);
  }
}

/** The connection closed before the final dot: there is no one to answer. */
class ClientGone extends Error {
  constructor() {
    super('the client disconnected during DATA');
    this.name = 'ClientGone';
  }
}

/** Reads the rest of a stream into nothing; resolves at its end (or when it is destroyed). */
function drain(stream: Readable): Promise<void> {
  return new Promise((resolve) => {
    if (stream.readableEnded || stream.destroyed) return resolve();
    stream.once('end', resolve);
    stream.once('close', resolve);
    stream.resume();
  });
}
