/**
 * FolderIndex: what one process knows about one Maildir folder, shared by
 * every session that has the folder open (DESIGN.md "Index cache").
 *
 * How a sync works (after Dovecot's maildir-sync.c):
 *
 * 1. Read the tail of the uidlist (lines other processes appended), then list
 *    new/ and then cur/. Reading the uidlist first means a numbered file that
 *    is missing from the listing is gone, not merely too new to be seen; new/
 *    before cur/ means a message being moved from new/ to cur/ by someone else
 *    is seen at least once, never missed.
 * 2. A known message missing from the listing may be an expunge, or a file
 *    renamed (flag change) while we were reading the directory — readdir is
 *    not atomic against renames. So before calling anything an expunge we list
 *    again and expunge only what is missing both times.
 * 3. Files with no UID yet get one: under the dot-lock, re-read the uidlist
 *    tail (another process may just have numbered them) and append the rest.
 *    UIDs are therefore assigned in discovery order and never reused. Rows are
 *    added in UID order only: a line read under the lock whose file our
 *    listing has not seen blocks the lines after it until the next listing.
 * 4. A file whose name changed has new flags; a file in new/ is moved to
 *    cur/ by a read-write sync, and then counts as \Recent for the first
 *    session that claims it.
 *
 * Skipping work: when neither directory's mtime changed since a listing that
 * began more than a second after that mtime, the listing cannot have changed
 * (a rename or create updates the directory mtime), so only the uidlist tail
 * is checked. The same reasoning lets a new process start from the snapshot
 * of the last complete listing (snapshot.ts) instead of listing 100,000 files.
 * Changes made by this process bump `modseq` and notify listeners directly;
 * other processes' changes arrive via the watcher.
 */
import { renameSync, statSync, type BigIntStats } from 'node:fs';
import { readdir, rename, stat } from 'node:fs/promises';
import { errnoCode, StoreError } from './errors.js';
import { fileNameFor, flagsOf, parseName, sizeOf } from './filename.js';
import { KeywordMap } from './keywords.js';
import { LOC_CUR, LOC_NEW, MessageTable } from './message-table.js';
import { Uidlist, type UidEntry } from './uidlist.js';
import { allocateUidValidity, reserveUidValidity } from './uidvalidity.js';
import { importForeignUidlist } from './migrate.js';
import { fsyncDir } from './fsutil.js';
import { CacheFile } from './cache-file.js';
import { readSnapshot, writeSnapshot } from './snapshot.js';
import { readUidlistHead } from './uidlist.js';

/** Small folders list fast enough; the snapshot is for big ones. */
const SNAPSHOT_MIN_MESSAGES = 1000;

/** A listing as parallel arrays: entry i is names[i] (base bases[i]) in locs[i]. */
interface Listing {
  names: string[];
  bases: string[];
  locs: number[];
}

interface ScanEntry {
  name: string;
  loc: number;
}

export interface ExpungeRecord {
  uid: number;
  modseq: number;
  flags: number;
}

/** A file this process just wrote into cur/ or new/, to number without a directory scan. */
export interface WrittenFile {
  base: string;
  name: string;
  loc: number;
  rawSize: number;
  vsize: number;
  date?: number;
}

/** how long a registered own name waits for its event before it is forgotten */
const OWN_NAME_TTL_MS = 10_000;
/** an own change whose event has not come after this long means events were dropped */
const OWN_EVENT_DEADLINE_MS = 2_000;

/** buffered cache entries that make a flush start at once */
const CACHE_FLUSH_BATCH = 500;

