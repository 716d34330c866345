/**
 * One user's Maildir++ tree: folder management (create, delete, rename,
 * list, subscribe), status, append and open. Thin over FolderIndex and the
 * small on-disk files; every folder operation is a directory rename or
 * mkdir, so other processes see either the old or the new state.
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { errnoCode, StoreError } from './errors.js';
import { FLAG_SEEN, uniqueName } from './filename.js';
import { bitsFromFlags, undefinedKeywords } from './flags.js';
import type { FolderIndex } from './folder-index.js';
import { fsyncDir } from './fsutil.js';
import { LOC_CUR, LOC_NEW } from './message-table.js';
import { MaildirMailbox, type MailboxContext } from './mailbox.js';
import { dirNameOf, isInbox, nameOfDir, normalizeName, parentOf, DELIMITER } from './names.js';
import { MaildirQuota } from './quota.js';
import { readSpecialUse, writeSpecialUse } from './special-use.js';
import { readSubscriptions, writeSubscriptions } from './subscriptions.js';
import { Uidlist } from './uidlist.js';
import { allocateUidValidity } from './uidvalidity.js';
import { writeMessage, type MessageSource } from './deliver.js';
import type { AppendOptions, MailboxInfo, MailboxStatus, QuotaUsage, SpecialUse, UserStore } from './types.js';

/** What a user store needs from the process-wide store. */
export interface FolderRegistry {
  index(dir: string, userRoot: string): FolderIndex;
  forget(dirPrefix: string): void;
  watch(index: FolderIndex): () => void;
}

const ROOT_SUBDIRS = ['cur', 'new', 'tmp'] as const;

export class MaildirUserStore implements UserStore {
  readonly quotaFile: MaildirQuota;

  constructor(
    readonly root: string,
    private registry: FolderRegistry,
  ) {
    this.quotaFile = new MaildirQuota(root);
  }

  /** Make sure the root is a Maildir (cur/ new/ tmp/). */
  async ensureRoot(): Promise<void> {
    // (checked with blocking stats first: this runs for every delivery, and the answer is nearly always yes)
    if (ROOT_SUBDIRS.every((sub) => existsSync(`${this.root}/${sub}`))) return;
    for (const sub of ROOT_SUBDIRS) await mkdir(`${this.root}/${sub}`, { recursive: true, mode: 0o700 });
  }

  dirOf(name: string): string {
    const d = dirNameOf(name);
    return d ? `${this.root}/${d}` : this.root;
  }

  private async exists(name: string): Promise<boolean> {
    try {
      // blocking: asked before every delivery, APPEND and SELECT
      return statSync(`${this.dirOf(name)}/cur`).isDirectory();
    } catch {
      return false;
    }
  }

  /** Existing folders by name (INBOX included). */
  private async folderNames(): Promise<string[]> {
    const names = ['INBOX'];
    for (const e of await readdir(this.root, { withFileTypes: true })) {
      if (!e.isDirectory()) continue;
      const n = nameOfDir(e.name);
      if (n !== null && n !== 'INBOX') names.push(n);
    }
    return names;
  }

  async list(): Promise<MailboxInfo[]> {
    const existing = await this.folderNames();
    const subscribed = await readSubscriptions(this.root);
    const special = await readSpecialUse(this.root);
    const all = new Set(existing);
    const virtual = new Set<string>();
    // a folder "A/B" without "A": A is listed as a non-existent parent (\Noselect)
    for (const n of existing) {
      for (let p = parentOf(n); p !== null; p = parentOf(p)) if (!all.has(p)) virtual.add(p);
    }
    const names = [...all, ...virtual];
    const prefixes = new Set<string>();
    for (const n of names) for (let p = parentOf(n); p !== null; p = parentOf(p)) prefixes.add(p);
    return names.sort(compareMailboxNames).map((name) => {
      const info: MailboxInfo = {
        name,
        delimiter: DELIMITER,
        subscribed: subscribed.has(name),
        hasChildren: prefixes.has(name),
      };
      const use = special.get(name);
      if (use) info.specialUse = use;
      if (virtual.has(name)) info.nonExistent = true;
      return info;
    });
  }

