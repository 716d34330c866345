/**
 * Domains, users and aliases, kept under data/domains/<domain>/ (see files.ts
 * for the file formats), and each user's Maildir under
 * data/mail/<domain>/<local>/Maildir.
 *
 * Concurrency. The CLI may run while servers run, and two CLI invocations may
 * run at once, on one machine or on several sharing the data directory. Every
 * change is a read-modify-write of one domain's file done under that domain's
 * dot-lock (data/domains/<domain>/.lock, O_EXCL, stale after 30 s), and the
 * new file replaces the old one atomically (tmp + fsync + rename + fsync of
 * the directory). So two `user add` for one domain serialise and neither
 * update is lost, and a reader never sees a half-written file.
 *
 * Readers take no lock: a server re-reads a file only when its inode, size or
 * mtime changed (one stat per call), which is how a change made with the CLI
 * reaches a running server without a restart.
 */
import { readFileSync, statSync } from 'node:fs';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { acquireDotLock } from '../../maildir/dotlock.js';
import { errnoCode, isStoreError } from '../../maildir/errors.js';
import { writeFileAtomic } from '../../maildir/fsutil.js';
import { provisionMaildir } from '../../maildir/provision.js';
import { MaildirQuota } from '../../maildir/quota.js';
import { AccountError } from '../errors.js';
import { type Address, normalizeDomain, parseAddress, parseAliasKey, tryParseAddress } from './address.js';
import {
  ALIASES_FILE,
  type AliasesFile,
  type Forward,
  formatAliasesFile,
  formatUsersFile,
  parseAliasesFile,
  parseUsersFile,
  type Quota,
  USERS_FILE,
  type UsersFile,
} from './files.js';

export type { Forward, Quota } from './files.js';

export interface UserRecord {
  address: string;
  local: string;
  domain: string;
  passwordHash: string;
  enabled: boolean;
  quota: Quota | null;
  forward: Forward | null;
  created: string;
}

export interface AliasRecord {
  /** `local@domain`, or `@domain` for the domain's catch-all */
  alias: string;
  domain: string;
  targets: string[];
}

/** Where mail for one address goes, after aliases, catch-alls and forwards. */
export interface Resolution {
  /** local users (normalised addresses) to deliver into */
  local: string[];
  /** addresses outside our domains to forward to */
  remote: string[];
  /** local addresses named by an alias or forward that do not exist */
  unknown: string[];
}

export interface AccountStoreOptions {
  /** give up waiting for a domain lock after this long (EX_TEMPFAIL) */
  lockTimeoutMs?: number;
  staleLockMs?: number;
  /** creates a user's Maildir with its special-use folders (default: the storage engine's) */
  provision?: (maildirRoot: string) => Promise<void>;
}

/** Bound on alias/forward chains, which may also loop. */
const MAX_ALIAS_DEPTH = 10;

export class AccountStore {
  readonly dataDir: string;
  readonly domainsDir: string;
  readonly mailDir: string;
  private readonly o: Required<AccountStoreOptions>;
  private readonly cache = new Map<string, { stamp: string; value: unknown }>();

  constructor(dataDir: string, o: AccountStoreOptions = {}) {
    this.dataDir = dataDir;
    this.domainsDir = join(dataDir, 'domains');
    this.mailDir = join(dataDir, 'mail');
    this.o = {
      lockTimeoutMs: o.lockTimeoutMs ?? 10_000,
      staleLockMs: o.staleLockMs ?? 30_000,
      provision: o.provision ?? provisionMaildir,
    };
  }

  /** data/mail/<domain>/<local>/Maildir: the user's Maildir++ root (INBOX). */
  maildirPath(address: string | Address): string {
    const a = typeof address === 'string' ? parseAddress(address) : address;
    return join(this.mailDir, a.domain, a.local, 'Maildir');
  }

  // ---- domains --------------------------------------------------------

