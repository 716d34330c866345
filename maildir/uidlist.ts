/**
 * The uidlist (`mailroom-uidlist` in each folder): the durable map from a
 * message's base name to its UID.
 *
 *   1 V<uidvalidity> N<uidnext>\n          header
 *   <uid> <base>\n                          one line per message, uids increasing
 *
 * Why it is shaped like this (after Dovecot's maildir-uidlist.c):
 * - New UIDs are assigned by appending lines, under the folder's dot-lock, with
 *   O_APPEND writes of whole lines (one for an APPEND's few) followed by
 *   fdatasync: a UID handed to a client must survive a crash, or it could be
 *   given to another message.
 *   The header is not rewritten on append; UIDNEXT is max(N, last uid + 1).
 * - Readers never lock: they remember how many bytes they have consumed and
 *   read only the tail on the next sync. A trailing line without '\n' is a
 *   write in progress and is left for the next read.
 * - A line may name a file that does not exist: its message was expunged,
 *   or (APPEND takes its UID while the rename's directory is fsync'd) a
 *   crash lost the rename. Such a line is dead, like an expunged one.
 * - When expunged lines pile up the file is rewritten (tmp, fsync, rename)
 *   under the lock. Readers notice the new inode and re-read from the start;
 *   the UIDs of surviving messages are unchanged, so that is harmless.
 * - The file is created atomically with link(2) from a complete tmp file, so
 *   two processes opening a fresh folder at once agree on one UIDVALIDITY.
 *   A folder another program filled gets its first numbering in that same
 *   file (createNumbered), without the lock: nobody can append to a file
 *   that does not exist yet, and link(2) lets only one creator win.
 */
