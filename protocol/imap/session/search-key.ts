/**
 * SEARCH keys from the wire to storage: everything maps one to one except
 * sequence sets, which only this session can turn into UIDs (DESIGN.md layer
 * rule 2), and the "*" of a UID set (the highest UID in our view).
 */
import type { SearchKey, UidRange } from '../../../maildir/search/query.js';
import type { ImapSearchKey } from '../commands.js';
import { resolveSequenceSet } from '../sequence-set.js';
import type { MessageView } from './view.js';

/** consecutive UIDs of the view as ranges (a sequence range maps to scattered UIDs) */
function seqRangesToUids(view: MessageView, key: Extract<ImapSearchKey, { type: 'seq' }>): UidRange[] {
  const out: UidRange[] = [];
  for (const r of resolveSequenceSet(key.set, view.exists)) {
    for (let seq = r.from; seq <= Math.min(r.to, view.exists); seq++) {
      const uid = view.uidAt(seq);
      if (uid === undefined) break;
      const last = out[out.length - 1];
      if (last !== undefined && last.to + 1 === uid) last.to = uid;
      else out.push({ from: uid, to: uid });
    }
  }
  return out;
}

export function toStorageKey(key: ImapSearchKey, view: MessageView): SearchKey {
  switch (key.type) {
    case 'seq':
      return { type: 'uid', ranges: seqRangesToUids(view, key) };
    case 'uidset':
      return { type: 'uid', ranges: resolveSequenceSet(key.set, view.highestUid) };
    case 'not':
      return { type: 'not', key: toStorageKey(key.key, view) };
    case 'or':
      return { type: 'or', left: toStorageKey(key.left, view), right: toStorageKey(key.right, view) };
    case 'and':
      return { type: 'and', keys: key.keys.map((k) => toStorageKey(k, view)) };
    default:
      return key;
  }
}
