/**
 * IMAP sequence sets (RFC 3501 section 9, `sequence-set`), kept as written on
 * the wire: "*" stays "*" because it means "the largest number in use", which
 * only the session knows (its message count, or the highest UID). The session
 * resolves a set with `resolveSequenceSet` against its own view.
 */

/** A number, or "*" for the largest message sequence number / UID in use. */
export type SeqNumber = number | '*';

/** `a:b` (or a single number when from === to); the order on the wire is kept, `4:2` is legal. */
export interface SeqRange {
  from: SeqNumber;
  to: SeqNumber;
}

export type SequenceSet = SeqRange[];

/** An inclusive numeric interval. */
export interface NumberRange {
  from: number;
  to: number;
}

const MAX_NUMBER = 4294967295; // nz-number is a 32-bit unsigned integer (RFC 3501 section 9)

function parseSeqNumber(s: string): SeqNumber | null {
  if (s === '*') return '*';
  // seq-number = nz-number / "*"; nz-number = digit-nz *DIGIT
  if (!/^[1-9][0-9]{0,9}$/.test(s)) return null;
  const n = Number(s);
  return n <= MAX_NUMBER ? n : null;
}

/** Parse `sequence-set` text such as `1:3,7,9:*`. Returns null when the text is not a valid set. */
export function parseSequenceSet(text: string): SequenceSet | null {
  if (text.length === 0) return null;
  const set: SequenceSet = [];
  for (const item of text.split(',')) {
    const colon = item.indexOf(':');
    if (colon < 0) {
      const n = parseSeqNumber(item);
      if (n === null) return null;
      set.push({ from: n, to: n });
    } else {
      const from = parseSeqNumber(item.slice(0, colon));
      const to = parseSeqNumber(item.slice(colon + 1));
      if (from === null || to === null) return null;
      set.push({ from, to });
    }
  }
  return set;
}

/** The wire form of a set (ranges as given, `a:a` written as `a`). */
export function formatSequenceSet(set: SequenceSet): string {
  return set.map((r) => (r.from === r.to ? String(r.from) : `${r.from}:${r.to}`)).join(',');
}

/**
 * Resolve "*" to `largest` and return sorted, merged, non-overlapping ranges.
 * `largest` is the message count (sequence numbers) or the highest UID; with an
 * empty mailbox (largest 0) "*" resolves to 0, which matches nothing by itself.
 * Ranges are not clipped to `largest`: for UIDs, `5:7` may name UIDs that do
 * not exist and the caller intersects with what exists.
 */
export function resolveSequenceSet(set: SequenceSet, largest: number): NumberRange[] {
  const ranges: NumberRange[] = [];
  for (const r of set) {
    const a = r.from === '*' ? largest : r.from;
    const b = r.to === '*' ? largest : r.to;
    const from = Math.min(a, b);
    const to = Math.max(a, b);
    if (to < 1) continue;
    ranges.push({ from: Math.max(from, 1), to });
  }
  ranges.sort((x, y) => x.from - y.from);
  const merged: NumberRange[] = [];
  for (const r of ranges) {
    const last = merged[merged.length - 1];
    if (last && r.from <= last.to + 1) last.to = Math.max(last.to, r.to);
    else merged.push({ ...r });
  }
  return merged;
}

/** Whether `n` is in the set, with "*" meaning `largest`. */
export function sequenceSetHas(set: SequenceSet, n: number, largest: number): boolean {
  for (const r of set) {
    const a = r.from === '*' ? largest : r.from;
    const b = r.to === '*' ? largest : r.to;
    if (n >= Math.min(a, b) && n <= Math.max(a, b)) return true;
  }
  return false;
}
