/**
 * Password hashing and verification.
 *
 * New hashes are scrypt (RFC 7914) with Node's crypto, written as
 *
 *   $scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt>$<key>
 *
 * in the spirit of the PHC string format (and passlib's "scrypt" scheme):
 * salt (16 random bytes) and derived key (32 bytes) in standard base64
 * without padding. The parameters travel with the hash, so raising the cost
 * later only makes `needsRehash` true for the older hashes.
 *
 * Verification also accepts what people migrate from, with or without the
 * scheme prefix that Dovecot and Courier's userdb put in front:
 *
 *   {SHA512-CRYPT}$6$…  {SHA256-CRYPT}$5$…  {MD5-CRYPT}$1$… (also {MD5}$1$…)
 *   {BLF-CRYPT}$2y$… / $2a$ / $2b$ (bcrypt)   {CRYPT}<any of these>
 *   {SSHA512}base64(sha512(password + salt) + salt)   (.B64 and .HEX variants)
 *   {PLAIN}password  ({CLEAR}, {CLEARTEXT})
 *
 * Every comparison is constant-time (of the SHA-256 of both sides, so that
 * not even the length of a {PLAIN} password leaks). An unrecognised hash
 * never verifies.
 */
import { createHash, randomBytes, scrypt as scryptCb, type ScryptOptions, timingSafeEqual } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { md5Crypt, shaCrypt } from './crypt.js';

export interface ScryptParams {
  /** log2 of the CPU/memory cost N */
  ln: number;
  r: number;
  p: number;
}

/**
 * N = 2^15, r = 8: 32 MiB and about 50-100 ms per hash on one core. Logins
 * come from mail clients that reconnect often, so this is the interactive
 * cost that scrypt's paper suggests rather than the file-encryption one.
 */
export const DEFAULT_SCRYPT: ScryptParams = { ln: 15, r: 8, p: 1 };

/** Bounds on parameters read from a stored hash, so a bad file cannot exhaust memory. */
const MAX_LN = 20;
const MAX_R = 32;
const MAX_P = 16;

export type HashScheme = 'scrypt' | 'sha512-crypt' | 'sha256-crypt' | 'md5-crypt' | 'bcrypt' | 'ssha512' | 'plain';

interface ParsedHash {
  scheme: HashScheme;
  /** the hash without its {PREFIX}; for ssha512 the raw digest+salt; for plain the password */
  value: string;
  encoding?: 'base64' | 'hex';
}

const CRYPT_PREFIX: Record<string, HashScheme> = { $6$: 'sha512-crypt', $5$: 'sha256-crypt', $1$: 'md5-crypt' };

function cryptScheme(value: string): HashScheme | null {
  const prefix = value.slice(0, 3);
  if (CRYPT_PREFIX[prefix]) return CRYPT_PREFIX[prefix];
  if (/^\$2[aby]\$\d\d\$/.test(value)) return 'bcrypt';
  return null;
}

function parseHash(stored: string): ParsedHash | null {
  const m = /^\{([A-Za-z0-9.-]+)\}/.exec(stored);
  if (!m) {
    if (stored.startsWith('$scrypt$')) return { scheme: 'scrypt', value: stored };
    const scheme = cryptScheme(stored);
    return scheme ? { scheme, value: stored } : null;
  }
  const prefix = m[1].toUpperCase();
  const value = stored.slice(m[0].length);
  const wants = (scheme: HashScheme) => (cryptScheme(value) === scheme ? { scheme, value } : null);
  switch (prefix) {
    case 'SHA512-CRYPT':
      return wants('sha512-crypt');
    case 'SHA256-CRYPT':
      return wants('sha256-crypt');
    case 'MD5-CRYPT':
    case 'MD5': // Dovecot: "{MD5}" is MD5-CRYPT kept for compatibility
      return wants('md5-crypt');
    case 'BLF-CRYPT':
      return wants('bcrypt');
    case 'CRYPT': {
      const scheme = cryptScheme(value);
      return scheme ? { scheme, value } : null;
    }
    case 'SSHA512':
    case 'SSHA512.B64':
      return { scheme: 'ssha512', value, encoding: 'base64' };
    case 'SSHA512.HEX':
      return { scheme: 'ssha512', value, encoding: 'hex' };
    case 'PLAIN':
    case 'CLEAR':
    case 'CLEARTEXT':
      return { scheme: 'plain', value };
    case 'SCRYPT':
      return value.startsWith('$scrypt$') ? { scheme: 'scrypt', value } : null;
    default:
      return null;
  }
}