export class FolderIndex {
  readonly table = new MessageTable();
  readonly uidlist: Uidlist;
  readonly keywords: KeywordMap;
  /** base → uid of every row; built on first need (a warm open without changes never needs it) */
  private byBaseMap: Map<string, number> | null = null;
  private snapshotTried = false;
  private snapshotDirty = false;
  private snapshotTimer: NodeJS.Timeout | null = null;
  /** uidlist entries whose file we have not matched yet, with the scan count when read */
  private pending = new Map<string, { uid: number; seq: number }>();
  private scanSeq = 0;
  private uidlistLines = 0;
  highestModseq = 1;
  /** false only when no row is in new/ (set wherever a row gets there: addRow, updateRow) */
  private rowsMaybeInNew = false;
  expungeLog: ExpungeRecord[] = [];
  unclaimedRecent = new Set<number>();
  /** true once our uidlist exists and this index reads it */
  private loaded = false;
  /**
   * The UIDVALIDITY being taken for a folder that has no uidlist yet (a
   * Maildir another program filled): its uidlist is created by the first
   * numbering, already holding every listed file (numberAll), in one write
   * and fsync. Taken while the folder is listed: the value's own lock and
   * two syncs need not wait for the listing, nor the listing for them.
   */
  private unborn: Promise<number> | null = null;
  private running: Promise<void> | null = null;
  private rerun = false;
  private lastScan = { newMtime: -1n, curMtime: -1n, startedNs: 0n };
  /**
   * Own-change accounting (see "Skipping work" above): while this process
   * watches the folder, every entry event is either one of our own renames,
   * registered beforehand in `ownNames`, or foreign. One map per directory,
   * keyed by the bare name: a STORE registers two names per message and the
   * watcher hands back two events, and a `sub/name` key built for each of
   * them cost more than the lookups.
   */
  private watching = false;
  /** whether the watch was already live when the last listing began (only then do its events cover what that listing saw) */
  private lastScanWatched = false;
  private foreignSeen = true;
  private ownNames = { new: new Map<string, number>(), cur: new Map<string, number>() };
  private listeners = new Set<() => void>();
  /** open views on this folder (their progress through the change log) */
  readonly handles = new Set<{ readonly seenModseq: number }>();
  private cacheFile: Promise<CacheFile> | null = null;
  /** the cache once open (for callers that can do without waiting) */
  openedCache: CacheFile | null = null;
  private flushTimer: NodeJS.Timeout | null = null;
  private batchFlushing = false;

  constructor(
    readonly dir: string,
    readonly userRoot: string,
  ) {
    this.uidlist = new Uidlist(dir);
    this.keywords = new KeywordMap(dir);
  }

  get uidValidity(): number {
    return this.uidlist.uidValidity;
  }

  get uidNext(): number {
    return Math.max(this.uidlist.uidNext, this.table.maxUid + 1);
  }

  private byBase(): Map<string, number> {
    if (!this.byBaseMap) {
      const m = new Map<string, number>();
      for (let i = 0; i < this.table.n; i++) m.set(this.table.base[i], this.table.uid[i]);
      this.byBaseMap = m;
    }
    return this.byBaseMap;
  }

