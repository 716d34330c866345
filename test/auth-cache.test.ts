// The verified-password cache of the AuthService: a client logging in again
// does not pay for scrypt, while a wrong password, a password change or a
// hash upgrade still go through verification.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';

const calls = vi.hoisted(() => ({ verify: 0 }));
vi.mock('../src/accounts/passwords.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../src/accounts/passwords.js')>();
  return {
    ...real,
    verifyPassword: async (password: string, stored: string) => {
      calls.verify++;
      return real.verifyPassword(password, stored);
    },
  };
});

const { AuthService } = await import('../src/accounts/auth.js');
const { hashPassword } = await import('../src/accounts/passwords.js');
const { AccountStore } = await import('../src/accounts/store.js');

const base = mkdtempSync(join(tmpdir(), 'mailroom-authcache-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
const FAST = { ln: 10, r: 8, p: 1 };

describe('verified-password cache', () => {
  it('serves a repeated login without verifying again; a wrong password or a changed hash is verified', async () => {
    const store = new AccountStore(join(base, 'd'));
    await store.addDomain('example.org');
    await store.addUser('alice@example.org', await hashPassword('pw-one', FAST));
    const auth = new AuthService(store, { failureDelayMs: 1, scrypt: FAST });
    const ok = { ok: true, address: 'alice@example.org' };

    calls.verify = 0;
    expect(await auth.authenticate('alice@example.org', 'pw-one', '192.0.2.1')).toEqual(ok);
    expect(calls.verify).toBe(1);
    expect(await auth.authenticate('alice@example.org', 'pw-one', '192.0.2.1')).toEqual(ok);
    expect(await auth.authenticate('ALICE@example.org', 'pw-one', '192.0.2.2')).toEqual(ok);
    expect(calls.verify).toBe(1); // served from the cache

    // a wrong password is never answered from the cache
    expect(await auth.authenticate('alice@example.org', 'pw-two', '192.0.2.1')).toEqual({ ok: false, reason: 'failed' });
    expect(calls.verify).toBe(2);

    // a password change (another process, the CLI) voids the entry
    await store.setPassword('alice@example.org', await hashPassword('pw-two', FAST));
    expect(await auth.authenticate('alice@example.org', 'pw-one', '192.0.2.1')).toEqual({ ok: false, reason: 'failed' });
    expect(await auth.authenticate('alice@example.org', 'pw-two', '192.0.2.1')).toEqual(ok);
    expect(calls.verify).toBe(4);
    expect(await auth.authenticate('alice@example.org', 'pw-two', '192.0.2.1')).toEqual(ok);
    expect(calls.verify).toBe(4);
  });
});
