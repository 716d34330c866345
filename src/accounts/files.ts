/**
 * The accounts files of one domain: data/domains/<domain>/users.json and
 * aliases.json. They are meant to be read (and in an emergency edited) by a
 * person, so they are pretty-printed JSON with keys in a stable order.
 *
 * users.json                                  aliases.json
 *   { "users": {                                { "aliases": {
 *       "alice": {                                  "postmaster": ["alice@example.org"] },
 *         "password": "$scrypt$ln=15,...",         "catchAll": ["alice@example.org"] }
 *         "enabled": true,
 *         "quota": { "bytes": 2147483648, "messages": 10000 },
 *         "forward": { "to": ["a@b.example"], "keepCopy": true },
 *         "created": "2025-01-01T00:00:00.000Z" } } }
 *
 * Parsing is strict about shape (a damaged file is reported, never guessed
 * at) and lenient about extra keys (a newer version may add some).
 */
import { AccountError } from '../errors.js';

export interface Quota {
  bytes?: number;
  messages?: number;
}

/** qmail's .qmail idea: forward a user's mail, optionally keeping a copy. */
export interface Forward {
  to: string[];
  keepCopy: boolean;
}

export interface UserEntry {
  password: string;
  enabled: boolean;
  quota?: Quota;
  forward?: Forward;
  created: string;
}

export interface UsersFile {
  users: Record<string, UserEntry>;
}

export interface AliasesFile {
  aliases: Record<string, string[]>;
  catchAll?: string[];
}

export const USERS_FILE = 'users.json';
export const ALIASES_FILE = 'aliases.json';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function parseJson(text: string, path: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new AccountError('DAMAGED', `${path}: not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!isObject(v)) throw new AccountError('DAMAGED', `${path}: expected a JSON object`);
  return v;
}

export function parseUsersFile(text: string, path: string): UsersFile {
  const v = parseJson(text, path);
  const users = v.users ?? {};
  if (!isObject(users)) throw new AccountError('DAMAGED', `${path}: "users" must be an object`);
  const out: UsersFile = { users: {} };
  for (const [local, u] of Object.entries(users)) {
    const bad = (what: string) => new AccountError('DAMAGED', `${path}: users.${local}: ${what}`);
    if (!isObject(u)) throw bad('must be an object');
    if (typeof u.password !== 'string') throw bad('"password" must be a string');
    if (typeof u.enabled !== 'boolean') throw bad('"enabled" must be true or false');
    const entry: UserEntry = { password: u.password, enabled: u.enabled, created: typeof u.created === 'string' ? u.created : '' };
    if (u.quota !== undefined) {
      const q = u.quota;
      if (!isObject(q) || (q.bytes !== undefined && !isCount(q.bytes)) || (q.messages !== undefined && !isCount(q.messages))) {
        throw bad('"quota" must be { "bytes"?: number, "messages"?: number }');
      }
      entry.quota = { ...(q.bytes !== undefined ? { bytes: q.bytes as number } : {}), ...(q.messages !== undefined ? { messages: q.messages as number } : {}) };
    }
    if (u.forward !== undefined) {
      const f = u.forward;
      if (!isObject(f) || !isStringArray(f.to) || typeof f.keepCopy !== 'boolean') {
        throw bad('"forward" must be { "to": [addresses], "keepCopy": true|false }');
      }
      entry.forward = { to: f.to, keepCopy: f.keepCopy };
    }
    out.users[local] = entry;
  }
  return out;
}

export function parseAliasesFile(text: string, path: string): AliasesFile {
  const v = parseJson(text, path);
  const aliases = v.aliases ?? {};
  if (!isObject(aliases)) throw new AccountError('DAMAGED', `${path}: "aliases" must be an object`);
  const out: AliasesFile = { aliases: {} };
  for (const [local, targets] of Object.entries(aliases)) {
    if (!isStringArray(targets)) throw new AccountError('DAMAGED', `${path}: aliases.${local}: must be a list of addresses`);
    out.aliases[local] = targets;
  }
  if (v.catchAll !== undefined) {
    if (!isStringArray(v.catchAll)) throw new AccountError('DAMAGED', `${path}: catchAll: must be a list of addresses`);
    out.catchAll = v.catchAll;
  }
  return out;
}

/** Sorted keys so that a diff of two versions shows only what changed. */
function sortedRecord<T>(r: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.keys(r).sort().map((k) => [k, r[k]]));
}

export function formatUsersFile(f: UsersFile): string {
  return `${JSON.stringify({ users: sortedRecord(f.users) }, null, 2)}\n`;
}

export function formatAliasesFile(f: AliasesFile): string {
  const out: AliasesFile = { aliases: sortedRecord(f.aliases) };
  if (f.catchAll && f.catchAll.length > 0) out.catchAll = f.catchAll;
  return `${JSON.stringify(out, null, 2)}\n`;
}
