/**
 * A session's handle on a folder: its own view (the UIDs it has announced,
 * its \Recent set, how far it has seen the change log) over the FolderIndex
 * that all handles of this process share. sync() reports to this handle only
 * what it has not seen yet; EXPUNGEs are never applied to the view until the
 * session asks (RFC 3501 7.4.1 is then the protocol layer's business).
 */
import { closeSync, createReadStream, fstatSync, openSync, readSync } from 'node:fs';
import { link, open, rename, stat, type FileHandle } from 'node:fs/promises';
import { InMemoryBytes, StreamedBytes } from './message-bytes.js';
import { errnoCode, StoreError } from './errors.js';
import { baseWithSizes, FLAG_DELETED, FLAG_SEEN, fileNameFor, KEYWORD_SHIFT, MAX_KEYWORDS, uniqueName } from './filename.js';
import { applyFlags, bitsFromFlags, flagsFromBits, undefinedKeywords } from './flags.js';
import type { FolderIndex, WrittenFile } from './folder-index.js';
import type { CachedMessage, CacheFile } from './cache-file.js';
import { fsyncDir } from './fsutil.js';
import { SmallFileReadAhead, type ReadAheadRows } from './read-ahead.js';
import { LOC_CUR } from './message-table.js';
import { writeMessage } from './deliver.js';
import type { MessageIndex, SearchHeaders } from './mime/types.js';
import { parseMessage, parseMessageNow } from './mime/parser.js';
import { evaluateSearch, needsIndex, type SearchCandidate } from './search/evaluate.js';
import type { SearchKey } from './search/query.js';
import { mayContainInJson } from './search/text.js';
import { headerValueSpan } from './cache-codec.js';
import type { Flag, Mailbox, MailboxChanges, MessageBytes, MessageMeta } from './types.js';
import type { MaildirQuota } from './quota.js';

/** What a handle needs from the user store around it. */
export interface MailboxContext {
  /** the FolderIndex of another folder of the same user (COPY/MOVE target) */
  folder(name: string): Promise<{ index: FolderIndex; name: string }>;
  quota: MaildirQuota;
  /** start watching the folder; returns a stop function */
  watch(index: FolderIndex): () => void;
  /** tell the store this handle is gone */
  released(handle: MaildirMailbox): void;
}

/** flag renames done blocking before the event loop gets a turn */
const RENAME_SLICE = 256;

/** Message files up to this size are read with blocking calls (see readSmallSync). */
const SYNC_READ_LIMIT = 256 * 1024;
/** where loadIndex() reads a small message to parse it (see there) */
const PARSE_SCRATCH = Buffer.allocUnsafe(SYNC_READ_LIMIT);

/** Messages up to this size are parsed from one read; larger ones stream. */
const WHOLE_READ_LIMIT = 1024 * 1024;

export class MaildirMailbox implements Mailbox {
  private view: number[] = [];
  private lastModseq = 0;
  private recentSet = new Set<number>();
  /** our own flag changes, by uid → modseq, so sync() does not echo them back */
  private own = new Map<number, number>();
  private unwatch: (() => void) | null = null;
  private unlisten: (() => void)[] = [];
  private closed = false;

  private constructor(
    readonly name: string,
    readonly idx: FolderIndex,
    readonly readOnly: boolean,
    private ctx: MailboxContext,
  ) {}

  static async open(name: string, idx: FolderIndex, readOnly: boolean, ctx: MailboxContext, watch = true): Promise<MaildirMailbox> {
    const mb = new MaildirMailbox(name, idx, readOnly, ctx);
    // Watched while open (unless the caller wants no outside changes, see
    // UserStore.open): change hints for listeners, and the index's
    // own-change accounting. The watch is set up before the first listing, so
    // that it already covers that listing: our own first change after the
    // open (a STORE) is then known by its events, and a big folder is not
    // listed again for it (100,000 messages: ~250 ms).
    if (watch) mb.unwatch = ctx.watch(idx);
    try {
      await idx.sync({ moveNew: !readOnly });
    } catch (e) {
      mb.unwatch?.();
      mb.unwatch = null;
      throw e;
    }
    const t = idx.table;
    mb.view = Array.from(t.uid.subarray(0, t.n));
    mb.lastModseq = idx.highestModseq;
    if (!readOnly) mb.claimRecent(mb.view);
    idx.handles.add(mb);
    return mb;
  }