  /** Listeners are told (synchronously) that something may have changed. */
  onChange(l: () => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  notify(): void {
    for (const l of [...this.listeners]) {
      try {
        l();
      } catch {
        /* a listener's failure is its own business */
      }
    }
  }

  /** Bring the index up to date with the disk. Concurrent calls share one run. */
  sync(o: { moveNew: boolean }): Promise<void> {
    if (this.running) {
      this.rerun = true;
      return this.running;
    }
    const run = async () => {
      try {
        do {
          this.rerun = false;
          await this.syncOnce(o.moveNew);
        } while (this.rerun);
      } finally {
        this.running = null;
      }
    };
    this.running = run();
    return this.running;
  }

  private async ensureLoaded(): Promise<void> {
    if (this.loaded) return;
    try {
      await stat(`${this.dir}/cur`);
    } catch {
      throw new StoreError('NONEXISTENT', 'Mailbox does not exist');
    }
    if ((await this.uidlist.exists()) || (await this.importUidlist())) {
      this.loaded = true;
      this.unborn = null;
      return;
    }
    // stays unloaded: numberAll creates the uidlist
    if (!this.unborn) {
      const allocating = allocateUidValidity(this.userRoot);
      this.unborn = allocating;
      // numberAll reports a failure; the next sync then allocates anew
      allocating.catch(() => {
        if (this.unborn === allocating) this.unborn = null;
      });
    }
  }

  /** First open of a folder without our uidlist: import Dovecot's/Courier's if there is one. */
  private async importUidlist(): Promise<boolean> {
    const foreign = await importForeignUidlist(this.dir).catch(() => null);
    if (!foreign || foreign.uidValidity <= 0) return false;
    await reserveUidValidity(this.userRoot, foreign.uidValidity);
    const entries = [...foreign.entries].sort((a, b) => a.uid - b.uid);
    await Uidlist.create(this.dir, foreign.uidValidity, Math.max(foreign.uidNext, 1), entries);
    return true;
  }

  private async absorbUidlist(): Promise<void> {
    const { reset, entries } = await this.uidlist.read();
    if (reset) this.uidlistLines = 0;
    this.uidlistLines += entries.length;
    for (const e of entries) {
      // A base already numbered keeps its first UID; a later duplicate line
      // (a foreign tool, an old bug) is ignored rather than trusted.
      if (this.byBase().has(e.base) || this.pending.has(e.base)) continue;
      if (e.uid > this.table.maxUid) this.pending.set(e.base, { uid: e.uid, seq: this.scanSeq });
    }
  }

  /** how many directory listings this index has made (diagnostics, tests) */
  get listings(): number {
    return this.scanSeq;
  }

  private async scan(): Promise<{ entries: Map<string, ScanEntry>; newMtime: bigint; curMtime: bigint; startedNs: bigint; seq: number }> {
    const { listing, ...rest } = await this.list();
    return { entries: entriesOf(listing), ...rest };
  }

  /** Both directories' entries in listing order, new/ first (see the comment at the top). */
  private async list(): Promise<{ listing: Listing; newMtime: bigint; curMtime: bigint; startedNs: bigint; seq: number; watched: boolean }> {
    const seq = ++this.scanSeq;
    const watched = this.watching;
    // events from here on are judged against this listing
    this.foreignSeen = false;
    const wall = BigInt(Date.now()) * 1_000_000n;
    const [sn, sc] = this.dirStats();
    const listing: Listing = { names: [], bases: [], locs: [] };
    for (const [sub, loc] of [
      ['new', LOC_NEW],
      ['cur', LOC_CUR],
    ] as const) {
      let names: string[];
      try {
        names = await readdir(`${this.dir}/${sub}`);
      } catch (e) {
        if (errnoCode(e) === 'ENOENT') throw new StoreError('NONEXISTENT', 'Mailbox was deleted');
        throw e;
      }
      for (const name of names) {
        if (name.charCodeAt(0) === 46) continue; // dot files
        listing.names.push(name);
        listing.bases.push(baseOf(name));
        listing.locs.push(loc);
      }
    }
    return { listing, newMtime: sn.mtimeNs, curMtime: sc.mtimeNs, startedNs: wall, seq, watched };
  }

  /** new/ and cur/: blocking stats, on every sync (a thread-pool round trip each otherwise) */
  private dirStats(): [BigIntStats, BigIntStats] {
    return [statSync(`${this.dir}/new`, { bigint: true }), statSync(`${this.dir}/cur`, { bigint: true })];
  }

  private async dirsUnchanged(): Promise<boolean> {
    if (this.lastScan.newMtime < 0n || this.pending.size > 0) return false;
    const [sn, sc] = this.dirStats();
    // the listing started comfortably after the last change: nothing can have slipped in unseen
    const settled = this.lastScan.startedNs - 1_000_000_000n;
    if (sn.mtimeNs === this.lastScan.newMtime && sc.mtimeNs === this.lastScan.curMtime && sn.mtimeNs < settled && sc.mtimeNs < settled)
      return true;
    // Changed, or too recently to tell by mtime. If we have watched since
    // before the last listing and every entry event since was one of our own
    // (already applied to the rows), the listing is still what we hold. The
    // events of changes already made (inotify queues them with the change)
    // must have been read first: two setImmediates, the first runs in this
    // turn's check phase, the second in the next turn's, after a poll phase
    // has read the inotify descriptor (nothing above waited on I/O).
    if (!this.watching || !this.lastScanWatched) return false;
    await new Promise<void>((r) => setImmediate(r));
    await new Promise<void>((r) => setImmediate(r));
    if (this.ownEventsLost()) this.foreignSeen = true;
    return !this.foreignSeen;
  }

  /**
   * Whether events of our own changes never came: inotify drops events when
   * its queue overflows (fs.inotify.max_queued_events, 16,384 by default; a
   * STORE on a big folder makes two per message) and libuv does not report
   * the overflow, so a foreign event in the same window may be gone too.
   * Then only a listing can be trusted. Names are kept in the order they were
   * registered, so the oldest is the first.
   */
  private ownEventsLost(): boolean {
    const now = Date.now();
    const overdue = (m: Map<string, number>): boolean => {
      const oldest = m.values().next();
      return !oldest.done && oldest.value - OWN_NAME_TTL_MS + OWN_EVENT_DEADLINE_MS <= now;
    };
    if (!overdue(this.ownNames.new) && !overdue(this.ownNames.cur)) return false;
    this.ownNames.new.clear();
    this.ownNames.cur.clear();
    return true;
  }

  /** The folder's OS watch is live (called by the store as soon as it is armed, and on its first hint). */
  watchLive(): void {
    this.watching = true;
  }

  /** The watcher stopped: nothing tells us about foreign changes any more. */
  watchStopped(): void {
    this.watching = false;
    this.foreignSeen = true;
  }

  /** A raw entry event from the watcher: ours (registered by noteOwn) or someone else's. */
  onWatchEvent(sub: 'new' | 'cur', name: string | null): void {
    if (name !== null && this.ownNames[sub].delete(name)) return;
    this.foreignSeen = true;
  }

  /** Register an entry this process is about to create, rename or remove (before doing it). */
  noteOwn(sub: 'new' | 'cur', name: string): void {
    if (!this.watching) return;
    const now = Date.now();
    const names = this.ownNames[sub];
    if (names.size > 10_000) {
      // events for these never came (or came before we registered): forget the stale ones
      for (const [k, exp] of names) if (exp < now) names.delete(k);
    }
    names.set(name, now + OWN_NAME_TTL_MS);
  }

  private async syncOnce(moveNew: boolean): Promise<void> {
    await this.ensureLoaded();
    await this.keywords.refresh();
    if (!this.snapshotTried && this.loaded && this.table.n === 0 && this.uidlistLines === 0 && this.pending.size === 0) {
      this.snapshotTried = true;
      await this.loadSnapshot();
    }
    if (this.loaded && (await this.dirsUnchanged())) {
      await this.absorbUidlist();
      if (this.pending.size === 0) {
        if (moveNew) await this.moveNewToCur();
        await this.maybeCompact();
        return;
      }
    }
    // The uidlist is read before listing: a numbered file then missing from
    // the listing is gone, not merely too new to be seen.
    const first = this.table.n === 0 && this.pending.size === 0 && this.uidlistLines === 0;
    const initial = !first ? null : this.loaded ? await this.uidlist.read() : { reset: true, entries: [] };
    if (!first) await this.absorbUidlist();
    const l = await this.list();
    this.lastScan = { newMtime: l.newMtime, curMtime: l.curMtime, startedNs: l.startedNs };
    this.lastScanWatched = l.watched;
    this.snapshotDirty = true;
    if (initial?.entries.length === 0 && (await this.numberAll(l.listing))) {
      this.scheduleSnapshot();
      if (moveNew) await this.moveNewToCur();
      await this.maybeCompact();
      return;
    }
    const scanned = entriesOf(l.listing);
    if (initial) {
      // First load (the common "open a big folder" case): join the uidlist
      // with the listing directly, without the pending map.
      this.uidlistLines += initial.entries.length; // plus what numberAll absorbed before giving way
      this.table.reserve(this.table.n + initial.entries.length);
      for (const en of initial.entries) {
        const e = scanned.get(en.base);
        if (!e || this.byBase().has(en.base)) continue;
        scanned.delete(en.base);
        this.addRow(en.uid, en.base, e.name, e.loc);
      }
    }

    // 1. known rows: flag/location changes and expunges
    let gone: number[] = [];
    for (let i = 0; i < this.table.n; i++) {
      const base = this.table.base[i];
      const e = scanned.get(base);
      if (!e) gone.push(i);
      else {
        scanned.delete(base);
        this.updateRow(i, e);
      }
    }
    if (gone.length) {
      // readdir is not atomic against renames: confirm with a second listing
      const s2 = await this.scan();
      const still: number[] = [];
      for (const i of gone) {
        const e = s2.entries.get(this.table.base[i]);
        if (e) this.updateRow(i, e);
        else still.push(i);
      }
      gone = still;
      for (let i = 0; i < this.table.n; i++) s2.entries.delete(this.table.base[i]);
      for (const [b, e] of s2.entries) if (!scanned.has(b)) scanned.set(b, e);
    }
    if (gone.length) this.recordExpunged(gone);

    // 2. files already numbered (by us earlier, or another process), in UID
    //    order. A numbered file we have not seen yet blocks everything after
    //    it — rows must be added in UID order — unless our listing began after
    //    we read its line: then it is gone already.
    const fresh: { uid: number; base: string; e: ScanEntry }[] = [];
    let blocked = this.takeNumbered(scanned, l.seq, fresh);

    // 3. files nobody numbered yet: assign under the lock, in discovery order
    if (!blocked && scanned.size > 0) {
      const bases = [...scanned.keys()];
      const unnumbered = discoveryOrder(bases).map((i) => bases[i]);
      await this.uidlist.lock(async () => {
        await this.absorbUidlist();
        blocked = this.takeNumbered(scanned, l.seq, fresh);
        if (blocked) return;
        // numbered meanwhile by this process (an APPEND's adopt()) — keep that UID
        const todo = unnumbered.filter((b) => scanned.has(b) && !this.byBase().has(b));
        const first = await this.uidlist.append(todo);
        this.uidlistLines += todo.length;
        for (let k = 0; k < todo.length; k++) fresh.push({ uid: first + k, base: todo[k], e: scanned.get(todo[k])! });
      });
    }
    fresh.sort((a, b) => a.uid - b.uid);
    for (const f of fresh) this.addRow(f.uid, f.base, f.e.name, f.e.loc);
    if (blocked) this.rerun = true; // list again: the file exists by now
    else this.scheduleSnapshot();

    if (moveNew) await this.moveNewToCur();
    await this.maybeCompact();
  }

  /**
   * First load of a folder nobody has numbered yet (an empty uidlist: a
   * Maildir migrated from another server, or delivered to by another MDA):
   * every listed file gets a UID in discovery order, straight from the
   * listing, without the map and pending set the general path joins the
   * uidlist with (for 100,000 files that bookkeeping was a fifth of the
   * open). False, with nothing changed, if another process numbered files
   * since we read the uidlist: then the general path runs.
   */
  private async numberAll(listing: Listing): Promise<boolean> {
    const order = discoveryOrder(listing.bases);
    const addAll = (first: number): void => {
      this.uidlistLines += order.length;
      this.table.reserve(this.table.n + order.length);
      for (let k = 0; k < order.length; k++) {
        const i = order[k];
        this.addRow(first + k, listing.bases[i], listing.names[i], listing.locs[i]);
      }
    };
    if (!this.loaded) {
      // (null only when the allocation already failed: then try once more)
      const allocating = this.unborn ?? allocateUidValidity(this.userRoot);
      this.unborn = null;
      const created = await this.uidlist.createNumbered(await allocating, order.map((i) => listing.bases[i]));
      this.loaded = true;
      if (created) {
        addAll(1);
        return true;
      }
      // another process created it meanwhile: number what it left, under its lock
    }
    let done = false;
    await this.uidlist.lock(async () => {
      await this.absorbUidlist();
      if (this.pending.size > 0 || this.table.n > 0) return;
      addAll(await this.uidlist.append(order.map((i) => listing.bases[i])));
      done = true;
    });
    return done;
  }

  private updateRow(i: number, e: ScanEntry): void {
    if (e.name === this.table.name[i] && e.loc === this.table.loc[i]) return;
    this.table.name[i] = e.name;
    this.table.loc[i] = e.loc;
    if (e.loc === LOC_NEW) this.rowsMaybeInNew = true;
    const flags = parseName(e.name).flags;
    if (flags !== this.table.flags[i]) {
      this.table.flags[i] = flags;
      this.table.modseq[i] = ++this.highestModseq;
    }
  }

  /**
   * Move pending uidlist entries found in `scanned` to `fresh`, in UID order
   * (the Map's insertion order is the uidlist's order); true if one blocks.
   */
  private takeNumbered(scanned: Map<string, ScanEntry>, scanSeq: number, fresh: { uid: number; base: string; e: ScanEntry }[]): boolean {
    if (this.pending.size === 0) return false;
    for (const [base, p] of this.pending) {
      const e = scanned.get(base);
      if (e) {
        fresh.push({ uid: p.uid, base, e });
        scanned.delete(base);
        this.pending.delete(base);
      } else if (scanSeq > p.seq) {
        this.pending.delete(base); // expunged before we ever saw it
      } else {
        return true;
      }
    }
    return false;
  }

  private addRow(uid: number, base: string, name: string, loc: number, sizes?: { rawSize: number; vsize: number; date?: number }): void {
    if (uid <= this.table.maxUid) {
      // numbered below what sessions have already seen: cannot be shown in order;
      // and the listing no longer matches our rows, so do not trust own-change accounting
      this.foreignSeen = true;
      return;
    }
    if (loc === LOC_NEW) this.rowsMaybeInNew = true;
    // the name's facts one by one, not parseName(): this runs for every file of a folder's first load
    this.table.push({
      uid,
      name,
      base,
      loc,
      flags: flagsOf(name),
      rawSize: sizes?.rawSize ?? sizeOf(base, 'S') ?? 0,
      vsize: sizes?.vsize ?? sizeOf(base, 'W') ?? 0,
      date: sizes?.date ?? 0,
      modseq: ++this.highestModseq,
    });
    this.byBaseMap?.set(base, uid);
  }

  private recordExpunged(rows: number[]): void {
    const drop = new Set(rows);
    for (const i of rows) {
      const modseq = ++this.highestModseq;
      this.expungeLog.push({ uid: this.table.uid[i], modseq, flags: this.table.flags[i] });
      this.byBaseMap?.delete(this.table.base[i]);
      this.unclaimedRecent.delete(this.table.uid[i]);
    }
    this.table.removeWhere((i) => drop.has(i));
  }

  /** Forget rows whose files this process removed or moved away. */
  removeRows(uids: readonly number[]): void {
    const rows = uids.map((u) => this.table.find(u)).filter((i) => i >= 0);
    if (rows.length) this.recordExpunged(rows);
  }

  private async moveNewToCur(): Promise<void> {
    // Every sync of a writable session comes here, so the common case (no
    // row in new/) must not walk the whole table: ~30 µs per command at
    // 10,000 messages, ten times that at 100,000.
    if (!this.rowsMaybeInNew) return;
    this.rowsMaybeInNew = false;
    let moved = false;
    for (let i = 0; i < this.table.n; i++) {
      if (this.table.loc[i] !== LOC_NEW) continue;
      const name = this.table.name[i];
      const target = fileNameFor(this.table.base[i], this.table.flags[i]);
      this.noteOwn('new', name);
      this.noteOwn('cur', target);
      try {
        await rename(`${this.dir}/new/${name}`, `${this.dir}/cur/${target}`);
        this.table.name[i] = target;
        this.table.loc[i] = LOC_CUR;
        this.unclaimedRecent.add(this.table.uid[i]);
        moved = true;
      } catch (e) {
        // (the row stays in new/ until a listing says otherwise: look again next time)
        this.rowsMaybeInNew = true;
        if (errnoCode(e) !== 'ENOENT') throw e; // someone else moved it: the next sync finds it in cur/
      }
    }
    if (moved) await fsyncDir(`${this.dir}/cur`).catch(() => {});
  }

  /** Rewrite the uidlist when more than half of its lines are dead. */
  private async maybeCompact(): Promise<void> {
    const dead = this.uidlistLines - this.table.n;
    if (dead < 1000 || dead < this.table.n) return;
    await this.uidlist.lock(async () => {
      await this.absorbUidlist();
      const live: UidEntry[] = [];
      for (let i = 0; i < this.table.n; i++) live.push({ uid: this.table.uid[i], base: this.table.base[i] });
      for (const [base, p] of this.pending) live.push({ uid: p.uid, base });
      live.sort((a, b) => a.uid - b.uid);
      await this.uidlist.rewrite(live);
      await this.uidlist.read(); // re-anchor on the new file
      this.uidlistLines = live.length;
    });
  }

  /**
   * Number files this process has just written (APPEND, COPY, MOVE) without
   * listing the directories: under the lock, read the uidlist tail and append.
   * Falls back to a full sync if other processes' files are pending.
   */
  async adopt(files: readonly WrittenFile[]): Promise<Map<string, number>> {
    await this.ensureLoaded();
    if (!this.loaded) await this.sync({ moveNew: false }); // the first numbering creates the uidlist
    const result = new Map<string, number>();
    await this.uidlist.lock(async () => {
      await this.absorbUidlist();
      // a concurrent sync of this process may have numbered some already
      const todo = files.filter((f) => {
        const uid = this.byBase().get(f.base);
        if (uid !== undefined) result.set(f.base, uid);
        return uid === undefined;
      });
      if (this.pending.size > 0 || todo.length === 0) return;
      const first = await this.uidlist.append(todo.map((f) => f.base));
      this.uidlistLines += todo.length;
      todo.forEach((f, k) => {
        this.addRow(first + k, f.base, f.name, f.loc, f);
        result.set(f.base, first + k);
      });
    });
    if (result.size < files.length) {
      await this.sync({ moveNew: false });
      for (const f of files) {
        const uid = this.byBase().get(f.base);
        if (uid !== undefined) result.set(f.base, uid);
      }
    }
    return result;
  }

  /**
   * Rows from the snapshot of the last complete sync, if it still holds
   * (snapshot.ts); then the sync that follows only checks the uidlist tail.
   */
  private async loadSnapshot(): Promise<void> {
    const snap = await readSnapshot(this.dir);
    if (!snap) return;
    const h = snap.header;
    // the uidlist must be the one the snapshot read (same UIDVALIDITY, inode, not shorter)
    const head = await readUidlistHead(this.uidlist.path);
    if (!head || head.uidValidity !== h.uidValidity || head.ino !== h.uidlistIno || head.size < h.uidlistOffset) return;
    this.uidlist.resume({ uidValidity: h.uidValidity, ino: h.uidlistIno, offset: h.uidlistOffset, next: h.uidlistNext, lastUid: h.uidlistLastUid });
    this.uidlistLines = h.uidlistLines;
    this.table.reserve(snap.uids.length);
    for (let k = 0; k < snap.uids.length; k++) this.addRow(snap.uids[k], baseOf(snap.names[k]), snap.names[k], snap.locs[k]);
    this.lastScan = { newMtime: h.newMtime, curMtime: h.curMtime, startedNs: h.startedNs };
    this.lastScanWatched = false; // another process's listing: our watch did not see what happened before it
  }

  private scheduleSnapshot(): void {
    if (this.snapshotTimer || this.table.n < SNAPSHOT_MIN_MESSAGES) return;
    this.snapshotTimer = setTimeout(() => {
      this.snapshotTimer = null;
      void this.saveSnapshot().catch(() => {});
    }, 5000);
    this.snapshotTimer.unref();
  }

  /** Write the snapshot if a full sync happened since the last one (and nothing is half-known). */
  private async saveSnapshot(): Promise<void> {
    if (!this.snapshotDirty || this.pending.size > 0 || this.table.n < SNAPSHOT_MIN_MESSAGES || this.running) return;
    const pos = this.uidlist.position();
    this.snapshotDirty = false;
    await writeSnapshot(
      this.dir,
      {
        uidValidity: this.uidlist.uidValidity,
        newMtime: this.lastScan.newMtime,
        curMtime: this.lastScan.curMtime,
        startedNs: this.lastScan.startedNs,
        uidlistIno: pos.ino,
        uidlistOffset: pos.offset,
        uidlistLines: this.uidlistLines,
        uidlistNext: pos.next,
        uidlistLastUid: pos.lastUid,
      },
      this.table,
    );
  }

  /** The persistent cache of parsed fields, opened on first use. */
  cache(): Promise<CacheFile> {
    if (!this.cacheFile) {
      const opening = CacheFile.open(this.dir);
      this.cacheFile = opening;
      opening.then(
        (c) => {
          if (this.cacheFile === opening) this.openedCache = c;
        },
        () => undefined, // reported to whoever awaits cache()
      );
    }
    return this.cacheFile;
  }

  /**
   * Parsed entries are appended in batches, shortly after they are made, or
   * at once when a batch is full: a FETCH that parses a cold folder may not
   * let a timer run for a long while, and every buffered entry holds a whole
   * MessageIndex (measured: 100,000 of them held 480 MB of heap).
   */
  scheduleCacheFlush(unflushed: number): void {
    if (unflushed >= CACHE_FLUSH_BATCH) {
      // one batch on its way at a time; what comes meanwhile waits for the next
      if (!this.batchFlushing) {
        this.batchFlushing = true;
        void this.flushCache().finally(() => (this.batchFlushing = false));
      }
      return;
    }
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      void this.flushCache();
    }, 200);
    this.flushTimer.unref();
  }

  async flushCache(): Promise<void> {
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = null;
    }
    if (!this.cacheFile) return;
    const c = await this.cacheFile;
    await c.flush().catch(() => {});
  }

  /** Set when the process-wide LRU let go of this index; the last handle then closes it. */
  evicted = false;

  /** Release the cache file's descriptor (the index itself is just memory). */
  async close(): Promise<void> {
    if (this.snapshotTimer) clearTimeout(this.snapshotTimer);
    this.snapshotTimer = null;
    await this.saveSnapshot().catch(() => {});
    await this.flushCache();
    const c = this.cacheFile;
    this.cacheFile = null;
    this.openedCache = null;
    if (c) await (await c).close().catch(() => {});
  }

  uidOfBase(base: string): number | undefined {
    return this.byBase().get(base);
  }

  /** Path of a message's file as last seen. */
  pathOf(row: number): string {
    return `${this.dir}/${this.table.loc[row] === LOC_NEW ? 'new' : 'cur'}/${this.table.name[row]}`;
  }

  /** Drop expunge records every open view has already seen. */
  pruneExpungeLog(minModseq: number): void {
    if (this.expungeLog.length === 0) return;
    let k = 0;
    while (k < this.expungeLog.length && this.expungeLog[k].modseq <= minModseq) k++;
    if (k > 0) this.expungeLog.splice(0, k);
  }

  /**
   * What renaming a message's file for new flags means: true when nothing is
   * to do, false when the message is gone, else the paths (both names are
   * registered as our own before the rename, for the watcher accounting).
   */
  private flagRename(uid: number, flags: number): boolean | { from: string; to: string; target: string } {
    const i = this.table.find(uid);
    if (i < 0) return false;
    if (this.table.flags[i] === flags && this.table.loc[i] === LOC_CUR) return true;
    const name = this.table.name[i];
    const p = parseName(name);
    // foreign info we cannot write flags into is kept verbatim as long as the flags allow
    const target = p.foreignInfo && flags === p.flags ? name : fileNameFor(p.base, flags, p.foreignInfo ? '' : p.extra);
    this.noteOwn(this.table.loc[i] === LOC_NEW ? 'new' : 'cur', name);
    this.noteOwn('cur', target);
    return { from: this.pathOf(i), to: `${this.dir}/cur/${target}`, target };
  }

  /** The row after a successful flag rename. */
  private flagRenamed(uid: number, target: string, flags: number): void {
    const j = this.table.find(uid);
    if (j < 0) return;
    this.table.name[j] = target;
    this.table.loc[j] = LOC_CUR;
    if (this.table.flags[j] !== flags) {
      this.table.flags[j] = flags;
      this.table.modseq[j] = ++this.highestModseq;
    }
  }

  /**
   * renameFlags with a blocking rename: true done, false gone, null when the
   * file was renamed underneath us (the caller then takes the async path,
   * which syncs and retries). A rename within one directory is a cheap,
   * metadata-only call; doing many in a row blocking, in slices, is what makes
   * a STORE on 100,000 messages take Dovecot's time rather than twice it.
   */
  renameFlagsNow(uid: number, flags: number): boolean | null {
    const plan = this.flagRename(uid, flags);
    if (typeof plan === 'boolean') return plan;
    try {
      renameSync(plan.from, plan.to);
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return null;
      throw e;
    }
    this.flagRenamed(uid, plan.target, flags);
    return true;
  }

  /**
   * Set a row's flags by renaming its file. On ENOENT (someone renamed it
   * underneath us) sync once and retry on the new name. Returns false if the
   * message is gone.
   */
  async renameFlags(uid: number, flags: number): Promise<boolean> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const plan = this.flagRename(uid, flags);
      if (typeof plan === 'boolean') return plan;
      try {
        await rename(plan.from, plan.to);
        this.flagRenamed(uid, plan.target, flags);
        return true;
      } catch (e) {
        if (errnoCode(e) !== 'ENOENT') throw e;
        await this.sync({ moveNew: false });
      }
    }
    return this.table.find(uid) >= 0;
  }
}

