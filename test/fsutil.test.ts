// Group commit of directory fsyncs (maildir/fsutil.ts DirSyncer): a change is
// durable only after an fsync that started after it, and callers share fsyncs. Also NewFile and the dot-lock.
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { acquireDotLock } from '../maildir/dotlock.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DirSyncer, fsyncDir } from '../maildir/fsutil.js';

/** A fake fsync that finishes when told to, numbered in the order they start. */
function controlledSync() {
  const started: { n: number; finish: () => void; fail: (e: Error) => void }[] = [];
  const sync = () =>
    new Promise<void>((resolve, reject) => {
      started.push({ n: started.length + 1, finish: resolve, fail: reject });
    });
  return { started, sync };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('DirSyncer', () => {
  it('a request made while an fsync runs waits for one that starts after it; all such requests share it', async () => {
    const { started, sync } = controlledSync();
    const s = new DirSyncer(sync);
    const done: string[] = [];
    const a = s.request().then(() => done.push('a'));
    await tick();
    expect(started).toHaveLength(1);
    // b and c arrive while fsync 1 runs: it may have started before their changes
    const b = s.request().then(() => done.push('b'));
    const c = s.request().then(() => done.push('c'));
    await tick();
    expect(started).toHaveLength(1);
    started[0]!.finish();
    await a;
    await tick();
    expect(done).toEqual(['a']); // b and c are not durable yet
    expect(started).toHaveLength(2); // one more fsync for both of them
    started[1]!.finish();
    await Promise.all([b, c]);
    expect(done).toEqual(['a', 'b', 'c']);
    expect(started).toHaveLength(2);
  });

  it('a failed fsync fails its callers only; the next one is still made for those waiting', async () => {
    const { started, sync } = controlledSync();
    const s = new DirSyncer(sync);
    const a = s.request();
    await tick();
    const b = s.request();
    started[0]!.fail(new Error('EIO'));
    await expect(a).rejects.toThrow('EIO');
    await tick();
    expect(started).toHaveLength(2);
    started[1]!.finish();
    await expect(b).resolves.toBeUndefined();
  });

  it('fsyncDir syncs real directories, many callers at once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mailroom-fsync-'));
    try {
      const work = Array.from({ length: 50 }, (_, i) => {
        writeFileSync(join(dir, `f${i}`), 'x');
        return fsyncDir(dir);
      });
      await expect(Promise.all(work)).resolves.toHaveLength(50);
      await expect(fsyncDir(join(dir, 'missing'))).rejects.toThrow(/ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('NewFile', () => {
  it('writes, syncs and closes; discard removes the file; wx refuses an existing one', async () => {
    const { NewFile } = await import('../maildir/new-file.js');
    const { existsSync, readFileSync } = await import('node:fs');
    const dir = mkdtempSync(join(tmpdir(), 'mailroom-newfile-'));
    try {
      const f = await NewFile.create(join(dir, 'a'), 'wx', 0o600);
      await f.write(Buffer.from('hello '));
      await f.write(Buffer.alloc(100_000, 0x61));
      await f.syncAndClose();
      expect(readFileSync(join(dir, 'a')).length).toBe(100_006);
      await expect(NewFile.create(join(dir, 'a'), 'wx', 0o600)).rejects.toThrow(/EEXIST/);
      const g = await NewFile.create(join(dir, 'b'), 'wx', 0o600);
      await g.write(Buffer.from('partial'));
      await g.discard();
      expect(existsSync(join(dir, 'b'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('dot-lock', () => {
  it('holds the lock file with our pid, makes a second taker wait for the release, and breaks a stale lock', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mailroom-dotlock-'));
    try {
      const lock = join(dir, 'x.lock');
      const release = await acquireDotLock(lock);
      expect(readFileSync(lock, 'latin1')).toBe(`${process.pid}\n`);
      const order: string[] = [];
      const second = acquireDotLock(lock, { timeoutMs: 5000 }).then((r) => {
        order.push('second');
        return r;
      });
      await new Promise((r) => setTimeout(r, 30));
      order.push('release');
      await release();
      await (await second)();
      expect(order).toEqual(['release', 'second']);
      expect(existsSync(lock)).toBe(false);

      // a lock left by a process that died: older than staleMs, broken
      writeFileSync(lock, '999999\n');
      utimesSync(lock, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
      const again = await acquireDotLock(lock, { staleMs: 10_000, timeoutMs: 2000 });
      expect(readFileSync(lock, 'latin1')).toBe(`${process.pid}\n`);
      await again();
      // a fresh lock held elsewhere is not broken: the taker gives up with INUSE
      writeFileSync(lock, '999999\n');
      await expect(acquireDotLock(lock, { staleMs: 60_000, timeoutMs: 50 })).rejects.toMatchObject({ code: 'INUSE' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
