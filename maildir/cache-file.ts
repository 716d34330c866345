/**
 * `mailroom-cache`: the persistent per-folder index cache (DESIGN.md "Index
 * cache", the on-disk part). It maps a message's Maildir basename (the file
 * name without `:2,<flags>`, so a flag change does not invalidate it) to what
 * parsing the message produced: its internal date and its MessageIndex.
 *
 * Format
 * ------
 *     mailroom-cache 2/<codec version>\n                 header (magic + versions)
 *     <crc32: 8 hex>\t<basename>\t<head JSON>\t<structure JSON>\n     one record per line
 *
 * The head is `[internalDate | null, search headers | null]` (raw values), the structure
 * the rest of the MessageIndex (envelope, body parts, sizes) or null, both in
 * the compact tuple form of cache-codec.ts. They are apart so that SEARCH
 * FROM/SUBJECT/… decodes a few hundred bytes per message, not the whole index.
 * The CRC covers `<basename>\t<head>\t<structure>` as written (UTF-8). JSON
 * never contains a raw newline or tab, so `\n` ends a record and `\t` ends
 * the head; basenames holding a tab, CR or LF are never written (kept in
 * memory only).
 * The last record for a basename wins; earlier ones are dead bytes until the
 * next compaction.
 *
 * Why this shape
 * --------------
 * - Appends by several processes. Each flush writes whole records with
 *   O_APPEND, one write() per batch of at most 1 MiB, so the kernel places
 *   every batch at the end of the file without interleaving it with another
 *   process's batch. A crash can still leave a partial last line; a reader
 *   stops before an unterminated line and reads it when it is complete. If
 *   someone appends after a crashed partial line, the two fuse into one line
 *   whose CRC fails and is skipped; the appender sees that its record did not
 *   come back when it re-reads the tail, and writes it again at its next flush.
 * - Garbage anywhere (a torn sector, a hand edit, a wrong tool) costs only the
 *   lines it touches: every line carries its own CRC. A wrong magic or version
 *   makes the whole file ignored; the next flush replaces it (tmp + rename).
 * - A cheap open. Opening reads the file sequentially in 1 MiB chunks, checks
 *   each line's CRC and keeps, per distinct basename, only the basename string
 *   (a Map key) and the record's offset and length (typed arrays): no JSON is
 *   parsed at open. get() reads the record back (pread through a 256 KiB
 *   read-ahead window, since reads mostly go in file order) and parses it
 *   then; it checks that the record is still the one indexed by its CRC
 *   field, not by computing the CRC again (see sameRecord).
 *   So the resident cost is about one Map entry per message, not one
 *   MessageIndex per message, and a folder of 100,000 messages does not hold
 *   100,000 parsed structures.
 * - Nothing decoded is kept: each get() returns a fresh object (the caller
 *   keeps what it needs). Measured on 100,000 entries, even a 64-entry memo of
 *   decoded entries doubled the time to read them all, because memo'd objects
 *   survive young-generation collections and get promoted to the old one.
 *   For the same reason put() keeps what it buffers as encoded lines, not as
 *   the objects it was given.
 * - A cheap refresh. The file only grows between compactions, so "what did
 *   other processes append" is one stat(): same inode and same size means
 *   nothing changed; a larger size means scan the new tail; another inode
 *   (someone compacted) or a smaller size means reload; no file means it was
 *   deleted, and the cache starts empty (deleting the cache loses nothing).
 * - Compaction writes live records to a temporary file in the folder and
 *   renames it over the cache. A process still holding the old file keeps
 *   reading consistent (old) bytes through its open descriptor, notices the
 *   new inode at its next refresh and reloads. Appends that race a compaction
 *   can land in the unlinked old file and be lost; it is a cache, and the
 *   message is simply parsed again. No fsync anywhere, for the same reason.
 *
 * Errors never escape: I/O failures are passed to the optional `onError`
 * and the cache degrades to memory only for what it could not persist.
 */