  async create(rawName: string, specialUse?: SpecialUse): Promise<void> {
    const name = normalizeName(rawName);
    if (isInbox(name) || (await this.exists(name))) throw new StoreError('ALREADYEXISTS', 'Mailbox already exists');
    await this.ensureRoot();
    // Build the folder under tmp/ and rename it into place: it appears whole or not at all.
    const staging = `${this.root}/tmp/.create.${uniqueName()}`;
    await mkdir(staging, { mode: 0o700 });
    try {
      for (const sub of ['cur', 'new', 'tmp']) await mkdir(`${staging}/${sub}`, { mode: 0o700 });
      await writeFile(`${staging}/maildirfolder`, '');
      await Uidlist.create(staging, await allocateUidValidity(this.root));
      try {
        await rename(staging, this.dirOf(name));
      } catch (e) {
        if (errnoCode(e) === 'ENOTEMPTY' || errnoCode(e) === 'EEXIST') throw new StoreError('ALREADYEXISTS', 'Mailbox already exists');
        throw e;
      }
      await fsyncDir(this.root);
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
    if (specialUse) {
      const map = await readSpecialUse(this.root);
      for (const [n, u] of map) if (u === specialUse) map.delete(n);
      map.set(name, specialUse);
      await writeSpecialUse(this.root, map);
    }
  }

  async delete(rawName: string): Promise<void> {
    const name = normalizeName(rawName);
    if (isInbox(name)) throw new StoreError('CANNOT', 'INBOX cannot be deleted');
    if (!(await this.exists(name))) throw new StoreError('NONEXISTENT', 'Mailbox does not exist');
    const dir = this.dirOf(name);
    // Children ".A.B" stay: "A" then lists as a \Noselect parent, as RFC 3501 6.3.4 describes.
    const trash = `${this.root}/tmp/.deleted.${uniqueName()}`;
    await rename(dir, trash);
    await fsyncDir(this.root);
    this.registry.forget(dir);
    await rm(trash, { recursive: true, force: true });
    const map = await readSpecialUse(this.root);
    if (map.delete(name)) await writeSpecialUse(this.root, map);
  }

  async rename(rawFrom: string, rawTo: string): Promise<void> {
    const from = normalizeName(rawFrom);
    const to = normalizeName(rawTo);
    if (!(await this.exists(from))) throw new StoreError('NONEXISTENT', 'Mailbox does not exist');
    if (isInbox(to) || (await this.exists(to))) throw new StoreError('ALREADYEXISTS', 'Target mailbox already exists');
    if (to.startsWith(from + DELIMITER)) throw new StoreError('CANNOT', 'Cannot rename a mailbox into itself');
    if (isInbox(from)) return this.renameInbox(to);
    const existing = await this.folderNames();
    const moving = existing.filter((n) => n === from || n.startsWith(from + DELIMITER));
    for (const n of moving) {
      const target = to + n.slice(from.length);
      if (existing.includes(target)) throw new StoreError('ALREADYEXISTS', `Mailbox ${target} already exists`);
    }
    for (const n of moving) {
      const target = to + n.slice(from.length);
      await rename(this.dirOf(n), this.dirOf(target));
      this.registry.forget(this.dirOf(n));
    }
    await fsyncDir(this.root);
    const rewrite = (n: string) => (n === from || n.startsWith(from + DELIMITER) ? to + n.slice(from.length) : n);
    const subs = await readSubscriptions(this.root);
    if ([...subs].some((n) => rewrite(n) !== n)) await writeSubscriptions(this.root, [...subs].map(rewrite));
    const map = await readSpecialUse(this.root);
    if ([...map.keys()].some((n) => rewrite(n) !== n)) await writeSpecialUse(this.root, new Map([...map].map(([n, u]) => [rewrite(n), u])));
  }

  /** RFC 3501 6.3.5: renaming INBOX moves its messages to the new folder and leaves INBOX empty. */
  private async renameInbox(to: string): Promise<void> {
    await this.create(to);
    const inbox = await this.open('INBOX', { readOnly: false });
    try {
      const uids = [...inbox.uids()];
      if (uids.length) await inbox.copy(uids, to, { move: true });
    } finally {
      await inbox.close();
    }
  }

  async subscribe(rawName: string, on: boolean): Promise<void> {
    const name = normalizeName(rawName);
    const subs = await readSubscriptions(this.root);
    if (on === subs.has(name)) return;
    if (on) subs.add(name);
    else subs.delete(name);
    await writeSubscriptions(this.root, subs);
  }

  folderIndex(rawName: string): { index: FolderIndex; name: string } {
    const name = normalizeName(rawName);
    return { index: this.registry.index(this.dirOf(name), this.root), name };
  }

  async status(rawName: string): Promise<MailboxStatus> {
    const { index } = this.folderIndex(rawName);
    await index.sync({ moveNew: false });
    const t = index.table;
    let unseen = 0;
    let recent = 0;
    let size = 0;
    let unknownSize = false;
    for (let i = 0; i < t.n; i++) {
      if (!(t.flags[i] & FLAG_SEEN)) unseen++;
      if (t.loc[i] === LOC_NEW || index.unclaimedRecent.has(t.uid[i])) recent++;
      if (t.vsize[i]) size += t.vsize[i];
      else unknownSize = true;
    }
    if (unknownSize) {
      // foreign files without W=: their CRLF size needs the file (then cached)
      const mb = await MaildirMailbox.open(normalizeName(rawName), index, true, this.context());
      try {
        size = 0;
        for (const uid of mb.uids()) size += await mb.rfc822Size(uid);
      } finally {
        await mb.close();
      }
    }
    return { messages: t.n, recent, uidNext: index.uidNext, uidValidity: index.uidValidity, unseen, size };
  }

  async append(rawName: string, body: Readable | Buffer | MessageSource, o: AppendOptions = {}): Promise<{ uidValidity: number; uid: number }> {
    const { index, name } = this.folderIndex(rawName);
    if (!(await this.exists(name))) throw new StoreError('NONEXISTENT', 'Mailbox does not exist');
    await index.sync({ moveNew: false });
    const flags = o.flags ?? [];
    const missing = undefinedKeywords(flags, index.keywords);
    if (missing.length) {
      await index.uidlist.lock(async () => {
        await index.keywords.refresh();
        await index.keywords.define(undefinedKeywords(flags, index.keywords));
      });
    }
    const bits = bitsFromFlags(flags, index.keywords);
    let numbered: Map<string, number> | undefined;
    const w = await writeMessage(index.dir, body, {
      flags: bits,
      toCur: true,
      ...(o.internalDate ? { internalDate: o.internalDate } : {}),
      beforeCommit: (raw) => this.quotaFile.check(raw, 1),
      // adopt() adds the row: the watcher event is our own
      onName: (sub, fileName) => index.noteOwn(sub, fileName),
      // The UID is taken (the uidlist's append and datasync) while the
      // directory of the rename is fsync'd. If a crash then keeps the uidlist
      // line but loses the rename, the line names no file: a dead line, as an
      // expunged message's is (uidlist.ts). APPEND is answered after both.
      whileDirSyncs: async (w) => {
        await this.quotaFile.add(w.rawSize, 1);
        numbered = await index.adopt([
          { base: w.base, name: w.fileName, loc: w.location === 'new' ? LOC_NEW : LOC_CUR, rawSize: w.rawSize, vsize: w.vsize, date: (o.internalDate ?? new Date()).getTime() },
        ]);
      },
    });
    const uid = numbered?.get(w.base);
    if (uid === undefined) throw new StoreError('SERVERBUG', 'Appended message vanished before it was numbered');
    index.unclaimedRecent.add(uid);
    index.notify();
    return { uidValidity: index.uidValidity, uid };
  }

  /** Deliver (SMTP/LMTP/LDA): into new/, no UID needed now; sessions learn of it by notification. */
  async deliver(rawName: string, body: MessageSource, o: { maxBytes?: number } = {}): Promise<{ fileName: string; rawSize: number }> {
    const { index, name } = this.folderIndex(rawName);
    if (!(await this.exists(name))) throw new StoreError('NONEXISTENT', 'Mailbox does not exist');
    const w = await writeMessage(index.dir, body, {
      ...(o.maxBytes !== undefined ? { maxBytes: o.maxBytes } : {}),
      beforeCommit: (raw) => this.quotaFile.check(raw, 1),
    });
    await this.quotaFile.add(w.rawSize, 1);
    index.notify();
    return { fileName: w.fileName, rawSize: w.rawSize };
  }

  async open(rawName: string, o: { readOnly: boolean; watch?: boolean }): Promise<MaildirMailbox> {
    const { index, name } = this.folderIndex(rawName);
    if (!(await this.exists(name))) throw new StoreError('NONEXISTENT', 'Mailbox does not exist');
    return MaildirMailbox.open(name, index, o.readOnly, this.context(), o.watch ?? true);
  }

  private context(): MailboxContext {
    return {
      folder: async (dest) => {
        const f = this.folderIndex(dest);
        if (!(await this.exists(f.name))) throw new StoreError('NONEXISTENT', 'Target mailbox does not exist');
        return f;
      },
      quota: this.quotaFile,
      watch: (idx) => this.registry.watch(idx),
      released: () => {},
    };
  }

  quota(): Promise<QuotaUsage> {
    return this.quotaFile.usage();
  }
}

/** INBOX first, then by name; children right after their parent. */
function compareMailboxNames(a: string, b: string): number {
  if (a === 'INBOX') return -1;
  if (b === 'INBOX') return 1;
  const pa = a.split(DELIMITER);
  const pb = b.split(DELIMITER);
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    if (pa[i] !== pb[i]) return pa[i] < pb[i] ? -1 : 1;
  }
  return pa.length - pb.length;
}

