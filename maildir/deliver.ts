/**
 * Writing one message into a folder, qmail's way (DESIGN.md "Delivery"):
 *
 *   1. create tmp/<unique> with O_EXCL and stream the body into it, awaiting
 *      each write (backpressure: we never hold more than one chunk);
 *   2. fsync the file; set its mtime to the internal date;
 *   3. rename it into new/ (or cur/ with flags, for APPEND and COPY), whose
 *      name now carries S=<raw size> and W=<CRLF size>;
 *   4. fsync the directory, so the rename itself is durable (the caller's
 *      `whileDirSyncs` work, an APPEND's UID, runs meanwhile);
 *   and only then resolve. If the source stream fails half-way, the tmp file
 *   is removed and nothing appears in new/ or cur/. A crash leaves at most a
 *   stray file in tmp/, which readers never look at.
 */
import { rename, unlink, utimes } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { coalesce } from './coalesce.js';
import { NewFile } from './new-file.js';
import { fsyncDir } from './fsutil.js';
import { baseWithSizes, fileNameFor, uniqueName } from './filename.js';

export type MessageSource = Readable | Buffer | AsyncIterable<Buffer | string>;

export interface WrittenMessage {
  base: string;
  /** file name within new/ or cur/ */
  fileName: string;
  location: 'new' | 'cur';
  rawSize: number;
  /** size with CRLF line endings (RFC822.SIZE) */
  vsize: number;
}

export interface WriteOptions {
  /** flag bits; messages with flags (or `toCur`) go straight into cur/ */
  flags?: number;
  extra?: string;
  toCur?: boolean;
  internalDate?: Date;
  /** called with the sizes before the rename; throwing here (e.g. over quota) aborts the delivery */
  beforeCommit?: (rawSize: number, vsize: number) => Promise<void>;
  /** reject sources larger than this many bytes */
  maxBytes?: number;
  /** told the final entry name just before the rename into new/ or cur/ */
  onName?: (sub: 'new' | 'cur', fileName: string) => void;
  /**
   * Work to do once the file has its name, while the directory is fsync'd
   * (step 4): both wait for the disk, so running them together saves a wait.
   * writeMessage resolves when both are done.
   */
  whileDirSyncs?: (written: WrittenMessage) => Promise<void>;
}

export class MessageTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`Message exceeds the size limit of ${limit} bytes`);
  }
}

/** Counts bare LFs across chunk boundaries: CRLF size = raw size + bare LFs. */
export class CrlfCounter {
  bareLf = 0;
  private prevCr = false;
  update(chunk: Buffer): void {
    let i = chunk.indexOf(10);
    while (i >= 0) {
      const prev = i > 0 ? chunk[i - 1] === 13 : this.prevCr;
      if (!prev) this.bareLf++;
      i = chunk.indexOf(10, i + 1);
    }
    if (chunk.length > 0) this.prevCr = chunk[chunk.length - 1] === 13;
  }
}

export async function writeMessage(folderDir: string, source: MessageSource, o: WriteOptions = {}): Promise<WrittenMessage> {
  const unique = uniqueName();
  const tmpPath = `${folderDir}/tmp/${unique}`;
  const f = await NewFile.create(tmpPath, 'wx', 0o600);
  let rawSize = 0;
  const crlf = new CrlfCounter();
  try {
    const chunks: AsyncIterable<Buffer> | Buffer[] = Buffer.isBuffer(source) ? [source] : coalesce(source);
    for await (const chunk of chunks) {
      rawSize += chunk.length;
      if (o.maxBytes !== undefined && rawSize > o.maxBytes) throw new MessageTooLargeError(o.maxBytes);
      crlf.update(chunk);
      await f.write(chunk);
    }
  } catch (e) {
    await f.discard();
    throw e;
  }
  await f.syncAndClose();
  const vsize = rawSize + crlf.bareLf;
  try {
    if (o.internalDate) await utimes(tmpPath, o.internalDate, o.internalDate);
    if (o.beforeCommit) await o.beforeCommit(rawSize, vsize);
    const base = baseWithSizes(unique, rawSize, vsize);
    const flags = o.flags ?? 0;
    const toCur = o.toCur || flags !== 0;
    const fileName = toCur ? fileNameFor(base, flags, o.extra) : base;
    const sub = toCur ? 'cur' : 'new';
    o.onName?.(sub, fileName);
    await rename(tmpPath, `${folderDir}/${sub}/${fileName}`);
    const written: WrittenMessage = { base, fileName, location: sub, rawSize, vsize };
    const synced = fsyncDir(`${folderDir}/${sub}`);
    if (o.whileDirSyncs) await Promise.all([synced, o.whileDirSyncs(written)]);
    else await synced;
    return written;
  } catch (e) {
    await unlink(tmpPath).catch(() => {});
    throw e;
  }
}
