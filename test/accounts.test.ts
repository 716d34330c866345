import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MaildirStore } from '../maildir/store.js';
import { parseAddress } from '../src/accounts/address.js';
import { AccountStore } from '../src/accounts/store.js';
import { type AccountErrorCode, EX, isAccountError } from '../src/errors.js';

const base = mkdtempSync(join(tmpdir(), 'mailroom-accounts-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
let n = 0;
const freshStore = () => new AccountStore(join(base, `d${n++}`));

async function expectAccountError(p: Promise<unknown>, code: AccountErrorCode): Promise<string> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(isAccountError(e, code), String(e)).toBe(true);
  return (e as Error).message;
}

describe('addresses', () => {
  it('are normalised: lower case, punycode domains, NFC', () => {
    expect(parseAddress(' Alice@Example.ORG ').address).toBe('alice@example.org');
    expect(parseAddress('info@Bücher.example').address).toBe('info@xn--bcher-kva.example');
    expect(parseAddress('a.b+tag@localhost').address).toBe('a.b+tag@localhost');
  });

  it('refuse anything that could escape the data directory or is not an address', () => {
    for (const bad of ['../x@example.org', 'a/b@example.org', '.x@example.org', 'x.@example.org', 'a..b@example.org', 'x@../etc', 'x@exa mple.org', 'x@', '@x', 'nobody', 'x@-bad.org', `${'a'.repeat(65)}@example.org`, 'x\u0000@example.org']) {
      expect(() => parseAddress(bad), bad).toThrow();
    }
  });
});

describe('domains', () => {
  it('add, list, refuse duplicates and bad names', async () => {
    const s = freshStore();
    expect(await s.listDomains()).toEqual([]);
    expect(await s.addDomain('Example.ORG')).toBe('example.org');
    await s.addDomain('b.example');
    expect(await s.listDomains()).toEqual(['b.example', 'example.org']);
    expect(await expectAccountError(s.addDomain('example.org'), 'EXISTS')).toBe('domain example.org already exists');
    await expectAccountError(s.addDomain('../evil'), 'BADADDRESS');
    // the files are there from the start, readable JSON
    expect(JSON.parse(readFileSync(join(s.domainsDir, 'example.org', 'users.json'), 'utf8'))).toEqual({ users: {} });
    expect(JSON.parse(readFileSync(join(s.domainsDir, 'example.org', 'aliases.json'), 'utf8'))).toEqual({ aliases: {} });
  });

  it('a domain with users is deleted only with force, and its mail with it unless kept', async () => {
    const s = freshStore();
    await s.addDomain('example.org');
    await s.addUser('alice@example.org', '{PLAIN}pw');
    await expectAccountError(s.deleteDomain('example.org'), 'NOTEMPTY');
    expect(await s.deleteDomain('example.org', { force: true })).toEqual({ domain: 'example.org', users: ['alice@example.org'] });
    expect(await s.listDomains()).toEqual([]);
    expect(existsSync(join(s.mailDir, 'example.org'))).toBe(false);
    expect(readdirSync(s.domainsDir)).toEqual([]); // nothing left aside
    await expectAccountError(s.deleteDomain('example.org'), 'NODOMAIN');
  });
});

describe('users', () => {
  it('adding a user creates its Maildir with the special-use folders, usable by the storage engine', async () => {
    const s = freshStore();
    await s.addDomain('example.org');
    const u = await s.addUser('Alice@Example.org', '{PLAIN}pw', { quota: { bytes: 2 * 1024 ** 3 } });
    expect(u).toMatchObject({ address: 'alice@example.org', enabled: true, quota: { bytes: 2147483648 }, forward: null, passwordHash: '{PLAIN}pw' });
    const root = s.maildirPath('alice@example.org');
    expect(root).toBe(join(s.dataDir, 'mail', 'example.org', 'alice', 'Maildir'));
    for (const sub of ['cur', 'new', 'tmp']) expect(existsSync(join(root, sub))).toBe(true);
    const mail = await new MaildirStore({ rootOf: () => root }).forUser('alice@example.org');
    const boxes = await mail.list();
    const uses = Object.fromEntries(boxes.map((b) => [b.name, b.specialUse]));
    expect(uses).toMatchObject({ Drafts: '\\Drafts', Sent: '\\Sent', Trash: '\\Trash', Junk: '\\Junk', Archive: '\\Archive' });
    expect(boxes.find((b) => b.name === 'INBOX')).toBeDefined();
    expect((await mail.quota()).limitBytes).toBe(2147483648);
  });

  it('are stored as readable JSON, written atomically (no temporary file left)', async () => {
    const s = freshStore();
    await s.addDomain('example.org');
    await s.addUser('bob@example.org', '{PLAIN}pw');
    await s.addUser('alice@example.org', '{PLAIN}pw2', { quota: { messages: 100 } });
    const text = readFileSync(join(s.domainsDir, 'example.org', 'users.json'), 'utf8');
    expect(text).toMatch(/^\{\n {2}"users": \{\n {4}"alice": \{/); // pretty-printed, sorted
    expect(JSON.parse(text).users.bob).toMatchObject({ password: '{PLAIN}pw', enabled: true });
    expect(readdirSync(join(s.domainsDir, 'example.org')).sort()).toEqual(['aliases.json', 'users.json']);
  });

  it('refuse duplicates, unknown domains and bad addresses with the right exit codes', async () => {
    const s = freshStore();
    await s.addDomain('example.org');
    await s.addUser('alice@example.org', '{PLAIN}pw');
    const dup = await expectAccountError(s.addUser('ALICE@example.org', '{PLAIN}x'), 'EXISTS');
    expect(dup).toBe('user alice@example.org already exists');
    await expectAccountError(s.addUser('alice@nowhere.example', '{PLAIN}x'), 'NODOMAIN');
    await expectAccountError(s.addUser('not-an-address', '{PLAIN}x'), 'BADADDRESS');
    await expectAccountError(s.setPassword('ghost@example.org', '{PLAIN}x'), 'NOUSER');
    await expectAccountError(s.deleteUser('ghost@example.org'), 'NOUSER');
    const codes = await Promise.all(
      [s.addUser('alice@example.org', 'x'), s.addUser('a@nowhere.example', 'x'), s.addUser('bad', 'x')].map((p) =>
        p.then(
          () => 0,
          (e: { exitCode: number }) => e.exitCode,
        ),
      ),
    );
    expect(codes).toEqual([EX.CANTCREAT, EX.NOUSER, EX.USAGE]);
  });

  it('change password, enabled flag, quota and forward; lookups ignore case', async () => {
    const s = freshStore();
    await s.addDomain('example.org');
    await s.addUser('alice@example.org', '{PLAIN}old');
    await s.setPassword('ALICE@example.org', '{PLAIN}new');
    expect((await s.getUser('Alice@EXAMPLE.org'))?.passwordHash).toBe('{PLAIN}new');
    expect(await s.replacePasswordIf('alice@example.org', '{PLAIN}old', '{PLAIN}upgraded')).toBe(false);
    expect(await s.replacePasswordIf('alice@example.org', '{PLAIN}new', '{PLAIN}upgraded')).toBe(true);
    expect((await s.getUser('alice@example.org'))?.passwordHash).toBe('{PLAIN}upgraded');
    await s.setEnabled('alice@example.org', false);
    expect((await s.getUser('alice@example.org'))?.enabled).toBe(false);
    await s.setQuota('alice@example.org', { bytes: 1000, messages: 10 });
    const maildirsize = join(s.maildirPath('alice@example.org'), 'maildirsize');
    expect(readFileSync(maildirsize, 'utf8').split('\n')[0]).toBe('1000S,10C');
    await s.setQuota('alice@example.org', null);
    expect((await s.getUser('alice@example.org'))?.quota).toBeNull();
    expect(existsSync(maildirsize)).toBe(false);
    await s.setForward('alice@example.org', { to: ['Alice@Elsewhere.example'], keepCopy: true });
    expect((await s.getUser('alice@example.org'))?.forward).toEqual({ to: ['alice@elsewhere.example'], keepCopy: true });
    expect(await s.getUser('nobody@example.org')).toBeNull();
    expect(await s.getUser('alice@other.example')).toBeNull();
    expect(await s.getUser('garbage')).toBeNull();
  });

  it('deleting a user deletes its mail unless kept; adding it again gets the kept mail back', async () => {
    const s = freshStore();
    await s.addDomain('example.org');
    await s.addUser('alice@example.org', '{PLAIN}pw');
    const root = s.maildirPath('alice@example.org');
    writeFileSync(join(root, 'new', '1.M1P1.host'), 'Subject: kept\r\n\r\nhi\r\n');
    await s.deleteUser('alice@example.org', { keepMail: true });
    expect(await s.getUser('alice@example.org')).toBeNull();
    expect(existsSync(join(root, 'new', '1.M1P1.host'))).toBe(true);
    await s.addUser('alice@example.org', '{PLAIN}pw');
    expect(existsSync(join(root, 'new', '1.M1P1.host'))).toBe(true);
    await s.deleteUser('alice@example.org');
    expect(existsSync(join(s.mailDir, 'example.org', 'alice'))).toBe(false);
  });

  it('twenty concurrent adds to one domain all land (domain lock around read-modify-write)', async () => {
    const s = freshStore();
    await s.addDomain('example.org');
    // separate store objects: nothing shared in memory, only the files and the lock
    const names = Array.from({ length: 20 }, (_, i) => `user${i}@example.org`);
    await Promise.all(names.map((a) => new AccountStore(s.dataDir).addUser(a, '{PLAIN}pw')));
    expect((await s.listUsers('example.org')).map((u) => u.address).sort()).toEqual(names.sort());
  });

  it('a change written by another process is seen at the next read', async () => {
    const s = freshStore();
    await s.addDomain('example.org');
    await s.addUser('alice@example.org', '{PLAIN}one');
    expect((await s.getUser('alice@example.org'))?.passwordHash).toBe('{PLAIN}one'); // now cached
    await new AccountStore(s.dataDir).setPassword('alice@example.org', '{PLAIN}two');
    expect((await s.getUser('alice@example.org'))?.passwordHash).toBe('{PLAIN}two');
    await new AccountStore(s.dataDir).addUser('bob@example.org', '{PLAIN}b');
    expect(await s.getUser('bob@example.org')).not.toBeNull();
  });

  it('a damaged accounts file is reported with its path, not guessed at', async () => {
    const s = freshStore();
    await s.addDomain('example.org');
    const path = join(s.domainsDir, 'example.org', 'users.json');
    writeFileSync(path, '{ "users": { "alice": { "password": 42 } } }');
    const msg = await expectAccountError(s.getUser('alice@example.org'), 'DAMAGED');
    expect(msg).toBe(`${path}: users.alice: "password" must be a string`);
    writeFileSync(path, '{ not json');
    await expectAccountError(s.listUsers(), 'DAMAGED');
  });

  it('a stale lock left by a dead process is broken; a live one makes writers wait, then give up with BUSY', async () => {
    const s = new AccountStore(join(base, `d${n++}`), { lockTimeoutMs: 200, staleLockMs: 60_000 });
    await s.addDomain('example.org');
    const lock = join(s.domainsDir, 'example.org', '.lock');
    writeFileSync(lock, '999999\n');
    const busy = await expectAccountError(s.addUser('alice@example.org', '{PLAIN}pw'), 'BUSY');
    expect(busy).toBe('the accounts of example.org are locked by another process; try again');
    const stale = new AccountStore(s.dataDir, { staleLockMs: 0 });
    await stale.addUser('alice@example.org', '{PLAIN}pw');
    expect(await s.getUser('alice@example.org')).not.toBeNull();
  });
});

describe('aliases and resolution', () => {
  async function setup() {
    const s = freshStore();
    await s.addDomain('example.org');
    await s.addDomain('example.net');
    await s.addUser('alice@example.org', '{PLAIN}a');
    await s.addUser('bob@example.org', '{PLAIN}b');
    await s.addUser('carol@example.net', '{PLAIN}c');
    return s;
  }

  it('add merges targets, del removes some or all, list shows them', async () => {
    const s = await setup();
    expect(await s.addAlias('Sales@example.org', ['alice@example.org'])).toEqual({ alias: 'sales@example.org', domain: 'example.org', targets: ['alice@example.org'] });
    expect((await s.addAlias('sales@example.org', ['bob@example.org', 'ALICE@example.org', 'x@partner.example'])).targets).toEqual([
      'alice@example.org',
      'bob@example.org',
      'x@partner.example',
    ]);
    await s.addAlias('@example.net', ['carol@example.net']);
    expect(await s.listAliases()).toEqual([
      { alias: '@example.net', domain: 'example.net', targets: ['carol@example.net'] },
      { alias: 'sales@example.org', domain: 'example.org', targets: ['alice@example.org', 'bob@example.org', 'x@partner.example'] },
    ]);
    await s.deleteAlias('sales@example.org', ['bob@example.org']);
    expect((await s.listAliases('example.org'))[0].targets).toEqual(['alice@example.org', 'x@partner.example']);
    await expectAccountError(s.deleteAlias('sales@example.org', ['nobody@example.org']), 'NOUSER');
    await s.deleteAlias('sales@example.org');
    await s.deleteAlias('@example.net');
    expect(await s.listAliases()).toEqual([]);
    await expectAccountError(s.deleteAlias('sales@example.org'), 'NOUSER');
  });

  it('an alias and a user cannot share an address', async () => {
    const s = await setup();
    await expectAccountError(s.addAlias('alice@example.org', ['bob@example.org']), 'EXISTS');
    await s.addAlias('info@example.org', ['bob@example.org']);
    await expectAccountError(s.addUser('info@example.org', '{PLAIN}x'), 'EXISTS');
    await expectAccountError(s.addAlias('x@nowhere.example', ['bob@example.org']), 'NODOMAIN');
    await expectAccountError(s.addAlias('x@example.org', []), 'BADADDRESS');
  });

  it('resolve follows aliases, forwards and catch-alls, bounded and loop-safe', async () => {
    const s = await setup();
    await s.addAlias('team@example.org', ['alice@example.org', 'sales@example.org', 'ghost@example.org']);
    await s.addAlias('sales@example.org', ['bob@example.org', 'out@partner.example', 'team@example.org']); // a loop back
    await s.setForward('bob@example.org', { to: ['bob@home.example'], keepCopy: true });
    await s.setForward('carol@example.net', { to: ['alice@example.org'], keepCopy: false });
    await s.addAlias('@example.net', ['carol@example.net']);

    expect(await s.resolve('ALICE@example.org')).toEqual({ local: ['alice@example.org'], remote: [], unknown: [] });
    expect(await s.resolve('team@example.org')).toEqual({
      local: ['alice@example.org', 'bob@example.org'],
      remote: ['bob@home.example', 'out@partner.example'],
      unknown: ['ghost@example.org'],
    });
    expect(await s.resolve('carol@example.net')).toEqual({ local: ['alice@example.org'], remote: [], unknown: [] });
    expect(await s.resolve('anything@example.net')).toEqual({ local: ['alice@example.org'], remote: [], unknown: [] });
    expect(await s.resolve('nobody@example.org')).toBeNull(); // no catch-all there
    expect(await s.resolve('someone@partner.example')).toBeNull(); // not our domain
    expect(await s.resolve('not an address')).toBeNull();
  });
});
