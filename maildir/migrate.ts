/**
 * Importing UIDs from the IMAP server a Maildir comes from (DESIGN.md "UIDs:
 * the uidlist": a user migrating keeps UIDs and UIDVALIDITY, so clients do not
 * download everything again).
 *
 * Dovecot, `dovecot-uidlist` (src/lib-storage/index/maildir/maildir-uidlist.c,
 * the comment at its top and maildir_uidlist_read_header / _next / _read_extended):
 *   version 1   header `1 <uidvalidity> <nextuid>`, entries `<uid> <filename>`
 *   version 3   header `3 <key><value> ...` (V = uidvalidity, N = next uid,
 *               G = mailbox GUID, other keys possible, any order),
 *               entries `<uid> [<key><value> ...] :<filename>`
 *   (version 2 was written only by development versions and is refused by
 *   current Dovecot too.) The filename may carry the `:2,<flags>` info of the
 *   moment it was written; Dovecot itself matches records by the base.
 *
 * Courier-IMAP, `courierimapuiddb` (courier-libs imap/imapscanclient.c,
 * do_imapscan_maildir2; IMAPDBVERSION is 1 in imap/configure.ac):
 *   header `1 <uidvalidity> <nextuid>`, entries `<uid> <filename>` with the
 *   info part already stripped (Courier cuts at the last ':'). That is the
 *   same layout as Dovecot's version 1, which Dovecot documents as compatible.
 *
 * Both servers treat a bad line as a corrupt file and rebuild it (losing the
 * UIDs). An importer has nothing to rebuild from, so we are more lenient:
 * lines that do not parse are skipped, a UID seen twice keeps its first file,
 * a file seen twice keeps its last UID (Dovecot's rule for duplicate records),
 * and the next UID is raised above the highest UID found. Only a missing or
 * unusable header makes a file unusable.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode } from './errors.js';

export interface ImportedUids {
  uidValidity: number;
  uidNext: number;
  entries: { uid: number; base: string }[];
  source: 'dovecot' | 'courier';
}

export const DOVECOT_UIDLIST = 'dovecot-uidlist';
export const COURIER_UIDDB = 'courierimapuiddb';

/** UIDs and UIDVALIDITY are non-zero 32-bit unsigned numbers (RFC 3501 2.3.1.1). */
const MAX_U32 = 0xffffffff;

function u32(token: string): number | null {
  if (!/^[0-9]{1,10}$/.test(token)) return null;
  const n = Number(token);
  return n >= 1 && n <= MAX_U32 ? n : null;
}

/** The Maildir base of a stored file name: everything before the info separator. */
function baseOf(filename: string): string | null {
  const colon = filename.indexOf(':');
  const base = colon < 0 ? filename : filename.slice(0, colon);
  // A base is one path component (Dovecot refuses '/' as "Broken filename").
  return base.length > 0 && !base.includes('/') && !base.includes('\0') ? base : null;
}

interface Header {
  version: 1 | 3;
  uidValidity: number;
  uidNext: number;
}

function parseHeader(line: string, allowV3: boolean): Header | null {
  const tokens = line.trim().split(/[ \t]+/);
  if (tokens[0] === '1' && tokens.length >= 3) {
    const uidValidity = u32(tokens[1]);
    const uidNext = u32(tokens[2]);
    return uidValidity !== null && uidNext !== null ? { version: 1, uidValidity, uidNext } : null;
  }
  if (tokens[0] === '3' && allowV3) {
    let uidValidity: number | null = null;
    let uidNext: number | null = null;
    for (const t of tokens.slice(1)) {
      if (t[0] === 'V') uidValidity = u32(t.slice(1));
      else if (t[0] === 'N') uidNext = u32(t.slice(1));
      // G<guid> and unknown keys: nothing we keep
    }
    return uidValidity !== null && uidNext !== null ? { version: 3, uidValidity, uidNext } : null;
  }
  return null;
}

/** `<uid> <filename>` (Dovecot v1, Courier) or `<uid> [<ext> ...] :<filename>` (Dovecot v3). */
function parseEntry(line: string, version: 1 | 3): { uid: number; base: string } | null {
  const m = /^([0-9]+)[ \t]+(.*)$/.exec(line);
  if (m === null) return null;
  const uid = u32(m[1]);
  if (uid === null || uid === MAX_U32) return null;
  let filename = m[2];
  if (version === 3) {
    // Extension fields are `<key><value>` words; the filename follows the first ':'
    // that starts a word (maildir_uidlist_read_extended).
    const fields = /^(?:[^ :]\S*[ \t]+)*:/.exec(filename);
    if (fields === null) return null;
    filename = filename.slice(fields[0].length);
  }
  const base = baseOf(filename.trimEnd());
  return base === null ? null : { uid, base };
}

function parse(text: string, source: 'dovecot' | 'courier'): ImportedUids | null {
  const lines = text.split('\n');
  const header = parseHeader(lines[0].replace(/\r$/, ''), source === 'dovecot');
  if (header === null) return null;
  const baseByUid = new Map<number, string>();
  const uidByBase = new Map<string, number>();
  for (let i = 1; i < lines.length; i++) {
    const e = parseEntry(lines[i].replace(/\r$/, ''), header.version);
    if (e === null || baseByUid.has(e.uid)) continue;
    const older = uidByBase.get(e.base);
    if (older !== undefined) baseByUid.delete(older);
    baseByUid.set(e.uid, e.base);
    uidByBase.set(e.base, e.uid);
  }
  const entries = [...baseByUid].map(([uid, base]) => ({ uid, base })).sort((a, b) => a.uid - b.uid);
  const maxUid = entries.length > 0 ? entries[entries.length - 1].uid : 0;
  return {
    uidValidity: header.uidValidity,
    // MAX_U32 as "next" means the folder's UID space is exhausted; keep it as the server had it.
    uidNext: Math.min(Math.max(header.uidNext, maxUid + 1), MAX_U32),
    entries,
    source,
  };
}

async function readIfExists(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR' || code === 'EACCES') return null;
    throw e;
  }
}

/**
 * The UIDs Dovecot or Courier kept for the Maildir folder at `folderDir`
 * (Dovecot's file first: when both exist, Dovecot is the more recent tenant),
 * or null when neither file exists or neither has a usable header.
 */
export async function importForeignUidlist(folderDir: string): Promise<ImportedUids | null> {
  const dovecot = await readIfExists(join(folderDir, DOVECOT_UIDLIST));
  const fromDovecot = dovecot === null ? null : parse(dovecot, 'dovecot');
  if (fromDovecot !== null) return fromDovecot;
  const courier = await readIfExists(join(folderDir, COURIER_UIDDB));
  return courier === null ? null : parse(courier, 'courier');
}
