/**
 * The contract between the SMTP/LMTP receivers and the queue (DESIGN.md "The
 * queue"). A receiver hands the queue an envelope and the message as a
 * stream; `enqueue` resolves with the queue id only after queue/mess/<id> and
 * queue/info/<id> are written and fsync'd — only then may the receiver say 250.
 */
import type { Readable } from 'node:stream';

export type DsnNotify = 'SUCCESS' | 'FAILURE' | 'DELAY' | 'NEVER';

export interface QueueRecipient {
  /** the address as given in RCPT TO (after any SMTPUTF8 handling), lower-cased domain */
  address: string;
  /** DSN ORCPT (RFC 3461 4.2), as given: "rfc822;addr" */
  orcpt?: string;
  /** DSN NOTIFY (RFC 3461 4.1) */
  notify?: DsnNotify[];
}

export interface QueueEnvelope {
  /** MAIL FROM; '' is the null reverse-path (bounces never go to it) */
  from: string;
  recipients: QueueRecipient[];
  /** DSN ENVID and RET (RFC 3461 4.4, 4.3) */
  envId?: string;
  ret?: 'FULL' | 'HDRS';
  bodyType?: '7BIT' | '8BITMIME';
  smtputf8?: boolean;
  /** for the Received: header and logs */
  received: {
    helo: string;
    remoteAddress: string;
    /** "ESMTP", "ESMTPS", "ESMTPSA", "LMTP"… (RFC 3848) */
    protocol: string;
    /** authenticated submitter, if any */
    authUser?: string;
  };
}

export interface QueueIntake {
  /**
   * Spool a message. Rejects (and leaves nothing in queue/) if the stream
   * fails or exceeds `maxBytes`; resolves with the id once durable.
   */
  enqueue(envelope: QueueEnvelope, body: Readable | AsyncIterable<Buffer>, o?: { maxBytes?: number }): Promise<string>;
}

/** Result of checking one RCPT TO address for local acceptance. */
export type RecipientVerdict =
  | { kind: 'local' } // a local user, alias, forward or catch-all: accept
  | { kind: 'remote' } // not one of our domains (relay: only for authenticated submission)
  | { kind: 'unknown' } // one of our domains, no such user: 550 5.1.1
  | { kind: 'overquota'; permanent: boolean } // 452 4.2.2, or 552 5.2.2 when the message alone exceeds it
  | { kind: 'unavailable' }; // accounts unreadable: 451 4.3.0
