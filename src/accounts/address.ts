/**
 * Mail addresses as account keys.
 *
 * An address is compared case-insensitively (as Dovecot does with %Lu): the
 * local part and the domain are lower-cased, the domain is turned into its
 * ASCII (punycode) form, and Unicode is NFC-normalised. Both parts become
 * directory names (data/domains/<domain>/, data/mail/<domain>/<local>/), so
 * anything that could escape those directories is refused here, once.
 */
import { domainToASCII } from 'node:url';
import { AccountError } from '../errors.js';

export interface Address {
  local: string;
  domain: string;
  /** `local@domain`, normalised */
  address: string;
}

// RFC 1035 2.3.1 / RFC 1123 2.1 labels; a single label (e.g. "localhost") is allowed for local setups.
const DOMAIN = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

// RFC 5322 3.2.3 dot-atom characters, minus "/" (a path separator here), plus
// Unicode letters and digits (RFC 6531 SMTPUTF8 local parts). No leading,
// trailing or doubled dot, which also rules out "." and "..".
const LOCAL = /^(?!\.)(?!.*\.\.)(?!.*\.$)[\p{L}\p{N}!#$%&'*+=?^_`{|}~.-]{1,64}$/u;

export function normalizeDomain(input: string): string {
  const trimmed = input.trim().replace(/\.$/, '').normalize('NFC').toLowerCase();
  const ascii = trimmed === '' ? '' : domainToASCII(trimmed);
  if (!ascii || !DOMAIN.test(ascii)) {
    throw new AccountError('BADADDRESS', `"${input}" is not a valid domain name`);
  }
  return ascii;
}

export function normalizeLocal(input: string): string {
  const local = input.normalize('NFC').toLowerCase();
  if (!LOCAL.test(local)) throw new AccountError('BADADDRESS', `"${input}" is not a valid local part`);
  return local;
}

export function parseAddress(input: string): Address {
  const s = input.trim();
  const at = s.lastIndexOf('@');
  if (at <= 0 || at === s.length - 1) {
    throw new AccountError('BADADDRESS', `"${input}" is not an address of the form user@domain`);
  }
  let local: string;
  let domain: string;
  try {
    local = normalizeLocal(s.slice(0, at));
    domain = normalizeDomain(s.slice(at + 1));
  } catch {
    throw new AccountError('BADADDRESS', `"${input}" is not a valid address`);
  }
  return { local, domain, address: `${local}@${domain}` };
}

/** Like parseAddress, but never throws: for code paths fed by the network. */
export function tryParseAddress(input: string): Address | null {
  try {
    return parseAddress(input);
  } catch {
    return null;
  }
}

/** An alias key is an address, or `@domain` for the domain's catch-all. */
export type AliasKey = { kind: 'address'; address: Address } | { kind: 'catchall'; domain: string };

export function parseAliasKey(input: string): AliasKey {
  const s = input.trim();
  if (s.startsWith('@')) return { kind: 'catchall', domain: normalizeDomain(s.slice(1)) };
  return { kind: 'address', address: parseAddress(s) };
}
