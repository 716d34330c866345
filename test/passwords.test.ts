import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { md5Crypt, shaCrypt } from '../src/accounts/crypt.js';
import { DEFAULT_SCRYPT, hashPassword, hashScheme, needsRehash, verifyPassword } from '../src/accounts/passwords.js';

const PASSWORDS: Record<string, string> = {
  ascii: 'correct horse battery staple',
  utf8: 'pässwörd €uro',
  uu: 'U*U',
};

/** test/fixtures/accounts/legacy-hashes.txt: how each line was made is written at its top. */
const fixtures = readFileSync(join(import.meta.dirname, 'fixtures/accounts/legacy-hashes.txt'), 'utf8')
  .split('\n')
  .filter((l) => l !== '' && !l.startsWith('#'))
  .map((l) => {
    const [id, hash] = l.split('\t');
    return { id, password: PASSWORDS[id], hash };
  });

// Fast parameters for tests that do not test the cost itself.
const FAST = { ln: 10, r: 8, p: 1 };

describe('legacy hash formats', () => {
  it('the fixture file has every scheme', () => {
    expect(new Set(fixtures.map((f) => hashScheme(f.hash)))).toEqual(
      new Set(['sha512-crypt', 'sha256-crypt', 'md5-crypt', 'bcrypt', 'ssha512', 'plain']),
    );
  });

  it.each(fixtures)('$hash verifies with its password ($id) and not with others', async ({ password, hash }) => {
    expect(await verifyPassword(password, hash)).toBe(true);
    expect(await verifyPassword(`${password}x`, hash)).toBe(false);
    expect(await verifyPassword(password.slice(0, -1), hash)).toBe(false);
    expect(await verifyPassword('', hash)).toBe(false);
    for (const other of Object.values(PASSWORDS)) if (other !== password) expect(await verifyPassword(other, hash)).toBe(false);
    expect(needsRehash(hash)).toBe(true);
  });

  it("reproduces Drepper's published SHA-crypt vectors and clamps rounds", () => {
    const p = Buffer.from('Hello world!');
    expect(shaCrypt(p, '$5$saltstring', 'sha256')).toBe('$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5');
    expect(shaCrypt(p, '$6$saltstring', 'sha512')).toBe(
      '$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1',
    );
    // salt longer than 16 characters is cut to 16
    expect(shaCrypt(p, '$5$rounds=10000$saltstringsaltstring', 'sha256')).toBe(
      '$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA',
    );
    const low = Buffer.from('the minimum number is still observed');
    expect(shaCrypt(low, '$5$rounds=10$roundstoolow', 'sha256')).toBe('$5$rounds=1000$roundstoolow$yfvwcWrQ8l/K0DAWyuPMDNHpIVlTQebY9l/gL972bIC');
    expect(shaCrypt(p, '$1$abc', 'sha256')).toBeNull();
  });

  it('MD5-crypt handles the empty password and refuses other schemes', () => {
    // python3 -c 'import crypt; print(crypt.crypt("", "$1$abcdefgh"))'
    expect(md5Crypt(Buffer.alloc(0), '$1$abcdefgh')).toBe('$1$abcdefgh$M55TzYaaccxVGbptZWaxX/');
    expect(md5Crypt(Buffer.from('x'), '$6$abc')).toBeNull();
  });

  it('never verifies what it does not recognise', async () => {
    for (const stored of [
      '',
      'correct horse battery staple', // a bare string is not taken as {PLAIN}
      '{SHA}2jmj7l5rSw0yVb/vlWAYkK/YBwk=',
      '{UNKNOWN}x',
      '{SHA512-CRYPT}$1$aB3dE5fG$teUZKc0rW0cx2VtBsuhaJ/', // prefix and hash disagree
      '{SSHA512}c2hvcnQ=', // no room for a salt
      'abJnggxhB/yWI', // traditional DES crypt
      '$2x$05$abcdefghijklmnopqrstuuFiPhXf1sVd3pCCRO.uVh34H/qI/ZsuS',
      '$scrypt$ln=40,r=8,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5', // absurd cost
      '$scrypt$ln=10,r=8,p=1$$',
    ]) {
      expect(await verifyPassword('correct horse battery staple', stored), stored).toBe(false);
    }
  });
});

describe('scrypt hashes', () => {
  it('are written in the documented format and verify', async () => {
    const h = await hashPassword('s3cret ünïcode', FAST);
    expect(h).toMatch(/^\$scrypt\$ln=10,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(hashScheme(h)).toBe('scrypt');
    expect(await verifyPassword('s3cret ünïcode', h)).toBe(true);
    expect(await verifyPassword('s3cret unicode', h)).toBe(false);
    expect(await verifyPassword('s3cret ünïcode', `{SCRYPT}${h}`)).toBe(true);
  });

  it('use a fresh salt each time', async () => {
    const [a, b] = await Promise.all([hashPassword('same', FAST), hashPassword('same', FAST)]);
    expect(a).not.toBe(b);
  });

  it('use the default cost, and weaker ones need a rehash', async () => {
    const h = await hashPassword('x');
    expect(h.startsWith(`$scrypt$ln=${DEFAULT_SCRYPT.ln},r=${DEFAULT_SCRYPT.r},p=${DEFAULT_SCRYPT.p}$`)).toBe(true);
    expect(needsRehash(h)).toBe(false);
    expect(needsRehash(await hashPassword('x', FAST))).toBe(true);
    expect(needsRehash(await hashPassword('x', FAST), FAST)).toBe(false);
    expect(needsRehash('{PLAIN}x')).toBe(true);
  });

  it('a tampered hash does not verify', async () => {
    const h = await hashPassword('pw', FAST);
    const last = h.at(-2) === 'A' ? 'B' : 'A';
    expect(await verifyPassword('pw', `${h.slice(0, -2)}${last}${h.at(-1)}`)).toBe(false);
  });
});
