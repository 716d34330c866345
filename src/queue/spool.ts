/**
 * The spool on disk, qmail's discipline (DESIGN.md "The queue"):
 *
 *   queue/tmp/<id>     the body while it streams in (and info files being written)
 *   queue/mess/<id>    the body, fsync'd, never changed afterwards
 *   queue/info/<id>    the envelope and per-recipient state, JSON
 *
 * Enqueue: stream into tmp/<id> (opened O_EXCL, one chunk in memory at a
 * time, `maxBytes` enforced as it goes), fsync, rename to mess/<id>; then,
 * while mess/ is fsync'd, write info through tmp/<id>.info + fsync; rename it
 * into info/ and fsync info/. The rename into info/ is the commit point: an
 * entry exists when info/<id> exists, and enqueue resolves (and SMTP says
 * 250) only when both renames are durable.
 *
 * Every later change to info (a recipient's state after each delivery) is the
 * same tmp + fsync + rename + fsync dir, so a reader or a crash sees the old
 * or the new file, never half of one.
 *
 * Removal goes the other way: info/<id> first (the entry stops existing),
 * then mess/<id>. What a crash can leave behind is garbage nobody reads: a
 * tmp file, or a mess/<id> with no info. Both are removed once older than
 * 36 hours (qmail-clean's rule), since a younger one may be an enqueue in
 * progress in another process. An info whose mess is gone was removed by
 * `mailroom queue remove` while a server was checkpointing it, and is dropped.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { mkdir, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { errnoCode } from '../../maildir/errors.js';
import { coalesce } from '../../maildir/coalesce.js';
import { fsyncDir } from '../../maildir/fsutil.js';
import { NewFile } from '../../maildir/new-file.js';
import type { DsnNotify, QueueEnvelope, QueueIntake, QueueRecipient } from './types.js';

export type RecipientState = 'pending' | 'deferred' | 'delivered' | 'failed';

/** One recipient of a queue entry and how far its delivery got. */
export interface SpoolRecipient extends QueueRecipient {
  state: RecipientState;
  /** 'local' or 'remote' once known; aliases and forwards are expanded into their targets first */
  route?: 'local' | 'remote';
  /** the address this one was expanded from (alias, forward, catch-all) */
  parent?: string;
  attempts: number;
  /** RFC 3463 status of the last attempt, e.g. "4.2.2" */
  status?: string;
  /** RFC 3464 Diagnostic-Code of the last attempt, e.g. "smtp; 550 5.1.1 no such user" */
  diagnostic?: string;
  /** RFC 3464 Remote-MTA, for remote attempts */
  remoteMta?: string;
  /** ms since the epoch of the last attempt */
  lastAttempt?: number;
  /** a DSN about this recipient's final state has been queued (or none was due) */
  reported?: boolean;
}

export interface QueueInfo {
  version: 1;
  id: string;
  from: string;
  envId?: string;
  ret?: 'FULL' | 'HDRS';
  bodyType?: '7BIT' | '8BITMIME';
  smtputf8?: boolean;
  received: QueueEnvelope['received'];
  /** ms since the epoch: when the entry was queued (qmail's "birth") */
  firstSeen: number;
  /** ms since the epoch: not before this is the entry tried again */
  nextTry: number;
  /** size of mess/<id> in bytes */
  size: number;
  recipients: SpoolRecipient[];
}

/** A message in tmp/, written and not yet fsync'd: see Spool.receive. */
export interface ReceivedMessage {
  readonly id: string;
  readonly path: string;
  readonly size: number;
  /** fsync and close (on failure the file is removed) */
  syncAndClose(): Promise<void>;
  /** close and remove (once; after a commit there is nothing left at `path` to remove) */
  discard(): Promise<void>;
}

export class SpoolError extends Error {
  constructor(
    readonly code: 'TOOBIG' | 'BADID' | 'NOENTRY',
    message: string,
  ) {
    super(message);
    this.name = 'SpoolError';
  }
}

/** Ids are file names and appear in "queued as <id>": letters, digits, '.', '-'. */
const ID = /^[A-Za-z0-9][A-Za-z0-9.-]{0,63}$/;
export const isQueueId = (s: string): boolean => ID.test(s);

const HOST_TAG = (hostname() || 'localhost').replace(/[^A-Za-z0-9]/g, '').slice(0, 8).toLowerCase() || 'h';
let counter = 0;

/**
 * Unique across processes and hosts sharing the spool: time, pid, a
 * per-process counter, the host and random bits (tmp/<id> is also opened
 * O_EXCL, so a collision could not overwrite anything).
 */
