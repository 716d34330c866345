// `mailroom deliver` (the MDA) and `mailroom queue`, run as the built CLI
// (dist/src/cli.js, compiled by test/setup-build.ts) in child processes.
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccountStore } from '../src/accounts/store.js';
import { Spool } from '../src/queue/spool.js';
import { tempDir } from './helpers/tmp.js';
import { body, envelope } from './queue-env.js';

const CLI = join(import.meta.dirname, '..', 'dist/src/cli.js');
const { dir, cleanup } = tempDir('mailroom-deliver-cli-');
const data = join(dir, 'data');
let accounts: AccountStore;
afterAll(cleanup);

beforeAll(async () => {
  writeFileSync(join(dir, 'mailroom.yaml'), 'data: ./data\nhostname: mx.example.org\n');
  mkdirSync(data);
  accounts = new AccountStore(data);
  await accounts.addDomain('example.org');
  await accounts.addUser('alice@example.org', 'x');
  await accounts.addUser('full@example.org', 'x', { quota: { messages: 1 } });
  await accounts.addUser('bob@example.org', 'x');
  await accounts.setForward('bob@example.org', { to: ['bob@example.net', 'alice@example.org'], keepCopy: false });
});

function mailroom(args: string[], input = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [CLI, ...args], { cwd: dir, env: { PATH: process.env.PATH }, timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
    child.stdin?.end(input);
  });
}

const inbox = (a: string) => readdirSync(join(accounts.maildirPath(a), 'new')).map((f) => readFileSync(join(accounts.maildirPath(a), 'new', f), 'utf8'));
const MSG = 'From: carol@example.com\nSubject: via the LDA\n\nhello\n';

describe('mailroom deliver', () => {
  it('exit 0: into the Maildir with Return-Path, Delivered-To and Received, silently', async () => {
    const r = await mailroom(['deliver', '--to', 'Alice@example.org', '--from', 'carol@example.com'], MSG);
    expect(r).toMatchObject({ code: 0, stdout: '', stderr: '' });
    const [m] = inbox('alice@example.org');
    expect(m).toMatch(/^Return-Path: <carol@example\.com>\nDelivered-To: alice@example\.org\nReceived: from localhost \(\[127\.0\.0\.1\]\)\n\tby mx\.example\.org \(Mailroom\) with local id /);
    expect(m.endsWith(MSG)).toBe(true);
  });

  it('exit 67 for no such user, and for an address not ours', async () => {
    const r = await mailroom(['deliver', '--to', 'ghost@example.org'], MSG);
    expect(r.code).toBe(67);
    expect(r.stderr).toMatch(/ghost@example\.org: failed 5\.1\.1/);
    expect((await mailroom(['deliver', '--to', 'x@elsewhere.example'], MSG)).code).toBe(67);
  });

  it('exit 75 when the mailbox is full (the MTA retries)', async () => {
    const first = await mailroom(['deliver', '--to', 'full@example.org'], MSG);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const r = await mailroom(['deliver', '--to', 'full@example.org'], MSG);
    expect(r.code).toBe(75);
    expect(r.stderr).toMatch(/deferred 4\.2\.2/);
    expect(inbox('full@example.org')).toHaveLength(1);
  });

  it('a looping message is refused, not delivered', async () => {
    const r = await mailroom(['deliver', '--to', 'alice@example.org'], `Delivered-To: alice@example.org\n${MSG}`);
    expect(r.code).toBe(65);
    expect(r.stderr).toMatch(/5\.4\.6/);
  });

  it('a forward delivers its local targets and queues the remote ones', async () => {
    const before = inbox('alice@example.org').length;
    const r = await mailroom(['deliver', '--to', 'bob@example.org', '--from', 'carol@example.com'], MSG);
    expect(r.code).toBe(0);
    expect(inbox('alice@example.org')).toHaveLength(before + 1);
    const spool = new Spool(join(data, 'queue'));
    const [q] = await spool.list();
    expect(q.from).toBe('carol@example.com');
    expect(q.recipients).toMatchObject([{ address: 'bob@example.net', route: 'remote', parent: 'bob@example.org', state: 'pending' }]);
    expect(readdirSync(join(data, 'queue/tmp'))).toEqual([]);
    await spool.remove(q.id);
  });
});

describe('mailroom queue', () => {
  it('list, list --json, flush and remove work on the spool on disk', async () => {
    const spool = new Spool(join(data, 'queue'));
    const id = await spool.enqueue(envelope('carol@example.com', ['dave@example.net']), body('queued'));
    const list = await mailroom(['queue', 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(id);
    expect(list.stdout).toMatch(/pending\s+<dave@example\.net>/);
    const json = JSON.parse((await mailroom(['queue', 'list', '--json'])).stdout);
    expect(json).toMatchObject([{ id, from: 'carol@example.com', recipients: [{ address: 'dave@example.net', state: 'pending' }] }]);
    const before = await spool.flushRequestedAt();
    const flush = await mailroom(['queue', 'flush']);
    expect(flush.stdout).toMatch(/flush requested for 1 queued message/);
    expect(await spool.flushRequestedAt()).toBeGreaterThanOrEqual(before);
    expect(await spool.flushRequestedAt()).toBeGreaterThan(0);
    expect((await mailroom(['queue', 'remove', id])).code).toBe(0);
    expect(await spool.ids()).toEqual([]);
    expect((await mailroom(['queue', 'remove', id])).code).toBe(67);
    expect((await mailroom(['queue', 'remove', '../info'])).code).toBe(64);
    expect((await mailroom(['queue', 'list'])).stdout).toBe('the queue is empty\n');
  });
});
