/**
 * The folder snapshot (`mailroom-index`): what the last complete sync of a
 * folder saw, so that the next process to open it need not list a directory
 * of 100,000 files. Dovecot's index plays the same trick with cur/'s mtime.
 *
 *   mailroom-index 1 <uidvalidity> <new mtime ns> <cur mtime ns> <listing start ns>
 *       <uidlist inode> <uidlist offset> <uidlist lines> <uidlist next> <uidlist last uid> <count>\n
 *   <uid> <n|c> <file name>\n  × count
 *   end\n
 *
 * It is trusted only if both directories still have the recorded mtimes and
 * the listing began more than a second after them (so no change can hide in
 * the same timestamp), and the uidlist is the same file, not shorter. Any
 * doubt — a missing, torn or foreign file — means a normal full sync. It is
 * a cache: written with rename but without fsync, and deleting it loses nothing.
 */
import { readFile, stat } from 'node:fs/promises';
import { writeFileAtomic } from './fsutil.js';
import { LineBuffer } from './line-buffer.js';

export const SNAPSHOT_FILE = 'mailroom-index';

export interface SnapshotHeader {
  uidValidity: number;
  newMtime: bigint;
  curMtime: bigint;
  startedNs: bigint;
  uidlistIno: number;
  uidlistOffset: number;
  uidlistLines: number;
  uidlistNext: number;
  uidlistLastUid: number;
}

export interface SnapshotRows {
  header: SnapshotHeader;
  uids: number[];
  locs: number[];
  names: string[];
}

export async function writeSnapshot(dir: string, h: SnapshotHeader, rows: { n: number; uid: ArrayLike<number>; loc: ArrayLike<number>; name: readonly string[] }): Promise<void> {
  const bytes = LineBuffer.collect((out) => {
    const head = `mailroom-index 1 ${h.uidValidity} ${h.newMtime} ${h.curMtime} ${h.startedNs} ${h.uidlistIno} ${h.uidlistOffset} ${h.uidlistLines} ${h.uidlistNext} ${h.uidlistLastUid} ${rows.n}\n`;
    out.room(head.length);
    out.text(head);
    for (let i = 0; i < rows.n; i++) {
      const name = rows.name[i];
      out.room(name.length);
      out.decimal(rows.uid[i]);
      out.byte(32);
      out.byte(rows.loc[i] ? 110 : 99); // 'n' | 'c'
      out.byte(32);
      out.text(name);
      out.byte(10);
    }
    out.room(4);
    out.text('end\n');
  });
  await writeFileAtomic(`${dir}/${SNAPSHOT_FILE}`, bytes, { durable: false });
}

/** The snapshot if it still describes the folder, else null. */
export async function readSnapshot(dir: string): Promise<SnapshotRows | null> {
  let buf: Buffer;
  try {
    buf = await readFile(`${dir}/${SNAPSHOT_FILE}`);
  } catch {
    return null;
  }
  const nl = buf.indexOf(10);
  if (nl < 0) return null;
  const f = buf.toString('latin1', 0, nl).split(' ');
  if (f.length !== 12 || f[0] !== 'mailroom-index' || f[1] !== '1') return null;
  let header: SnapshotHeader;
  let count: number;
  try {
    header = {
      uidValidity: Number(f[2]),
      newMtime: BigInt(f[3]),
      curMtime: BigInt(f[4]),
      startedNs: BigInt(f[5]),
      uidlistIno: Number(f[6]),
      uidlistOffset: Number(f[7]),
      uidlistLines: Number(f[8]),
      uidlistNext: Number(f[9]),
      uidlistLastUid: Number(f[10]),
    };
    count = Number(f[11]);
  } catch {
    return null;
  }
  if (!Number.isInteger(count) || count < 0) return null;
  if (buf.length < 4 || buf.toString('latin1', buf.length - 4) !== 'end\n') return null;
  // still true of the directories?
  try {
    const [sn, sc] = await Promise.all([stat(`${dir}/new`, { bigint: true }), stat(`${dir}/cur`, { bigint: true })]);
    if (sn.mtimeNs !== header.newMtime || sc.mtimeNs !== header.curMtime) return null;
    const settled = header.startedNs - 1_000_000_000n;
    if (!(sn.mtimeNs < settled && sc.mtimeNs < settled)) return null;
  } catch {
    return null;
  }
  const uids: number[] = new Array(count);
  const locs: number[] = new Array(count);
  const names: string[] = new Array(count);
  let pos = nl + 1;
  let last = 0;
  for (let k = 0; k < count; k++) {
    const end = buf.indexOf(10, pos);
    if (end < 0) return null;
    let uid = 0;
    let i = pos;
    for (; i < end; i++) {
      const c = buf[i];
      if (c < 48 || c > 57) break;
      uid = uid * 10 + (c - 48);
    }
    if (buf[i] !== 32 || uid <= last || i + 3 >= end) return null;
    const loc = buf[i + 1] === 110 ? 1 : 0; // 'n'
    uids[k] = uid;
    locs[k] = loc;
    names[k] = buf.toString('utf8', i + 3, end);
    last = uid;
    pos = end + 1;
  }
  if (buf.toString('latin1', pos, pos + 4) !== 'end\n') return null;
  return { header, uids, locs, names };
}
