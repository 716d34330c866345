// Several OS processes on one folder (DESIGN.md: nothing assumes a single
// process owns a mailbox). Two writers deliver 1,000 messages each while a
// third process keeps syncing; then again with one writer SIGKILLed half-way.
import { describe, expect, it, beforeEach, afterEach } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { MaildirStore } from '../maildir/store.js';
import { provisionMaildir } from '../maildir/provision.js';
import { tempDir } from './helpers/tmp.js';

const workers = join(import.meta.dirname, 'workers');
let tmp: ReturnType<typeof tempDir>;
const root = () => `${tmp.dir}/Maildir`;

beforeEach(async () => {
  tmp = tempDir();
  await provisionMaildir(root());
});
const spawned: ChildProcess[] = [];
afterEach(() => {
  // a failed assertion must not leave workers running
  for (const c of spawned.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  tmp.cleanup();
});

interface Proc {
  child: ChildProcess;
  lines: string[];
  exited: Promise<number | null>;
}

function run(script: string, args: string[], onLine?: (line: string, p: Proc) => void): Proc {
  const child = spawn(process.execPath, [join(workers, script), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  spawned.push(child);
  const p: Proc = { child, lines: [], exited: new Promise((r) => child.on('exit', (code) => r(code))) };
  let buf = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      p.lines.push(line);
      onLine?.(line, p);
    }
  });
  return p;
}

/** Final state read by a fresh store: uid → "tag-i" from each message's Message-ID. */
async function finalState(): Promise<Map<number, string>> {
  const store = new MaildirStore({ rootOf: () => root() });
  const user = await store.forUser('x');
  const mb = await user.open('INBOX', { readOnly: true });
  const out = new Map<number, string>();
  for (const uid of mb.uids()) {
    const idx = await mb.index(uid);
    out.set(uid, idx.headers.messageId.replace(/[<>]/g, '').replace('@test', ''));
  }
  await mb.close();
  await store.close();
  return out;
}

function syncerUids(p: Proc): number[] {
  return p.lines.filter((l) => l.startsWith('added ')).map((l) => Number(l.split(' ')[1]));
}

function expectStrictlyIncreasing(uids: number[]) {
  for (let i = 1; i < uids.length; i++) expect(uids[i], `uid ${uids[i]} after ${uids[i - 1]}`).toBeGreaterThan(uids[i - 1]);
}

describe('several processes on one folder', () => {
  it('two writers × 1,000 messages and a syncing reader: distinct UIDs, nothing lost, UIDs increasing', async () => {
    const syncer = run('syncer.mjs', [root()]);
    const a = run('writer.mjs', [root(), 'append', '1000', 'A']);
    const b = run('writer.mjs', [root(), 'deliver', '1000', 'B']);
    expect(await a.exited).toBe(0);
    expect(await b.exited).toBe(0);
    syncer.child.kill('SIGTERM');
    expect(await syncer.exited).toBe(0);
    expect(syncer.lines.at(-1)).toBe('done');

    const state = await finalState();
    expect(state.size).toBe(2000);
    const ids = new Set(state.values());
    for (let i = 0; i < 1000; i++) {
      expect(ids.has(`A-${i}`)).toBe(true);
      expect(ids.has(`B-${i}`)).toBe(true);
    }
    // the appender was told UIDs that are the ones the folder keeps
    for (const line of a.lines) {
      const [, i, uid] = line.split(' ');
      expect(state.get(Number(uid))).toBe(`A-${i}`);
    }
    // the reader saw every message exactly once, in increasing UID order
    const seen = syncerUids(syncer);
    expectStrictlyIncreasing(seen);
    expect(seen.sort((x, y) => x - y)).toEqual([...state.keys()].sort((x, y) => x - y));
    expect(syncer.lines.some((l) => l.startsWith('expunged'))).toBe(false);
  });

  it('a writer SIGKILLed half-way leaves the folder consistent and the survivor complete', async () => {
    const syncer = run('syncer.mjs', [root()]);
    const survivor = run('writer.mjs', [root(), 'deliver', '1000', 'B']);
    const victim = run('writer.mjs', [root(), 'append', '1000', 'A'], (_line, p) => {
      if (p.lines.length === 400) p.child.kill('SIGKILL');
    });
    await victim.exited;
    expect(await survivor.exited).toBe(0);
    syncer.child.kill('SIGTERM');
    expect(await syncer.exited).toBe(0);

    const state = await finalState();
    const ids = [...state.values()];
    expect(new Set(ids).size).toBe(ids.length); // no message twice
    for (let i = 0; i < 1000; i++) expect(ids).toContain(`B-${i}`);
    // every append the victim acknowledged is there under the UID it was given
    for (const line of victim.lines) {
      const [, i, uid] = line.split(' ');
      expect(state.get(Number(uid))).toBe(`A-${i}`);
    }
    // at most the one message in flight at the kill went further than its acknowledgement
    const victimIds = ids.filter((x) => x.startsWith('A-'));
    expect(victimIds.length - victim.lines.length).toBeLessThanOrEqual(1);
    expectStrictlyIncreasing(syncerUids(syncer));
    // the folder still works: a new append gets a UID above everything
    const store = new MaildirStore({ rootOf: () => root() });
    const user = await store.forUser('x');
    const r = await user.append('INBOX', Buffer.from('Subject: after\n\n'));
    expect(r.uid).toBeGreaterThan(Math.max(...state.keys()));
    await store.close();
    expect(readdirSync(`${root()}/new`).length + readdirSync(`${root()}/cur`).length).toBe(state.size + 1);
  });
});
