/**
 * CAPABILITY as Dovecot does it: before login only what a client needs to
 * log in (and LOGINDISABLED with no AUTH= when cleartext authentication is
 * refused, RFC 3501 6.2.3 / 7.2.1); after login the extensions that work on
 * mailboxes. Advertise only what is implemented.
 */
export interface CapabilityInput {
  authenticated: boolean;
  /** STARTTLS can be offered on this connection */
  tlsAvailable: boolean;
  /** cleartext authentication is allowed here (TLS, loopback or operator's choice) */
  plaintextAllowed: boolean;
  appendLimit: number;
}

const COMMON = ['IMAP4rev1', 'SASL-IR', 'ID', 'ENABLE', 'IDLE', 'LITERAL+'];

export const SASL_MECHANISMS = ['PLAIN', 'LOGIN'] as const;

export function capabilities(c: CapabilityInput): string[] {
  if (!c.authenticated) {
    const caps = [...COMMON];
    if (c.tlsAvailable) caps.push('STARTTLS');
    if (c.plaintextAllowed) caps.push(...SASL_MECHANISMS.map((m) => `AUTH=${m}`));
    else caps.push('LOGINDISABLED');
    return caps;
  }
  return [
    ...COMMON,
    'NAMESPACE',
    'UIDPLUS',
    'MOVE',
    'UNSELECT',
    'CHILDREN',
    'SPECIAL-USE',
    'XLIST',
    'QUOTA',
    'QUOTA=RES-STORAGE',
    'QUOTA=RES-MESSAGE',
    `APPENDLIMIT=${c.appendLimit}`,
  ];
}
