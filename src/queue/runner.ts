/**
 * The delivery loop (DESIGN.md "The queue"): takes due entries from the
 * spool and delivers each recipient on its own, writing the entry's info
 * (tmp + fsync + rename) right after each recipient's outcome is known.
 *
 * Crash safety follows from the order: deliver, then checkpoint. A SIGKILL
 * before the checkpoint means that recipient is delivered again after the
 * restart (the one duplicate the design allows); one after it means the
 * outcome is on disk. Within an entry, local recipients are delivered one
 * after the other, so at most one of them is in that window; a remote
 * transaction covers the recipients of one domain and is checkpointed as a
 * whole when it ends.
 *
 * An entry's pass, in order:
 *   1. expand recipients not yet routed: a user of ours, a remote address,
 *      or an alias / catch-all / forward replaced by its targets (each target
 *      remembers its `parent`; ORCPT is kept or derived from it) — then
 *      checkpoint if an alias or forward was expanded, so that is done once
 *      (plain routing is worked out the same way again after a crash);
 *   2. local recipients, one by one, each checkpointed (the one that
 *      finishes the entry by the entry's removal in step 6);
 *   3. remote recipients, one SMTP transaction per (domain, parent), under
 *      the per-destination limit;
 *   4. recipients still deferred past queue.lifetimeSeconds fail (4.4.7);
 *   5. DSNs due for final recipients are queued (null sender), then the
 *      recipients are marked reported; a crash in between repeats a DSN,
 *      never loses one;
 *   6. an entry whose recipients are all final and reported is removed;
 *      otherwise its next try is set by the qmail schedule (schedule.ts).
 *
 * Scheduling: the runner remembers each entry's next try in memory, wakes
 * at the earliest, when this process enqueues (Spool.onEnqueued), and every
 * queue.scanIntervalSeconds to pick up entries spooled by other processes
 * and `mailroom queue flush` (the mtime of queue/flush). At most
 * queue.concurrency entries are worked on at once; remote transactions to
 * one domain are limited to queue.perDestination.
 */
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import type { MailStore } from '../../maildir/types.js';
import type { AccountStore } from '../accounts/store.js';
import type { QueueConfig, Route } from '../config/schema.js';
import { type HeaderSection, headerSectionOf, readHeaderSection, traceHeaders } from '../delivery/headers.js';
import { deliverToMailbox, expandRecipient, type MessageSource } from '../delivery/local.js';
import { type DeliveryOutcome, failed } from '../delivery/outcome.js';
import { deliverRemote } from '../delivery/remote.js';
import { type MxResolver, nextHops, systemResolver } from '../delivery/route.js';
import { buildDsn, type ReportKind, wantsReport } from './dsn.js';
import { type RunnerLock, tryRunnerLock } from './runner-lock.js';
import { nextRetry, Semaphore } from './schedule.js';
import type { QueueInfo, Spool, SpoolRecipient } from './spool.js';

export interface QueueLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface RunnerDeps {
  spool: Spool;
  accounts: AccountStore;
  store: MailStore;
  hostname: string;
  queue: QueueConfig;
  routes: Record<string, Route>;
  resolver?: MxResolver;
  /** port of MX hosts (25); tests point it elsewhere */
  smtpPort?: number;
  remoteTimeoutMs?: number;
  now?: () => number;
  log?: QueueLog;
}

const silent: QueueLog = { info() {}, warn() {}, error() {} };

const isOpen = (r: SpoolRecipient) => r.state === 'pending' || r.state === 'deferred';

export class QueueRunner {
  private readonly now: () => number;
  private readonly log: QueueLog;
  /** id → next try (ms); Infinity for entries that cannot be read */
  private readonly schedule = new Map<string, number>();
  private readonly active = new Map<string, Promise<void>>();
  private readonly perDestination = new Map<string, Semaphore>();
  private lock: RunnerLock | null = null;
  private timer: NodeJS.Timeout | null = null;
  private scanTimer: NodeJS.Timeout | null = null;
  private passing: Promise<void> | null = null;
  private again = false;
  private stopped = true;
  private flushSeen = 0;
  private rescan = true;