export function baseOf(name: string): string {
  const colon = name.indexOf(':');
  return colon < 0 ? name : name.slice(0, colon);
}

/**
 * A listing keyed by base. A base listed twice (renamed while we listed, or
 * moved from new/ to cur/ between the two directories) keeps its later
 * entry: cur/ is listed last.
 */
function entriesOf(listing: Listing): Map<string, ScanEntry> {
  const entries = new Map<string, ScanEntry>();
  for (let i = 0; i < listing.names.length; i++) entries.set(listing.bases[i], { name: listing.names[i], loc: listing.locs[i] });
  return entries;
}

/**
 * Indexes of `bases` in discovery order (the order compareNames defines),
 * each base once: of a base listed twice, the later entry, as entriesOf
 * keeps it. Sort keys are computed once per name rather than once per
 * comparison. Exported for its test.
 */
export function discoveryOrder(bases: readonly string[]): number[] {
  const n = bases.length;
  const keys = new Float64Array(n);
  for (let i = 0; i < n; i++) keys[i] = timeKey(bases[i]);
  const order: number[] = new Array<number>(n);
  for (let i = 0; i < n; i++) order[i] = i;
  // The usual case needs no sort: libuv lists a directory sorted by name,
  // which for qmail-style names of one length is already discovery order
  // (100,000 names: ~1 ms to check against ~20 ms to sort).
  if (inDiscoveryOrder(bases, keys)) return order;
  order.sort((x, y) => keys[x] - keys[y] || (bases[x] < bases[y] ? -1 : bases[x] > bases[y] ? 1 : x - y));
  // equal bases are now adjacent, in listing order: keep the last of each run
  return order.filter((x, k) => k + 1 === order.length || bases[order[k + 1]] !== bases[x]);
}