  async listDomains(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.domainsDir);
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return [];
      throw e;
    }
    const out: string[] = [];
    for (const n of names) {
      if (n.startsWith('.')) continue; // .deleting-*, editor files
      if (await isDirectory(join(this.domainsDir, n))) out.push(n);
    }
    return out.sort();
  }

  async hasDomain(domain: string): Promise<boolean> {
    return isDirectory(join(this.domainsDir, normalizeDomain(domain)));
  }

  async addDomain(input: string): Promise<string> {
    const domain = normalizeDomain(input);
    await mkdir(this.domainsDir, { recursive: true, mode: 0o700 });
    try {
      // mkdir is atomic: of two concurrent `domain add`, exactly one succeeds
      await mkdir(join(this.domainsDir, domain), { mode: 0o700 });
    } catch (e) {
      if (errnoCode(e) === 'EEXIST') throw new AccountError('EXISTS', `domain ${domain} already exists`);
      throw new AccountError('CANTCREATE', `cannot create ${join(this.domainsDir, domain)}: ${errnoCode(e) ?? String(e)}`, { cause: e });
    }
    await this.locked(domain, async () => {
      await writeFileAtomic(this.usersPath(domain), formatUsersFile({ users: {} }));
      await writeFileAtomic(this.aliasesPath(domain), formatAliasesFile({ aliases: {} }));
    });
    return domain;
  }

  /**
   * Removes a domain. One with users or aliases is refused unless `force`;
   * its mail goes too unless `keepMail`.
   */
  async deleteDomain(input: string, o: { force?: boolean; keepMail?: boolean } = {}): Promise<{ domain: string; users: string[] }> {
    const domain = normalizeDomain(input);
    const aside = join(this.domainsDir, `.deleting-${domain}-${process.pid}-${Date.now()}`);
    const users = await this.locked(domain, async () => {
      const u = await this.readUsers(domain, { fresh: true });
      const a = await this.readAliases(domain, { fresh: true });
      const locals = Object.keys(u.users);
      const aliasCount = Object.keys(a.aliases).length + (a.catchAll ? 1 : 0);
      if (!o.force && (locals.length > 0 || aliasCount > 0)) {
        throw new AccountError(
          'NOTEMPTY',
          `domain ${domain} still has ${locals.length} user(s) and ${aliasCount} alias(es); delete them first or use --force`,
        );
      }
      // Renamed away while locked: a concurrent change waiting for the lock
      // then finds no domain (ENOENT) instead of writing into a dying one.
      await rename(join(this.domainsDir, domain), aside);
      return locals.map((l) => `${l}@${domain}`);
    });
    await rm(aside, { recursive: true, force: true });
    if (!o.keepMail) await rm(join(this.mailDir, domain), { recursive: true, force: true });
    return { domain, users };
  }

  // ---- users ----------------------------------------------------------

  async getUser(input: string): Promise<UserRecord | null> {
    const a = tryParseAddress(input);
    if (!a || !(await this.hasDomain(a.domain))) return null;
    const entry = (await this.readUsers(a.domain)).users[a.local];
    return entry ? toRecord(a.local, a.domain, entry) : null;
  }

  /** Users of one domain, or of every domain; sorted by address. */
  async listUsers(domain?: string): Promise<UserRecord[]> {
    const domains = domain === undefined ? await this.listDomains() : [await this.requireDomain(domain)];
    const out: UserRecord[] = [];
    for (const d of domains) {
      const f = await this.readUsers(d);
      for (const [local, e] of Object.entries(f.users)) out.push(toRecord(local, d, e));
    }
    return out.sort((x, y) => (x.address < y.address ? -1 : x.address > y.address ? 1 : 0));
  }

  /**
   * Adds a user with an already computed password hash (see passwords.ts),
   * after creating the Maildir, so that a server seeing the new user can
   * open its mailboxes at once.
   */
  async addUser(input: string, passwordHash: string, o: { quota?: Quota | null; enabled?: boolean } = {}): Promise<UserRecord> {
    const a = parseAddress(input);
    await this.requireDomain(a.domain);
    await this.refuseTaken(a, await this.readUsers(a.domain), await this.readAliases(a.domain));
    const root = this.maildirPath(a);
    try {
      await mkdir(join(this.mailDir, a.domain, a.local), { recursive: true, mode: 0o700 });
      await this.o.provision(root); // idempotent: a kept Maildir of a deleted user is reused
    } catch (e) {
      throw new AccountError('CANTCREATE', `cannot create the Maildir ${root}: ${errnoCode(e) ?? (e instanceof Error ? e.message : String(e))}`, {
        cause: e,
      });
    }
    const quota = o.quota && (o.quota.bytes !== undefined || o.quota.messages !== undefined) ? o.quota : undefined;
    const entry = { password: passwordHash, enabled: o.enabled ?? true, created: new Date().toISOString(), ...(quota ? { quota } : {}) };
    await this.locked(a.domain, async () => {
      const users = await this.readUsers(a.domain, { fresh: true });
      await this.refuseTaken(a, users, await this.readAliases(a.domain, { fresh: true }));
      users.users[a.local] = entry;
      await this.writeUsers(a.domain, users);
    });
    await this.applyQuota(root, quota ?? null);
    return toRecord(a.local, a.domain, entry);
  }

  async setPassword(input: string, passwordHash: string): Promise<void> {
    await this.updateUser(input, (e) => {
      e.password = passwordHash;
    });
  }

  /**
   * Replaces the hash only if it is still `expected`: used to upgrade a
   * legacy hash after a login without undoing a `user passwd` that happened
   * in between. Returns whether it was replaced.
   */
  async replacePasswordIf(input: string, expected: string, passwordHash: string): Promise<boolean> {
    let replaced = false;
    await this.updateUser(input, (e) => {
      if (e.password !== expected) return false;
      e.password = passwordHash;
      replaced = true;
    });
    return replaced;
  }

  async setEnabled(input: string, enabled: boolean): Promise<void> {
    await this.updateUser(input, (e) => {
      e.enabled = enabled;
    });
  }

  /** Sets (or with null removes) the quota, in the record and in the Maildir's maildirsize. */
  async setQuota(input: string, quota: Quota | null): Promise<void> {
    const q = quota && (quota.bytes !== undefined || quota.messages !== undefined) ? quota : null;
    await this.updateUser(input, (e) => {
      if (q) e.quota = q;
      else delete e.quota;
    });
    await this.applyQuota(this.maildirPath(input), q);
  }

  async setForward(input: string, forward: Forward | null): Promise<void> {
    const f = forward && forward.to.length > 0 ? { to: forward.to.map((t) => parseAddress(t).address), keepCopy: forward.keepCopy } : null;
    await this.updateUser(input, (e) => {
      if (f) e.forward = f;
      else delete e.forward;
    });
  }

  async deleteUser(input: string, o: { keepMail?: boolean } = {}): Promise<void> {
    const a = parseAddress(input);
    await this.locked(a.domain, async () => {
      const users = await this.readUsers(a.domain, { fresh: true });
      if (!users.users[a.local]) throw new AccountError('NOUSER', `no such user: ${a.address}`);
      delete users.users[a.local];
      await this.writeUsers(a.domain, users);
    });
    if (!o.keepMail) await rm(join(this.mailDir, a.domain, a.local), { recursive: true, force: true });
  }

  // ---- aliases --------------------------------------------------------

  async listAliases(domain?: string): Promise<AliasRecord[]> {
    const domains = domain === undefined ? await this.listDomains() : [await this.requireDomain(domain)];
    const out: AliasRecord[] = [];
    for (const d of domains) {
      const f = await this.readAliases(d);
      for (const [local, targets] of Object.entries(f.aliases)) out.push({ alias: `${local}@${d}`, domain: d, targets });
      if (f.catchAll) out.push({ alias: `@${d}`, domain: d, targets: f.catchAll });
    }
    return out.sort((x, y) => (x.alias < y.alias ? -1 : x.alias > y.alias ? 1 : 0));
  }

  /** Adds targets to an alias (creating it), or to the catch-all for `@domain`. */
  async addAlias(aliasInput: string, targetInputs: string[]): Promise<AliasRecord> {
    if (targetInputs.length === 0) throw new AccountError('BADADDRESS', 'an alias needs at least one target address');
    const key = parseAliasKey(aliasInput);
    const targets = targetInputs.map((t) => parseAddress(t).address);
    const domain = key.kind === 'catchall' ? key.domain : key.address.domain;
    await this.requireDomain(domain);
    let result: string[] = [];
    await this.locked(domain, async () => {
      const aliases = await this.readAliases(domain, { fresh: true });
      if (key.kind === 'address') {
        const users = await this.readUsers(domain, { fresh: true });
        if (users.users[key.address.local]) {
          throw new AccountError('EXISTS', `${key.address.address} is a user; give the user a forward instead of an alias`);
        }
      }
      const current = key.kind === 'catchall' ? (aliases.catchAll ?? []) : (aliases.aliases[key.address.local] ?? []);
      result = [...current, ...targets.filter((t) => !current.includes(t))].filter((t, i, all) => all.indexOf(t) === i);
      if (key.kind === 'catchall') aliases.catchAll = result;
      else aliases.aliases[key.address.local] = result;
      await this.writeAliases(domain, aliases);
    });
    return { alias: key.kind === 'catchall' ? `@${domain}` : key.address.address, domain, targets: result };
  }

  /** Removes some targets of an alias, or the whole alias when none are named. */
  async deleteAlias(aliasInput: string, targetInputs: string[] = []): Promise<void> {
    const key = parseAliasKey(aliasInput);
    const remove = targetInputs.map((t) => parseAddress(t).address);
    const domain = key.kind === 'catchall' ? key.domain : key.address.domain;
    const name = key.kind === 'catchall' ? `@${domain}` : key.address.address;
    await this.locked(domain, async () => {
      const aliases = await this.readAliases(domain, { fresh: true });
      const current = key.kind === 'catchall' ? aliases.catchAll : aliases.aliases[key.address.local];
      if (!current) throw new AccountError('NOUSER', `no such alias: ${name}`);
      const missing = remove.filter((t) => !current.includes(t));
      if (missing.length > 0) throw new AccountError('NOUSER', `alias ${name} has no target ${missing.join(', ')}`);
      const left = remove.length === 0 ? [] : current.filter((t) => !remove.includes(t));
      if (key.kind === 'catchall') {
        if (left.length > 0) aliases.catchAll = left;
        else delete aliases.catchAll;
      } else if (left.length > 0) aliases.aliases[key.address.local] = left;
      else delete aliases.aliases[key.address.local];
      await this.writeAliases(domain, aliases);
    });
  }

  /**
   * Where mail to `address` goes: a user (or its forward), an alias, or the
   * domain's catch-all, expanded recursively (bounded, loop-safe). Null when
   * the domain is not ours or nothing local matches: the caller then refuses
   * the recipient (MX) or relays it (authenticated submission).
   */
  async resolve(input: string): Promise<Resolution | null> {
    const a = tryParseAddress(input);
    if (!a || !(await this.hasDomain(a.domain))) return null;
    const out: Resolution = { local: [], remote: [], unknown: [] };
    if (!(await this.expand(a, out, new Set(), 0))) return null;
    return { local: unique(out.local), remote: unique(out.remote), unknown: unique(out.unknown) };
  }

  private async expand(a: Address, out: Resolution, seen: Set<string>, depth: number): Promise<boolean> {
    if (seen.has(a.address)) return true;
    seen.add(a.address);
    if (!(await this.hasDomain(a.domain))) {
      out.remote.push(a.address);
      return true;
    }
    const next = async (targets: string[]) => {
      for (const t of targets) {
        const ta = tryParseAddress(t);
        if (!ta) continue;
        if (depth + 1 > MAX_ALIAS_DEPTH) out.unknown.push(ta.address);
        else if (!(await this.expand(ta, out, seen, depth + 1))) out.unknown.push(ta.address);
      }
    };
    const entry = (await this.readUsers(a.domain)).users[a.local];
    if (entry) {
      if (!entry.forward || entry.forward.to.length === 0 || entry.forward.keepCopy) out.local.push(a.address);
      if (entry.forward) await next(entry.forward.to);
      return true;
    }
    const aliases = await this.readAliases(a.domain);
    const targets = Object.hasOwn(aliases.aliases, a.local) ? aliases.aliases[a.local] : aliases.catchAll;
    if (!targets) return false;
    await next(targets);
    return true;
  }

  // ---- files and locks -------------------------------------------------

  private usersPath(domain: string): string {
    return join(this.domainsDir, domain, USERS_FILE);
  }

  private aliasesPath(domain: string): string {
    return join(this.domainsDir, domain, ALIASES_FILE);
  }

  private async requireDomain(input: string): Promise<string> {
    const domain = normalizeDomain(input);
    if (!(await isDirectory(join(this.domainsDir, domain)))) throw new AccountError('NODOMAIN', `no such domain: ${domain}`);
    return domain;
  }

  private async refuseTaken(a: Address, users: UsersFile, aliases: AliasesFile): Promise<void> {
    if (Object.hasOwn(users.users, a.local)) throw new AccountError('EXISTS', `user ${a.address} already exists`);
    if (Object.hasOwn(aliases.aliases, a.local)) throw new AccountError('EXISTS', `${a.address} is already an alias`);
  }

  private async updateUser(input: string, change: (e: UsersFile['users'][string]) => void | false): Promise<void> {
    const a = parseAddress(input);
    await this.requireDomain(a.domain);
    await this.locked(a.domain, async () => {
      const users = await this.readUsers(a.domain, { fresh: true });
      const e = users.users[a.local];
      if (!e) throw new AccountError('NOUSER', `no such user: ${a.address}`);
      if (change(e) === false) return;
      await this.writeUsers(a.domain, users);
    });
  }

  private async applyQuota(root: string, quota: Quota | null): Promise<void> {
    try {
      await new MaildirQuota(root).setLimit(quota);
    } catch (e) {
      throw new AccountError('CANTCREATE', `the quota is recorded but ${root}/maildirsize could not be written: ${errnoCode(e) ?? String(e)}`, {
        cause: e,
      });
    }
  }

  /** Runs `fn` holding the domain's dot-lock. */
  private async locked<T>(domain: string, fn: () => Promise<T>): Promise<T> {
    let release: () => Promise<void>;
    try {
      release = await acquireDotLock(join(this.domainsDir, domain, '.lock'), {
        timeoutMs: this.o.lockTimeoutMs,
        staleMs: this.o.staleLockMs,
      });
    } catch (e) {
      const code = errnoCode(e);
      if (code === 'ENOENT' || code === 'ENOTDIR') throw new AccountError('NODOMAIN', `no such domain: ${domain}`);
      if (isStoreError(e, 'INUSE')) throw new AccountError('BUSY', `the accounts of ${domain} are locked by another process; try again`);
      throw e;
    }
    try {
      return await fn();
    } finally {
      await release();
    }
  }

  private readUsers(domain: string, o: { fresh?: boolean } = {}): Promise<UsersFile> {
    return this.readFileCached(this.usersPath(domain), parseUsersFile, { users: {} }, o.fresh);
  }

  private readAliases(domain: string, o: { fresh?: boolean } = {}): Promise<AliasesFile> {
    return this.readFileCached(this.aliasesPath(domain), parseAliasesFile, { aliases: {} }, o.fresh);
  }

  private async writeUsers(domain: string, f: UsersFile): Promise<void> {
    await writeFileAtomic(this.usersPath(domain), formatUsersFile(f));
  }

  private async writeAliases(domain: string, f: AliasesFile): Promise<void> {
    await writeFileAtomic(this.aliasesPath(domain), formatAliasesFile(f));
  }

  /**
   * A parsed file, re-read only when its (inode, size, mtime) changed. Files
   * are replaced by rename, so a new version has a new inode while the old one
   * is still held by the cache's stamp; an inode number can come back only
   * after two more replacements, and then with the same size and the same
   * nanosecond mtime as well, which is what would be needed to be fooled. A
   * missing file (domain being created) reads as empty. With `fresh` the
   * file is re-read and the value is the caller's own copy, to modify and
   * write back; without, it is the cached value itself, read-only.
   */
  private async readFileCached<T>(path: string, parse: (text: string, path: string) => T, empty: T, fresh = false): Promise<T> {
    // blocking: a stat of a small local file, on every lookup (each RCPT, each
    // delivery); a missing file (no aliases yet) is answered without an
    // exception, which would cost more than the stat. Lookups get the cached
    // value, not a copy: copying a big domain's users file on every RCPT
    // would cost more than reading it.
    const st = statSync(path, { bigint: true, throwIfNoEntry: false });
    if (!st) return structuredClone(empty);
    const stamp = `${st.ino}:${st.size}:${st.mtimeNs}`;
    const hit = this.cache.get(path);
    if (!fresh && hit && hit.stamp === stamp) return hit.value as T;
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return structuredClone(empty);
      throw e;
    }
    const value = parse(text, path);
    this.cache.set(path, { stamp, value });
    return fresh ? structuredClone(value) : value;
  }
}

function toRecord(local: string, domain: string, e: UsersFile['users'][string]): UserRecord {
  return {
    address: `${local}@${domain}`,
    local,
    domain,
    passwordHash: e.password,
    enabled: e.enabled,
    // copies: the entry is the cached file's (see readFileCached)
    quota: e.quota ? { ...e.quota } : null,
    forward: e.forward ? { ...e.forward, to: [...e.forward.to] } : null,
    created: e.created,
  };
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    // blocking: asked several times per RCPT and per delivery (see readFileCached)
    return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
  } catch {
    return false;
  }
}

function unique(xs: string[]): string[] {
  return [...new Set(xs)];
}
