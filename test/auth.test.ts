import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AuthService, type AuthServiceOptions } from '../src/accounts/auth.js';
import { hashPassword, hashScheme, verifyPassword } from '../src/accounts/passwords.js';
import { AccountStore } from '../src/accounts/store.js';
import { DEFAULT_AUTH } from '../src/config/schema.js';

const base = mkdtempSync(join(tmpdir(), 'mailroom-auth-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
let n = 0;

const FAST = { ln: 10, r: 8, p: 1 };
const fixtureHashes = readFileSync(join(import.meta.dirname, 'fixtures/accounts/legacy-hashes.txt'), 'utf8')
  .split('\n')
  .filter((l) => l.startsWith('ascii\t'))
  .map((l) => l.split('\t')[1]);
const ASCII = 'correct horse battery staple';

async function setup(o: AuthServiceOptions = {}, domains = ['example.org']) {
  const store = new AccountStore(join(base, `d${n++}`));
  for (const d of domains) await store.addDomain(d);
  await store.addUser('alice@example.org', await hashPassword('alice-pw', FAST));
  await store.addUser('dis@example.org', await hashPassword('dis-pw', FAST), { enabled: false });
  const auth = new AuthService(store, { failureDelayMs: 1, scrypt: FAST, ...o });
  return { store, auth };
}

describe('authenticate', () => {
  it('accepts the address in any case, and a bare local part when there is one domain', async () => {
    const { auth } = await setup();
    expect(await auth.authenticate('alice@example.org', 'alice-pw', '192.0.2.1')).toEqual({ ok: true, address: 'alice@example.org' });
    expect(await auth.authenticate('Alice@Example.ORG', 'alice-pw', '192.0.2.1')).toEqual({ ok: true, address: 'alice@example.org' });
    expect(await auth.authenticate('alice', 'alice-pw', '192.0.2.1')).toEqual({ ok: true, address: 'alice@example.org' });
  });

  it('a bare local part is refused when there are several domains', async () => {
    const { auth } = await setup({}, ['example.org', 'example.net']);
    expect(await auth.authenticate('alice', 'alice-pw', '192.0.2.1')).toEqual({ ok: false, reason: 'failed' });
    expect(await auth.authenticate('alice@example.org', 'alice-pw', '192.0.2.1')).toEqual({ ok: true, address: 'alice@example.org' });
  });

  it('wrong password and unknown user fail alike; disabled is told only with the right password', async () => {
    const { auth } = await setup();
    expect(await auth.authenticate('alice@example.org', 'wrong', '192.0.2.1')).toEqual({ ok: false, reason: 'failed' });
    expect(await auth.authenticate('nobody@example.org', 'alice-pw', '192.0.2.1')).toEqual({ ok: false, reason: 'failed' });
    expect(await auth.authenticate('nobody@nowhere.example', 'x', '192.0.2.1')).toEqual({ ok: false, reason: 'failed' });
    expect(await auth.authenticate('', '', '192.0.2.1')).toEqual({ ok: false, reason: 'failed' });
    expect(await auth.authenticate('dis@example.org', 'wrong', '192.0.2.1')).toEqual({ ok: false, reason: 'failed' });
    expect(await auth.authenticate('dis@example.org', 'dis-pw', '192.0.2.1')).toEqual({ ok: false, reason: 'disabled' });
  });

  it('the failure delay does not hold up other clients', async () => {
    const { auth } = await setup({ failureDelayMs: 400 });
    const order: string[] = [];
    const failing = auth.authenticate('alice@example.org', 'wrong', '192.0.2.1').then((r) => order.push(`fail:${r.ok}`));
    const succeeding = auth.authenticate('alice@example.org', 'alice-pw', '192.0.2.2').then((r) => order.push(`ok:${r.ok}`));
    await Promise.all([failing, succeeding]);
    expect(order).toEqual(['ok:true', 'fail:false']);
  });

  it('locks an address out after repeated failures, existing or not, without revealing which', async () => {
    let now = 1_000_000;
    const { auth } = await setup({ maxFailures: 3, maxFailuresPerIp: 100, lockoutMs: 60_000, now: () => now });
    for (let i = 0; i < 3; i++) {
      expect((await auth.authenticate('alice@example.org', `guess${i}`, `192.0.2.${i}`)).ok).toBe(false);
      expect((await auth.authenticate('ghost@example.org', `guess${i}`, `192.0.2.${i}`)).ok).toBe(false);
    }
    // the right password, from a fresh IP, during the lockout: locked, as for the non-existent account
    expect(await auth.authenticate('alice@example.org', 'alice-pw', '198.51.100.7')).toEqual({ ok: false, reason: 'locked' });
    expect(await auth.authenticate('ALICE@example.org', 'alice-pw', '198.51.100.7')).toEqual({ ok: false, reason: 'locked' });
    expect(await auth.authenticate('ghost@example.org', 'x', '198.51.100.7')).toEqual({ ok: false, reason: 'locked' });
    expect(auth.isLockedOut('alice@example.org', '198.51.100.7')).toBe(true);
    now += 60_001;
    expect(await auth.authenticate('alice@example.org', 'alice-pw', '198.51.100.7')).toEqual({ ok: true, address: 'alice@example.org' });
  });

  it('locks a remote IP out after repeated failures on any addresses; IPv4-mapped IPv6 is the same client', async () => {
    let now = 1_000_000;
    const { auth } = await setup({ maxFailures: 100, maxFailuresPerIp: 4, lockoutMs: 60_000, now: () => now });
    for (let i = 0; i < 4; i++) expect((await auth.authenticate(`user${i}@example.org`, 'x', '203.0.113.9')).ok).toBe(false);
    expect(await auth.authenticate('alice@example.org', 'alice-pw', '::ffff:203.0.113.9')).toEqual({ ok: false, reason: 'locked' });
    expect(await auth.authenticate('alice@example.org', 'alice-pw', '203.0.113.10')).toEqual({ ok: true, address: 'alice@example.org' });
    now += 60_001;
    expect(await auth.authenticate('alice@example.org', 'alice-pw', '203.0.113.9')).toEqual({ ok: true, address: 'alice@example.org' });
  });

  it('a success clears the failures counted against the address', async () => {
    const { auth } = await setup({ maxFailures: 3, maxFailuresPerIp: 100 });
    for (let round = 0; round < 3; round++) {
      expect((await auth.authenticate('alice@example.org', 'bad', '192.0.2.1')).ok).toBe(false);
      expect((await auth.authenticate('alice@example.org', 'bad', '192.0.2.1')).ok).toBe(false);
      expect((await auth.authenticate('alice@example.org', 'alice-pw', '192.0.2.1')).ok).toBe(true);
    }
  });

  it('is configured from mailroom.yaml auth: settings', async () => {
    const { store } = await setup();
    const auth = AuthService.fromConfig(store, { ...DEFAULT_AUTH, failureDelayMs: 1, maxFailures: 2 }, { scrypt: FAST });
    for (let i = 0; i < 2; i++) expect((await auth.authenticate('alice@example.org', 'bad', `192.0.2.${i}`)).ok).toBe(false);
    expect(await auth.authenticate('alice@example.org', 'alice-pw', '192.0.2.9')).toEqual({ ok: false, reason: 'locked' });
  });

  it('trusted addresses are never locked out', async () => {
    const { auth } = await setup({ maxFailures: 2, maxFailuresPerIp: 2, trustedAddresses: ['127.0.0.1'] });
    for (let i = 0; i < 5; i++) await auth.authenticate('alice@example.org', 'bad', '127.0.0.1');
    expect((await auth.authenticate('alice@example.org', 'alice-pw', '127.0.0.1')).ok).toBe(true);
  });

  it.each(fixtureHashes)('a migrated %s hash logs in and is upgraded to scrypt', async (legacy) => {
    const { store, auth } = await setup();
    await store.addUser('migrated@example.org', legacy);
    expect(await auth.authenticate('migrated@example.org', 'wrong', '192.0.2.1')).toEqual({ ok: false, reason: 'failed' });
    expect((await store.getUser('migrated@example.org'))?.passwordHash).toBe(legacy); // not on failure
    expect(await auth.authenticate('migrated@example.org', ASCII, '192.0.2.1')).toEqual({ ok: true, address: 'migrated@example.org' });
    const upgraded = (await store.getUser('migrated@example.org'))!.passwordHash;
    expect(hashScheme(upgraded)).toBe('scrypt');
    expect(await verifyPassword(ASCII, upgraded)).toBe(true);
    expect(await auth.authenticate('migrated@example.org', ASCII, '192.0.2.1')).toEqual({ ok: true, address: 'migrated@example.org' });
  });

  it('with upgradeHashes off, a migrated hash logs in and stays as it was', async () => {
    const { store } = await setup();
    const auth = AuthService.fromConfig(store, { ...DEFAULT_AUTH, failureDelayMs: 1, upgradeHashes: false }, { scrypt: FAST });
    const legacy = fixtureHashes[0]!;
    await store.addUser('migrated@example.org', legacy);
    expect(await auth.authenticate('migrated@example.org', ASCII, '192.0.2.1')).toEqual({ ok: true, address: 'migrated@example.org' });
    expect((await store.getUser('migrated@example.org'))?.passwordHash).toBe(legacy);
  });

  it('sees changes made by another process (the CLI) without a restart', async () => {
    const { store, auth } = await setup();
    expect((await auth.authenticate('alice@example.org', 'alice-pw', '192.0.2.1')).ok).toBe(true);
    const cli = new AccountStore(store.dataDir); // what `mailroom user passwd` does, in its own process
    await cli.setPassword('alice@example.org', await hashPassword('changed', FAST));
    expect((await auth.authenticate('alice@example.org', 'alice-pw', '192.0.2.1')).ok).toBe(false);
    expect((await auth.authenticate('alice@example.org', 'changed', '192.0.2.1')).ok).toBe(true);
    await cli.addUser('new@example.org', await hashPassword('new-pw', FAST));
    expect((await auth.authenticate('new@example.org', 'new-pw', '192.0.2.1')).ok).toBe(true);
    await cli.setEnabled('new@example.org', false);
    expect(await auth.authenticate('new@example.org', 'new-pw', '192.0.2.1')).toEqual({ ok: false, reason: 'disabled' });
    await cli.deleteUser('new@example.org');
    expect(await auth.authenticate('new@example.org', 'new-pw', '192.0.2.1')).toEqual({ ok: false, reason: 'failed' });
  });

  it('a damaged accounts file makes logins unavailable (temporary), reported to onError', async () => {
    const errors: string[] = [];
    const { store, auth } = await setup({ onError: (_e, context) => errors.push(context) });
    writeFileSync(join(store.domainsDir, 'example.org', 'users.json'), '{ broken');
    expect(await auth.authenticate('alice@example.org', 'alice-pw', '192.0.2.1')).toEqual({ ok: false, reason: 'unavailable' });
    expect(errors).toEqual(['reading the account of alice@example.org']);
  });
});