  get uidValidity(): number {
    return this.idx.uidValidity;
  }

  get uidNext(): number {
    return this.idx.uidNext;
  }

  /** how far this handle has read the change log (for pruning it) */
  get seenModseq(): number {
    return this.lastModseq;
  }

  uids(): readonly number[] {
    return this.view;
  }

  keywords(): string[] {
    return this.idx.keywords.all();
  }

  meta(uid: number): MessageMeta | undefined {
    const i = this.idx.table.find(uid);
    if (i >= 0) return { uid, flags: flagsFromBits(this.idx.table.flags[i], this.idx.keywords), recent: this.recentSet.has(uid) };
    // expunged elsewhere but still in our view until we sync: last known flags
    if (!this.inView(uid)) return undefined;
    const rec = this.idx.expungeLog.find((r) => r.uid === uid);
    return { uid, flags: rec ? flagsFromBits(rec.flags, this.idx.keywords) : [], recent: this.recentSet.has(uid) };
  }

  messages(): MessageMeta[] {
    return this.view.map((u) => this.meta(u)).filter((m): m is MessageMeta => m !== undefined);
  }

  recentUids(): number[] {
    return [...this.recentSet].sort((a, b) => a - b);
  }

  firstUnseenUid(): number | null {
    const t = this.idx.table;
    for (const uid of this.view) {
      const i = t.find(uid);
      if (i >= 0 && !(t.flags[i] & FLAG_SEEN)) return uid;
    }
    return null;
  }

