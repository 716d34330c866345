/**
 * Special-use marks (RFC 6154) per user, in `mailroom-specialuse` in the
 * Maildir root: "<use> <name>" per line, names as IMAP (Unicode) names. Maildir
 * itself has no place for them; a file a person can read and fix is the
 * simplest honest store.
 */
import { readFile } from 'node:fs/promises';
import { errnoCode } from './errors.js';
import { writeFileAtomic } from './fsutil.js';
import type { SpecialUse } from './types.js';

export const SPECIAL_USE_FILE = 'mailroom-specialuse';
export const SPECIAL_USES: readonly SpecialUse[] = ['\\Drafts', '\\Sent', '\\Trash', '\\Junk', '\\Archive'];

/** The folders a new user gets, with their marks. */
export const DEFAULT_FOLDERS: readonly [string, SpecialUse][] = [
  ['Drafts', '\\Drafts'],
  ['Sent', '\\Sent'],
  ['Trash', '\\Trash'],
  ['Junk', '\\Junk'],
  ['Archive', '\\Archive'],
];

export async function readSpecialUse(root: string): Promise<Map<string, SpecialUse>> {
  let text: string;
  try {
    text = await readFile(`${root}/${SPECIAL_USE_FILE}`, 'utf8');
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return new Map();
    throw e;
  }
  const out = new Map<string, SpecialUse>();
  for (const line of text.split('\n')) {
    const sp = line.indexOf(' ');
    if (sp < 0) continue;
    const use = line.slice(0, sp) as SpecialUse;
    if (SPECIAL_USES.includes(use)) out.set(line.slice(sp + 1), use);
  }
  return out;
}

export async function writeSpecialUse(root: string, map: ReadonlyMap<string, SpecialUse>): Promise<void> {
  const text = [...map].map(([name, use]) => `${use} ${name}\n`).join('');
  await writeFileAtomic(`${root}/${SPECIAL_USE_FILE}`, text);
}
