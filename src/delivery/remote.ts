/**
 * Remote delivery of one message to the recipients of one domain, in one
 * SMTP transaction, with the nodemailer SMTP client: STARTTLS when the server
 * offers it (opportunistic: a certificate is not checked and a failed
 * handshake falls back to plaintext, as MTAs do for MX traffic without
 * DANE/MTA-STS), the message streamed from the spool.
 *
 * Replies map onto recipients: a recipient refused at RCPT with 4xx is
 * deferred, with 5xx failed; a reply that ends the whole transaction (MAIL
 * FROM, DATA, the final reply after the dot) applies to every recipient
 * that was accepted. A host that cannot be reached, or drops the connection
 * before replying, sends us to the next MX host; when none is left every
 * recipient is deferred.
 */
import type { Readable } from 'node:stream';
import nodemailer from 'nodemailer';
import type { Route } from '../config/schema.js';
import { deferred, delivered, type DeliveryOutcome, failed } from './outcome.js';

export interface RemoteDeliveryOptions {
  hosts: Route[];
  /** MAIL FROM; '' for the null reverse-path */
  from: string;
  to: string[];
  /** a fresh stream of the whole message for each host tried */
  message: () => Readable;
  /** our name in EHLO */
  hostname: string;
  /** socket timeouts; RFC 5321 4.5.3.2 suggests minutes, tests use less */
  timeoutMs?: number;
}

interface SmtpReplyError {
  code?: string;
  response?: string;
  responseCode?: number;
  recipient?: string;
  rejectedErrors?: SmtpReplyError[];
  message?: string;
}

interface SendResult {
  accepted?: unknown[];
  rejected?: unknown[];
  rejectedErrors?: SmtpReplyError[];
  response?: string;
}

export async function deliverRemote(o: RemoteDeliveryOptions): Promise<Map<string, DeliveryOutcome>> {
  const out = new Map<string, DeliveryOutcome>();
  let lastProblem = 'no host to try';
  for (const hop of o.hosts) {
    const mta = `dns; ${hop.host}`;
    const timeout = o.timeoutMs ?? 5 * 60_000;
    const transport = nodemailer.createTransport({
      host: hop.host,
      port: hop.port,
      secure: false,
      opportunisticTLS: true,
      requireTLS: false,
      tls: { rejectUnauthorized: false },
      name: o.hostname,
      connectionTimeout: Math.min(timeout, 60_000),
      greetingTimeout: Math.min(timeout, 60_000),
      socketTimeout: timeout,
      disableFileAccess: true,
      disableUrlAccess: true,
    });
    const message = o.message();
    try {
      const r = (await transport.sendMail({ envelope: { from: o.from, to: o.to }, raw: message })) as SendResult;
      const rejected = byRecipient(r.rejectedErrors ?? []);
      for (const rcpt of o.to) {
        const err = rejected.get(rcpt.toLowerCase());
        out.set(rcpt, err ? fromReply(err, mta) : delivered(`smtp; ${oneLine(r.response ?? '250')}`, mta));
      }
      return out;
    } catch (e) {
      const err = e as SmtpReplyError;
      if (err.rejectedErrors && err.rejectedErrors.length > 0) {
        // every recipient refused at RCPT
        const rejected = byRecipient(err.rejectedErrors);
        for (const rcpt of o.to) out.set(rcpt, fromReply(rejected.get(rcpt.toLowerCase()) ?? err, mta));
        return out;
      }
      if (typeof err.responseCode === 'number' && err.responseCode >= 400) {
        // the transaction as a whole was refused (MAIL FROM, DATA, or after the dot)
        for (const rcpt of o.to) out.set(rcpt, fromReply(err, mta));
        return out;
      }
      // no reply to judge by: connection refused, timeout, TLS, dropped; try the next host
      lastProblem = `${hop.host}:${hop.port}: ${err.code ?? ''} ${oneLine(err.message ?? String(e))}`.trim();
    } finally {
      message.destroy(); // a host that failed before DATA never read it
      transport.close();
    }
  }
  for (const rcpt of o.to) out.set(rcpt, deferred('4.4.1', `x-mailroom; no answer from the destination (${lastProblem})`));
  return out;
}

function byRecipient(errors: SmtpReplyError[]): Map<string, SmtpReplyError> {
  const m = new Map<string, SmtpReplyError>();
  for (const e of errors) if (e.recipient) m.set(e.recipient.toLowerCase(), e);
  return m;
}

/** 4xx → deferred, 5xx → failed; the enhanced status code from the reply when it has one (RFC 3463). */
function fromReply(err: SmtpReplyError, mta: string): DeliveryOutcome {
  const text = oneLine(err.response ?? err.message ?? 'no reply');
  const code = err.responseCode ?? 451;
  const enhanced = /^\d{3}[ -]([245]\.\d{1,3}\.\d{1,3})\b/.exec(text)?.[1];
  if (code >= 500) return failed(enhanced?.startsWith('5') ? enhanced : '5.0.0', `smtp; ${text}`, mta);
  return deferred(enhanced?.startsWith('4') ? enhanced : '4.0.0', `smtp; ${text}`, mta);
}

function oneLine(s: string): string {
  return s.replace(/\s*[\r\n]+\s*/g, ' ').slice(0, 500).trim();
}