  private inView(uid: number): boolean {
    let lo = 0;
    let hi = this.view.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.view[mid] === uid) return true;
      if (this.view[mid] < uid) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  }

  private claimRecent(uids: readonly number[]): number[] {
    const got: number[] = [];
    const unclaimed = this.idx.unclaimedRecent;
    if (unclaimed.size === 0) return got; // the usual case, and a view may be 100,000 UIDs long
    for (const u of uids) {
      if (unclaimed.delete(u)) {
        this.recentSet.add(u);
        got.push(u);
      }
    }
    return got;
  }

  async sync(): Promise<MailboxChanges> {
    this.assertOpen();
    await this.idx.sync({ moveNew: !this.readOnly });
    const t = this.idx.table;
    const since = this.lastModseq;
    const viewMax = this.view.length ? this.view[this.view.length - 1] : 0;

    const expunged: number[] = [];
    for (const r of this.idx.expungeLog) if (r.modseq > since && r.uid <= viewMax && this.inView(r.uid)) expunged.push(r.uid);
    expunged.sort((a, b) => a - b);

    const flags: { uid: number; flags: Flag[] }[] = [];
    const firstNew = t.firstAbove(viewMax);
    // every modseq was once the index's highest: none above `since`, no row changed (the common NOOP)
    const changed = this.idx.highestModseq > since;
    for (let i = 0; changed && i < firstNew; i++) {
      const m = t.modseq[i];
      if (m <= since) continue;
      const uid = t.uid[i];
      if (this.own.get(uid) === m) continue;
      if (this.inView(uid)) flags.push({ uid, flags: flagsFromBits(t.flags[i], this.idx.keywords) });
    }
    const added = Array.from(t.uid.subarray(firstNew, t.n));

    if (expunged.length) {
      const gone = new Set(expunged);
      this.view = this.view.filter((u) => !gone.has(u));
      for (const u of expunged) this.recentSet.delete(u);
    }
    for (const u of added) this.view.push(u);
    const recent = this.readOnly ? [] : this.claimRecent(added);
    this.lastModseq = this.idx.highestModseq;
    this.own.clear();
    this.idx.pruneExpungeLog(this.minSeenModseq());
    return { added, recent, expunged, flags };
  }

  private minSeenModseq(): number {
    let min = Infinity;
    for (const h of this.idx.handles) min = Math.min(min, h.seenModseq);
    return min;
  }

  private row(uid: number): number {
    const i = this.idx.table.find(uid);
    if (i < 0) throw new StoreError('EXPUNGED', `Message ${uid} has been expunged`);
    return i;
  }

  /** Open a message's file; if it was renamed underneath us, sync once and retry. */
  private async openFile(uid: number): Promise<FileHandle> {
    for (let attempt = 0; ; attempt++) {
      const i = this.row(uid);
      try {
        return await open(this.idx.pathOf(i), 'r');
      } catch (e) {
        if (errnoCode(e) !== 'ENOENT') throw e;
        if (attempt > 0) throw new StoreError('EXPUNGED', `Message ${uid} has been expunged`);
        await this.idx.sync({ moveNew: false });
      }
    }
  }

  /**
   * A small message file read in one blocking call sequence, or null when it
   * is large (or vanished: the caller's async path then resyncs and retries).
   * Why blocking: for the small, page-cached files that most mail is, four
   * synchronous syscalls cost ~15 µs, while the same work through fs promises
   * costs ~120 µs of main-thread time and four thread-pool round trips
   * (measured: 1,000 corpus messages, 11 ms against ~120 ms). Dovecot reads
   * its files blocking too. Large files stay asynchronous and streamed.
   *
   * When the name gives the size (S=) and no mtime is wanted, there is no
   * fstat: one read asks for a byte more than the size, and a file that
   * turns out bigger than its name says is measured after all.
   */
  private readSmallSync(uid: number, o: { scratch?: Buffer; mtime?: boolean } = {}): { buf: Buffer; mtimeMs: number } | null {
    const i = this.idx.table.find(uid);
    const named = i < 0 ? 0 : this.idx.table.rawSize[i];
    if (i < 0 || named > SYNC_READ_LIMIT) return null;
    let fd: number;
    try {
      fd = openSync(this.idx.pathOf(i), 'r');
    } catch {
      return null;
    }
    try {
      if (named > 0 && named < SYNC_READ_LIMIT && !o.mtime) {
        const want = named + 1;
        const buf = o.scratch && o.scratch.length >= want ? o.scratch.subarray(0, want) : Buffer.allocUnsafe(want);
        let got = 0;
        while (got < want) {
          const n = readSync(fd, buf, got, want - got, got);
          if (n === 0) break;
          got += n;
          // Exactly the named size in hand, asked for a byte more: that is the
          // end of the file (a read of a regular file comes up short only
          // there), without the read that would return 0 to say so.
          if (got === named) break;
        }
        if (got < want) return { buf: buf.subarray(0, got), mtimeMs: 0 };
        // bigger than its name says: measured below
      }
      const st = fstatSync(fd);
      if (st.size > SYNC_READ_LIMIT) return null;
      const buf = o.scratch && o.scratch.length >= st.size ? o.scratch.subarray(0, st.size) : Buffer.allocUnsafe(st.size);
      let got = 0;
      while (got < st.size) {
        const n = readSync(fd, buf, got, st.size - got, got);
        if (n === 0) break;
        got += n;
      }
      return { buf: got === st.size ? buf : buf.subarray(0, got), mtimeMs: st.mtimeMs };
    } finally {
      closeSync(fd);
    }
  }

  readNow(uid: number, into?: Buffer): Buffer | null {
    this.assertOpen();
    return this.readSmallSync(uid, { scratch: into })?.buf ?? null;
  }

  async read(uid: number, range?: { start: number; length?: number }): Promise<MessageBytes> {
    this.assertOpen();
    const small = this.readSmallSync(uid);
    if (small) {
      const total = small.buf.length;
      const start = Math.min(Math.max(0, range?.start ?? 0), total);
      const end = range?.length === undefined ? total : Math.min(total, start + Math.max(0, range.length));
      return new InMemoryBytes(small.buf.subarray(start, Math.max(start, end)));
    }
    const h = await this.openFile(uid);
    let total: number;
    try {
      total = (await h.stat()).size;
    } catch (e) {
      await h.close();
      throw e;
    }
    const start = Math.min(Math.max(0, range?.start ?? 0), total);
    const end = range?.length === undefined ? total : Math.min(total, start + Math.max(0, range.length));
    if (end <= start) {
      await h.close();
      return new InMemoryBytes(Buffer.alloc(0));
    }
    if (end - start <= WHOLE_READ_LIMIT / 8) {
      // small (most mail): one read, no read-stream machinery
      try {
        const buf = Buffer.allocUnsafe(end - start);
        let got = 0;
        while (got < buf.length) {
          const { bytesRead } = await h.read(buf, got, buf.length - got, start + got);
          if (bytesRead === 0) break;
          got += bytesRead;
        }
        return new InMemoryBytes(buf.subarray(0, got));
      } finally {
        await h.close();
      }
    }
    const stream = createReadStream('', { fd: h, start, end: end - 1, autoClose: true, highWaterMark: 64 * 1024 });
    return new StreamedBytes(end - start, stream);
  }

  /**
   * SearchCandidate.headersMayContain: the field's value in the cached
   * record's JSON checked for the needle (mayContainInJson); true when
   * nothing is cached to check.
   * @internal (search candidates)
   */
  headersMayContain(uid: number, field: keyof SearchHeaders, foldedNeedle: string): boolean {
    this.assertOpen();
    const bytes = this.idx.openedCache?.headBytes(this.idx.table.base[this.row(uid)]);
    const span = bytes === undefined ? undefined : headerValueSpan(bytes, field);
    return span === undefined || mayContainInJson(bytes!.subarray(span.start, span.end), foldedNeedle);
  }

  /**
   * The search headers alone (SEARCH FROM/SUBJECT/…): from the cache without
   * decoding the rest, else from index(). Synchronous when the cache is open
   * and has them (the common case: a search over 100,000 cached messages then
   * makes no promise per message). @internal (search candidates)
   */
  searchHeaders(uid: number): SearchHeaders | Promise<SearchHeaders> {
    this.assertOpen();
    const base = this.idx.table.base[this.row(uid)];
    const hit = this.idx.openedCache?.headers(base);
    if (hit !== undefined) return hit;
    return this.idx.cache().then(async (cache) => cache.headers(base) ?? (await this.index(uid)).headers);
  }

  /** parses under way, so that a prefetch and the request it anticipates share one */
  private parsing = new Map<number, Promise<MessageIndex>>();

  index(uid: number): Promise<MessageIndex> {
    const running = this.parsing.get(uid);
    if (running) return running;
    const p = this.loadIndex(uid).finally(() => this.parsing.delete(uid));
    this.parsing.set(uid, p);
    return p;
  }

  indexNow(uid: number): MessageIndex | null {
    this.assertOpen();
    const cache = this.idx.openedCache;
    const row = this.idx.table.find(uid);
    if (cache === null || row < 0 || this.parsing.has(uid)) return null;
    const base = this.idx.table.base[row];
    const cached = cache.get(base);
    if (cached?.index) {
      this.learnSizeAndDate(uid, cached.index.size, cached.internalDate);
      return cached.index;
    }
    // Read with the next messages' files when the requests go forward
    // (read-ahead.ts); parsed from the read-ahead's memory, which the parser
    // is done with when it returns (it keeps strings, never views).
    this.readAhead ??= new SmallFileReadAhead(SYNC_READ_LIMIT);
    const small = this.readAhead.read(this.readAheadRows(cache), row);
    if (small === null) return null;
    return this.remember(uid, base, cache, cached, parseMessageNow(small.buf), Math.floor(small.mtimeMs));
  }

  /** see indexNow; made at the first cold read */
  private readAhead: SmallFileReadAhead | undefined;

  private readAheadView: { cache: CacheFile; rows: ReadAheadRows } | undefined;

  /** This folder's rows as the read-ahead sees them: a message is wanted when `cache` has no record of it. */
  private readAheadRows(cache: CacheFile): ReadAheadRows {
    if (this.readAheadView?.cache === cache) return this.readAheadView.rows;
    const idx = this.idx;
    const rows: ReadAheadRows = {
      get count() {
        return idx.table.n;
      },
      base: (row) => idx.table.base[row]!,
      path: (row) => idx.pathOf(row),
      namedSize: (row) => idx.table.rawSize[row]!,
      wanted: (row) => !cache.has(idx.table.base[row]!),
    };
    this.readAheadView = { cache, rows };
    return rows;
  }

  private async loadIndex(uid: number): Promise<MessageIndex> {
    this.assertOpen();
    const i = this.row(uid);
    const base = this.idx.table.base[i];
    const cache = await this.idx.cache();
    const cached = cache.get(base);
    const hit = cached?.index;
    if (hit) {
      // the record's date and size too, so that INTERNALDATE and RFC822.SIZE need no second read
      this.learnSizeAndDate(uid, hit.size, cached!.internalDate);
      return hit;
    }
    // Into the shared scratch buffer: the parser is done with the bytes when
    // parseMessage() returns (it keeps strings, never views of its input),
    // and nothing runs in between, so one buffer serves every parse.
    // (the file's mtime only when it may become the INTERNALDATE: remember())
    const row = this.idx.table.find(uid);
    const small = this.readSmallSync(uid, { scratch: PARSE_SCRATCH, mtime: row < 0 || this.idx.table.date[row] === 0 });
    if (small) return this.remember(uid, base, cache, cached, parseMessageNow(small.buf), Math.floor(small.mtimeMs));
    let index: MessageIndex;
    let mtime: number;
    const h = await this.openFile(uid);
    try {
      const st = await h.stat();
      const size = st.size;
      mtime = Math.floor(st.mtimeMs); // INTERNALDATE comes with it: no second stat later
      if (size <= WHOLE_READ_LIMIT) {
        // small (most mail): one read, no stream machinery
        const buf = Buffer.allocUnsafe(size);
        let got = 0;
        while (got < size) {
          const { bytesRead } = await h.read(buf, got, size - got, got);
          if (bytesRead === 0) break;
          got += bytesRead;
        }
        index = await parseMessage(buf.subarray(0, got));
      } else {
        index = await parseMessage(h.createReadStream({ autoClose: false, highWaterMark: 64 * 1024 }) as AsyncIterable<Buffer>);
      }
    } finally {
      await h.close();
    }
    // (looked up again: the entry may have changed while this waited)
    return this.remember(uid, base, cache, cache.get(base), index, mtime);
  }

  /**
   * Keep a fresh parse: in the cache file, and its size and date in the
   * table. `cached` is what cache.get(base) says now (nothing run since).
   */
  private remember(uid: number, base: string, cache: CacheFile, cached: CachedMessage | undefined, index: MessageIndex, mtime: number): MessageIndex {
    const j = this.idx.table.find(uid);
    const date = j >= 0 && this.idx.table.date[j] !== 0 ? this.idx.table.date[j] : (cached?.internalDate ?? mtime);
    cache.putOver(base, { index, internalDate: date }, cached);
    this.idx.scheduleCacheFlush(cache.unflushed);
    this.learnSizeAndDate(uid, index.size, date);
    return index;
  }

  /** Fills the row's RFC822.SIZE and INTERNALDATE where they are still unknown. */
  private learnSizeAndDate(uid: number, size: number, date: number | undefined): void {
    const t = this.idx.table;
    const j = t.find(uid);
    if (j < 0) return;
    if (t.vsize[j] === 0) t.vsize[j] = size;
    if (t.date[j] === 0 && date !== undefined) t.date[j] = date;
  }

  async internalDate(uid: number): Promise<Date> {
    this.assertOpen();
    const i = this.row(uid);
    const t = this.idx.table;
    if (t.date[i] !== 0) return new Date(t.date[i]);
    const cache = await this.idx.cache();
    const base = t.base[i];
    let ms = cache.internalDate(base);
    if (ms === undefined) {
      try {
        ms = (await stat(this.idx.pathOf(i))).mtimeMs;
      } catch (e) {
        if (errnoCode(e) !== 'ENOENT') throw e;
        await this.idx.sync({ moveNew: false });
        const j = this.row(uid);
        ms = (await stat(this.idx.pathOf(j))).mtimeMs;
      }
      ms = Math.floor(ms);
      cache.put(base, { internalDate: ms });
      this.idx.scheduleCacheFlush(cache.unflushed);
    }
    const j = t.find(uid);
    if (j >= 0) t.date[j] = ms;
    return new Date(ms);
  }

  knownInternalDate(uid: number): Date | undefined {
    const i = this.idx.table.find(uid);
    return i >= 0 && this.idx.table.date[i] !== 0 ? new Date(this.idx.table.date[i]) : undefined;
  }

  knownRfc822Size(uid: number): number | undefined {
    const i = this.idx.table.find(uid);
    return i >= 0 && this.idx.table.vsize[i] !== 0 ? this.idx.table.vsize[i] : undefined;
  }

  async rfc822Size(uid: number): Promise<number> {
    this.assertOpen();
    const i = this.row(uid);
    if (this.idx.table.vsize[i] !== 0) return this.idx.table.vsize[i];
    return (await this.index(uid)).size;
  }

  async setFlags(uids: readonly number[], mode: 'add' | 'remove' | 'replace', flags: readonly Flag[], o: { silent?: boolean } = {}): Promise<MessageMeta[]> {
    this.assertWritable();
    const kw = this.idx.keywords;
    const missing = undefinedKeywords(flags, kw);
    if (missing.length && mode !== 'remove') {
      await this.idx.uidlist.lock(async () => {
        await kw.refresh();
        await kw.define(undefinedKeywords(flags, kw));
      });
    }
    const bits = bitsFromFlags(
      flags.filter((f) => f.startsWith('\\') || kw.indexOf(f) !== undefined),
      kw,
    );
    // One rename per message, blocking, in slices (renameFlagsNow): other
    // sessions get the event loop between slices. A file renamed underneath
    // us goes the async way, which syncs and retries.
    let changed = false;
    for (let k = 0; k < uids.length; k += RENAME_SLICE) {
      if (k > 0) await new Promise<void>((r) => setImmediate(r));
      for (const uid of uids.slice(k, k + RENAME_SLICE)) {
        const i = this.idx.table.find(uid);
        if (i < 0) continue;
        const next = applyFlags(this.idx.table.flags[i], mode, bits);
        if (next === this.idx.table.flags[i] && this.idx.table.loc[i] === LOC_CUR) continue;
        let done = this.idx.renameFlagsNow(uid, next);
        if (done === null) done = await this.idx.renameFlags(uid, next);
        if (!done) continue;
        this.own.set(uid, this.idx.table.modseq[this.idx.table.find(uid)]);
        changed = true;
      }
    }
    if (changed) this.idx.notify();
    const out: MessageMeta[] = [];
    if (o.silent) return out;
    for (const uid of uids) {
      const m = this.idx.table.find(uid) >= 0 ? this.meta(uid) : undefined;
      if (m) out.push(m);
    }
    return out;
  }

  async expunge(uids?: readonly number[]): Promise<number[]> {
    this.assertWritable();
    const t = this.idx.table;
    const wanted = uids ? new Set(uids) : null;
    const targets: number[] = [];
    for (let i = 0; i < t.n; i++) {
      if ((t.flags[i] & FLAG_DELETED) && (!wanted || wanted.has(t.uid[i])) && this.inView(t.uid[i])) targets.push(t.uid[i]);
    }
    const { unlink } = await import('node:fs/promises');
    const removed: number[] = [];
    let bytes = 0;
    for (const uid of targets) {
      for (let attempt = 0; attempt < 2; attempt++) {
        const i = t.find(uid);
        if (i < 0) break;
        try {
          const size = t.rawSize[i];
          this.idx.noteOwn(t.loc[i] === LOC_CUR ? 'cur' : 'new', t.name[i]);
          await unlink(this.idx.pathOf(i));
          bytes += size;
          removed.push(uid);
          break;
        } catch (e) {
          if (errnoCode(e) !== 'ENOENT') throw e;
          await this.idx.sync({ moveNew: false }); // renamed by someone else: retry with the new name
        }
      }
    }
    this.idx.removeRows(removed);
    this.dropFromView(removed);
    await this.ctx.quota.add(-bytes, -removed.length);
    if (removed.length) this.idx.notify();
    return removed;
  }

  private dropFromView(uids: readonly number[]): void {
    if (!uids.length) return;
    const gone = new Set(uids);
    this.view = this.view.filter((u) => !gone.has(u));
    for (const u of uids) this.recentSet.delete(u);
  }

  async copy(uids: readonly number[], dest: string, o: { move?: boolean } = {}): Promise<{ uidValidity: number; pairs: [number, number][] }> {
    this.assertOpen();
    if (o.move) this.assertWritable();
    const target = await this.ctx.folder(dest);
    const didx = target.index;
    await didx.sync({ moveNew: false });
    const t = this.idx.table;
    const sorted = [...new Set(uids)].sort((a, b) => a - b).filter((u) => t.find(u) >= 0);
    if (!o.move) {
      let bytes = 0;
      for (const u of sorted) bytes += t.rawSize[t.find(u)];
      await this.ctx.quota.check(bytes, sorted.length);
    }
    // keyword letters differ between folders: translate names
    const srcKw = this.idx.keywords;
    const needed = new Set<string>();
    for (const u of sorted) for (const f of flagsFromBits(t.flags[t.find(u)], srcKw)) if (!f.startsWith('\\')) needed.add(f);
    if (needed.size) {
      await didx.uidlist.lock(async () => {
        await didx.keywords.refresh();
        await didx.keywords.define(undefinedKeywords([...needed], didx.keywords));
      });
    }
    const written: WrittenFile[] = [];
    const sources: number[] = [];
    let bytes = 0;
    for (const uid of sorted) {
      const i = t.find(uid);
      if (i < 0) continue;
      const flags = translateFlags(t.flags[i], srcKw, didx);
      const raw = t.rawSize[i];
      let vsize = t.vsize[i];
      if (vsize === 0) vsize = await this.rfc822Size(uid);
      const base = baseWithSizes(uniqueName(), raw, vsize);
      const name = fileNameFor(base, flags);
      const from = this.idx.pathOf(i);
      const to = `${didx.dir}/cur/${name}`;
      didx.noteOwn('cur', name);
      if (o.move) this.idx.noteOwn(t.loc[i] === LOC_CUR ? 'cur' : 'new', t.name[i]);
      try {
        if (o.move) await rename(from, to);
        else await linkOrCopy(from, to, didx.dir, flags);
      } catch (e) {
        if (errnoCode(e) === 'ENOENT') continue; // vanished meanwhile: nothing to copy
        throw e;
      }
      const date = t.date[i] || undefined;
      written.push({ base, name, loc: LOC_CUR, rawSize: raw, vsize, ...(date ? { date } : {}) });
      sources.push(uid);
      bytes += raw;
    }
    if (written.length) await fsyncDir(`${didx.dir}/cur`);
    const numbered = await didx.adopt(written);
    const pairs: [number, number][] = [];
    written.forEach((w, k) => {
      const du = numbered.get(w.base);
      if (du !== undefined) {
        pairs.push([sources[k], du]);
        didx.unclaimedRecent.add(du);
      }
    });
    if (o.move) {
      this.idx.removeRows(sources);
      this.dropFromView(sources);
      this.idx.notify();
    } else {
      await this.ctx.quota.add(bytes, written.length);
    }
    didx.notify();
    return { uidValidity: didx.uidValidity, pairs };
  }

  async search(q: SearchKey): Promise<number[]> {
    this.assertOpen();
    const t = this.idx.table;
    if (usesSize(q)) {
      // LARGER/SMALLER need every RFC822.SIZE: learn the unknown ones first (foreign files without W=)
      for (const uid of this.view) {
        const i = t.find(uid);
        if (i >= 0 && t.vsize[i] === 0) await this.rfc822Size(uid);
      }
    }
    // Headers come from the cache when it has them: open it first, so that
    // every candidate (not only those after it opened) can be answered from it.
    if (needsIndex(q)) await this.idx.cache();
    // A plain (lazy) iterable lets the evaluator stay synchronous for flag/UID/size-only queries.
    function* candidates(self: MaildirMailbox): Generator<SearchCandidate> {
      for (const uid of self.view) {
        const i = t.find(uid);
        if (i < 0) continue;
        const small = t.rawSize[i] <= SYNC_READ_LIMIT;
        yield new Candidate(self, uid, t.flags[i], self.recentSet.has(uid), t.vsize[i] || t.rawSize[i], small);
      }
    }
    return evaluateSearch(q, candidates(this));
  }

  /** @internal (search candidates) */
  async *rangeIterable(uid: number, start: number, end: number): AsyncGenerator<Buffer> {
    const r = await this.read(uid, { start, length: end - start });
    if (r.bytes) {
      if (r.bytes.length) yield r.bytes;
      return;
    }
    for await (const c of r.stream) yield c as Buffer;
  }

  onChange(listener: () => void): () => void {
    this.assertOpen();
    const off = this.idx.onChange(listener);
    this.unlisten.push(off);
    return off;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const off of this.unlisten) off();
    this.unlisten = [];
    this.unwatch?.();
    this.unwatch = null;
    // \Recent we held but never showed to anyone else is not handed on (RFC 3501 2.3.2: "this session")
    this.idx.handles.delete(this);
    this.readAhead?.clear();
    this.ctx.released(this);
    if (this.idx.evicted && this.idx.handles.size === 0) await this.idx.close();
    else await this.idx.flushCache();
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreError('CANNOT', 'Mailbox is closed');
  }

  private assertWritable(): void {
    this.assertOpen();
    if (this.readOnly) throw new StoreError('READONLY', 'Mailbox is read-only');
  }
}

