// Crash safety of the queue runner: a process delivering a 50-recipient
// message is killed with SIGKILL, twice, at different points; after a restart
// every recipient has exactly one copy, or two for the at most one recipient
// per kill whose delivery had completed when its checkpoint was not yet
// written. None is lost.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { AccountStore } from '../src/accounts/store.js';
import { Spool } from '../src/queue/spool.js';
import { tempDir } from './helpers/tmp.js';
import { body, envelope } from './queue-env.js';

const root = join(import.meta.dirname, '..');
const WORKER = join(root, 'test/workers/queue-runner.mjs');
const { dir, cleanup } = tempDir('mailroom-queue-crash-');
afterAll(cleanup);

/** Runs the worker; kills it with SIGKILL after `killAfter` deliveries (or lets it finish). */
function run(killAfter: number | null): Promise<{ delivered: string[]; signal: string | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WORKER, dir, '3'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const delivered: string[] = [];
    let out = '';
    let buf = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (s: string) => {
      out += s;
      buf += s;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.startsWith('D ')) delivered.push(line.slice(2));
        if (killAfter !== null && delivered.length === killAfter) child.kill('SIGKILL');
      }
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('exit', (_code, signal) => {
      clearTimeout(timer);
      resolve({ delivered, signal, out });
    });
  });
}

it('SIGKILL while delivering to 50 recipients: after restarts, none lost, at most one duplicate per kill', async () => {
  const data = dir;
  const accounts = new AccountStore(data);
  await accounts.addDomain('example.org');
  const users = Array.from({ length: 50 }, (_, i) => `u${String(i).padStart(2, '0')}@example.org`);
  for (const u of users) await accounts.addUser(u, 'x');
  const spool = new Spool(join(data, 'queue'));
  await spool.enqueue(envelope('carol@example.com', users), body('fifty'));

  const first = await run(10);
  expect(first.signal).toBe('SIGKILL');
  const second = await run(15);
  expect(second.signal).toBe('SIGKILL');
  expect(await spool.ids()).toHaveLength(1); // still work to do after two kills
  const last = await run(null);
  expect(last.out).toContain('IDLE true');
  expect(await spool.ids()).toEqual([]);

  const copies = users.map((u) => {
    const m = accounts.maildirPath(u);
    return ['new', 'cur'].flatMap((s) => (existsSync(join(m, s)) ? readdirSync(join(m, s)) : [])).length;
  });
  expect(copies.filter((n) => n === 0)).toEqual([]); // nothing lost
  expect(copies.every((n) => n <= 2)).toBe(true);
  expect(copies.filter((n) => n === 2).length).toBeLessThanOrEqual(2); // one per kill at most
});
