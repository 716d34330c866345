/**
 * Change hints for one Maildir folder (DESIGN.md "Index cache", change
 * detection): something was added to, removed from or renamed in `new/` or
 * `cur/`. A hint carries no detail; the listener calls the mailbox's sync(),
 * which reads the directories and the uidlist and computes the difference.
 *
 * What is watched. Exactly the two directories `<folder>/new` and
 * `<folder>/cur`, non-recursively: `tmp/` is never watched (files there are
 * not messages yet), and neither are the `.Name` sub-folders a Maildir++ root
 * contains (they have their own watchers when a session opens them).
 *
 * Why node:fs watch and not chokidar. DESIGN.md names chokidar, but measured
 * on this machine with 20,000 files in `cur/` (chokidar 5, ignoreInitial,
 * depth 0, atomic off), chokidar takes 0.7 s and 52 MB of heap to become
 * ready, opens one inotify watch per message file (inotify watches are the
 * finite resource DESIGN.md worries about), and re-reads and lstat()s the
 * whole directory on every change: 20 renames spaced 100 ms apart cost 3 s
 * of CPU. Telling chokidar to ignore the files brings memory down but not the
 * re-read on every change (2.8 s of CPU for the same renames). A folder hint
 * needs none of that: `fs.watch` on the two directories is two inotify
 * watches per folder, no per-file state and no directory reads, and the
 * events of the directory watch already cover every add, unlink and rename
 * inside it. (kqueue/FSEvents serve the same call on BSD/macOS.)
 *
 * Sharing. Every subscriber of one folder shares one set of OS watchers
 * (reference counted, keyed by the resolved path); the last unsubscribe
 * closes them.
 *
 * Coalescing. The first event is delivered at once; events in the following
 * 100 ms are folded into one more delivery at the end of that window, and so
 * on. 1,000 files delivered at once give two or three callbacks; an IMAP IDLE
 * hears about the first message in well under a second.
 *
 * When a subscription becomes live (the OS watch is established) each
 * subscriber gets one notification: anything that changed between the
 * caller's last look and the watch being in place is then not missed. It is a
 * hint like any other; a sync that finds nothing is cheap.
 *
 * Failures. A watcher error (ENOSPC when the inotify limit is reached, EMFILE,
 * a folder deleted underneath) never throws out of here. It is passed to the
 * optional `onError` (ENOENT excepted: a folder vanishing is not an error) and
 * the folder falls back to polling: every 500 ms, stat() of `new/` and `cur/`
 * (a directory's mtime, ctime and size change whenever an entry is added,
 * removed or renamed). If polling started because a directory disappeared,
 * it switches back to OS watching once both directories exist again.
 */
import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { errnoCode } from './errors.js';

export interface WatchFolderOptions {
  /** told about watcher errors, which never throw; a callback's own throw lands here too */
  onError?: (e: unknown) => void;
  /**
   * Every raw, uncoalesced entry event, synchronously: `name` is the entry in
   * new/ or cur/ that was added, removed or renamed, or null when the change
   * is known but not which entry (polling, an error, an unnamed event). Lets
   * the index tell its own renames from other programs' (folder-index.ts).
   */
  onEvent?: (sub: 'new' | 'cur', name: string | null) => void;
}

/** window in which further events are folded into one trailing delivery */
const COALESCE_MS = 100;
/** stat() period once the folder is polled instead of watched */
const POLL_MS = 500;
const SUBDIRS = ['new', 'cur'] as const;

interface Subscriber {
  onChange: () => void;
  onError?: (e: unknown) => void;
  onEvent?: (sub: 'new' | 'cur', name: string | null) => void;
}

type Mode = 'starting' | 'watching' | 'polling' | 'closed';

class FolderWatch {
  readonly subscribers = new Set<Subscriber>();
  private mode: Mode = 'starting';
  private watchers: FSWatcher[] = [];
  private pollTimer: NodeJS.Timeout | null = null;
  /** polling because a directory was missing (not because of an error): try to watch again */
  private rearm = false;
  private signatures: string[] = [];
  private cooling: NodeJS.Timeout | null = null;
  private dirty = false;

  constructor(readonly dir: string) {}

  get currentMode(): Mode {
    return this.mode;
  }

  start(): void {
    if (this.arm()) this.becomeLive();
  }

  async close(): Promise<void> {
    this.mode = 'closed';
    this.disarm();
    if (this.pollTimer !== null) clearTimeout(this.pollTimer);
    if (this.cooling !== null) clearTimeout(this.cooling);
    this.pollTimer = null;
    this.cooling = null;
  }

  /** An OS-level event or a changed poll signature. */
  changed(): void {
    if (this.mode === 'closed') return;
    if (this.cooling !== null) {
      this.dirty = true;
      return;
    }
    this.deliver(this.subscribers);
    this.cooling = setTimeout(() => {
      this.cooling = null;
      if (this.dirty) {
        this.dirty = false;
        this.changed();
      }
    }, COALESCE_MS);
    this.cooling.unref();
  }

  /** The notification a subscriber gets when its subscription is live. */
  greet(sub: Subscriber): void {
    setImmediate(() => {
      if (this.mode !== 'closed' && this.subscribers.has(sub)) this.deliver([sub]);
    });
  }

  private deliver(subs: Iterable<Subscriber>): void {
    for (const sub of [...subs]) {
      try {
        sub.onChange();
      } catch (e) {
        this.report(e, sub);
      }
    }
  }

