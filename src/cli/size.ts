/**
 * Sizes as operators write them: "2G", "500M", "1.5G", "10000" (bytes).
 * Units are binary (K = 1024), as in Dovecot's quota rules and Courier's
 * maildirmake documentation.
 */
import { EX, MailroomError } from '../errors.js';

const UNITS: Record<string, number> = { '': 1, B: 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** Bytes for "2G" and the like; null for "none". Throws a usage error otherwise. */
export function parseSize(input: string): number | null {
  const s = input.trim();
  if (/^(none|unlimited)$/i.test(s)) return null;
  const m = /^(\d+(?:\.\d+)?)\s*([BKMGT]?)(?:I?B)?$/i.exec(s);
  if (!m) throw new MailroomError(EX.USAGE, `"${input}" is not a size (examples: 500M, 2G, 1048576, none)`);
  const bytes = Math.round(Number(m[1]) * UNITS[m[2].toUpperCase()]);
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new MailroomError(EX.USAGE, `"${input}" is not a usable size`);
  return bytes;
}

/** A message count limit: a positive whole number, or null for "none". */
export function parseCount(input: string): number | null {
  const s = input.trim();
  if (/^(none|unlimited)$/i.test(s)) return null;
  if (!/^\d+$/.test(s) || !Number.isSafeInteger(Number(s)) || Number(s) <= 0) {
    throw new MailroomError(EX.USAGE, `"${input}" is not a message count (a whole number, or none)`);
  }
  return Number(s);
}

/** The shortest exact form: 2147483648 → "2G", 1500 → "1500". */
export function formatSize(bytes: number): string {
  for (const u of ['T', 'G', 'M', 'K'] as const) {
    if (bytes >= UNITS[u] && bytes % UNITS[u] === 0) return `${bytes / UNITS[u]}${u}`;
  }
  return String(bytes);
}