import { constants as fsc } from 'node:fs';
import { readSync, statSync } from 'node:fs';
import { open, rename, stat, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { MessageIndex, SearchHeaders } from './mime/types.js';
import { errnoCode } from './errors.js';
import { CODEC_VERSION, decodeHeaderTuple, decodeStructure, encodeHeaders, encodeStructure } from './cache-codec.js';
import { crc32 } from './cache-crc.js';

export interface CachedMessage {
  internalDate?: number;
  index?: MessageIndex;
}

export interface CacheFileOptions {
  /** told about I/O errors the cache swallowed (it never throws them) */
  onError?: (e: unknown) => void;
}

export const CACHE_FILE_NAME = 'mailroom-cache';
const HEADER = Buffer.from(`mailroom-cache 2/${CODEC_VERSION}\n`, 'latin1');

const NL = 0x0a;
const TAB = 0x09;
/** read size when scanning the file, and the upper bound of one append write */
const CHUNK = 1 << 20;
/** read-ahead window of get() */
const WINDOW = 256 << 10;
/** a "line" longer than this is garbage: skip to the next newline */
const MAX_RECORD = 64 << 20;

/** A checked record in a buffer: head JSON at [head, split), structure JSON at (split, end). */
interface RecordSpan {
  buf: Buffer;
  head: number;
  split: number;
  end: number;
}

/** Where each basename's latest record is: the per-entry memory of an open cache. */
class RecordTable {
  /** basename → slot in the arrays below */
  readonly slots = new Map<string, number>();
  offsets = new Float64Array(1024);
  lengths = new Uint32Array(1024);
  /** each record's CRC as it was checked when indexed (see readRecord) */
  crcs = new Uint32Array(1024);
  /** valid records seen, superseded ones included (compaction counts the dead) */
  records = 0;

  set(base: string, offset: number, length: number, crc: number): void {
    this.records++;
    let slot = this.slots.get(base);
    if (slot === undefined) {
      slot = this.slots.size;
      if (slot === this.offsets.length) this.grow();
      this.slots.set(base, slot);
    }
    this.offsets[slot] = offset;
    this.lengths[slot] = length;
    this.crcs[slot] = crc;
  }

  private grow(): void {
    const offsets = new Float64Array(this.offsets.length * 2);
    offsets.set(this.offsets);
    const lengths = new Uint32Array(this.lengths.length * 2);
    lengths.set(this.lengths);
    const crcs = new Uint32Array(this.crcs.length * 2);
    crcs.set(this.crcs);
    this.offsets = offsets;
    this.lengths = lengths;
    this.crcs = crcs;
  }
}

/** Unsigned value of 8 hex digits at `at`, or -1. */
function readHex8(buf: Buffer, at: number): number {
  let v = 0;
  for (let i = at; i < at + 8; i++) {
    const c = buf[i];
    let d: number;
    if (c >= 0x30 && c <= 0x39) d = c - 0x30;
    else if (c >= 0x61 && c <= 0x66) d = c - 0x57;
    else return -1;
    v = v * 16 + d;
  }
  return v;
}

/**
 * If `buf[start, end)` (a line without its newline) is a well-formed record,
 * the index of the tab between basename and payload; otherwise -1.
 */
function checkRecord(buf: Buffer, start: number, end: number): number {
  if (end - start < 12 || buf[start + 8] !== TAB) return -1;
  const want = readHex8(buf, start);
  if (want < 0 || crc32(buf.subarray(start + 9, end)) !== want) return -1;
  const tab = buf.indexOf(TAB, start + 9);
  return tab > start + 9 && tab < end ? tab : -1;
}

/**
 * checkRecord for a line already checked when it was indexed: whether it is
 * still that record (the same CRC field and shape), without computing the
 * CRC again. The file is append-only between compactions, which replace it
 * by rename, so bytes under an open descriptor change only by damage or a
 * hand edit in place; a record rewritten whole shows another CRC, a damaged
 * byte inside one is trusted as a damaged message file would be. (Computing
 * the CRC of every record again took a fifth of a SEARCH FROM on 100,000
 * cached messages.)
 */
function sameRecord(buf: Buffer, start: number, end: number, crc: number): number {
  if (end - start < 12 || buf[start + 8] !== TAB || readHex8(buf, start) !== crc) return -1;
  const tab = buf.indexOf(TAB, start + 9);
  return tab > start + 9 && tab < end ? tab : -1;
}

function persistable(base: string): boolean {
  return base.length > 0 && !/[\t\r\n]/.test(base);
}

function encodeRecord(base: string, m: CachedMessage): Buffer {
  const head = JSON.stringify([m.internalDate ?? null, m.index === undefined ? null : encodeHeaders(m.index.headers)]);
  const structure = m.index === undefined ? 'null' : JSON.stringify(encodeStructure(m.index));
  // Written once, in place, each part where it goes (joining them into one
  // string first cost a flattened copy of the whole record); the CRC is
  // computed over the bytes where they lie.
  const baseLength = Buffer.byteLength(base, 'utf8');
  const headLength = Buffer.byteLength(head, 'utf8');
  const line = Buffer.allocUnsafe(9 + baseLength + 1 + headLength + 1 + Buffer.byteLength(structure, 'utf8') + 1);
  let at = 9 + line.write(base, 9, 'utf8');
  line[at++] = TAB;
  at += line.write(head, at, 'utf8');
  line[at++] = TAB;
  line.write(structure, at, 'utf8');
  line.write(crc32(line.subarray(9, line.length - 1)).toString(16).padStart(8, '0'), 0, 'latin1');
  line[8] = TAB;
  line[line.length - 1] = NL;
  return line;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The head of a record: `[internalDate | null, headers | null]`; undefined when malformed. */
function decodeHead(text: string): { internalDate?: number; headers?: SearchHeaders } | undefined {
  const v = parseJson(text);
  if (!Array.isArray(v) || v.length !== 2) return undefined;
  const out: { internalDate?: number; headers?: SearchHeaders } = {};
  if (typeof v[0] === 'number' && Number.isFinite(v[0])) out.internalDate = v[0];
  else if (v[0] !== null) return undefined;
  if (v[1] !== null) {
    // Malformed headers cost only the index: the date is still good.
    const headers = decodeHeaderTuple(v[1]);
    if (headers !== undefined) out.headers = headers;
  }
  return out;
}

function decodePayload(head: string, structure: string): CachedMessage | undefined {
  const h = decodeHead(head);
  if (h === undefined) return undefined;
  const out: CachedMessage = {};
  if (h.internalDate !== undefined) out.internalDate = h.internalDate;
  if (h.headers !== undefined) {
    const index = decodeStructure(parseJson(structure), h.headers);
    if (index !== undefined) out.index = index;
  }
  return out;
}

/** A record line as encodeRecord wrote it, decoded (it was made here: its CRC is not checked again). */
function decodeLine(line: Buffer): CachedMessage | undefined {
  const headStart = line.indexOf(TAB, 9) + 1;
  const split = line.indexOf(TAB, headStart);
  return decodePayload(line.toString('utf8', headStart, split), line.toString('utf8', split + 1, line.length - 1));
}

export class CacheFile {
  readonly path: string;
  private readonly onError: (e: unknown) => void;

  private fh: FileHandle | null = null;
  private readOnly = false;
  private dev = 0n;
  private ino = 0n;
  /** bytes of the file examined so far; always at a line boundary */
  private scanned = 0;
  /** the header line has been read and is ours */
  private headerOk = false;
  /** the file has a foreign header: ignore it, replace it at the next flush */
  private broken = false;
  /** the scan stopped inside an over-long garbage line: skip to its newline */
  private skippingGarbage = false;
  private table = new RecordTable();

  /**
   * put() but not yet flushed, as the record lines to write: encoded at
   * put() rather than at flush, so that the parsed MessageIndex a cold FETCH
   * hands over becomes garbage with its response instead of surviving
   * young-generation collections until the flush (which promoted it to the
   * old one: with hundreds pending, every scavenge copied them).
   */
  private pending = new Map<string, Buffer>();
  /** being written by flush(): still served by get() until the scan indexes them */
  private flushing = new Map<string, Buffer>();
  /** entries that can never be written (basename with tab/CR/LF) */
  private readonly volatile = new Map<string, CachedMessage>();

  /** get()'s read-ahead: `window` holds file bytes from `windowStart`, inside `windowBuf` */
  private windowBuf: Buffer | undefined;
  private window: Buffer = Buffer.alloc(0);
  private windowStart = 0;
  /** what readRecord returns, reused: one record is looked at at a time */
  private readonly span: RecordSpan = { buf: Buffer.alloc(0), head: 0, split: 0, end: 0 };

  /** serialises the async operations so that two scans never index the same bytes */
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(folderDir: string, o: CacheFileOptions) {
    this.path = join(folderDir, CACHE_FILE_NAME);
    const report = o.onError;
    // A throwing reporter must not poison the operation queue.
    this.onError = (e) => {
      try {
        report?.(e);
      } catch {
        // nowhere left to report to
      }
    };
  }

  /** Never throws: a missing, corrupt or unreadable file gives an empty cache. */
  static async open(folderDir: string, o: CacheFileOptions = {}): Promise<CacheFile> {
    const c = new CacheFile(folderDir, o);
    await c.exclusive(() => c.reload());
    return c;
  }

  get size(): number {
    let n = this.table.slots.size;
    for (const k of this.pending.keys()) if (!this.table.slots.has(k)) n++;
    for (const k of this.flushing.keys()) if (!this.table.slots.has(k) && !this.pending.has(k)) n++;
    for (const k of this.volatile.keys()) if (!this.table.slots.has(k)) n++;
    return n;
  }

  has(base: string): boolean {
    return this.pending.has(base) || this.flushing.has(base) || this.volatile.has(base) || this.table.slots.has(base);
  }

  get(base: string): CachedMessage | undefined {
    const buffered = this.buffered(base);
    if (buffered !== undefined) return buffered;
    const r = this.record(base);
    if (r === undefined) return undefined;
    const m = decodePayload(r.buf.toString('utf8', r.head, r.split), r.buf.toString('utf8', r.split + 1, r.end));
    if (m === undefined) this.table.slots.delete(base); // (as record() does with a bad CRC)
    return m;
  }

  /**
   * Just the search headers of `base` (what SEARCH FROM/TO/CC/BCC/SUBJECT
   * need), without decoding the rest of its index.
   */
  headers(base: string): SearchHeaders | undefined {
    const buffered = this.buffered(base);
    if (buffered !== undefined) return buffered.index?.headers;
    return this.storedHead(base)?.headers;
  }

  /** Just the internal date of `base` (the head of its record), without decoding its index. */
  internalDate(base: string): number | undefined {
    const buffered = this.buffered(base);
    if (buffered !== undefined) return buffered.internalDate;
    return this.storedHead(base)?.internalDate;
  }

  /** The head of the stored record of `base`, decoded (a malformed one is forgotten). */
  private storedHead(base: string): ReturnType<typeof decodeHead> {
    const r = this.record(base);
    if (r === undefined) return undefined;
    const h = decodeHead(r.buf.toString('utf8', r.head, r.split));
    if (h === undefined) this.table.slots.delete(base);
    return h;
  }

  /**
   * The head of the stored record of `base` as its JSON bytes (UTF-8), or
   * undefined when there is none or the entry is only in memory (see
   * headers()). Use them at once: they are the read-ahead window's, which
   * the next read reuses.
   */
  headBytes(base: string): Buffer | undefined {
    if (this.buffered(base) !== undefined) return undefined;
    const r = this.record(base);
    return r === undefined ? undefined : r.buf.subarray(r.head, r.split);
  }

  private buffered(base: string): CachedMessage | undefined {
    // (the size checks keep the common case, nothing buffered, to one Map lookup)
    if (this.pending.size === 0 && this.flushing.size === 0 && this.volatile.size === 0) return undefined;
    const line = this.pending.get(base) ?? this.flushing.get(base);
    return line !== undefined ? decodeLine(line) : this.volatile.get(base);
  }

  /**
   * The stored record of `base`, checked: where its head and structure lie
   * in the read-ahead window (use at once: the next read reuses both).
   */
  private record(base: string): RecordSpan | undefined {
    const slot = this.table.slots.get(base);
    if (slot === undefined) return undefined;
    const t = this.table;
    const r = this.readRecord(t.offsets[slot], t.lengths[slot], t.crcs[slot]);
    // Unreadable now (the file changed in place under us): forget it.
    if (r === undefined) this.table.slots.delete(base);
    return r;
  }

  /** entries put() and not yet handed to a flush */
  get unflushed(): number {
    return this.pending.size;
  }

  /** Buffers `m` merged over what is known for `base`; written by the next flush(). */
  put(base: string, m: CachedMessage): void {
    this.putOver(base, m, this.get(base));
  }

  /**
   * put() for a caller that has just had `prev` from get(base), with nothing
   * run since: the entry is not looked up again (a cold FETCH of a big
   * folder puts every message it parses).
   */
  putOver(base: string, m: CachedMessage, prev: CachedMessage | undefined): void {
    const merged: CachedMessage = {};
    const internalDate = m.internalDate ?? prev?.internalDate;
    if (internalDate !== undefined) merged.internalDate = internalDate;
    const index = m.index ?? prev?.index;
    if (index !== undefined) merged.index = index;
    if (internalDate === undefined && index === undefined) return;
    if (prev !== undefined && prev.internalDate === merged.internalDate && prev.index === merged.index) return;
    if (!persistable(base)) {
      this.volatile.set(base, merged);
      return;
    }
    this.pending.set(base, encodeRecord(base, merged));
  }

  /** Reads what other processes appended since the last look. */
  refresh(): Promise<void> {
    return this.exclusive(() => this.refreshLocked());
  }

  /** Appends the buffered entries (whole records, O_APPEND, no fsync). */
  flush(): Promise<void> {
    return this.exclusive(() => this.flushLocked());
  }

  /**
   * Rewrites the file without the records of basenames not in `live` and
   * without superseded records, when those dead records outnumber half the
   * live ones (so calling this after every sync is cheap).
   */
  compact(live: ReadonlySet<string>): Promise<void> {
    return this.exclusive(() => this.compactLocked(live));
  }

  async close(): Promise<void> {
    await this.exclusive(async () => {
      if (this.closed) return;
      await this.flushLocked();
      this.closed = true;
      await this.closeHandle();
    });
  }

  // ------------------------------------------------------------ internals

  private exclusive(op: () => Promise<void>): Promise<void> {
    const run = this.queue.then(async () => {
      try {
        await op();
      } catch (e) {
        this.onError(e);
      }
    });
    this.queue = run;
    return run;
  }

  private async closeHandle(): Promise<void> {
    const fh = this.fh;
    this.fh = null;
    this.window = Buffer.alloc(0);
    if (fh !== null) await fh.close().catch(this.onError);
  }

  /** Drops everything read from the file (not the buffered puts). */
  private async resetFileState(): Promise<void> {
    await this.closeHandle();
    this.table = new RecordTable();
    this.scanned = 0;
    this.headerOk = false;
    this.broken = false;
    this.skippingGarbage = false;
  }

  /** (Re)opens the file at `path` from scratch and indexes it. */
  private async reload(): Promise<void> {
    await this.resetFileState();
    if (this.closed) return;
    let fh: FileHandle;
    try {
      fh = await open(this.path, fsc.O_RDWR | fsc.O_APPEND);
      this.readOnly = false;
    } catch (e) {
      const code = errnoCode(e);
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      if (code !== 'EACCES' && code !== 'EPERM' && code !== 'EROFS') throw e;
      fh = await open(this.path, fsc.O_RDONLY);
      this.readOnly = true;
    }
    this.fh = fh;
    const st = await fh.stat({ bigint: true });
    this.dev = st.dev;
    this.ino = st.ino;
    await this.scan(Number(st.size));
  }

  private async refreshLocked(): Promise<void> {
    if (this.closed) return;
    let st;
    try {
      st = statSync(this.path, { bigint: true }); // blocking: one stat per refresh
    } catch (e) {
      const code = errnoCode(e);
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        // Deleted underneath: start over empty (a later flush recreates it).
        if (this.fh !== null) await this.resetFileState();
        return;
      }
      throw e;
    }
    const size = Number(st.size);
    if (this.fh === null || st.ino !== this.ino || st.dev !== this.dev || size < this.scanned) await this.reload();
    else if (size > this.scanned && !this.broken) await this.scan(size);
  }

  /**
   * Indexes complete lines from `scanned` up to `end`. The first line of the
   * file must be our header; a final line without its newline is left for the
   * next scan.
   */
  private async scan(end: number): Promise<void> {
    const fh = this.fh;
    if (fh === null) return;
    let carry: Buffer | null = null;
    let pos = this.scanned; // file offset of the first byte after `carry`
    while (pos < end && !this.broken) {
      const chunk = Buffer.allocUnsafe(Math.min(CHUNK, end - pos));
      const { bytesRead } = await fh.read(chunk, 0, chunk.length, pos);
      if (bytesRead === 0) break; // truncated meanwhile: the next refresh sees the smaller size
      const fresh = chunk.subarray(0, bytesRead);
      const buf: Buffer = carry === null ? fresh : Buffer.concat([carry, fresh]);
      const bufStart = pos - (carry === null ? 0 : carry.length);
      pos += bytesRead;
      let lineStart = 0;
      for (;;) {
        const nl = buf.indexOf(NL, lineStart);
        if (nl < 0) break;
        this.takeLine(buf, lineStart, nl, bufStart);
        lineStart = nl + 1;
        if (this.broken) break;
      }
      this.scanned = bufStart + lineStart;
      carry = lineStart < buf.length ? buf.subarray(lineStart) : null;
      if (carry !== null && carry.length > MAX_RECORD) {
        // No newline in sight: garbage. Skip it, resume after its newline.
        this.skippingGarbage = true;
        this.scanned = pos;
        carry = null;
      }
    }
  }

  private takeLine(buf: Buffer, start: number, end: number, bufStart: number): void {
    if (this.skippingGarbage) {
      this.skippingGarbage = false;
      return;
    }
    if (!this.headerOk) {
      if (bufStart + start !== 0) return; // cannot happen: the header is the file's first line
      if (end + 1 - start === HEADER.length && buf.compare(HEADER, 0, HEADER.length, start, end + 1) === 0) {
        this.headerOk = true;
      } else {
        this.broken = true;
      }
      return;
    }
    const tab = checkRecord(buf, start, end);
    if (tab < 0) return;
    const base = buf.toString('utf8', start + 9, tab);
    this.table.set(base, bufStart + start, end - start, readHex8(buf, start));
  }

  /** Reads and checks the record at `offset` (synchronously: get() is sync). */
  private readRecord(offset: number, length: number, crc: number): RecordSpan | undefined {
    if (this.fh === null) return undefined;
    let at = offset - this.windowStart;
    if (at < 0 || at + length > this.window.length) {
      const target = length <= WINDOW ? (this.windowBuf ??= Buffer.allocUnsafe(WINDOW)) : Buffer.allocUnsafe(length);
      this.window = Buffer.alloc(0);
      let n: number;
      try {
        n = readSync(this.fh.fd, target, 0, target.length, offset);
      } catch (e) {
        this.onError(e);
        return undefined;
      }
      if (n < length) return undefined;
      this.window = target.subarray(0, n);
      this.windowStart = offset;
      at = 0;
    }
    const tab = sameRecord(this.window, at, at + length, crc);
    if (tab < 0) return undefined;
    const end = at + length;
    const split = this.window.indexOf(TAB, tab + 1);
    if (split < 0 || split >= end) return undefined;
    const span = this.span;
    span.buf = this.window;
    span.head = tab + 1;
    span.split = split;
    span.end = end;
    return span;
  }

  /** Opens (creating) the file for appending, replacing it first if it is not ours. */
  private async writableHandle(): Promise<FileHandle | null> {
    if (this.fh !== null && this.readOnly) return null;
    if (this.fh === null) {
      const fh = await open(this.path, fsc.O_RDWR | fsc.O_APPEND | fsc.O_CREAT, 0o600);
      const st = await fh.stat({ bigint: true });
      this.fh = fh;
      this.readOnly = false;
      this.dev = st.dev;
      this.ino = st.ino;
    }
    const fh = this.fh;
    if (!this.headerOk && !this.broken) {
      // Two creators may both see it empty and both write a header: the
      // second header is then just a line whose CRC fails.
      if ((await fh.stat()).size === 0) await fh.write(HEADER);
      await this.scan((await fh.stat()).size);
      // Still no header: a foreign file without a newline in sight.
      if (!this.headerOk) this.broken = true;
    }
    if (this.broken) await this.replaceWith([]);
    return this.fh;
  }

  private async flushLocked(): Promise<void> {
    if (this.pending.size === 0) return;
    this.flushing = this.pending;
    this.pending = new Map();
    try {
      const fh = await this.writableHandle();
      if (fh === null) return;
      const records: Buffer[] = [];
      const bases: string[] = [];
      let bytes = 0;
      /** whether every batch so far was indexed where it was written (no read-back needed) */
      let indexed = true;
      const write = async () => {
        await this.writeAll(fh, records, bytes);
        if (indexed) indexed = this.indexOwnAppend(records, bases, bytes);
        records.length = 0;
        bases.length = 0;
        bytes = 0;
      };
      for (const [base, r] of this.flushing) {
        if (bytes + r.length > CHUNK && records.length > 0) await write();
        records.push(r);
        bases.push(base);
        bytes += r.length;
      }
      if (records.length > 0) await write();
      // Index what we (and anyone else) appended; our records come back with their offsets.
      if (!indexed) await this.refreshLocked();
      // A record that did not come back went to a file that was replaced or
      // deleted meanwhile (or was torn): the next flush writes it again.
      for (const [base, r] of this.flushing) {
        if (!this.table.slots.has(base) && !this.pending.has(base)) this.pending.set(base, r);
      }
    } finally {
      this.flushing = new Map();
    }
  }

  /**
   * After appending `records` (`bytes` in all) in one write: when the file at
   * our path is still the one we read and has grown by exactly those bytes
   * since the last scan, nobody else appended or replaced anything in
   * between (appends only add bytes), so our records lie at the end in order:
   * index them where they are without reading them back. Otherwise false,
   * and the caller scans (refreshLocked). Scanning our own records again was
   * a twentieth of a cold FETCH ENVELOPE (10,000 messages: ~30 ms).
   */
  private indexOwnAppend(records: readonly Buffer[], bases: readonly string[], bytes: number): boolean {
    if (!this.headerOk || this.broken || this.skippingGarbage) return false;
    let st;
    try {
      st = statSync(this.path, { bigint: true });
    } catch {
      return false;
    }
    if (st.ino !== this.ino || st.dev !== this.dev || Number(st.size) !== this.scanned + bytes) return false;
    let at = this.scanned;
    for (let k = 0; k < records.length; k++) {
      const r = records[k]!;
      // encodeRecord's line: <crc>\t<base>\t…\n; the table's length leaves out the newline
      this.table.set(bases[k]!, at, r.length - 1, readHex8(r, 0));
      at += r.length;
    }
    this.scanned = at;
    return true;
  }

  private async writeAll(fh: FileHandle, records: Buffer[], bytes: number): Promise<void> {
    const buf = records.length === 1 ? records[0] : Buffer.concat(records, bytes);
    let done = 0;
    // A short write on a regular file means a full disk or a signal; finishing it
    // may interleave with another writer, which the per-line CRC then catches.
    while (done < buf.length) {
      const { bytesWritten } = await fh.write(buf, done, buf.length - done);
      if (bytesWritten === 0) throw new Error(`${this.path}: write made no progress`);
      done += bytesWritten;
    }
  }

  private async compactLocked(live: ReadonlySet<string>): Promise<void> {
    await this.flushLocked();
    await this.refreshLocked();
    if (this.fh === null || this.readOnly || this.broken) return;
    const keep: string[] = [];
    for (const base of this.table.slots.keys()) if (live.has(base)) keep.push(base);
    const dead = this.table.records - keep.length;
    if (dead === 0 || dead <= keep.length / 2) return;
    await this.replaceWith(keep);
  }

  /**
   * Writes a new file holding the current records of `keep` (copied byte for
   * byte, in file order), renames it over the cache and switches to it.
   */
  private async replaceWith(keep: string[]): Promise<void> {
    const old = this.fh;
    const oldTable = this.table;
    const slots = keep.map((b) => oldTable.slots.get(b) ?? -1).filter((s) => s >= 0);
    slots.sort((a, b) => oldTable.offsets[a] - oldTable.offsets[b]);
    const tmpPath = `${this.path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    const tmp = await open(tmpPath, fsc.O_RDWR | fsc.O_APPEND | fsc.O_CREAT | fsc.O_EXCL, 0o600);
    try {
      const table = new RecordTable();
      const out: Buffer[] = [HEADER];
      let outBytes = HEADER.length;
      let written = 0;
      let src = Buffer.alloc(0);
      let srcStart = 0;
      for (const slot of slots) {
        const offset = oldTable.offsets[slot];
        const length = oldTable.lengths[slot];
        if (old === null) break;
        if (offset < srcStart || offset + length + 1 > srcStart + src.length) {
          const size = Math.max(length + 1, CHUNK);
          const b = Buffer.allocUnsafe(size);
          const { bytesRead } = await old.read(b, 0, size, offset);
          src = b.subarray(0, bytesRead);
          srcStart = offset;
          if (bytesRead < length + 1) continue;
        }
        const at = offset - srcStart;
        const tab = checkRecord(src, at, at + length);
        if (tab < 0) continue;
        const base = src.toString('utf8', at + 9, tab);
        table.set(base, written + outBytes, length, readHex8(src, at));
        out.push(src.subarray(at, at + length + 1));
        outBytes += length + 1;
        if (outBytes >= CHUNK) {
          await this.writeAll(tmp, out, outBytes);
          written += outBytes;
          out.length = 0;
          outBytes = 0;
        }
      }
      if (out.length > 0) await this.writeAll(tmp, out, outBytes);
      written += outBytes;
      await rename(tmpPath, this.path);
      const st = await tmp.stat({ bigint: true });
      // Switch in one synchronous step, so a get() sees either the old file and
      // table or the new ones.
      this.fh = tmp;
      this.readOnly = false;
      this.dev = st.dev;
      this.ino = st.ino;
      this.table = table;
      this.scanned = written;
      this.headerOk = true;
      this.broken = false;
      this.skippingGarbage = false;
      this.window = Buffer.alloc(0);
    } catch (e) {
      await tmp.close().catch(() => {});
      await unlink(tmpPath).catch(() => {});
      throw e;
    }
    if (old !== null) await old.close().catch(this.onError);
  }
}
