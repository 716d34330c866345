// The POP3 maildrop lock (RFC 1939 section 8): exclusive, released, stale
// locks broken by dead pid or by a missing refresh, live ones respected.
import { afterEach, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { acquireMaildropLock, MAILDROP_LOCK_NAME } from '../maildir/maildrop-lock.js';
import { isStoreError } from '../maildir/errors.js';
import { tempDir } from './helpers/tmp.js';

let t: ReturnType<typeof tempDir> | undefined;
afterEach(() => {
  t?.cleanup();
  t = undefined;
});

async function inUse(p: Promise<unknown>): Promise<boolean> {
  try {
    await p;
    return false;
  } catch (e) {
    if (isStoreError(e, 'INUSE')) return true;
    throw e;
  }
}

describe('acquireMaildropLock', () => {
  it('is exclusive, names its holder, and release removes it', async () => {
    t = tempDir();
    const lockPath = join(t.dir, MAILDROP_LOCK_NAME);
    const release = await acquireMaildropLock(t.dir);
    expect(readFileSync(lockPath, 'utf8')).toBe(`${hostname()} ${process.pid}\n`);
    expect(await inUse(acquireMaildropLock(t.dir))).toBe(true);
    await release();
    expect(existsSync(lockPath)).toBe(false);
    await release(); // idempotent
    const again = await acquireMaildropLock(t.dir);
    await again();
  });

  it('breaks a lock whose holder process on this host is dead', async () => {
    t = tempDir();
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    writeFileSync(join(t.dir, MAILDROP_LOCK_NAME), `${hostname()} ${dead}\n`);
    const release = await acquireMaildropLock(t.dir);
    expect(readFileSync(join(t.dir, MAILDROP_LOCK_NAME), 'utf8')).toBe(`${hostname()} ${process.pid}\n`);
    await release();
  });

  it('respects a live holder on this host, however old the file', async () => {
    t = tempDir();
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
    try {
      const p = join(t.dir, MAILDROP_LOCK_NAME);
      writeFileSync(p, `${hostname()} ${child.pid}\n`);
      expect(await inUse(acquireMaildropLock(t.dir, { staleMs: 60_000 }))).toBe(true);
    } finally {
      child.kill();
    }
  });

  it('breaks a lock from another host that was not refreshed within staleMs, keeps a fresh one', async () => {
    t = tempDir();
    const p = join(t.dir, MAILDROP_LOCK_NAME);
    writeFileSync(p, 'elsewhere.example 4242\n');
    expect(await inUse(acquireMaildropLock(t.dir, { staleMs: 60_000 }))).toBe(true);
    const old = new Date(Date.now() - 120_000);
    utimesSync(p, old, old);
    const release = await acquireMaildropLock(t.dir, { staleMs: 60_000 });
    await release();
  });

  it('the holder refreshes the mtime, so a long session is not taken for stale', async () => {
    t = tempDir();
    const p = join(t.dir, MAILDROP_LOCK_NAME);
    const release = await acquireMaildropLock(t.dir, { staleMs: 60 });
    const old = new Date(Date.now() - 3_600_000);
    utimesSync(p, old, old);
    for (let i = 0; i < 300 && statSync(p).mtimeMs < Date.now() - 3_000_000; i++) await new Promise((r) => setTimeout(r, 10));
    expect(statSync(p).mtimeMs).toBeGreaterThan(Date.now() - 3_000_000);
    await release();
  });

  it('release does not remove a lock that is no longer ours', async () => {
    t = tempDir();
    const p = join(t.dir, MAILDROP_LOCK_NAME);
    const release = await acquireMaildropLock(t.dir);
    writeFileSync(p, 'elsewhere.example 1\n');
    await release();
    expect(readFileSync(p, 'utf8')).toBe('elsewhere.example 1\n');
  });
});