export function newQueueId(now = Date.now()): string {
  counter = (counter + 1) % 1_679_616; // 36^4
  return `${now.toString(36)}.${process.pid.toString(36)}${counter.toString(36).padStart(4, '0')}.${HOST_TAG}${randomBytes(3).toString('hex')}`;
}

/** Garbage (tmp files, mess without info) older than this is removed. */
const GARBAGE_AGE_MS = 36 * 3600 * 1000;

export class Spool implements QueueIntake {
  readonly dir: string;
  readonly tmpDir: string;
  readonly messDir: string;
  readonly infoDir: string;
  /** touched by `mailroom queue flush`; a running server notices its mtime at the next scan */
  readonly flushTrigger: string;
  private ready: Promise<void> | null = null;
  /** told about every entry this process commits, so the runner need not wait for a scan */
  onEnqueued: ((info: QueueInfo) => void) | null = null;

  constructor(
    queueDir: string,
    private readonly now: () => number = Date.now,
  ) {
    this.dir = queueDir;
    this.tmpDir = join(queueDir, 'tmp');
    this.messDir = join(queueDir, 'mess');
    this.infoDir = join(queueDir, 'info');
    this.flushTrigger = join(queueDir, 'flush');
  }

  init(): Promise<void> {
    this.ready ??= (async () => {
      for (const d of [this.dir, this.tmpDir, this.messDir, this.infoDir]) await mkdir(d, { recursive: true, mode: 0o700 });
    })();
    return this.ready;
  }

  async enqueue(envelope: QueueEnvelope, body: Readable | AsyncIterable<Buffer>, o: { maxBytes?: number } = {}): Promise<string> {
    return (await this.enqueueEntry(envelope, body, o)).id;
  }

  /** enqueue, returning the committed info (the runner and tests use it). */
  async enqueueEntry(
    envelope: QueueEnvelope,
    body: Readable | AsyncIterable<Buffer | string> | Buffer,
    o: { maxBytes?: number; /** recipients already routed (a forward queued by the LDA) */ recipients?: SpoolRecipient[] } = {},
  ): Promise<QueueInfo> {
    const received = await this.receive(body, o.maxBytes);
    const info = this.newInfo(received, envelope, o.recipients);
    await this.commit(received, info);
    return info;
  }

  /**
   * The first half of an enqueue: the body streamed into tmp/<id>, written
   * but not yet fsync'd. Then either `commit` (it becomes an entry) or
   * `discard` (it was delivered without the queue, or refused).
   */
  async receive(body: Readable | AsyncIterable<Buffer | string> | Buffer, maxBytes?: number, id = this.newId()): Promise<ReceivedMessage> {
    await this.init();
    const path = join(this.tmpDir, id);
    const written = await writeStream(path, body, maxBytes, { sync: false });
    let done = false;
    return {
      id,
      path,
      size: written.size,
      syncAndClose: written.syncAndClose,
      discard: async () => {
        if (done) return;
        done = true;
        await written.discard();
      },
    };
  }

  /** A new entry id (by the spool's clock) */
  newId(): string {
    return newQueueId(this.now());
  }

  /** The info of a new entry for a received message: every recipient pending, due now. */
  newInfo(received: Pick<ReceivedMessage, 'id' | 'size'>, envelope: QueueEnvelope, recipients?: SpoolRecipient[]): QueueInfo {
    const now = this.now();
    return {
      version: 1,
      id: received.id,
      from: envelope.from,
      ...(envelope.envId !== undefined ? { envId: envelope.envId } : {}),
      ...(envelope.ret !== undefined ? { ret: envelope.ret } : {}),
      ...(envelope.bodyType !== undefined ? { bodyType: envelope.bodyType } : {}),
      ...(envelope.smtputf8 ? { smtputf8: true } : {}),
      received: { ...envelope.received },
      firstSeen: now,
      nextTry: now,
      size: received.size,
      recipients: recipients ?? dedupe(envelope.recipients).map((r) => ({
        address: r.address,
        ...(r.orcpt !== undefined ? { orcpt: r.orcpt } : {}),
        ...(r.notify !== undefined ? { notify: [...r.notify] as DsnNotify[] } : {}),
        state: 'pending' as const,
        attempts: 0,
      })),
    };
  }