  private report(e: unknown, only?: Subscriber): void {
    for (const sub of only !== undefined ? [only] : [...this.subscribers]) {
      try {
        sub.onError?.(e);
      } catch {
        // an error reporter that throws has nobody left to report to
      }
    }
  }

  private becomeLive(): void {
    for (const sub of this.subscribers) this.greet(sub);
  }

  /** Establishes the OS watches; on failure falls back to polling. */
  private arm(): boolean {
    try {
      for (const sub of SUBDIRS) {
        const w = watch(join(this.dir, sub), { persistent: true }, (event, name) => this.onEvent(sub, event, name));
        w.on('error', (e) => this.fail(e));
        this.watchers.push(w);
      }
      this.mode = 'watching';
      return true;
    } catch (e) {
      this.fail(e);
      return false;
    }
  }

  private disarm(): void {
    for (const w of this.watchers) {
      try {
        w.close();
      } catch {
        // already closed by the OS side
      }
    }
    this.watchers = [];
  }

  private onEvent(sub: 'new' | 'cur', event: string, name: string | Buffer | null): void {
    if (this.mode !== 'watching') return;
    // 'change' is a file's content or attributes (a link count, say): the listing is the same
    if (event === 'rename' || name === null) this.raw(sub, name === null ? null : name.toString());
    this.changed();
    // The watched directory itself was removed or renamed (Linux reports it as
    // an event named after the directory): the watch is dead from now on.
    if (name === null || name.toString() === sub) {
      stat(join(this.dir, sub)).catch((e: unknown) => this.fail(e));
    }
  }

  /** Tell the raw-event subscribers; null = something changed, unknown what. */
  private raw(sub: 'new' | 'cur', name: string | null): void {
    for (const s of this.subscribers) {
      try {
        s.onEvent?.(sub, name);
      } catch (e) {
        this.report(e, s);
      }
    }
  }

  private fail(e: unknown): void {
    if (this.mode === 'closed' || this.mode === 'polling') return;
    this.raw('cur', null);
    const missing = errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ENOTDIR';
    if (!missing) this.report(e);
    const wasStarting = this.mode === 'starting';
    this.disarm();
    this.mode = 'polling';
    this.rearm = missing;
    void this.pollStart(wasStarting);
  }

  private async signature(sub: string): Promise<string> {
    try {
      const st = await stat(join(this.dir, sub), { bigint: true });
      return `${st.ino}:${st.mtimeNs}:${st.ctimeNs}:${st.size}`;
    } catch {
      return 'missing';
    }
  }

  private async pollStart(wasStarting: boolean): Promise<void> {
    this.signatures = await Promise.all(SUBDIRS.map((s) => this.signature(s)));
    if (this.mode !== 'polling') return;
    // Whatever happened while we switched over is reported by this hint.
    if (wasStarting) this.becomeLive();
    else this.changed();
    this.schedulePoll();
  }

  private schedulePoll(): void {
    // Not unref'd: like the OS watch it replaces, it keeps the process alive.
    this.pollTimer = setTimeout(() => void this.pollTick(), POLL_MS);
  }

  private async pollTick(): Promise<void> {
    this.pollTimer = null;
    if (this.mode !== 'polling') return;
    const now = await Promise.all(SUBDIRS.map((s) => this.signature(s)));
    if (this.mode !== 'polling') return;
    const differs = now.some((s, i) => s !== this.signatures[i]);
    this.signatures = now;
    if (differs) {
      this.raw('cur', null);
      this.changed();
    }
    if (this.rearm && now.every((s) => s !== 'missing')) {
      this.mode = 'starting';
      // On failure arm() has already gone back to polling, with a poll loop of its own.
      if (this.arm()) this.changed();
      return;
    }
    this.schedulePoll();
  }
}

const folders = new Map<string, FolderWatch>();

/**
 * Calls `onChange` (coalesced) whenever messages appear in, vanish from or
 * are renamed in the folder's `new/` or `cur/`, and once when the watch is
 * live. Never throws. Returns the unsubscribe; after it resolves no more
 * callbacks arrive for this subscription.
 */
export function watchFolder(folderDir: string, onChange: () => void, o: WatchFolderOptions = {}): () => Promise<void> {
  const key = resolve(folderDir);
  const sub: Subscriber = { onChange, onError: o.onError, onEvent: o.onEvent };
  let folder = folders.get(key);
  if (folder === undefined) {
    folder = new FolderWatch(key);
    folders.set(key, folder);
    folder.subscribers.add(sub);
    folder.start();
  } else {
    folder.subscribers.add(sub);
    if (folder.currentMode === 'watching' || folder.currentMode === 'polling') folder.greet(sub);
  }
  const shared = folder;
  let done = false;
  return async () => {
    if (done) return;
    done = true;
    shared.subscribers.delete(sub);
    if (shared.subscribers.size > 0) return;
    if (folders.get(key) === shared) folders.delete(key);
    await shared.close();
  };
}

/** Whether `folderDir` is watched by the OS now (not polled, not starting): its changes all come as events. */
export function isWatching(folderDir: string): boolean {
  return folders.get(resolve(folderDir))?.currentMode === 'watching';
}

/** How each watched folder is being watched, for diagnostics and tests. */
export function watchedFolders(): Map<string, { subscribers: number; mode: 'watching' | 'polling' | 'starting' | 'closed' }> {
  const out = new Map<string, { subscribers: number; mode: Mode }>();
  for (const [dir, f] of folders) out.set(dir, { subscribers: f.subscribers.size, mode: f.currentMode });
  return out;
}