import { closeSync, fdatasync, fstatSync, fsync, linkSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { link, open, stat, unlink } from 'node:fs/promises';
import { errnoCode, StoreError } from './errors.js';
import { fsyncDir } from './fsutil.js';
import { withDotLock } from './dotlock.js';
import { LineBuffer } from './line-buffer.js';

export const UIDLIST_FILE = 'mailroom-uidlist';
const LOCK_FILE = 'mailroom-uidlist.lock';

export interface UidEntry {
  uid: number;
  base: string;
}

export interface UidlistRead {
  /** true when the file was replaced or first read: `entries` is then the whole list */
  reset: boolean;
  entries: UidEntry[];
}

export class Uidlist {
  readonly path: string;
  readonly lockPath: string;
  uidValidity = 0;
  private headerNext = 1;
  private lastUid = 0;
  private ino = -1;
  private offset = 0;

  constructor(readonly dir: string) {
    this.path = `${dir}/${UIDLIST_FILE}`;
    this.lockPath = `${dir}/${LOCK_FILE}`;
  }

  get uidNext(): number {
    return Math.max(this.headerNext, this.lastUid + 1);
  }

  /** Create the file if it does not exist. Returns false if someone else created it first. */
  static async create(dir: string, uidValidity: number, uidNext = 1, entries: UidEntry[] = []): Promise<boolean> {
    const path = `${dir}/${UIDLIST_FILE}`;
    const tmp = `${path}.new.${process.pid}.${Math.random().toString(36).slice(2)}`;
    await writeAll(tmp, render(uidValidity, uidNext, entries));
    try {
      await link(tmp, path);
      await fsyncDir(dir);
      return true;
    } catch (e) {
      if (errnoCode(e) === 'EEXIST') return false;
      throw e;
    } finally {
      await unlink(tmp).catch(() => {});
    }
  }

  /**
   * Create the file holding `bases` already numbered 1, 2, … in order: a
   * folder's first numbering written with the file (one write and one fsync)
   * rather than an empty file followed by a locked append with a datasync of
   * its own. No lock is needed: link(2) makes the whole file appear at once
   * or fail with EEXIST, and nobody appends to a file that does not exist.
   * Returns false, changing nothing, if someone else created the file first.
   * On success this reader stands at the end of what it wrote.
   */
  async createNumbered(uidValidity: number, bases: readonly string[]): Promise<boolean> {
    const tmp = `${this.path}.new.${process.pid}.${Math.random().toString(36).slice(2)}`;
    // Blocking open, writes, close, link and unlink (none waits for the
    // disk); only the two syncs go to the thread pool (see append()).
    const fd = openSync(tmp, 'wx', 0o600);
    let size: number;
    let ino: number;
    try {
      const header = Buffer.from(headerLine(uidValidity, bases.length + 1));
      for (let off = 0; off < header.length; ) off += writeSync(fd, header, off, header.length - off);
      size = header.length + writeLines(fd, 1, bases);
      await new Promise<void>((resolve, reject) => fsync(fd, (e) => (e ? reject(e) : resolve())));
      ino = fstatSync(fd).ino;
    } catch (e) {
      closeSync(fd);
      unlinkQuietly(tmp);
      throw e;
    }
    closeSync(fd);
    try {
      linkSync(tmp, this.path);
    } catch (e) {
      if (errnoCode(e) === 'EEXIST') return false;
      throw e;
    } finally {
      unlinkQuietly(tmp);
    }
    await fsyncDir(this.dir);
    this.resume({ uidValidity, ino, offset: size, next: bases.length + 1, lastUid: bases.length });
    return true;
  }

  async exists(): Promise<boolean> {
    try {
      await stat(this.path);
      return true;
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return false;
      throw e;
    }
  }

  /** Read what is new since the last read (everything on the first read or after a rewrite). */
  async read(): Promise<UidlistRead> {
    // Blocking reads: the tail of a file that only grows, read on every sync
    // (and under the lock on every APPEND); read-only calls never wait for
    // the journal, and through fs promises each is a thread-pool round trip.
    let fd: number;
    try {
      fd = openSync(this.path, 'r');
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') throw new StoreError('NONEXISTENT', `No uidlist in ${this.dir}`);
      throw e;
    }
    try {
      const st = fstatSync(fd);
      let reset = false;
      if (st.ino !== this.ino || st.size < this.offset) {
        reset = true;
        this.ino = st.ino;
        this.offset = 0;
        this.lastUid = 0;
      }
      if (st.size === this.offset) return { reset, entries: [] };
      const buf = Buffer.allocUnsafe(st.size - this.offset);
      let got = 0;
      while (got < buf.length) {
        const bytesRead = readSync(fd, buf, got, buf.length - got, this.offset + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return { reset, entries: this.consume(buf.subarray(0, got)) };
    } finally {
      closeSync(fd);
    }
  }

  private consume(buf: Buffer): UidEntry[] {
    const entries: UidEntry[] = [];
    let pos = 0;
    for (;;) {
      const nl = buf.indexOf(10, pos);
      if (nl < 0) break;
      const lineStart = pos;
      pos = nl + 1;
      if (this.offset === 0 && lineStart === 0) {
        this.parseHeader(buf.toString('latin1', 0, nl));
        continue;
      }
      // "<uid> <base>"
      let uid = 0;
      let i = lineStart;
      for (; i < nl; i++) {
        const c = buf[i];
        if (c < 48 || c > 57) break;
        uid = uid * 10 + (c - 48);
      }
      if (i === lineStart || buf[i] !== 32 || i + 1 >= nl || uid <= this.lastUid) continue; // garbage: skip
      entries.push({ uid, base: buf.toString('utf8', i + 1, nl) });
      this.lastUid = uid;
    }
    this.offset += pos;
    return entries;
  }

  private parseHeader(line: string): void {
    const v = /(?:^|\s)V(\d+)/.exec(line);
    const n = /(?:^|\s)N(\d+)/.exec(line);
    if (!v) throw new StoreError('SERVERBUG', `Bad uidlist header in ${this.path}`);
    this.uidValidity = Number(v[1]);
    this.headerNext = n ? Number(n[1]) : 1;
  }

  /** Run fn under the folder's dot-lock (held for milliseconds). */
  lock<T>(fn: () => Promise<T>): Promise<T> {
    return withDotLock(this.lockPath, fn, { staleMs: 10_000 });
  }

  /**
   * Assign the next UIDs to `bases`, in order: bases[k] gets the returned
   * first UID + k. The caller holds the lock and has just called read(), so
   * uidNext is current.
   */
  async append(bases: readonly string[]): Promise<number> {
    const first = this.uidNext;
    if (bases.length === 0) return first;
    // Open, write, fstat and close block (microseconds, and each through the
    // thread pool would add a hand-off to an APPEND's latency); only the
    // datasync, which waits for the disk, goes to the pool.
    const fd = openSync(this.path, 'a');
    try {
      const written = writeLines(fd, first, bases);
      await new Promise<void>((resolve, reject) => fdatasync(fd, (e) => (e ? reject(e) : resolve())));
      const st = fstatSync(fd);
      // Our write is the tail of the file (we hold the lock): consume it as read.
      if (st.ino === this.ino && st.size === this.offset + written) {
        this.offset = st.size;
        this.lastUid = first + bases.length - 1;
      } else {
        this.ino = -1; // let the next read() start over
      }
    } finally {
      closeSync(fd);
    }
    return first;
  }

  /** Rewrite with only `live` entries (caller holds the lock and has read() everything). */
  async rewrite(live: readonly UidEntry[]): Promise<void> {
    const next = this.uidNext;
    const tmp = `${this.path}.new.${process.pid}.${Math.random().toString(36).slice(2)}`;
    await writeAll(tmp, render(this.uidValidity, next, live));
    const { rename } = await import('node:fs/promises');
    await rename(tmp, this.path);
    await fsyncDir(this.dir);
    this.ino = -1; // re-read from the new file next time
    this.offset = 0;
  }

  /** Where reading stands, to resume from a snapshot in another process. */
  position(): { ino: number; offset: number; next: number; lastUid: number } {
    return { ino: this.ino, offset: this.offset, next: this.headerNext, lastUid: this.lastUid };
  }

  /**
   * Resume reading at a recorded position (a snapshot). The next read()
   * checks the inode and size itself, so a wrong position only costs a re-read.
   */
  resume(p: { uidValidity: number; ino: number; offset: number; next: number; lastUid: number }): void {
    this.uidValidity = p.uidValidity;
    this.ino = p.ino;
    this.offset = p.offset;
    this.headerNext = p.next;
    this.lastUid = p.lastUid;
  }

  /** Bytes of lines read so far; with the live count this tells when to rewrite. */
  get linesBytes(): number {
    return this.offset;
  }
}

/** The first line (version 1): UIDVALIDITY and the next UID to give. */
function headerLine(uidValidity: number, uidNext: number): string {
  return `1 V${uidValidity} N${uidNext}\n`;
}

/** A whole uidlist: the header and one line per entry (see LineBuffer). */
function render(uidValidity: number, uidNext: number, entries: readonly UidEntry[]): Buffer {
  return LineBuffer.collect((out) => {
    const header = headerLine(uidValidity, uidNext);
    out.room(header.length);
    out.text(header);
    for (const e of entries) out.numbered(e.uid, e.base);
  });
}

/**
 * Writes `<first + k> <bases[k]>\n` for every k (see LineBuffer), each write
 * ending on a line boundary. Returns the bytes written.
 */
function writeLines(fd: number, first: number, bases: readonly string[]): number {
  let total = 0;
  const out = new LineBuffer((piece) => {
    for (let off = 0; off < piece.length; ) off += writeSync(fd, piece, off, piece.length - off);
    total += piece.length;
  });
  for (let k = 0; k < bases.length; k++) out.numbered(first + k, bases[k]);
  out.flush();
  return total;
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    /* gone already, or a leftover tmp name nobody reads */
  }
}

async function writeAll(path: string, bytes: Buffer): Promise<void> {
  const h = await open(path, 'wx', 0o600);
  try {
    await h.writeFile(bytes);
    await h.sync();
  } finally {
    await h.close();
  }
}

/** UIDVALIDITY, inode and size of a uidlist, from its first line (cheap). */
export async function readUidlistHead(path: string): Promise<{ uidValidity: number; ino: number; size: number } | null> {
  let h;
  try {
    h = await open(path, 'r');
  } catch {
    return null;
  }
  try {
    const st = await h.stat();
    const buf = Buffer.alloc(128);
    const { bytesRead } = await h.read(buf, 0, 128, 0);
    const m = /^\S+ V(\d+)/.exec(buf.toString('latin1', 0, bytesRead));
    return m ? { uidValidity: Number(m[1]), ino: st.ino, size: st.size } : null;
  } finally {
    await h.close();
  }
}
