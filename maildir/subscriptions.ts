/**
 * Subscriptions in Courier's `courierimapsubscribed` file (in the Maildir
 * root): one folder per line, in Courier's own namespace: "INBOX" and
 * "INBOX.<folder>" with '.' between levels and names in modified UTF-7. Kept
 * in that format so a user moving between Courier and Mailroom keeps them.
 */
import { readFile } from 'node:fs/promises';
import { errnoCode } from './errors.js';
import { writeFileAtomic } from './fsutil.js';
import { decodeMutf7, encodeMutf7 } from './mutf7.js';
import { DELIMITER, normalizeName } from './names.js';

export const SUBSCRIPTIONS_FILE = 'courierimapsubscribed';

export function toCourier(name: string): string {
  if (name === 'INBOX') return 'INBOX';
  return 'INBOX.' + name.split(DELIMITER).map(encodeMutf7).join('.');
}

export function fromCourier(line: string): string | null {
  const parts = line.split('.');
  if (parts[0] !== 'INBOX') return null;
  if (parts.length === 1) return 'INBOX';
  const decoded = parts.slice(1).map(decodeMutf7);
  if (decoded.some((d) => d === null || d === '')) return null;
  try {
    return normalizeName(decoded.join(DELIMITER));
  } catch {
    return null;
  }
}

export async function readSubscriptions(root: string): Promise<Set<string>> {
  let text: string;
  try {
    text = await readFile(`${root}/${SUBSCRIPTIONS_FILE}`, 'utf8');
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return new Set();
    throw e;
  }
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const n = fromCourier(line.trim());
    if (n !== null) out.add(n);
  }
  return out;
}

export async function writeSubscriptions(root: string, names: Iterable<string>): Promise<void> {
  const lines = [...new Set([...names].map(toCourier))].sort();
  await writeFileAtomic(`${root}/${SUBSCRIPTIONS_FILE}`, lines.map((l) => l + '\n').join(''));
}