  constructor(private readonly d: RunnerDeps) {
    this.now = d.now ?? Date.now;
    this.log = d.log ?? silent;
  }

  /** Cleans crash leftovers, takes the runner lock (or keeps trying at each scan), and starts delivering. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.d.spool.init();
    await this.d.spool.clean();
    this.flushSeen = await this.d.spool.flushRequestedAt();
    this.d.spool.onEnqueued = (info) => {
      this.schedule.set(info.id, info.nextTry);
      this.wake();
    };
    this.scanTimer = setInterval(() => void this.scan(), this.d.queue.scanIntervalSeconds * 1000);
    this.scanTimer.unref();
    await this.scan();
  }

  /** Stops scheduling and waits for the deliveries in progress to checkpoint. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.scanTimer) clearInterval(this.scanTimer);
    this.timer = this.scanTimer = null;
    this.d.spool.onEnqueued = null;
    await this.passing;
    await Promise.all(this.active.values());
    await this.lock?.release();
    this.lock = null;
  }

  /** Retry every entry now (`mailroom queue flush`). */
  flush(): void {
    for (const id of this.schedule.keys()) this.schedule.set(id, 0);
    this.rescan = true;
    this.wake();
  }

  /** Whether this process holds the runner lock and so delivers. */
  get delivering(): boolean {
    return this.lock !== null;
  }

  /** Resolves when nothing is due (by the injected clock) and nothing is in progress: for tests and tools. */
  async idle(): Promise<void> {
    for (;;) {
      if (!this.passing && this.active.size === 0) {
        const t = this.now();
        const due = [...this.schedule.values()].some((n) => n <= t);
        if (!due || !this.lock || this.stopped) return;
        this.wake();
      }
      await this.passing;
      if (this.active.size > 0) await Promise.race(this.active.values());
    }
  }

  private async scan(): Promise<void> {
    if (this.stopped) return;
    try {
      if (!this.lock) {
        this.lock = await tryRunnerLock(join(this.d.spool.dir, 'runner.lock'));
        if (this.lock) this.log.info({}, 'queue runner started');
      }
      const flushAt = await this.d.spool.flushRequestedAt();
      if (flushAt > this.flushSeen) {
        this.flushSeen = flushAt;
        this.flush();
      }
    } catch (e) {
      this.log.error({ err: String(e) }, 'queue scan failed');
    }
    this.rescan = true;
    this.wake();
  }

  private wake(): void {
    if (this.stopped) return;
    if (this.passing) {
      this.again = true;
      return;
    }
    this.passing = this.pass().finally(() => {
      this.passing = null;
    });
  }

  private async pass(): Promise<void> {
    do {
      this.again = false;
      if (!this.lock || this.stopped) return;
      try {
        if (this.rescan) {
          this.rescan = false;
          await this.readSchedule();
        }
      } catch (e) {
        this.log.error({ err: String(e) }, 'cannot read the queue');
      }
      const t = this.now();
      for (const [id, next] of this.schedule) {
        if (this.active.size >= this.d.queue.concurrency) break;
        if (next > t || this.active.has(id)) continue;
        const p = this.work(id).finally(() => {
          this.active.delete(id);
          this.wake();
        });
        this.active.set(id, p);
      }
    } while (this.again);
    this.arm();
  }

