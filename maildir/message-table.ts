/**
 * The in-memory rows of one folder, column-wise: typed arrays for numbers and
 * one array of file names, so that 100,000 messages cost a few megabytes and
 * no per-message object (DESIGN.md asks < 300 bytes per message indexed).
 * Rows are kept in ascending UID order; UIDs only ever grow, so adding is an
 * append and removing is one compaction pass.
 */
export const LOC_CUR = 0;
export const LOC_NEW = 1;

export interface RowInput {
  uid: number;
  name: string;
  base: string;
  loc: number;
  flags: number;
  rawSize: number;
  vsize: number;
  date: number;
  modseq: number;
}

export class MessageTable {
  n = 0;
  uid = new Uint32Array(16);
  flags = new Uint32Array(16);
  rawSize = new Float64Array(16);
  /** CRLF size, 0 = not known yet */
  vsize = new Float64Array(16);
  /** internal date in ms, 0 = not known yet */
  date = new Float64Array(16);
  modseq = new Float64Array(16);
  loc = new Uint8Array(16);
  /** current file name inside cur/ or new/ */
  name: string[] = [];
  /** the name without its ':2,…' info: what the uidlist keys on; never changes */
  base: string[] = [];

  push(r: RowInput): number {
    if (this.n === this.uid.length) this.grow(this.n * 2);
    const i = this.n++;
    this.uid[i] = r.uid;
    this.flags[i] = r.flags;
    this.rawSize[i] = r.rawSize;
    this.vsize[i] = r.vsize;
    this.date[i] = r.date;
    this.modseq[i] = r.modseq;
    this.loc[i] = r.loc;
    this.name[i] = r.name;
    this.base[i] = r.base;
    return i;
  }

  /** Row index of a UID, or -1 (binary search). */
  find(uid: number): number {
    let lo = 0;
    let hi = this.n - 1;
    const a = this.uid;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = a[mid];
      if (v === uid) return mid;
      if (v < uid) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** First row index whose UID is greater than `uid`. */
  firstAbove(uid: number): number {
    let lo = 0;
    let hi = this.n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.uid[mid] <= uid) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  get maxUid(): number {
    return this.n === 0 ? 0 : this.uid[this.n - 1];
  }

  /** Remove the rows for which `drop` is true, in one pass. */
  removeWhere(drop: (i: number) => boolean): void {
    let w = 0;
    for (let r = 0; r < this.n; r++) {
      if (drop(r)) continue;
      if (w !== r) {
        this.uid[w] = this.uid[r];
        this.flags[w] = this.flags[r];
        this.rawSize[w] = this.rawSize[r];
        this.vsize[w] = this.vsize[r];
        this.date[w] = this.date[r];
        this.modseq[w] = this.modseq[r];
        this.loc[w] = this.loc[r];
        this.name[w] = this.name[r];
        this.base[w] = this.base[r];
      }
      w++;
    }
    this.name.length = w;
    this.base.length = w;
    this.n = w;
  }

  /**
   * Make room for `cap` rows at once, when the count is known (a folder's
   * first numbering): growing by doubling to 100,000 rows allocates and
   * zero-fills twice the memory and copies it on the way.
   */
  reserve(cap: number): void {
    if (cap > this.uid.length) this.grow(cap);
  }

  clear(): void {
    this.n = 0;
    this.name = [];
    this.base = [];
  }

  private grow(cap: number): void {
    const g = <T extends Uint32Array | Float64Array | Uint8Array>(a: T, make: (n: number) => T): T => {
      const b = make(cap);
      b.set(a);
      return b;
    };
    this.uid = g(this.uid, (n) => new Uint32Array(n));
    this.flags = g(this.flags, (n) => new Uint32Array(n));
    this.rawSize = g(this.rawSize, (n) => new Float64Array(n));
    this.vsize = g(this.vsize, (n) => new Float64Array(n));
    this.date = g(this.date, (n) => new Float64Array(n));
    this.modseq = g(this.modseq, (n) => new Float64Array(n));
    this.loc = g(this.loc, (n) => new Uint8Array(n));
  }
}