function translateFlags(bits: number, srcKw: FolderIndex['keywords'], dest: FolderIndex): number {
  let out = bits & ((1 << KEYWORD_SHIFT) - 1);
  for (let k = 0; k < MAX_KEYWORDS; k++) {
    if (!(bits & (1 << (KEYWORD_SHIFT + k)))) continue;
    const name = srcKw.nameOf(k);
    const dk = name === undefined ? undefined : dest.keywords.indexOf(name);
    if (dk !== undefined) out |= 1 << (KEYWORD_SHIFT + dk);
  }
  return out >>> 0;
}

/** Hard link (same inode, no bytes copied); where the file system refuses, copy the bytes. */
async function linkOrCopy(from: string, to: string, destDir: string, flags: number): Promise<void> {
  try {
    await link(from, to);
    return;
  } catch (e) {
    const code = errnoCode(e);
    if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'EMLINK' && code !== 'ENOTSUP') throw e;
  }
  const w = await writeMessage(destDir, createReadStream(from), { flags: flags | 0, toCur: true });
  await rename(`${destDir}/cur/${w.fileName}`, to);
}

function usesSize(k: SearchKey): boolean {
  switch (k.type) {
    case 'size':
      return true;
    case 'not':
      return usesSize(k.key);
    case 'or':
      return usesSize(k.left) || usesSize(k.right);
    case 'and':
      return k.keys.some(usesSize);
    default:
      return false;
  }
}

