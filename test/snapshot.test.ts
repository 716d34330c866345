// The folder snapshot (maildir/snapshot.ts): a later process opens a big
// folder from it without listing the directory, and never trusts it once the
// directory has changed.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync, mkdirSync } from 'node:fs';
import { MaildirStore } from '../maildir/store.js';
import { tempDir } from './helpers/tmp.js';

let tmp: ReturnType<typeof tempDir>;
const root = () => `${tmp.dir}/Maildir`;
const N = 1200;

beforeEach(async () => {
  tmp = tempDir();
  for (const d of ['cur', 'new', 'tmp']) mkdirSync(`${root()}/${d}`, { recursive: true });
  for (let i = 0; i < N; i++) writeFileSync(`${root()}/cur/${1700000000 + i}.M${i}P1.snap:2,${i % 2 ? 'S' : ''}`, `Subject: ${i}\n\nbody\n`);
  // the snapshot is trusted only for a listing made > 1 s after the last change
  await new Promise((r) => setTimeout(r, 1100));
});
afterEach(() => tmp.cleanup());

async function openClose(): Promise<{ uids: number[]; flagsOf: (uid: number) => string[] }> {
  const store = new MaildirStore({ rootOf: () => root() });
  const mb = await (await store.forUser('x')).open('INBOX', { readOnly: false });
  const uids = [...mb.uids()];
  const flags = new Map(uids.map((u) => [u, mb.meta(u)!.flags]));
  await mb.close();
  await store.close();
  return { uids, flagsOf: (u) => flags.get(u)! };
}

describe('folder snapshot', () => {
  it('is written for a big folder and used by the next process while the directories are unchanged', async () => {
    const first = await openClose();
    expect(first.uids).toHaveLength(N);
    expect(existsSync(`${root()}/mailroom-index`)).toBe(true);
    // Prove the next open reads the snapshot instead of the directory: alter
    // what it says about uid 1 (the directory itself is untouched).
    const snap = readFileSync(`${root()}/mailroom-index`, 'utf8');
    const line1 = snap.split('\n')[1];
    expect(line1.endsWith(':2,')).toBe(true);
    writeFileSync(`${root()}/mailroom-index`, snap.replace(line1 + '\n', line1 + 'F\n'));
    const second = await openClose();
    expect(second.uids).toEqual(first.uids);
    expect(second.flagsOf(1)).toEqual(['\\Flagged']);
  });

  it('is ignored once a file was renamed, added or removed underneath', async () => {
    const first = await openClose();
    const name = readdirSync(`${root()}/cur`).find((n) => n.startsWith('1700000000.'))!;
    renameSync(`${root()}/cur/${name}`, `${root()}/cur/${name.split(':')[0]}:2,RS`);
    writeFileSync(`${root()}/new/1800000000.M1P1.late`, 'Subject: late\n\n');
    const second = await openClose();
    expect(second.uids).toHaveLength(N + 1);
    expect(second.flagsOf(first.uids[0])).toEqual(['\\Seen', '\\Answered']);
    expect(second.uids.at(-1)).toBeGreaterThan(first.uids.at(-1)!);
  });

  it('a torn or foreign snapshot is ignored', async () => {
    const first = await openClose();
    const snap = readFileSync(`${root()}/mailroom-index`, 'utf8');
    writeFileSync(`${root()}/mailroom-index`, snap.slice(0, snap.length / 2));
    expect((await openClose()).uids).toEqual(first.uids);
    writeFileSync(`${root()}/mailroom-index`, 'something else entirely\n');
    expect((await openClose()).uids).toEqual(first.uids);
  });
});