/** The scheme of a stored hash, or null when it is not one we can verify. */
export function hashScheme(stored: string): HashScheme | null {
  return parseHash(stored)?.scheme ?? null;
}

function scrypt(password: string, salt: Buffer, keylen: number, p: ScryptParams): Promise<Buffer> {
  const N = 2 ** p.ln;
  // Node refuses by default above 32 MiB; scrypt needs about 128 * N * r bytes.
  const options: ScryptOptions = { N, r: p.r, p: p.p, maxmem: 128 * N * p.r * 2 + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scryptCb(password, salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

const b64 = (b: Buffer) => b.toString('base64').replace(/=+$/, '');

export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, 32, params);
  return `$scrypt$ln=${params.ln},r=${params.r},p=${params.p}$${b64(salt)}$${b64(key)}`;
}

interface ScryptHash {
  params: ScryptParams;
  salt: Buffer;
  key: Buffer;
}

function parseScrypt(value: string): ScryptHash | null {
  const m = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,3}),p=(\d{1,3})\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/.exec(value);
  if (!m) return null;
  const params = { ln: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  if (params.ln < 1 || params.ln > MAX_LN || params.r < 1 || params.r > MAX_R || params.p < 1 || params.p > MAX_P) return null;
  const salt = Buffer.from(m[4], 'base64');
  const key = Buffer.from(m[5], 'base64');
  if (salt.length < 8 || key.length < 16 || key.length > 64) return null;
  return { params, salt, key };
}

/** Constant-time equality of two byte strings of any lengths. */
function constantTimeEqual(a: Buffer | string, b: Buffer | string): boolean {
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db);
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const h = parseHash(stored);
  if (!h) return false;
  const pw = Buffer.from(password, 'utf8');
  switch (h.scheme) {
    case 'scrypt': {
      const s = parseScrypt(h.value);
      if (!s) return false;
      return constantTimeEqual(await scrypt(password, s.salt, s.key.length, s.params), s.key);
    }
    case 'sha512-crypt':
    case 'sha256-crypt': {
      const computed = shaCrypt(pw, h.value, h.scheme === 'sha512-crypt' ? 'sha512' : 'sha256');
      return computed !== null && constantTimeEqual(computed, h.value);
    }
    case 'md5-crypt': {
      const computed = md5Crypt(pw, h.value);
      return computed !== null && constantTimeEqual(computed, h.value);
    }
    case 'bcrypt': {
      // bcrypt's setting is the first 29 characters: $2y$NN$ + 22 of salt.
      let computed: string;
      try {
        computed = await bcrypt.hash(password, h.value.slice(0, 29));
      } catch {
        return false;
      }
      // $2y$ and $2b$ are the same algorithm; bcryptjs writes back the variant it was given
      return constantTimeEqual(computed, h.value);
    }
    case 'ssha512': {
      const raw = Buffer.from(h.value.trim(), h.encoding === 'hex' ? 'hex' : 'base64');
      if (raw.length <= 64) return false; // a salt is required: that is the S of SSHA
      const digest = raw.subarray(0, 64);
      const salt = raw.subarray(64);
      return constantTimeEqual(createHash('sha512').update(pw).update(salt).digest(), digest);
    }
    case 'plain':
      return constantTimeEqual(pw, Buffer.from(h.value, 'utf8'));
  }
}

/**
 * True when the stored hash should be replaced after a successful login:
 * any scheme other than scrypt, or scrypt weaker than `params`.
 */
export function needsRehash(stored: string, params: ScryptParams = DEFAULT_SCRYPT): boolean {
  const h = parseHash(stored);
  if (!h || h.scheme !== 'scrypt') return true;
  const s = parseScrypt(h.value);
  if (!s) return true;
  return s.params.ln < params.ln || s.params.r < params.r || s.params.p < params.p;
}