/**
 * One message as SEARCH sees it. A class, not an object of closures: a search
 * makes one per message, and most look at two or three fields of it.
 */
class Candidate implements SearchCandidate {
  private whole: Promise<Buffer | null> | null = null;

  constructor(
    private readonly mb: MaildirMailbox,
    readonly uid: number,
    private readonly bits: number,
    readonly recent: boolean,
    readonly size: number,
    /** small enough to be read whole once for all the ranges a search asks for */
    private readonly small: boolean,
  ) {}

  get flags(): string[] {
    return flagsFromBits(this.bits, this.mb.idx.keywords);
  }

  internalDate(): Promise<Date> {
    return this.mb.internalDate(this.uid);
  }

  index(): Promise<MessageIndex> {
    return this.mb.index(this.uid);
  }

  headers(): SearchHeaders | Promise<SearchHeaders> {
    return this.mb.searchHeaders(this.uid);
  }

  headersMayContain(field: keyof SearchHeaders, foldedNeedle: string): boolean {
    return this.mb.headersMayContain(this.uid, field, foldedNeedle);
  }

  /**
   * A small message is read once, whole, and every range (the header, then
   * each text part) is cut from that; a large one is read range by range.
   */
  async *readRange(start: number, end: number): AsyncIterable<Buffer> {
    if (this.small) {
      this.whole ??= this.mb.read(this.uid).then((r) => {
        if (r.bytes) return r.bytes;
        r.release(); // it grew past the limit since it was listed
        return null;
      });
    }
    const bytes = this.whole === null ? null : await this.whole;
    if (bytes === null) {
      yield* this.mb.rangeIterable(this.uid, start, end);
      return;
    }
    const part = bytes.subarray(Math.min(start, bytes.length), Math.min(end, bytes.length));
    if (part.length > 0) yield part;
  }
}