  /** Entries on disk that we have not seen (other processes, restarts); forget removed ones. */
  private async readSchedule(): Promise<void> {
    const ids = new Set(await this.d.spool.ids());
    for (const id of this.schedule.keys()) if (!ids.has(id) && !this.active.has(id)) this.schedule.delete(id);
    for (const id of ids) {
      if (this.schedule.has(id)) continue;
      const info = await this.d.spool.readInfo(id).catch(() => null);
      if (!info) this.log.error({ id }, 'queue entry cannot be read; left alone (see queue/info)');
      this.schedule.set(id, info ? info.nextTry : Number.POSITIVE_INFINITY);
    }
  }

  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.stopped || !this.lock) return;
    let earliest = Number.POSITIVE_INFINITY;
    for (const [id, n] of this.schedule) if (!this.active.has(id)) earliest = Math.min(earliest, n);
    if (!Number.isFinite(earliest)) return;
    const delay = Math.max(0, Math.min(earliest - this.now(), this.d.queue.scanIntervalSeconds * 1000));
    this.timer = setTimeout(() => this.wake(), delay);
    this.timer.unref();
  }

  private async work(id: string): Promise<void> {
    try {
      const next = await this.deliverEntry(id);
      if (next === null) this.schedule.delete(id);
      else this.schedule.set(id, next);
    } catch (e) {
      // a storage error of the spool itself: try again later, keep the entry
      this.log.error({ id, err: e instanceof Error ? e.message : String(e) }, 'queue entry failed; will retry');
      this.schedule.set(id, this.now() + this.d.queue.retryLocal ** 2 * 1000);
    }
  }

  /** One pass over one entry; returns its next try, or null when it is finished (removed). */
  async deliverEntry(id: string): Promise<number | null> {
    const spool = this.d.spool;
    const info = await spool.readInfo(id);
    if (!info) return null;
    const messPath = spool.messagePath(id);
    let headers: HeaderSection;
    try {
      headers = await readHeaderSection(messPath);
    } catch {
      await spool.remove(id); // removed by `queue remove` meanwhile
      return null;
    }
    const save = async () => {
      if (!(await spool.checkpoint(info))) throw new EntryGone();
    };
    try {
      if (await this.expand(info, headers)) await save();

      for (const r of info.recipients) {
        if (!isOpen(r) || r.route !== 'local') continue;
        this.apply(info, r, await deliverToMailbox(this.localDeps(), info, messPath, r.address, headers));
        // When this outcome finishes the entry, removing the entry is its
        // checkpoint: a crash before the removal redelivers this recipient,
        // exactly the window a checkpoint write would have had.
        if (!finished(info)) await save();
      }

      const groups = new Map<string, SpoolRecipient[]>();
      for (const r of info.recipients) {
        if (!isOpen(r) || r.route !== 'remote') continue;
        const key = `${domainOf(r.address)}\0${r.parent ?? ''}`;
        groups.set(key, [...(groups.get(key) ?? []), r]);
      }
      for (const [key, rs] of groups) {
        const domain = key.slice(0, key.indexOf('\0'));
        const outcomes = await this.semaphoreFor(domain).run(() => this.remote(info, domain, rs, messPath, headers));
        for (const r of rs) this.apply(info, r, outcomes.get(r.address) ?? failed('5.0.0', 'x-mailroom; no outcome'));
        await save();
      }

      this.expire(info);
      await this.report(info, messPath, headers);
      if (info.recipients.every((r) => !isOpen(r) && r.reported)) {
        await spool.remove(id);
        this.log.info({ id, recipients: info.recipients.length }, 'queue entry done');
        return null;
      }
      info.nextTry = this.nextTry(info);
      await save();
      return info.nextTry;
    } catch (e) {
      if (e instanceof EntryGone) return null;
      throw e;
    }
  }

  /**
   * Local recipients delivered before the entry exists (the SMTP receivers,
   * through InlineIntake): `info` is a new entry not yet in the spool, and
   * `source` its body (the file in queue/tmp/, or the bytes of a small
   * message, see intake.ts). Routes the recipients as a pass would and, when
   * at most `limit` of them are local mailboxes, delivers to those one by
   * one, recording each outcome in `info`.
   *
   * True when that finished the entry: it need never be queued. False when
   * something is left for the queue (a remote recipient, a deferral, a DSN
   * to send, or more local recipients than `limit`); `info` then holds the
   * state the caller commits, due at once if a DSN or a remote delivery is
   * owed, else on the retry schedule.
   *
   * Crash safety is SMTP's own: nothing has been acknowledged yet, so a
   * crash here loses nothing (the client still has the message); a
   * recipient delivered before the crash may get it twice when the client
   * sends it again (RFC 1047's window), once at most per attempt.
   */
  async deliverInline(info: QueueInfo, source: MessageSource, limit: number): Promise<boolean> {
    const headers = typeof source === 'string' ? await readHeaderSection(source) : headerSectionOf(source);
    await this.expand(info, headers);
    const local = info.recipients.filter((r) => isOpen(r) && r.route === 'local');
    if (local.length > limit) return false;
    for (const r of local) this.apply(info, r, await deliverToMailbox(this.localDeps(), info, source, r.address, headers));
    if (finished(info)) return true;
    const now = this.now();
    const reportDue = info.recipients.some((r) => !isOpen(r) && !r.reported && wantsReport(info, r) !== null);
    const remoteOpen = info.recipients.some((r) => isOpen(r) && r.route === 'remote');
    info.nextTry = reportDue || remoteOpen ? now : this.nextTry(info);
    return false;
  }

  private localDeps() {
    return { accounts: this.d.accounts, store: this.d.store, hostname: this.d.hostname, now: this.now };
  }

  /**
   * Routes every open recipient; replaces aliases and forwards by their
   * targets. True if the recipient list must be checkpointed: an expansion
   * into targets, or a failure. Routing a plain mailbox or a remote address
   * is not checkpointed on its own (it is worked out the same way again
   * after a crash); the next checkpoint carries it.
   */
  private async expand(info: QueueInfo, headers: HeaderSection): Promise<boolean> {
    let changed = false;
    const out: SpoolRecipient[] = [];
    const has = (address: string, route: string) => out.some((x) => x.address === address && x.route === route) || info.recipients.some((x) => x.address === address && x.route === route);
    for (const r of info.recipients) {
      if (!isOpen(r) || r.route) {
        out.push(r);
        continue;
      }
      let exp;
      try {
        exp = await expandRecipient(this.d.accounts, r.address, headers);
      } catch (e) {
        out.push(r);
        this.apply(info, r, { kind: 'deferred', status: '4.3.0', diagnostic: `x-mailroom; cannot read the accounts: ${String(e)}` });
        changed = true;
        continue;
      }
      if (exp.kind === 'mailbox') out.push({ ...r, address: exp.address, route: 'local' });
      else if (exp.kind === 'remote') out.push({ ...r, route: 'remote' });
      else if (exp.kind === 'failed') {
        changed = true;
        const x: SpoolRecipient = { ...r, route: 'local' };
        this.apply(info, x, exp.outcome);
        out.push(x);
      } else {
        changed = true;
        const child = (address: string, route: 'local' | 'remote'): SpoolRecipient => ({
          address,
          route,
          parent: r.address,
          orcpt: r.orcpt ?? `rfc822;${r.address}`,
          ...(r.notify ? { notify: r.notify } : {}),
          state: 'pending',
          attempts: 0,
        });
        for (const a of exp.local) if (!has(a, 'local')) out.push(child(a, 'local'));
        for (const a of exp.remote) if (!has(a, 'remote')) out.push(child(a, 'remote'));
        for (const a of exp.unknown) {
          const x = child(a, 'local');
          this.apply(info, x, failed('5.1.1', `x-mailroom; ${r.address} points to ${a}, which does not exist`));
          out.push(x);
        }
      }
    }
    info.recipients = out;
    return changed;
  }

  private async remote(info: QueueInfo, domain: string, rs: SpoolRecipient[], messPath: string, headers: HeaderSection): Promise<Map<string, DeliveryOutcome>> {
    const hops = await nextHops(domain, this.d.routes, this.d.resolver ?? systemResolver, this.d.smtpPort ?? 25);
    if (hops.kind === 'failed') return new Map(rs.map((r) => [r.address, hops.outcome]));
    const parent = rs[0].parent;
    const trace = traceHeaders(info, {
      hostname: this.d.hostname,
      ...(rs.length === 1 ? { recipient: rs[0].address } : { recipient: '' }),
      date: new Date(this.now()),
      eol: headers.eol,
      // a forward carries the forwarding address, so that it is recognised if it comes back (qmail)
      ...(parent ? { deliveredTo: parent } : {}),
    });
    return deliverRemote({
      hosts: hops.hosts,
      from: info.from,
      to: rs.map((r) => r.address),
      message: () => concatStream(trace, messPath),
      hostname: this.d.hostname,
      ...(this.d.remoteTimeoutMs !== undefined ? { timeoutMs: this.d.remoteTimeoutMs } : {}),
    });
  }

  private semaphoreFor(domain: string): Semaphore {
    let s = this.perDestination.get(domain);
    if (!s) {
      s = new Semaphore(this.d.queue.perDestination);
      this.perDestination.set(domain, s);
    }
    return s;
  }

  private apply(info: QueueInfo, r: SpoolRecipient, o: DeliveryOutcome): void {
    r.attempts++;
    r.lastAttempt = this.now();
    r.state = o.kind;
    r.status = o.status;
    if (o.diagnostic !== undefined) r.diagnostic = o.diagnostic;
    else delete r.diagnostic;
    if (o.remoteMta !== undefined) r.remoteMta = o.remoteMta;
    if (o.kind === 'deferred') this.log.warn({ id: info.id, to: r.address, status: o.status, diagnostic: o.diagnostic }, 'delivery deferred');
    else this.log.info({ id: info.id, to: r.address, status: o.status, result: o.kind }, `delivery ${o.kind}`);
  }

  /** Past the queue lifetime, what is still deferred fails (RFC 3463 4.4.7: delivery time expired). */
  private expire(info: QueueInfo): void {
    const limit = info.firstSeen + this.d.queue.lifetimeSeconds * 1000;
    if (this.now() < limit) return;
    for (const r of info.recipients) {
      if (r.state !== 'deferred') continue;
      r.state = 'failed';
      r.status = '4.4.7';
      r.diagnostic = `${r.diagnostic ?? 'x-mailroom; no attempt succeeded'} (gave up after ${Math.round(this.d.queue.lifetimeSeconds / 3600)} hours in the queue)`;
    }
  }

  /**
   * Queue the DSNs this entry owes, then mark them sent (a crash in between
   * repeats one, never loses one). Recipients that owe none are only marked
   * in memory: that mark is worked out the same way again after a crash, so
   * it rides on the next checkpoint or the entry's removal.
   */
  private async report(info: QueueInfo, messPath: string, headers: HeaderSection): Promise<void> {
    const due: Record<ReportKind, SpoolRecipient[]> = { failure: [], success: [] };
    let changed = false;
    for (const r of info.recipients) {
      if (isOpen(r) || r.reported) continue;
      const kind = wantsReport(info, r);
      if (kind) due[kind].push(r);
      else r.reported = true;
    }
    for (const kind of ['failure', 'success'] as const) {
      if (due[kind].length === 0) continue;
      const dsn = buildDsn({ info, recipients: due[kind], messPath, headers, hostname: this.d.hostname, now: new Date(this.now()) });
      const id = await this.d.spool.enqueue(dsn.envelope, dsn.body);
      this.log.info({ id: info.id, dsn: id, kind, to: info.from }, 'delivery status notification queued');
      for (const r of due[kind]) r.reported = true;
      changed = true;
    }
    if (changed && !(await this.d.spool.checkpoint(info))) throw new EntryGone();
  }

  /** The earliest next try of the open recipients (local and remote have their own step), capped at the expiry. */
  private nextTry(info: QueueInfo): number {
    const now = this.now();
    let next = Number.POSITIVE_INFINITY;
    for (const r of info.recipients) {
      if (!isOpen(r)) continue;
      const c = r.route === 'remote' ? this.d.queue.retryRemote : this.d.queue.retryLocal;
      next = Math.min(next, nextRetry(info.firstSeen, now, c));
    }
    const expiry = info.firstSeen + this.d.queue.lifetimeSeconds * 1000;
    return Math.max(now, Math.min(next, expiry));
  }
}

class EntryGone extends Error {}

/** Every recipient final, and none owing a DSN that is not yet queued: the entry can go. */
function finished(info: QueueInfo): boolean {
  return info.recipients.every((r) => !isOpen(r) && (r.reported || wantsReport(info, r) === null));
}

function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}

/** The prepended trace header bytes, then the spooled message. */
function concatStream(head: Buffer, path: string): Readable {
  const out = new PassThrough();
  out.write(head);
  const body = createReadStream(path, { highWaterMark: 64 * 1024 });
  body.on('error', (e) => out.destroy(e));
  out.on('close', () => body.destroy());
  body.pipe(out);
  return out;
}
