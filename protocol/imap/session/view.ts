/**
 * This session's view of the selected mailbox (STYLE.md 8, RFC 3501 7.4.1):
 * message sequence number n is `uids[n - 1]`. The storage handle learns of
 * changes when the session calls sync(); this view decides when the client
 * is told. New messages and flag changes are announced after any command;
 * messages expunged by someone else stay in the view, with their sequence
 * numbers, until a command that may shift numbers completes (never during
 * FETCH, STORE or SEARCH), so a client's numbers never move under a command
 * that uses them.
 */
import type { Mailbox, MailboxChanges } from '../../../maildir/types.js';
import { resolveSequenceSet, type SequenceSet } from '../sequence-set.js';
import { bad, flagList } from './response.js';

export interface Target {
  seq: number;
  uid: number;
}

export class MessageView {
  private uids: number[];
  private readonly recent = new Set<number>();
  /** expunged elsewhere, not yet announced: still numbered, no longer readable */
  private readonly pendingExpunge = new Set<number>();

  constructor(private readonly mailbox: Mailbox) {
    this.uids = [...mailbox.uids()];
    for (const uid of mailbox.recentUids()) this.recent.add(uid);
  }

  get exists(): number {
    return this.uids.length;
  }

  get recentCount(): number {
    return this.recent.size;
  }

  get highestUid(): number {
    return this.uids.length ? this.uids[this.uids.length - 1] : 0;
  }

  isRecent(uid: number): boolean {
    return this.recent.has(uid);
  }

  isExpunged(uid: number): boolean {
    return this.pendingExpunge.has(uid);
  }

  uidAt(seq: number): number | undefined {
    return this.uids[seq - 1];
  }

  /** sequence number of `uid`, or 0 when it is not in the view */
  seqOf(uid: number): number {
    const i = this.indexAtOrAbove(uid);
    return i < this.uids.length && this.uids[i] === uid ? i + 1 : 0;
  }

  /** first index whose UID is >= uid */
  private indexAtOrAbove(uid: number): number {
    let lo = 0;
    let hi = this.uids.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.uids[mid] < uid) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * The messages a set names, ascending. Sequence numbers beyond the mailbox
   * are a client error (BAD, as Dovecot answers); UIDs that do not exist are
   * simply not there (RFC 3501 6.4.8). "*" is the last message or highest UID.
   */
  resolve(set: SequenceSet, byUid: boolean): Target[] {
    const out: Target[] = [];
    if (byUid) {
      for (const r of resolveSequenceSet(set, this.highestUid)) {
        for (let i = this.indexAtOrAbove(r.from); i < this.uids.length && this.uids[i] <= r.to; i++) out.push({ seq: i + 1, uid: this.uids[i] });
      }
      return out;
    }
    // "*" in an empty mailbox names nothing; a number there is still out of range
    if (this.uids.length === 0 && set.every((r) => r.from === '*' || r.to === '*')) return out;
    for (const r of resolveSequenceSet(set, this.uids.length)) {
      if (r.to > this.uids.length) throw bad('Invalid messageset: sequence number beyond the last message');
      for (let seq = r.from; seq <= r.to; seq++) out.push({ seq, uid: this.uids[seq - 1] });
    }
    return out;
  }

  /**
   * Take in what mailbox.sync() reported and return the untagged responses
   * to send now. With `allowExpunge` false, expunges are remembered and sent
   * later; the numbers of the other responses then still count them.
   */
  apply(changes: MailboxChanges, allowExpunge: boolean): string[] {
    const lines: string[] = [];
    for (const uid of changes.expunged) if (this.seqOf(uid) > 0) this.pendingExpunge.add(uid);
    if (allowExpunge && this.pendingExpunge.size > 0) {
      lines.push(...this.remove([...this.pendingExpunge]));
    }
    for (const f of changes.flags) {
      if (this.pendingExpunge.has(f.uid)) continue;
      const seq = this.seqOf(f.uid);
      if (seq > 0) lines.push(`* ${seq} FETCH (FLAGS ${flagList(f.flags, this.recent.has(f.uid))})\r\n`);
    }
    if (changes.added.length > 0) {
      for (const uid of changes.added) if (uid > this.highestUid) this.uids.push(uid);
      for (const uid of changes.recent) this.recent.add(uid);
      lines.push(`* ${this.uids.length} EXISTS\r\n`, `* ${this.recent.size} RECENT\r\n`);
    }
    return lines;
  }

  /**
   * Remove messages from the view and return their EXPUNGE responses. They are
   * sent highest sequence number first: each EXPUNGE renumbers the messages
   * after it (RFC 3501 7.4.1), so descending numbers stay valid one by one.
   */
  remove(uids: readonly number[]): string[] {
    const seqs: number[] = [];
    for (const uid of uids) {
      const seq = this.seqOf(uid);
      if (seq > 0) seqs.push(seq);
      this.pendingExpunge.delete(uid);
      this.recent.delete(uid);
    }
    if (seqs.length === 0) return [];
    seqs.sort((a, b) => b - a);
    const gone = new Set(uids);
    this.uids = this.uids.filter((u) => !gone.has(u));
    return seqs.map((s) => `* ${s} EXPUNGE\r\n`);
  }

  /** the storage handle this view is of */
  get handle(): Mailbox {
    return this.mailbox;
  }
}
