/**
 * Keyword names ↔ the letters a–z in Maildir file names, per folder, in
 * `mailroom-keywords` (Dovecot's dovecot-keywords format: "<index> <name>" per
 * line). A name keeps its letter for the life of the folder; at most 26, the
 * Maildir limit (Dovecot has the same one). Appended under the folder lock.
 */
import { readFileSync, statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { errnoCode, StoreError } from './errors.js';
import { writeFileAtomic } from './fsutil.js';
import { MAX_KEYWORDS } from './filename.js';

export const KEYWORDS_FILE = 'mailroom-keywords';

export class KeywordMap {
  private names: (string | undefined)[] = [];
  private byLower = new Map<string, number>();
  private mtimeMs = -1;
  private size = -1;

  constructor(readonly dir: string) {}

  get path(): string {
    return `${this.dir}/${KEYWORDS_FILE}`;
  }

  /** Re-read if the file changed (cheap: one stat). */
  async refresh(): Promise<void> {
    let st;
    try {
      // blocking: a stat on every sync, and rarely a read of a small file
      st = statSync(this.path);
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return;
      throw e;
    }
    if (st.mtimeMs === this.mtimeMs && st.size === this.size) return;
    let text = '';
    try {
      text = readFileSync(this.path, 'utf8');
    } catch {
      // vanished since the stat: no keywords
    }
    this.names = [];
    this.byLower.clear();
    for (const line of text.split('\n')) {
      const m = /^(\d+) (\S+)$/.exec(line.trim());
      if (!m) continue;
      const i = Number(m[1]);
      if (i >= MAX_KEYWORDS || this.byLower.has(m[2].toLowerCase())) continue;
      this.names[i] = m[2];
      this.byLower.set(m[2].toLowerCase(), i);
    }
    this.mtimeMs = st.mtimeMs;
    this.size = st.size;
  }

  nameOf(index: number): string | undefined {
    return this.names[index];
  }

  /** Keyword names are case-insensitive (RFC 3501 2.3.2 atoms; Dovecot compares them so). */
  indexOf(name: string): number | undefined {
    return this.byLower.get(name.toLowerCase());
  }

  all(): string[] {
    return this.names.filter((n): n is string => n !== undefined);
  }

  /**
   * Give letters to the names that have none. The caller holds the folder lock
   * and has called refresh() under it.
   */
  async define(names: readonly string[]): Promise<void> {
    let changed = false;
    for (const name of names) {
      if (this.byLower.has(name.toLowerCase())) continue;
      let i = 0;
      while (i < MAX_KEYWORDS && this.names[i] !== undefined) i++;
      if (i >= MAX_KEYWORDS) throw new StoreError('LIMIT', `Too many keywords in this mailbox (at most ${MAX_KEYWORDS})`);
      this.names[i] = name;
      this.byLower.set(name.toLowerCase(), i);
      changed = true;
    }
    if (!changed) return;
    const text = this.names.map((n, i) => (n === undefined ? '' : `${i} ${n}\n`)).join('');
    await writeFileAtomic(this.path, text);
    const st = await stat(this.path);
    this.mtimeMs = st.mtimeMs;
    this.size = st.size;
  }
}
