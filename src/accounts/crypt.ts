/**
 * The crypt(3) schemes that mail systems migrate from, for verification only
 * (new hashes are scrypt, see passwords.ts):
 *
 *   $1$salt$hash                  MD5-crypt (Poul-Henning Kamp, FreeBSD 1994)
 *   $5$[rounds=N$]salt$hash       SHA256-crypt  } Ulrich Drepper, "Unix crypt
 *   $6$[rounds=N$]salt$hash       SHA512-crypt  }  using SHA-256 and SHA-512" (2007)
 *
 * Both algorithms are written here from their published descriptions; the
 * fixtures in test/fixtures/accounts were made with `openssl passwd` and
 * Python's crypt module (glibc/libxcrypt), independent implementations.
 *
 * Each function returns the full crypt string for `password` with the salt
 * and parameters taken from `setting` (which may be a complete stored hash),
 * or null when `setting` is not of that scheme. The caller compares in
 * constant time. These run synchronously: 5000 rounds of SHA-512 take a few
 * milliseconds, and a migrated hash is replaced by scrypt on the first login.
 */
import { createHash } from 'node:crypto';

const ITOA64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** crypt's base-64: 24 bits (b2 b1 b0) become `n` characters, least significant 6 bits first. */
function b64From24(b2: number, b1: number, b0: number, n: number): string {
  let w = (b2 << 16) | (b1 << 8) | b0;
  let s = '';
  for (let i = 0; i < n; i++) {
    s += ITOA64[w & 0x3f];
    w >>>= 6;
  }
  return s;
}

/** `len` bytes made of `block` repeated (the last copy cut short). */
function repeatTo(block: Buffer, len: number): Buffer {
  const out = Buffer.alloc(len);
  for (let off = 0; off < len; off += block.length) block.copy(out, off, 0, Math.min(block.length, len - off));
  return out;
}

// ---- SHA-crypt ------------------------------------------------------------

const SHA_ROUNDS_DEFAULT = 5000;
const SHA_ROUNDS_MIN = 1000;
const SHA_ROUNDS_MAX = 999_999_999;

export function shaCrypt(password: Buffer, setting: string, algorithm: 'sha256' | 'sha512'): string | null {
  const id = algorithm === 'sha256' ? '$5$' : '$6$';
  if (!setting.startsWith(id)) return null;
  let rest = setting.slice(3);
  let rounds = SHA_ROUNDS_DEFAULT;
  let roundsCustom = false;
  const m = /^rounds=(\d{1,10})\$/.exec(rest);
  if (m) {
    // out-of-range values are clamped, not refused (glibc does the same)
    rounds = Math.min(SHA_ROUNDS_MAX, Math.max(SHA_ROUNDS_MIN, Number(m[1])));
    roundsCustom = true;
    rest = rest.slice(m[0].length);
  }
  const end = rest.indexOf('$');
  const salt = Buffer.from((end < 0 ? rest : rest.slice(0, end)).slice(0, 16), 'latin1');
  const P = password;
  const H = () => createHash(algorithm);
  const n = algorithm === 'sha256' ? 32 : 64;

  // B = H(P S P)
  const B = H().update(P).update(salt).update(P).digest();
  // A = H(P S, then B repeated over len(P), then for each bit of len(P) from the lowest: B if 1, P if 0)
  const a = H().update(P).update(salt).update(repeatTo(B, P.length));
  for (let len = P.length; len > 0; len >>>= 1) a.update(len & 1 ? B : P);
  const A = a.digest();
  // DP = H(P repeated len(P) times); the P sequence is DP repeated over len(P)
  const dp = H();
  for (let i = 0; i < P.length; i++) dp.update(P);
  const Pseq = repeatTo(dp.digest(), P.length);
  // DS = H(S repeated 16 + A[0] times); the S sequence is DS repeated over len(S)
  const ds = H();
  for (let i = 0; i < 16 + A[0]; i++) ds.update(salt);
  const Sseq = repeatTo(ds.digest(), salt.length);

  let C = A;
  for (let i = 0; i < rounds; i++) {
    const c = H();
    c.update(i & 1 ? Pseq : C);
    if (i % 3 !== 0) c.update(Sseq);
    if (i % 7 !== 0) c.update(Pseq);
    c.update(i & 1 ? C : Pseq);
    C = c.digest();
  }

  // The output permutes the digest bytes in groups of three (Drepper's table).
  let out = '';
  if (n === 32) {
    for (let t = 0; t < 10; t++) {
      const i = (t * 21) % 30;
      out += b64From24(C[i], C[(i + 10) % 30], C[(i + 20) % 30], 4);
    }
    out += b64From24(0, C[31], C[30], 3);
  } else {
    for (let t = 0; t < 21; t++) {
      const i = (t * 22) % 63;
      out += b64From24(C[i], C[(i + 21) % 63], C[(i + 42) % 63], 4);
    }
    out += b64From24(0, 0, C[63], 2);
  }
  return `${id}${roundsCustom ? `rounds=${rounds}$` : ''}${salt.toString('latin1')}$${out}`;
}

// ---- MD5-crypt -------------------------------------------------------------

export function md5Crypt(password: Buffer, setting: string): string | null {
  const magic = '$1$';
  if (!setting.startsWith(magic)) return null;
  const rest = setting.slice(3);
  const end = rest.indexOf('$');
  const salt = Buffer.from((end < 0 ? rest : rest.slice(0, end)).slice(0, 8), 'latin1');
  const P = password;
  const H = () => createHash('md5');

  const alt = H().update(P).update(salt).update(P).digest();
  const ctx = H().update(P).update(magic).update(salt).update(repeatTo(alt, P.length));
  // for each bit of len(P) from the lowest: a NUL byte if 1, the first byte of P if 0
  for (let len = P.length; len > 0; len >>>= 1) ctx.update(len & 1 ? Buffer.from([0]) : P.subarray(0, 1));
  let F = ctx.digest();
  for (let i = 0; i < 1000; i++) {
    const c = H();
    c.update(i & 1 ? P : F);
    if (i % 3 !== 0) c.update(salt);
    if (i % 7 !== 0) c.update(P);
    c.update(i & 1 ? F : P);
    F = c.digest();
  }
  const out =
    b64From24(F[0], F[6], F[12], 4) +
    b64From24(F[1], F[7], F[13], 4) +
    b64From24(F[2], F[8], F[14], 4) +
    b64From24(F[3], F[9], F[15], 4) +
    b64From24(F[4], F[10], F[5], 4) +
    b64From24(0, 0, F[11], 2);
  return `${magic}${salt.toString('latin1')}$${out}`;
}
