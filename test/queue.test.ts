// The spool and the delivery runner with local recipients: durability of an
// enqueue, aliases / forwards / catch-all, the Delivered-To loop check, DSNs
// (RFC 3464) and the retry schedule with an injected clock.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { HOLD_IN_MEMORY } from '../src/queue/intake.js';
import { nextRetry } from '../src/queue/schedule.js';
import { isQueueId, newQueueId, Spool, SpoolError } from '../src/queue/spool.js';
import { tempDir } from './helpers/tmp.js';
import { body, envelope, message, parseDsn, queueEnv as baseQueueEnv, type QueueEnv } from './queue-env.js';

let env: QueueEnv | null = null;
afterEach(async () => {
  await env?.close();
  env = null;
});

const setupUsers = (...users: string[]) => async (a: import('../src/accounts/store.js').AccountStore) => {
  for (const u of users) await a.addUser(u, 'x');
};

describe('spool', () => {
  it('writes mess and info before enqueue resolves, info with per-recipient state', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const spool = new Spool(join(dir, 'queue'), () => 1_000_000);
      const body = message('durable');
      const id = await spool.enqueue(
        envelope('carol@example.com', ['a@example.org', 'A@example.org', 'b@example.net'], { envId: 'E1', ret: 'HDRS' }),
        Readable.from([body.subarray(0, 10), body.subarray(10)]),
      );
      expect(isQueueId(id)).toBe(true);
      expect(readFileSync(join(dir, 'queue/mess', id))).toEqual(body);
      const info = JSON.parse(readFileSync(join(dir, 'queue/info', id), 'utf8'));
      expect(info).toMatchObject({ id, from: 'carol@example.com', envId: 'E1', ret: 'HDRS', firstSeen: 1_000_000, nextTry: 1_000_000, size: body.length });
      // a recipient given twice (case of the local part aside) is delivered once
      expect(info.recipients.map((r: { address: string; state: string }) => [r.address, r.state])).toEqual([
        ['a@example.org', 'pending'],
        ['b@example.net', 'pending'],
      ]);
      expect(readdirSync(join(dir, 'queue/tmp'))).toEqual([]);
    } finally {
      cleanup();
    }
  });

  it('a stream that fails, or grows past maxBytes, leaves nothing in the queue', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const spool = new Spool(join(dir, 'queue'));
      async function* broken() {
        yield Buffer.from('Subject: half\r\n');
        throw new Error('client went away');
      }
      await expect(spool.enqueue(envelope('x@example.com', ['a@example.org']), broken())).rejects.toThrow('client went away');
      const big = Readable.from([Buffer.alloc(600, 97), Buffer.alloc(600, 98)]);
      const e = await spool.enqueue(envelope('x@example.com', ['a@example.org']), big, { maxBytes: 1000 }).catch((err: unknown) => err);
      expect(e).toBeInstanceOf(SpoolError);
      expect((e as SpoolError).code).toBe('TOOBIG');
      for (const sub of ['tmp', 'mess', 'info']) expect(readdirSync(join(dir, 'queue', sub))).toEqual([]);
    } finally {
      cleanup();
    }
  });

  it('ids are unique and safe as file names', async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 20_000; i++) ids.add(newQueueId(1_700_000_000_000));
    expect(ids.size).toBe(20_000);
    for (const id of [...ids].slice(0, 100)) expect(isQueueId(id)).toBe(true);
    expect(isQueueId('../info/x')).toBe(false);
    expect(isQueueId('')).toBe(false);
  });

  it('clean() drops an info whose message was removed, keeps young orphans', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const spool = new Spool(join(dir, 'queue'));
      const a = await spool.enqueue(envelope('x@example.com', ['a@example.org']), body('a'));
      const b = await spool.enqueue(envelope('x@example.com', ['a@example.org']), body('b'));
      const { unlinkSync } = await import('node:fs');
      unlinkSync(join(dir, 'queue/mess', a));
      unlinkSync(join(dir, 'queue/info', b)); // like a crash between the two renames of an enqueue
      await spool.clean();
      expect(await spool.ids()).toEqual([]);
      expect(existsSync(join(dir, 'queue/mess', b))).toBe(true); // younger than 36 h: maybe still being enqueued
    } finally {
      cleanup();
    }
  });
});

