/**
 * The SASL mechanisms POP3 offers (RFC 5034): PLAIN (RFC 4616) and LOGIN
 * (draft-murchison-sasl-login, what Outlook and many scripts speak). Pure
 * decoding only; the session drives the exchange and verifies the password.
 */
export const SASL_MECHANISMS = ['PLAIN', 'LOGIN'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

export function isSaslMechanism(s: string): s is SaslMechanism {
  return (SASL_MECHANISMS as readonly string[]).includes(s);
}

/** Strict base64 (RFC 4648 section 4, padding required); undefined when malformed. "=" is the empty response (RFC 5034 section 4). */
export function decodeBase64(s: string): Buffer | undefined {
  if (s === '=') return Buffer.alloc(0);
  if (s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) return undefined;
  return Buffer.from(s, 'base64');
}

export type Credentials = { identity: string; password: string };

/** RFC 4616: [authzid] NUL authcid NUL passwd. We do not act on behalf of others: an authzid must equal the authcid. */
export function parsePlain(data: Buffer): Credentials | undefined {
  const a = data.indexOf(0);
  const b = a < 0 ? -1 : data.indexOf(0, a + 1);
  if (a < 0 || b < 0 || data.indexOf(0, b + 1) >= 0) return undefined;
  const authzid = data.subarray(0, a).toString('utf8');
  const identity = data.subarray(a + 1, b).toString('utf8');
  const password = data.subarray(b + 1).toString('utf8');
  if (identity === '' || password === '' || (authzid !== '' && authzid !== identity)) return undefined;
  return { identity, password };
}

/** The LOGIN mechanism's prompts, as RFC 5034 continuations carry them (base64). */
export const LOGIN_USERNAME_PROMPT = Buffer.from('Username:').toString('base64');
export const LOGIN_PASSWORD_PROMPT = Buffer.from('Password:').toString('base64');
