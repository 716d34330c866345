/**
 * The authentication service the IMAP, POP3 and SMTP servers share.
 *
 * - The identity is the user's address, or a bare local part when this
 *   server has exactly one domain (what many clients are set up with).
 * - Every failure answers no sooner than `failureDelayMs` after the attempt
 *   started (a timer, never a busy wait: other clients go on), which also
 *   makes "no such user" and "wrong password" take the same time.
 * - Failures are counted per identity (whether or not it exists) and per
 *   remote IP; after too many within the window, that identity or IP is
 *   locked out for `lockoutMs`: every attempt then fails as 'locked' without
 *   the password being looked at, so a lockout reveals nothing about whether
 *   an account exists, and a correct password guessed during it is useless.
 * - A successful login with a legacy hash (or a weaker scrypt) replaces it
 *   with a fresh scrypt hash, unless the password was changed meanwhile or
 *   the operator turned `auth.upgradeHashes` off.
 * - Accounts are read through AccountStore, which re-reads a file when it
 *   changed on disk, so `mailroom user …` takes effect without a restart.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { type AuthConfig, DEFAULT_AUTH } from '../config/schema.js';
import { tryParseAddress } from './address.js';
import { DEFAULT_SCRYPT, hashPassword, needsRehash, type ScryptParams, verifyPassword } from './passwords.js';
import type { AccountStore } from './store.js';

export type AuthResult =
  | { ok: true; address: string }
  | {
      ok: false;
      /**
       * failed: unknown identity or wrong password (never told apart);
       * locked: too many failures for this identity or IP, try later;
       * disabled: right password, account disabled;
       * unavailable: the accounts could not be read (temporary, e.g. a damaged file).
       */
      reason: 'failed' | 'locked' | 'disabled' | 'unavailable';
    };

export interface AuthServiceOptions {
  failureDelayMs?: number;
  maxFailures?: number;
  maxFailuresPerIp?: number;
  lockoutMs?: number;
  /** cost of the scrypt hash a legacy hash is upgraded to */
  scrypt?: ScryptParams;
  /** whether a successful login upgrades a legacy or weaker hash (default true) */
  upgradeHashes?: boolean;
  /** remote addresses never locked out or counted (e.g. a webmail proxy); loopback is not exempt by default */
  trustedAddresses?: string[];
  /** called when something unexpected happens (a damaged file, a failed rehash); the server logs it */
  onError?: (err: unknown, context: string) => void;
  now?: () => number;
}

interface FailureCount {
  count: number;
  /** start of the counting window */
  since: number;
  lockedUntil: number;
}

/** Bound on tracked identities and IPs, so a flood of random names cannot grow memory without limit. */
const MAX_TRACKED = 100_000;

export class AuthService {
  private readonly failureDelayMs: number;
  private readonly maxFailures: number;
  private readonly maxFailuresPerIp: number;
  private readonly lockoutMs: number;
  private readonly scrypt: ScryptParams;
  private readonly upgradeHashes: boolean;
  private readonly trusted: Set<string>;
  private readonly onError: (err: unknown, context: string) => void;
  private readonly now: () => number;
  /** recent successful verifications, so a client that logs in again does not pay scrypt each time */
  private readonly verified = new VerifiedCache();
  private readonly byIdentity = new Map<string, FailureCount>();
  private readonly byIp = new Map<string, FailureCount>();

  constructor(
    private readonly store: AccountStore,
    o: AuthServiceOptions = {},
  ) {
    this.failureDelayMs = o.failureDelayMs ?? DEFAULT_AUTH.failureDelayMs;
    this.maxFailures = o.maxFailures ?? DEFAULT_AUTH.maxFailures;
    this.maxFailuresPerIp = o.maxFailuresPerIp ?? DEFAULT_AUTH.maxFailuresPerIp;
    this.lockoutMs = o.lockoutMs ?? DEFAULT_AUTH.lockoutSeconds * 1000;
    this.scrypt = o.scrypt ?? DEFAULT_SCRYPT;
    this.upgradeHashes = o.upgradeHashes ?? DEFAULT_AUTH.upgradeHashes;
    this.trusted = new Set((o.trustedAddresses ?? []).map(normalizeIp));
    this.onError = o.onError ?? (() => {});
    this.now = o.now ?? Date.now;
  }

  /** The service as mailroom.yaml's `auth:` section sets it up. */
  static fromConfig(store: AccountStore, auth: AuthConfig, o: Omit<AuthServiceOptions, 'failureDelayMs' | 'maxFailures' | 'maxFailuresPerIp' | 'lockoutMs' | 'upgradeHashes'> = {}): AuthService {
    return new AuthService(store, {
      ...o,
      failureDelayMs: auth.failureDelayMs,
      maxFailures: auth.maxFailures,
      maxFailuresPerIp: auth.maxFailuresPerIp,
      lockoutMs: auth.lockoutSeconds * 1000,
      upgradeHashes: auth.upgradeHashes,
    });
  }

