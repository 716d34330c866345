/**
 * Reading the files of the next messages of a folder together, for a FETCH
 * that parses every message it answers (a cold `FETCH 1:* (ENVELOPE
 * BODYSTRUCTURE)`: the first look at a folder).
 *
 * Why: reading one small file is four system calls (open, fstat, read,
 * close), and between two messages the parser and the response writer run
 * long enough to push the kernel's path lookup and file code out of the CPU
 * caches. Measured in a cold fetch, an open then cost ~12 µs, against ~4 µs
 * in a loop of opens. Reading up to MAX_WINDOW files in one go and then
 * parsing them one by one made the whole cold fetch 15-20% faster (10,000
 * and 100,000 messages, in-process).
 *
 * Only when the reads go forward: a window starts at one file and doubles
 * each time the next request lands just after the last window, up to
 * MAX_WINDOW; a request anywhere else starts again at one. A FETCH of
 * scattered messages therefore never reads files it does not want.
 * Messages already in the index cache are skipped (nothing to parse).
 *
 * The bytes live in one process-wide arena, owned by the last reader to
 * fill it: a session that reads ahead, awaits its socket, and finds on its
 * return that another session refilled the arena simply reads again. A
 * window also remembers each file by its basename, so a row that now holds
 * another message (a sync in between) is never answered from it.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** What the read-ahead needs to know of a folder's messages, by row. */
export interface ReadAheadRows {
  /** rows in the folder */
  readonly count: number;
  /** the message's basename (the file name without its flags) */
  base(row: number): string;
  path(row: number): string;
  /** the size its name says, 0 when unknown */
  namedSize(row: number): number;
  /** false for a message there is no need to read (its index is cached) */
  wanted(row: number): boolean;
}

/** A read file: its bytes (a view of the arena: use before the next read) and mtime. */
export interface ReadFile {
  buf: Buffer;
  mtimeMs: number;
}

/** at most this many files read in one go */
const MAX_WINDOW = 32;
/** room for the files of one window; a file that does not fit ends the window */
const ARENA_SIZE = 1 << 20;
/** a request this far past the last window still counts as going forward (rows in between were cached) */
const FORWARD_SLACK = 64;

let arena: Buffer | undefined;
let arenaOwner: SmallFileReadAhead | undefined;

export class SmallFileReadAhead {
  /** files in the current window, with where their bytes lie in the arena */
  private n = 0;
  private readonly rows = new Int32Array(MAX_WINDOW);
  private readonly bases: string[] = [];
  private readonly starts = new Int32Array(MAX_WINDOW + 1);
  private readonly mtimes = new Float64Array(MAX_WINDOW);
  /** how many files the next window reads */
  private window = 1;
  /** the first row of the current window, and the last it looked at (cached rows included); -1 before the first */
  private firstRow = -1;
  private reachedRow = -1;

  /** Files bigger than `maxSize` are never read here (the caller streams them). */
  constructor(private readonly maxSize: number) {
    if (maxSize > ARENA_SIZE) throw new RangeError('maxSize exceeds the read-ahead arena');
  }

  /**
   * The bytes and mtime of the file at `row`, from the current window or
   * read now with the next ones; null when it cannot be read (gone, or
   * bigger than maxSize).
   */
  read(rows: ReadAheadRows, row: number): ReadFile | null {
    const base = rows.base(row);
    if (arenaOwner === this) {
      for (let k = 0; k < this.n; k++) {
        if (this.rows[k] === row && this.bases[k] === base) {
          return { buf: arena!.subarray(this.starts[k], this.starts[k + 1]), mtimeMs: this.mtimes[k] };
        }
      }
    }
    const forward = this.firstRow >= 0 && row > this.firstRow && row <= this.reachedRow + FORWARD_SLACK;
    this.window = forward ? Math.min(this.window * 2, MAX_WINDOW) : 1;
    return this.fill(rows, row, base);
  }

  /** Forgets the window (the folder changed under it, or is closed). */
  clear(): void {
    this.n = 0;
    this.bases.length = 0;
    if (arenaOwner === this) arenaOwner = undefined;
  }

  private fill(rows: ReadAheadRows, first: number, firstBase: string): ReadFile | null {
    arena ??= Buffer.allocUnsafe(ARENA_SIZE);
    arenaOwner = this;
    this.n = 0;
    this.bases.length = 0;
    let at = 0;
    let row = first;
    for (; row < rows.count && this.n < this.window; row++) {
      if (row !== first && !rows.wanted(row)) continue;
      const named = rows.namedSize(row);
      if (named > this.maxSize || (row !== first && at + named > ARENA_SIZE)) break;
      const got = readInto(rows.path(row), arena, at, Math.min(this.maxSize, ARENA_SIZE - at));
      if (got === null) {
        if (row === first) break;
        continue; // gone meanwhile: its own request will say so
      }
      if (got === 'too big') break;
      this.rows[this.n] = row;
      this.bases[this.n] = row === first ? firstBase : rows.base(row);
      this.starts[this.n] = at;
      this.mtimes[this.n] = got.mtimeMs;
      at += got.length;
      this.n++;
      this.starts[this.n] = at;
    }
    this.firstRow = first;
    this.reachedRow = row - 1;
    if (this.n === 0 || this.rows[0] !== first) return null;
    return { buf: arena.subarray(this.starts[0], this.starts[1]), mtimeMs: this.mtimes[0] };
  }
}

/**
 * Reads the whole file at `path` into `into` at `at` when it is at most
 * `room` bytes: its length and mtime; 'too big' when it is larger; null
 * when it cannot be opened.
 */
function readInto(path: string, into: Buffer, at: number, room: number): { length: number; mtimeMs: number } | 'too big' | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    const st = fstatSync(fd);
    if (st.size > room) return 'too big';
    let got = 0;
    while (got < st.size) {
      const n = readSync(fd, into, at + got, st.size - got, got);
      if (n === 0) break;
      got += n;
    }
    return { length: got, mtimeMs: st.mtimeMs };
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}
