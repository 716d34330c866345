/**
 * The process-wide Maildir store: maps users to their Maildir roots and keeps
 * one FolderIndex per folder in an LRU shared by every session, bounded by the
 * total number of message rows (DESIGN.md "Index cache": 50 sessions on one
 * INBOX cost one index). An index still used by an open handle stays alive
 * through that handle even if the LRU lets go of it.
 */
import { LRUCache } from 'lru-cache';
import { FolderIndex } from './folder-index.js';
import { MaildirUserStore, type FolderRegistry } from './user-store.js';
import { isWatching, watchFolder } from './watcher.js';
import type { MailStore } from './types.js';

export interface MaildirStoreOptions {
  /** the Maildir root of a user (e.g. data/mail/<domain>/<local>/Maildir) */
  rootOf: (user: string) => string;
  /** bound on message rows held by cached folder indexes (default 2,000,000) */
  maxIndexedMessages?: number;
  /** create the root (cur/new/tmp) on first access; default true */
  autoCreate?: boolean;
}

export class MaildirStore implements MailStore, FolderRegistry {
  private indexes: LRUCache<string, FolderIndex>;
  private remeasuring = false;
  private watchers = new Map<FolderIndex, { count: number; stop: () => Promise<void> }>();

  constructor(private o: MaildirStoreOptions) {
    this.indexes = new LRUCache<string, FolderIndex>({
      maxSize: o.maxIndexedMessages ?? 2_000_000,
      sizeCalculation: (idx) => idx.table.n + 1,
      // sizes change as folders grow: re-measure on access
      updateAgeOnGet: true,
      dispose: (idx, _key, reason) => {
        if (reason === 'set' || (reason === 'delete' && this.remeasuring)) return; // still ours
        idx.evicted = true;
        if (idx.handles.size === 0) void idx.close();
      },
    });
  }

  async forUser(user: string): Promise<MaildirUserStore> {
    const us = new MaildirUserStore(this.o.rootOf(user), this);
    if (this.o.autoCreate ?? true) await us.ensureRoot();
    return us;
  }

  /** A user store on an explicit root (the LDA, tests, tools). */
  forRoot(root: string): MaildirUserStore {
    return new MaildirUserStore(root, this);
  }

  index(dir: string, userRoot: string): FolderIndex {
    let idx = this.indexes.get(dir);
    if (!idx) {
      idx = new FolderIndex(dir, userRoot);
      this.indexes.set(dir, idx);
    } else if (idx.table.n + 1 !== this.indexes.info(dir)?.size) {
      // lru-cache measures on insert only: re-insert so a grown folder counts as its size
      this.remeasuring = true;
      try {
        this.indexes.delete(dir);
      } finally {
        this.remeasuring = false;
      }
      this.indexes.set(dir, idx);
    }
    return idx;
  }

  forget(dirPrefix: string): void {
    for (const k of [...this.indexes.keys()]) if (k === dirPrefix || k.startsWith(dirPrefix + '.')) this.indexes.delete(k);
  }

  /** Watch a folder for changes by other processes while any handle has it open. */
  watch(idx: FolderIndex): () => void {
    let w = this.watchers.get(idx);
    if (!w) {
      const stop = watchFolder(
        idx.dir,
        () => {
          idx.watchLive();
          idx.notify();
        },
        { onEvent: (sub, name) => idx.onWatchEvent(sub, name) },
      );
      w = {
        count: 0,
        stop: async () => {
          idx.watchStopped();
          await stop();
        },
      };
      this.watchers.set(idx, w);
      // inotify watches are in place once watchFolder returns (fs.watch arms
      // them synchronously): every change from now on has an event
      if (isWatching(idx.dir)) idx.watchLive();
    }
    w.count++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const cur = this.watchers.get(idx);
      if (!cur) return;
      if (--cur.count === 0) {
        this.watchers.delete(idx);
        void cur.stop();
      }
    };
  }

  async close(): Promise<void> {
    for (const w of this.watchers.values()) await w.stop();
    this.watchers.clear();
    for (const idx of [...this.indexes.values()]) await idx.close();
  }
}