  /**
   * The second half: a received message becomes the entry `info` (whose id
   * is the message's). Resolves once body, info and both renames are
   * durable; on failure nothing of it is left.
   */
  async commit(received: ReceivedMessage, info: QueueInfo): Promise<void> {
    const tmp = received.path;
    const mess = join(this.messDir, info.id);
    let infoTmp: string | null = null;
    let renamed = false;
    try {
      // Two rounds of fsyncs in parallel instead of four one after the other:
      // (1) the body and the info file, both still under tmp/; (2) once both
      // are renamed into place, mess/ and info/ (group-committed with other
      // entries). mess/<id> is renamed before info/<id>, so a runner never
      // sees an entry without its body; a crash before round 2 completes may
      // leave info/<id> without mess/<id>, which recovery removes, and that
      // is fine: nothing was acknowledged yet. SMTP's 250 comes after round 2.
      const synced = await Promise.allSettled([received.syncAndClose(), this.writeInfoTmp(info)]);
      if (synced[1].status === 'fulfilled') infoTmp = synced[1].value;
      for (const r of synced) if (r.status === 'rejected') throw r.reason;
      await rename(tmp, mess);
      renamed = true;
      await rename(infoTmp!, join(this.infoDir, info.id));
      infoTmp = null;
      await Promise.all([fsyncDir(this.messDir), fsyncDir(this.infoDir)]);
    } catch (e) {
      await unlink(renamed ? mess : tmp).catch(() => {});
      if (infoTmp !== null) await unlink(infoTmp).catch(() => {});
      else if (renamed) await unlink(join(this.infoDir, info.id)).catch(() => {});
      throw e;
    }
    this.onEnqueued?.(info);
  }

  /**
   * A message streamed into queue/tmp/ and fsync'd, but not queued: the LDA
   * (`mailroom deliver`) delivers from it and then calls `discard`.
   */
  async receiveTemp(body: Readable | AsyncIterable<Buffer | string> | Buffer, maxBytes?: number): Promise<{ id: string; path: string; size: number; discard: () => Promise<void> }> {
    await this.init();
    const id = newQueueId(this.now());
    const path = join(this.tmpDir, id);
    const { size } = await writeStream(path, body, maxBytes, { sync: true });
    return { id, path, size, discard: () => unlink(path).catch(() => {}) };
  }

  /** Replace info/<id> atomically and durably. */
  async writeInfo(info: QueueInfo): Promise<void> {
    await this.commitInfo(info.id, await this.writeInfoTmp(info));
  }

  /** The info file written and fsync'd under tmp/, not yet in place. */
  private async writeInfoTmp(info: QueueInfo): Promise<string> {
    const tmp = join(this.tmpDir, `${info.id}.info.${process.pid}`);
    const f = await NewFile.create(tmp, 'w', 0o600);
    try {
      await f.write(Buffer.from(JSON.stringify(info)));
    } catch (e) {
      await f.discard();
      throw e;
    }
    await f.syncAndClose();
    return tmp;
  }

  /** Rename a synced info file into info/ and make the rename durable. */
  private async commitInfo(id: string, tmp: string): Promise<void> {
    try {
      await rename(tmp, join(this.infoDir, id));
    } catch (e) {
      await unlink(tmp).catch(() => {});
      throw e;
    }
    await fsyncDir(this.infoDir);
  }

  /** Checkpoint an entry, unless it was removed underneath us (then false). */
  async checkpoint(info: QueueInfo): Promise<boolean> {
    if (!(await exists(join(this.messDir, info.id)))) {
      await this.remove(info.id).catch(() => {});
      return false;
    }
    await this.writeInfo(info);
    return true;
  }

  async readInfo(id: string): Promise<QueueInfo | null> {
    if (!isQueueId(id)) throw new SpoolError('BADID', `"${id}" is not a queue id`);
    let text: string;
    try {
      // blocking: a small file, read-only (file creation, writes, renames and
      // unlinks stay asynchronous: they take a journal handle, which blocks
      // while another fsync commits, measured at milliseconds under load)
      text = readFileSync(join(this.infoDir, id), 'utf8');
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return null;
      throw e;
    }
    return parseInfo(text, id);
  }

  /** Ids of committed entries, oldest first by id (ids start with the time). */
  async ids(): Promise<string[]> {
    await this.init();
    return (await readdir(this.infoDir)).filter(isQueueId).sort();
  }

  async list(): Promise<QueueInfo[]> {
    const out: QueueInfo[] = [];
    for (const id of await this.ids()) {
      const info = await this.readInfo(id).catch(() => null);
      if (info) out.push(info);
    }
    return out;
  }

  messagePath(id: string): string {
    return join(this.messDir, id);
  }

