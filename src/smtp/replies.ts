/**
 * Every refusal the receivers send, in one place: an error *is* the reply
 * (STYLE.md 2). smtp-server sends `err.responseCode` and `err.message`; the
 * message starts with our RFC 3463 enhanced status code, which the
 * connection hook (server.ts) then sends as it is instead of adding the
 * library's generic one (554 would otherwise always read 5.6.0).
 */
export class SmtpReply extends Error {
  constructor(
    readonly responseCode: number,
    readonly enhanced: string,
    text: string,
  ) {
    super(`${enhanced} ${text}`);
    this.name = 'SmtpReply';
  }
}

/** An enhanced status code at the start of a reply text (RFC 3463 2: class.subject.detail). */
export const ENHANCED_PREFIX = /^[245]\.\d{1,3}\.\d{1,3} /;

export const replies = {
  relayDenied: (rcpt: string) => new SmtpReply(554, '5.7.1', `<${rcpt}>: Relay access denied`),
  unknownUser: (rcpt: string) => new SmtpReply(550, '5.1.1', `<${rcpt}>: Recipient address rejected: User unknown`),
  mailboxFull: (rcpt: string) => new SmtpReply(452, '4.2.2', `<${rcpt}>: Mailbox full, try again later`),
  overQuotaForMessage: (rcpt: string) => new SmtpReply(552, '5.2.2', `<${rcpt}>: Message is larger than the mailbox quota`),
  lookupFailed: () => new SmtpReply(451, '4.3.0', 'Temporary lookup failure, try again later'),
  badAddress: (addr: string) => new SmtpReply(553, '5.1.3', `<${addr}>: Bad address syntax`),
  senderNotOwned: (from: string, user: string) => new SmtpReply(553, '5.7.1', `<${from}>: Sender address not owned by user ${user}`),
  authRequired: () => new SmtpReply(530, '5.7.0', 'Authentication required'),
  // RFC 4954 6 / RFC 5248: 538 5.7.11 "Encryption required for requested authentication mechanism"
  encryptionRequired: () => new SmtpReply(538, '5.7.11', 'Encryption required for requested authentication mechanism'),
  authFailed: () => new SmtpReply(535, '5.7.8', 'Authentication credentials invalid'),
  authUnavailable: () => new SmtpReply(454, '4.7.0', 'Temporary authentication failure, try again later'),
  tooManyAuthFailures: () => new SmtpReply(421, '4.7.0', 'Too many authentication failures, closing connection'),
  tooManyConnections: () => new SmtpReply(421, '4.7.0', 'Too many connections, try again later'),
  messageTooBig: (limit: number) => new SmtpReply(552, '5.3.4', `Message exceeds fixed maximum message size ${limit}`),
  queueFailed: () => new SmtpReply(451, '4.3.0', 'Error: queue file write error, try again later'),
  queued: (id: string) => `2.0.0 Ok: queued as ${id}`,
  queuedFor: (rcpt: string, id: string) => `2.0.0 <${rcpt}> Ok: queued as ${id}`,
} as const;