describe('retry schedule', () => {
  it('follows qmail: birth + (floor(sqrt(age)) + c)^2, growing with age', () => {
    expect(nextRetry(0, 0, 10)).toBe(100_000);
    expect(nextRetry(0, 100_000, 10)).toBe(400_000);
    expect(nextRetry(0, 3600_000, 20)).toBe((60 + 20) ** 2 * 1000);
    let t = 0;
    let gap = 0;
    for (let i = 0; i < 30; i++) {
      const n = nextRetry(0, t, 20);
      expect(n).toBeGreaterThan(t);
      expect(n - t).toBeGreaterThanOrEqual(gap);
      gap = n - t;
      t = n;
    }
  });
});

// The same outcomes whether the intake delivers local mail before it answers
// (queue.inlineDelivery, the default) or spools everything for the runner.
describe.each([
  ['inline', 10],
  ['spooled', 0],
])('local delivery through the queue (%s)', (_mode, inlineDelivery) => {
  const queueEnv = (o: Parameters<typeof baseQueueEnv>[0] = {}) => baseQueueEnv({ ...o, inlineDelivery });
  it('delivers with Return-Path, Delivered-To and Received prepended, then removes the entry', async () => {
    env = await queueEnv({ setup: setupUsers('alice@example.org') });
    const id = await env.queue.intake.enqueue(envelope('carol@example.com', ['Alice@Example.org']), body('hello'));
    await env.queue.runner.idle();
    const [m] = env.inbox('alice@example.org');
    expect(m).toMatch(/^Return-Path: <carol@example\.com>\r\nDelivered-To: alice@example\.org\r\nReceived: from client\.example\.com \(\[192\.0\.2\.7\]\)\r\n\tby mx\.example\.org \(Mailroom\) with ESMTP id /);
    expect(m).toContain(`id ${id}\r\n\tfor <alice@example.org>; Tue, 24 Nov 2026 10:00:00 +0000\r\n`);
    expect(m.endsWith(message('hello').toString('latin1'))).toBe(true);
    expect(await env.queue.spool.ids()).toEqual([]);
  });

  it('expands aliases, forwards with keep-a-copy and the catch-all; each mailbox gets one copy', async () => {
    env = await queueEnv({
      setup: async (a) => {
        await setupUsers('alice@example.org', 'bob@example.org', 'carl@example.org')(a);
        await a.addAlias('team@example.org', ['alice@example.org', 'bob@example.org']);
        await a.addAlias('@example.org', ['carl@example.org']);
        await a.setForward('bob@example.org', { to: ['alice@example.org'], keepCopy: true });
      },
    });
    await env.queue.intake.enqueue(envelope('carol@example.com', ['team@example.org', 'nobody@example.org']), body('fanout'));
    await env.queue.runner.idle();
    expect(env.inbox('alice@example.org')).toHaveLength(1); // via team and via bob's forward: one copy
    expect(env.inbox('bob@example.org')).toHaveLength(1); // the kept copy
    const [c] = env.inbox('carl@example.org'); // the catch-all took nobody@
    expect(c).toContain('Delivered-To: carl@example.org');
    expect(await env.queue.spool.ids()).toEqual([]);
  });

  it('unknown users bounce with an RFC 3464 report to the sender', async () => {
    env = await queueEnv({ setup: setupUsers('alice@example.org', 'carol@example.org') });
    await env.queue.intake.enqueue(
      { ...envelope('carol@example.org', ['alice@example.org', 'ghost@example.org'], { envId: 'ENV+2B1' }), recipients: [{ address: 'alice@example.org' }, { address: 'ghost@example.org', orcpt: 'rfc822;Ghost+2BX@example.org' }] },
      body('partly'),
    );
    await env.queue.runner.idle();
    expect(env.inbox('alice@example.org')).toHaveLength(1);
    const [bounce] = env.inbox('carol@example.org');
    expect(bounce).toMatch(/^Return-Path: <>\r\n/); // a DSN has the null sender
    const dsn = parseDsn(bounce);
    expect(dsn.contentType).toMatch(/^multipart\/report; report-type=delivery-status;/);
    expect(dsn.perMessage.get('reporting-mta')).toBe('dns; mx.example.org');
    expect(dsn.perMessage.get('original-envelope-id')).toBe('ENV+1');
    expect(dsn.perRecipient).toHaveLength(1);
    const r = dsn.perRecipient[0];
    expect(r.get('original-recipient')).toBe('rfc822;Ghost+X@example.org');
    expect(r.get('final-recipient')).toBe('rfc822;ghost@example.org');
    expect(r.get('action')).toBe('failed');
    expect(r.get('status')).toBe('5.1.1');
    expect(r.get('diagnostic-code')).toMatch(/^x-mailroom; no mailbox here/);
    expect(dsn.originalType).toBe('message/rfc822');
    expect(dsn.original).toContain('Subject: partly');
    expect(dsn.human).toContain('<ghost@example.org>: failed');
  });

  it('a message already carrying Delivered-To for the recipient is a loop: bounced, not delivered', async () => {
    env = await queueEnv({
      setup: async (a) => {
        await setupUsers('alice@example.org', 'carol@example.org')(a);
        await a.addAlias('list@example.org', ['alice@example.org']);
      },
    });
    await env.queue.intake.enqueue(envelope('carol@example.org', ['alice@example.org']), body('loop1', 'Delivered-To: alice@example.org\r\n'));
    await env.queue.intake.enqueue(envelope('carol@example.org', ['list@example.org']), body('loop2', 'Delivered-To: List@example.org\r\n'));
    await env.queue.runner.idle();
    expect(env.inbox('alice@example.org')).toEqual([]);
    const bounces = env.inbox('carol@example.org').map(parseDsn);
    expect(bounces.map((b) => b.perRecipient[0].get('status'))).toEqual(['5.4.6', '5.4.6']);
    expect(bounces.map((b) => b.perRecipient[0].get('final-recipient')).sort()).toEqual(['rfc822;alice@example.org', 'rfc822;list@example.org']);
  });

  it('never bounces to the null sender, and NOTIFY=NEVER suppresses the report', async () => {
    env = await queueEnv({ setup: setupUsers('carol@example.org') });
    await env.queue.intake.enqueue(envelope('', ['ghost@example.org']), body('from-null'));
    await env.queue.intake.enqueue(
      { ...envelope('carol@example.org', []), recipients: [{ address: 'ghost@example.org', notify: ['NEVER'] }] },
      body('never'),
    );
    await env.queue.runner.idle();
    expect(env.inbox('carol@example.org')).toEqual([]);
    expect(await env.queue.spool.ids()).toEqual([]);
  });

  it('NOTIFY=SUCCESS gives a "delivered" report; RET=HDRS returns only the headers', async () => {
    env = await queueEnv({ setup: setupUsers('alice@example.org', 'carol@example.org') });
    await env.queue.intake.enqueue(
      { ...envelope('carol@example.org', [], { ret: 'HDRS' }), recipients: [{ address: 'alice@example.org', notify: ['SUCCESS', 'FAILURE'] }] },
      body('tellme'),
    );
    await env.queue.runner.idle();
    expect(env.inbox('alice@example.org')).toHaveLength(1);
    const dsn = parseDsn(env.inbox('carol@example.org')[0]);
    expect(dsn.perRecipient[0].get('action')).toBe('delivered');
    expect(dsn.perRecipient[0].get('status')).toBe('2.0.0');
    expect(dsn.originalType).toBe('text/rfc822-headers');
    expect(dsn.original).toContain('Subject: tellme');
    expect(dsn.original).not.toContain('Hello, tellme.');
  });

  it('a full mailbox is retried on the qmail schedule, and bounced (4.4.7) once the lifetime is over', async () => {
    env = await queueEnv({
      setup: async (a) => {
        await setupUsers('alice@example.org', 'carol@example.org')(a);
        await a.setQuota('alice@example.org', { messages: 1 });
      },
    });
    const born = env.clock.now;
    await env.queue.intake.enqueue(envelope('carol@example.org', ['alice@example.org']), body('first'));
    await env.queue.runner.idle();
    const id = await env.queue.intake.enqueue(envelope('carol@example.org', ['alice@example.org']), body('second'));
    await env.queue.runner.idle();
    let info = await env.queue.spool.readInfo(id);
    expect(info?.recipients[0]).toMatchObject({ state: 'deferred', status: '4.2.2', attempts: 1 });
    expect(info?.nextTry).toBe(born + 100_000); // (0 + 10)^2 s

    env.clock.now = born + 50_000; // not due yet: nothing happens
    await env.queue.runner.idle();
    expect((await env.queue.spool.readInfo(id))?.recipients[0].attempts).toBe(1);

    env.clock.now = born + 100_000;
    await env.queue.runner.idle();
    info = await env.queue.spool.readInfo(id);
    expect(info?.recipients[0].attempts).toBe(2);
    expect(info?.nextTry).toBe(born + (10 + 10) ** 2 * 1000);

    env.clock.now = born + 8 * 24 * 3600_000; // past the 7-day lifetime
    env.queue.flush();
    await env.queue.runner.idle();
    expect(await env.queue.spool.ids()).toEqual([]);
    const dsn = parseDsn(env.inbox('carol@example.org')[0]);
    expect(dsn.perRecipient[0].get('action')).toBe('failed');
    expect(dsn.perRecipient[0].get('status')).toBe('4.4.7');
    expect(dsn.perRecipient[0].get('diagnostic-code')).toMatch(/full/);
  });

  it('a message larger than the whole quota fails at once (5.2.2)', async () => {
    env = await queueEnv({
      setup: async (a) => {
        await setupUsers('alice@example.org', 'carol@example.org')(a);
        await a.setQuota('alice@example.org', { bytes: 100 });
      },
    });
    await env.queue.intake.enqueue(envelope('carol@example.org', ['alice@example.org']), body('too big for the quota'));
    await env.queue.runner.idle();
    expect(parseDsn(env.inbox('carol@example.org')[0]).perRecipient[0].get('status')).toBe('5.2.2');
  });

  it('resumes the entries found on disk when it starts', async () => {
    env = await queueEnv({ setup: setupUsers('alice@example.org') });
    await env.queue.stop();
    // queued while no runner was running (another process, or before a restart)
    const clock = env.clock;
    const spool = new Spool(env.queue.spool.dir, () => clock.now);
    await spool.enqueue(envelope('carol@example.com', ['alice@example.org']), body('waiting'));
    await env.queue.runner.start();
    await env.queue.runner.idle();
    expect(env.inbox('alice@example.org')).toHaveLength(1);
  });
});

