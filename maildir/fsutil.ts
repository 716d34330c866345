/**
 * Small file-system helpers with the durability rules of DESIGN.md:
 * a file is durable after fsync of the file, a rename after fsync of its directory.
 */
import { closeSync, fsync, openSync } from 'node:fs';
import { open, rename, unlink, mkdir } from 'node:fs/promises';
import { errnoCode } from './errors.js';

/**
 * Only the fsync goes to the thread pool: opening a directory read-only and
 * closing it are quick and never wait for the journal, so they are blocking
 * calls; through fs promises each would be another thread-pool round trip on
 * the way to an SMTP 250 or a delivery.
 */
async function syncDirNow(dir: string): Promise<void> {
  const fd = openSync(dir, 'r');
  try {
    await new Promise<void>((resolve, reject) => fsync(fd, (e) => (e ? reject(e) : resolve())));
  } finally {
    closeSync(fd);
  }
}

const noop = (): void => {};

/**
 * Group commit for one directory. A caller's change (a rename, an unlink) is
 * durable once an fsync of the directory that *started after* the change has
 * finished. So a caller who finds an fsync already running joins the next
 * one, and everyone who arrives while that one waits shares it: under load,
 * many deliveries into one new/ (or one queue directory) cost one fsync, not
 * one each, as in database group commit.
 */
export class DirSyncer {
  private inFlight: Promise<void> | null = null;
  private next: Promise<void> | null = null;

  constructor(
    private readonly sync: () => Promise<void>,
    private readonly idle: () => void = noop,
  ) {}

  request(): Promise<void> {
    if (this.inFlight === null) return this.start();
    // the fsync in flight may have begun before the caller's change: wait for the next
    this.next ??= this.inFlight.then(noop, noop).then(() => {
      this.next = null;
      return this.start();
    });
    return this.next;
  }

  private start(): Promise<void> {
    const p = this.sync();
    this.inFlight = p;
    void p.then(noop, noop).then(() => {
      if (this.inFlight !== p) return;
      this.inFlight = null;
      if (this.next === null) this.idle();
    });
    return p;
  }
}

const dirSyncers = new Map<string, DirSyncer>();

export function fsyncDir(dir: string): Promise<void> {
  let s = dirSyncers.get(dir);
  if (s === undefined) {
    const mine = new DirSyncer(() => syncDirNow(dir), () => {
      if (dirSyncers.get(dir) === mine) dirSyncers.delete(dir);
    });
    s = mine;
    dirSyncers.set(dir, s);
  }
  return s.request();
}

/** Write `data` to `path` atomically: tmp in the same directory, fsync, rename, fsync dir. */
export async function writeFileAtomic(path: string, data: string | Buffer, o: { durable?: boolean } = {}): Promise<void> {
  const durable = o.durable ?? true;
  const tmp = `${path}.tmp.${process.pid}.${Date.now()}.${Math.random().toString(36).slice(2)}`;
  const h = await open(tmp, 'wx', 0o600);
  try {
    await h.writeFile(data);
    if (durable) await h.sync();
  } catch (e) {
    await h.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw e;
  }
  await h.close();
  try {
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
  if (durable) await fsyncDir(dirOf(path));
}

export function dirOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? (i === 0 ? '/' : '.') : path.slice(0, i);
}

export async function mkdirp(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
}

/** unlink that treats "already gone" as success */
export async function unlinkIfExists(path: string): Promise<boolean> {
  try {
    await unlink(path);
    return true;
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return false;
    throw e;
  }
}

export async function readIfExists(path: string): Promise<Buffer | null> {
  const { readFile } = await import('node:fs/promises');
  try {
    return await readFile(path);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ENOTDIR') return null;
    throw e;
  }
}