  openMessage(id: string, range?: { end?: number }): Readable {
    return createReadStream(this.messagePath(id), range?.end !== undefined ? { end: range.end } : {});
  }

  /** Remove an entry: info first (the commit point), then the body. False if there was none. */
  async remove(id: string): Promise<boolean> {
    if (!isQueueId(id)) throw new SpoolError('BADID', `"${id}" is not a queue id`);
    let had = true;
    try {
      await unlink(join(this.infoDir, id));
      await fsyncDir(this.infoDir);
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT') throw e;
      had = false;
    }
    await unlink(join(this.messDir, id)).catch((e: unknown) => {
      if (errnoCode(e) !== 'ENOENT') throw e;
    });
    return had;
  }

  /** Ask a running server to retry everything now (it checks this file's mtime at every scan). */
  async requestFlush(): Promise<void> {
    await this.init();
    const h = await open(this.flushTrigger, 'w', 0o600);
    try {
      const t = new Date(this.now());
      await h.utimes(t, t);
    } finally {
      await h.close();
    }
  }

  async flushRequestedAt(): Promise<number> {
    try {
      return (await stat(this.flushTrigger)).mtimeMs;
    } catch {
      return 0;
    }
  }

  /** Remove crash leftovers: old tmp files, old bodies without info, infos without a body. */
  async clean(): Promise<void> {
    await this.init();
    const now = Date.now();
    const infos = new Set(await this.ids());
    for (const name of await readdir(this.tmpDir)) await removeIfOlder(join(this.tmpDir, name), now - GARBAGE_AGE_MS);
    for (const name of await readdir(this.messDir)) {
      if (!infos.has(name)) await removeIfOlder(join(this.messDir, name), now - GARBAGE_AGE_MS);
    }
    for (const id of infos) if (!(await exists(join(this.messDir, id)))) await this.remove(id).catch(() => {});
  }
}

/**
 * Streams `body` into a new file; the file is gone again if anything fails.
 * With `sync`, it is fsync'd and closed before this resolves; without, the
 * caller calls syncAndClose() (and on its failure the file is removed too).
 */
async function writeStream(
  path: string,
  body: Readable | AsyncIterable<Buffer | string> | Buffer,
  maxBytes: number | undefined,
  o: { sync: boolean },
): Promise<{ size: number; syncAndClose: () => Promise<void>; discard: () => Promise<void> }> {
  const f = await NewFile.create(path, 'wx', 0o600);
  let size = 0;
  try {
    const chunks = Buffer.isBuffer(body) ? [body] : coalesce(body as AsyncIterable<Buffer | string>);
    for await (const chunk of chunks) {
      size += chunk.length;
      if (maxBytes !== undefined && size > maxBytes) {
        throw new SpoolError('TOOBIG', `message exceeds the size limit of ${maxBytes} bytes`);
      }
      await f.write(chunk);
    }
  } catch (e) {
    await f.discard();
    // a source we stop reading must not keep its socket or file open
    if (typeof (body as Readable).destroy === 'function') (body as Readable).destroy();
    throw e;
  }
  const syncAndClose = () => f.syncAndClose();
  if (o.sync) await syncAndClose();
  return { size, syncAndClose, discard: () => f.discard() };
}

function dedupe(rs: QueueRecipient[]): QueueRecipient[] {
  const seen = new Set<string>();
  return rs.filter((r) => {
    const k = r.address.toLowerCase();
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

const STATES: readonly RecipientState[] = ['pending', 'deferred', 'delivered', 'failed'];

/** A damaged info file must not stop the queue: it reads as null and is reported by the caller. */
export function parseInfo(text: string, id: string): QueueInfo | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const i = v as Partial<QueueInfo>;
  if (i.version !== 1 || i.id !== id || typeof i.from !== 'string' || !Array.isArray(i.recipients)) return null;
  if (typeof i.firstSeen !== 'number' || typeof i.nextTry !== 'number' || typeof i.size !== 'number') return null;
  for (const r of i.recipients) {
    if (typeof r !== 'object' || r === null || typeof r.address !== 'string' || !STATES.includes(r.state)) return null;
    if (typeof r.attempts !== 'number') return null;
  }
  if (typeof i.received !== 'object' || i.received === null) return null;
  return i as QueueInfo;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return false;
    throw e;
  }
}

async function removeIfOlder(path: string, before: number): Promise<void> {
  try {
    if ((await stat(path)).mtimeMs < before) await unlink(path);
  } catch {
    // gone already, or not ours to judge: left for the next pass
  }
}