describe('inline delivery (queue.inlineDelivery)', () => {
  const spoolFiles = (e: QueueEnv) => ['tmp', 'mess', 'info'].flatMap((d) => readdirSync(join(e.dir, 'data', 'queue', d)));

  it('a message for local mailboxes is in them when enqueue resolves, and leaves nothing in the spool', async () => {
    env = await baseQueueEnv({
      setup: async (a) => {
        await setupUsers('alice@example.org', 'bob@example.org')(a);
        await a.addAlias('team@example.org', ['alice@example.org', 'bob@example.org']);
      },
    });
    const id = await env.queue.intake.enqueue(envelope('carol@example.com', ['team@example.org']), body('at-once'));
    // no runner.idle(): the enqueue itself delivered
    const [a] = env.inbox('alice@example.org');
    expect(a).toContain('Delivered-To: alice@example.org\r\n');
    expect(a).toContain(`id ${id}\r\n`);
    expect(env.inbox('bob@example.org')).toHaveLength(1);
    expect(spoolFiles(env)).toEqual([]);
  });

  it('what cannot be finished at once becomes a queue entry holding the outcomes so far', async () => {
    env = await baseQueueEnv({
      setup: async (a) => {
        await setupUsers('alice@example.org', 'bob@example.org', 'carol@example.org')(a);
        await a.setQuota('bob@example.org', { messages: 1 });
      },
    });
    await env.queue.intake.enqueue(envelope('carol@example.org', ['bob@example.org']), body('fills-bob'));
    const born = env.clock.now;
    const id = await env.queue.intake.enqueue(envelope('carol@example.org', ['alice@example.org', 'bob@example.org']), body('half'));
    expect(env.inbox('alice@example.org')).toHaveLength(1);
    const info = await env.queue.spool.readInfo(id);
    expect(info?.recipients.map((r) => [r.address, r.state, r.attempts])).toEqual([
      ['alice@example.org', 'delivered', 1],
      ['bob@example.org', 'deferred', 1],
    ]);
    expect(info?.nextTry).toBe(born + 100_000); // the schedule of a first failed attempt
    expect(readFileSync(join(env.dir, 'data', 'queue', 'mess', id), 'latin1')).toBe(message('half').toString('latin1'));
    // the runner carries on from there: alice is not delivered again
    await env.queue.runner.idle();
    env.clock.now = born + 100_000;
    await env.queue.runner.idle();
    expect(env.inbox('alice@example.org')).toHaveLength(1);
    expect((await env.queue.spool.readInfo(id))?.recipients[1].attempts).toBe(2);
  });

  it('a failure owing a DSN is queued due at once, and the runner sends the report', async () => {
    env = await baseQueueEnv({ setup: setupUsers('carol@example.org') });
    const id = await env.queue.intake.enqueue(envelope('carol@example.org', ['alice@example.org']), body('unknown-user'));
    // alice is unknown here: routed as failed before any delivery, due now for its report
    const info = await env.queue.spool.readInfo(id);
    expect(info?.recipients[0]).toMatchObject({ state: 'failed', status: '5.1.1' });
    expect(info?.nextTry).toBe(env.clock.now);
    await env.queue.runner.idle();
    expect(parseDsn(env.inbox('carol@example.org')[0]).perRecipient[0].get('status')).toBe('5.1.1');
    expect(spoolFiles(env)).toEqual([]);
  });

  it('more local deliveries than the limit, or 0 as the limit: spooled whole, nothing delivered before the runner', async () => {
    for (const [limit, to] of [
      [1, ['alice@example.org', 'bob@example.org']],
      [0, ['alice@example.org']],
    ] as const) {
      env = await baseQueueEnv({ inlineDelivery: limit, setup: setupUsers('alice@example.org', 'bob@example.org') });
      const id = await env.queue.intake.enqueue(envelope('carol@example.com', [...to]), body('spooled'));
      expect(env.inbox('alice@example.org')).toEqual([]);
      expect(await env.queue.spool.ids()).toEqual([id]);
      await env.queue.runner.idle();
      expect(env.inbox('alice@example.org')).toHaveLength(1);
      await env.close();
      env = null;
    }
  });

  it('an alias with more targets than the limit is spooled already expanded', async () => {
    env = await baseQueueEnv({
      inlineDelivery: 1,
      setup: async (a) => {
        await setupUsers('alice@example.org', 'bob@example.org')(a);
        await a.addAlias('team@example.org', ['alice@example.org', 'bob@example.org']);
      },
    });
    const id = await env.queue.intake.enqueue(envelope('carol@example.com', ['team@example.org']), body('wide'));
    expect(env.inbox('alice@example.org')).toEqual([]);
    const info = await env.queue.spool.readInfo(id);
    expect(info?.recipients.map((r) => [r.address, r.route, r.parent, r.state])).toEqual([
      ['alice@example.org', 'local', 'team@example.org', 'pending'],
      ['bob@example.org', 'local', 'team@example.org', 'pending'],
    ]);
    await env.queue.runner.idle();
    expect(env.inbox('alice@example.org')).toHaveLength(1);
    expect(env.inbox('bob@example.org')).toHaveLength(1);
  });

  it('a stream that fails leaves nothing, delivered nowhere', async () => {
    env = await baseQueueEnv({ setup: setupUsers('alice@example.org') });
    async function* broken() {
      yield Buffer.from('Subject: half\r\n');
      throw new Error('client went away');
    }
    await expect(env.queue.intake.enqueue(envelope('x@example.com', ['alice@example.org']), broken())).rejects.toThrow('client went away');
    expect(env.inbox('alice@example.org')).toEqual([]);
    expect(spoolFiles(env)).toEqual([]);
  });

  it('a message bigger than what is held in memory goes through queue/tmp/ and is delivered byte for byte', async () => {
    env = await baseQueueEnv({
      setup: async (a) => {
        await setupUsers('alice@example.org', 'bob@example.org')(a);
        await a.setQuota('bob@example.org', { messages: 1 });
      },
    });
    await env.queue.intake.enqueue(envelope('carol@example.org', ['bob@example.org']), body('fills-bob'));
    const big = Buffer.concat([message('big'), Buffer.alloc(HOLD_IN_MEMORY * 2, 'x')]);
    const chunks = Array.from({ length: Math.ceil(big.length / 1000) }, (_, k) => big.subarray(k * 1000, (k + 1) * 1000));
    const id = await env.queue.intake.enqueue(envelope('carol@example.org', ['alice@example.org', 'bob@example.org']), Readable.from(chunks));
    expect(env.inbox('alice@example.org')[0]!.endsWith(big.toString('latin1'))).toBe(true);
    // bob is full: the entry keeps the whole body, and nothing else is left in tmp/
    expect(readFileSync(join(env.dir, 'data', 'queue', 'mess', id))).toEqual(big);
    expect(readdirSync(join(env.dir, 'data', 'queue', 'tmp'))).toEqual([]);
  });

  it('the size limit holds for a message kept in memory as for a spooled one', async () => {
    env = await baseQueueEnv({ setup: setupUsers('alice@example.org') });
    // the first is refused while held in memory, the second once it is streaming into queue/tmp/
    for (const [size, maxBytes] of [
      [2000, 1000],
      [HOLD_IN_MEMORY + 5000, HOLD_IN_MEMORY + 1000],
    ]) {
      const chunks = Array.from({ length: size / 500 }, () => Buffer.alloc(500, 97));
      const e = await env.queue.intake.enqueue(envelope('x@example.com', ['alice@example.org']), Readable.from(chunks), { maxBytes }).catch((err: unknown) => err);
      expect((e as SpoolError).code).toBe('TOOBIG');
    }
    expect(env.inbox('alice@example.org')).toEqual([]);
    expect(spoolFiles(env)).toEqual([]);
  });
});