/** Whether the listing is strictly ascending in discovery order (so also free of repeated bases). */
function inDiscoveryOrder(bases: readonly string[], keys: Float64Array): boolean {
  for (let i = 1; i < keys.length; i++) {
    const d = keys[i] - keys[i - 1];
    if (d < 0 || (d === 0 && !(bases[i - 1] < bases[i]))) return false;
  }
  return true;
}

/**
 * Discovery order for files nobody has numbered: by delivery time as the
 * qmail-style name gives it (seconds, then microseconds), then by name.
 */
export function compareNames(a: string, b: string): number {
  const ta = timeKey(a);
  const tb = timeKey(b);
  if (ta !== tb) return ta - tb;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * "<seconds>.M<micros>…" as one number (micros modulo 10^6), or last when
 * the name does not start that way. Parsed by hand: it runs once per file on
 * a folder's first load (100,000 times for a big one), ~3× faster than a regex.
 */
function timeKey(name: string): number {
  let secs = 0;
  let i = 0;
  for (; i < name.length; i++) {
    const d = name.charCodeAt(i) - 48;
    if (d < 0 || d > 9) break;
    secs = secs * 10 + d;
  }
  if (i === 0 || name.charCodeAt(i) !== 46) return Number.MAX_SAFE_INTEGER; // "<digits>."
  let micros = 0;
  if (name.charCodeAt(i + 1) === 77) {
    // "M<digits>"
    for (let j = i + 2; j < name.length; j++) {
      const d = name.charCodeAt(j) - 48;
      if (d < 0 || d > 9) break;
      micros = (micros * 10 + d) % 1e6;
    }
  }
  return secs * 1e6 + micros;
}