  async authenticate(identity: string, password: string, remoteAddress: string): Promise<AuthResult> {
    const started = this.now();
    const ip = normalizeIp(remoteAddress);
    const key = identity.trim().normalize('NFC').toLowerCase();
    const fail = async (reason: 'failed' | 'locked' | 'disabled' | 'unavailable', count: boolean): Promise<AuthResult> => {
      if (count && !this.trusted.has(ip)) {
        this.countFailure(this.byIdentity, key, this.maxFailures);
        this.countFailure(this.byIp, ip, this.maxFailuresPerIp);
      }
      const wait = this.failureDelayMs - (this.now() - started);
      if (wait > 0) await sleep(wait);
      return { ok: false, reason };
    };

    if (!this.trusted.has(ip) && (this.isLocked(this.byIdentity, key) || this.isLocked(this.byIp, ip))) {
      return fail('locked', false);
    }
    let address: string | null;
    let user;
    try {
      address = await this.resolveIdentity(key);
      user = address === null ? null : await this.store.getUser(address);
    } catch (e) {
      this.onError(e, `reading the account of ${key}`);
      return fail('unavailable', false);
    }
    if (!user) return fail('failed', true);
    if (!this.verified.check(user.address, user.passwordHash, password)) {
      if (!(await verifyPassword(password, user.passwordHash))) return fail('failed', true);
      this.verified.remember(user.address, user.passwordHash, password);
    }
    if (!user.enabled) return fail('disabled', false);

    this.byIdentity.delete(key);
    if (this.upgradeHashes && needsRehash(user.passwordHash, this.scrypt)) await this.upgradeHash(user.address, user.passwordHash, password);
    return { ok: true, address: user.address };
  }

  /** Whether an identity or IP is locked out now (for a server that wants to refuse early). */
  isLockedOut(identity: string, remoteAddress: string): boolean {
    const ip = normalizeIp(remoteAddress);
    if (this.trusted.has(ip)) return false;
    return this.isLocked(this.byIdentity, identity.trim().normalize('NFC').toLowerCase()) || this.isLocked(this.byIp, ip);
  }

  private async resolveIdentity(key: string): Promise<string | null> {
    if (key.includes('@')) return tryParseAddress(key)?.address ?? null;
    const domains = await this.store.listDomains();
    if (domains.length !== 1) return null;
    return tryParseAddress(`${key}@${domains[0]}`)?.address ?? null;
  }

  private async upgradeHash(address: string, old: string, password: string): Promise<void> {
    try {
      await this.store.replacePasswordIf(address, old, await hashPassword(password, this.scrypt));
    } catch (e) {
      // the login itself succeeded; the upgrade is retried at the next one
      this.onError(e, `upgrading the password hash of ${address}`);
    }
  }

  private isLocked(map: Map<string, FailureCount>, key: string): boolean {
    const f = map.get(key);
    if (!f) return false;
    const now = this.now();
    if (f.lockedUntil > now) return true;
    if (now - f.since >= this.lockoutMs) map.delete(key); // window over, forget
    return false;
  }

  private countFailure(map: Map<string, FailureCount>, key: string, max: number): void {
    const now = this.now();
    let f = map.get(key);
    if (!f || now - f.since >= this.lockoutMs) {
      f = { count: 0, since: now, lockedUntil: 0 };
      if (map.size >= MAX_TRACKED) this.prune(map, now);
    }
    map.delete(key); // re-insert: Map keeps insertion order, oldest first for pruning
    f.count++;
    if (f.count >= max) f.lockedUntil = now + this.lockoutMs;
    map.set(key, f);
  }

  private prune(map: Map<string, FailureCount>, now: number): void {
    for (const [k, f] of map) {
      if (f.lockedUntil <= now && now - f.since >= this.lockoutMs) map.delete(k);
    }
    // still full of live entries: drop the least recently failed
    for (const k of map.keys()) {
      if (map.size < MAX_TRACKED) break;
      map.delete(k);
    }
  }
}

/**
 * Recently verified passwords, like Dovecot's auth cache: a mail client opens
 * many connections (and webmail one per request), and scrypt is 70 ms of
 * work by design. An entry holds HMAC-SHA256(password) under a key made at
 * process start (never the password), is tied to the stored hash it was
 * verified against (a password change or hash upgrade voids it), and lives 10
 * minutes. Failures are never cached, so lockout counting is unchanged.
 */
class VerifiedCache {
  private readonly key = randomBytes(32);
  private readonly entries = new Map<string, { stored: string; mac: Buffer; until: number }>();

  private mac(address: string, password: string): Buffer {
    return createHmac('sha256', this.key).update(address).update('\0').update(password).digest();
  }

  check(address: string, stored: string, password: string): boolean {
    const e = this.entries.get(address);
    if (!e) return false;
    if (e.stored !== stored || e.until < Date.now()) {
      this.entries.delete(address);
      return false;
    }
    return timingSafeEqual(e.mac, this.mac(address, password));
  }

  remember(address: string, stored: string, password: string): void {
    this.entries.delete(address);
    if (this.entries.size >= VERIFIED_CACHE_SIZE) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(address, { stored, mac: this.mac(address, password), until: Date.now() + VERIFIED_CACHE_MS });
  }
}

const VERIFIED_CACHE_SIZE = 10_000;
const VERIFIED_CACHE_MS = 10 * 60_000;

/** "::ffff:10.0.0.1" and "10.0.0.1" are one client. */
function normalizeIp(remote: string): string {
  const s = remote.trim().toLowerCase();
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (m && isIP(m[1]) === 4) return m[1];
  return s;
}
