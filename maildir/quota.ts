/**
 * Maildir++ quota, in Courier's `maildirsize` format so that Courier,
 * Dovecot, maildrop and we agree on usage:
 *
 *   <bytes>S,<count>C          first line: the limit (either part may be absent)
 *   <bytes> <count>            then one line per change (negative on removal)
 *
 * Usage is the sum of the change lines. The file is recalculated from the
 * folders (tmp + rename) when it is missing or grows past 5120 bytes, as
 * Courier does. No file means no quota: deliveries then do not maintain it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { errnoCode, StoreError } from './errors.js';
import { writeFileAtomic } from './fsutil.js';
import { parseName } from './filename.js';
import type { QuotaUsage } from './types.js';

export const MAILDIRSIZE = 'maildirsize';
const RECALC_SIZE = 5120;

export interface QuotaLimit {
  bytes?: number;
  messages?: number;
}

export class MaildirQuota {
  constructor(readonly root: string) {}

  private get path(): string {
    return `${this.root}/${MAILDIRSIZE}`;
  }

  async limit(): Promise<QuotaLimit | null> {
    const text = await this.read();
    return text === null ? null : parseLimit(text.slice(0, text.indexOf('\n') >>> 0));
  }

  async usage(): Promise<QuotaUsage> {
    const text = await this.read();
    if (text === null) {
      const u = await scanUsage(this.root);
      return { usedBytes: u.bytes, usedMessages: u.count };
    }
    const nl = text.indexOf('\n');
    const limit = parseLimit(nl < 0 ? text : text.slice(0, nl));
    let used: { bytes: number; count: number };
    if (Buffer.byteLength(text) > RECALC_SIZE) used = await this.recalculate(limit);
    else used = sumLines(nl < 0 ? '' : text.slice(nl + 1));
    return {
      usedBytes: Math.max(0, used.bytes),
      usedMessages: Math.max(0, used.count),
      ...(limit.bytes !== undefined ? { limitBytes: limit.bytes } : {}),
      ...(limit.messages !== undefined ? { limitMessages: limit.messages } : {}),
    };
  }

  /** Throws OVERQUOTA if adding would exceed the limit. */
  async check(addBytes: number, addCount: number): Promise<void> {
    const text = await this.read();
    if (text === null) return;
    const u = await this.usage();
    if (u.limitBytes !== undefined && addBytes > 0 && u.usedBytes + addBytes > u.limitBytes)
      throw new StoreError('OVERQUOTA', 'Quota exceeded (mailbox storage)');
    if (u.limitMessages !== undefined && addCount > 0 && u.usedMessages + addCount > u.limitMessages)
      throw new StoreError('OVERQUOTA', 'Quota exceeded (number of messages)');
  }

  /** Record a change; a no-op when there is no quota. */
  async add(bytes: number, count: number): Promise<void> {
    if (bytes === 0 && count === 0) return;
    // (no quota, no file: known without a thread-pool round trip)
    if (!existsSync(this.path)) return;
    let h;
    try {
      h = await open(this.path, 'r+');
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return;
      throw e;
    }
    try {
      // one O_APPEND-like write at the end; concurrent writers' lines do not interleave
      const st = await h.stat();
      await h.write(`${bytes} ${count}\n`, st.size);
    } finally {
      await h.close();
    }
  }

  /** Set (or with null remove) the limit; usage is recalculated from the folders. */
  async setLimit(limit: QuotaLimit | null): Promise<void> {
    if (limit === null || (limit.bytes === undefined && limit.messages === undefined)) {
      const { unlinkIfExists } = await import('./fsutil.js');
      await unlinkIfExists(this.path);
      return;
    }
    await this.recalculate(limit);
  }

  private async recalculate(limit: QuotaLimit): Promise<{ bytes: number; count: number }> {
    const u = await scanUsage(this.root);
    await writeFileAtomic(this.path, `${formatLimit(limit)}\n${u.bytes} ${u.count}\n`, { durable: false });
    return u;
  }

  private async read(): Promise<string | null> {
    try {
      // blocking: a small file read on every RCPT and every delivery, usually
      // absent (no quota); through the thread pool that is a round trip each.
      // Absence is asked first: an ENOENT exception costs more than the check.
      return existsSync(this.path) ? readFileSync(this.path, 'utf8') : null;
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return null;
      throw e;
    }
  }
}

function parseLimit(line: string): QuotaLimit {
  const out: QuotaLimit = {};
  for (const part of line.split(',')) {
    const m = /^\s*(\d+)([SC])\s*$/.exec(part);
    if (!m) continue;
    if (m[2] === 'S') out.bytes = Number(m[1]);
    else out.messages = Number(m[1]);
  }
  return out;
}

function formatLimit(l: QuotaLimit): string {
  const parts: string[] = [];
  if (l.bytes !== undefined) parts.push(`${l.bytes}S`);
  if (l.messages !== undefined) parts.push(`${l.messages}C`);
  return parts.join(',');
}

function sumLines(text: string): { bytes: number; count: number } {
  let bytes = 0;
  let count = 0;
  for (const line of text.split('\n')) {
    const m = /^\s*(-?\d+)\s+(-?\d+)\s*$/.exec(line);
    if (!m) continue;
    bytes += Number(m[1]);
    count += Number(m[2]);
  }
  return { bytes, count };
}

/** Sum of file sizes in cur/ and new/ of the root and every Maildir++ folder. */
export async function scanUsage(root: string): Promise<{ bytes: number; count: number }> {
  let bytes = 0;
  let count = 0;
  const folders = [root];
  for (const e of await readdir(root).catch(() => [] as string[])) {
    if (e.startsWith('.') && e !== '.' && e !== '..') folders.push(`${root}/${e}`);
  }
  for (const f of folders) {
    for (const sub of ['cur', 'new']) {
      const names = await readdir(`${f}/${sub}`).catch(() => [] as string[]);
      for (const n of names) {
        if (n.startsWith('.')) continue;
        const p = parseName(n);
        let size = p.rawSize;
        if (size === null) size = await stat(`${f}/${sub}/${n}`).then((s) => s.size, () => null);
        if (size === null) continue;
        bytes += size;
        count++;
      }
    }
  }
  return { bytes, count };
}
