/**
 * Commands on messages of the selected mailbox (RFC 3501 6.4, RFC 4315
 * UIDPLUS, RFC 6851 MOVE, RFC 3691 UNSELECT): CLOSE, UNSELECT, EXPUNGE,
 * SEARCH, FETCH, STORE, COPY, MOVE, each in its sequence-number and UID form.
 * Sequence numbers and "*" are resolved through this session's view; storage
 * only ever sees UIDs.
 */
import type { Flag } from '../../../maildir/types.js';
import type { FetchItem, ImapSearchKey } from '../commands.js';
import type { SequenceSet } from '../sequence-set.js';
import { FetchAbortError, writeFetchResponses } from '../fetch/index.js';
import type { Selected } from './core.js';
import type { Handler } from './handler.js';
import { flagList, ImapError, no } from './response.js';
import { toStorageKey } from './search-key.js';
import type { Target } from './view.js';

/** the named messages still readable; throws later (see `expungeIssued`) if some were not */
function live(sel: Selected, set: SequenceSet, byUid: boolean): { targets: Target[]; gone: boolean } {
  const all = sel.view.resolve(set, byUid);
  const targets = all.filter((t) => !sel.view.isExpunged(t.uid));
  return { targets, gone: targets.length !== all.length };
}

/** messages a STORE renames before it sends their FETCH responses */
const STORE_BATCH = 256;

/** RFC 2180 4.1.2 / RFC 5530: some messages named were expunged by another session */
function expungeIssued(): never {
  throw no('Some of the requested messages no longer exist', 'EXPUNGEISSUED');
}

/** UIDs as a compact uid-set, `1:3,7` (RFC 4315 COPYUID keeps the source order) */
export function uidSet(uids: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < uids.length; ) {
    let j = i;
    while (j + 1 < uids.length && uids[j + 1] === uids[j] + 1) j++;
    parts.push(j === i ? String(uids[i]) : `${uids[i]}:${uids[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

export const close: Handler<{ name: 'CLOSE' }> = async (core) => {
  const sel = core.requireSelected();
  // RFC 3501 6.4.2: expunge silently, and not at all when read-only
  if (!sel.readOnly) await sel.mailbox.expunge();
  await core.deselect();
  return { text: 'Close completed' };
};

export const unselect: Handler<{ name: 'UNSELECT' }> = async (core) => {
  core.requireSelected();
  await core.deselect();
  return { text: 'Unselect completed' };
};

export const expunge: Handler<{ name: 'EXPUNGE'; uid: false } | { name: 'EXPUNGE'; uid: true; set: SequenceSet }> = async (core, cmd) => {
  const sel = core.requireSelected();
  if (sel.readOnly) throw no('Mailbox is read-only');
  const only = cmd.uid ? live(sel, cmd.set, true).targets.map((t) => t.uid) : undefined;
  if (only !== undefined && only.length === 0) return { text: 'Expunge completed' };
  const removed = await sel.mailbox.expunge(only);
  await core.send(...sel.view.remove(removed));
  return { text: 'Expunge completed' };
};

export const search: Handler<{ name: 'SEARCH'; uid: boolean; charset?: string; key: ImapSearchKey }> = async (core, cmd) => {
  const sel = core.requireSelected();
  const uids = await sel.mailbox.search(toStorageKey(cmd.key, sel.view));
  const numbers = cmd.uid ? uids : uids.map((u) => sel.view.seqOf(u)).filter((s) => s > 0);
  await core.send(`* SEARCH${numbers.length ? ' ' + numbers.join(' ') : ''}\r\n`);
  return { text: 'Search completed' };
};

export const fetch: Handler<{ name: 'FETCH'; uid: boolean; set: SequenceSet; items: FetchItem[] }> = async (core, cmd) => {
  const sel = core.requireSelected();
  const { targets, gone } = live(sel, cmd.set, cmd.uid);
  let skipped = 0;
  try {
    if (targets.length) skipped = (await writeFetchResponses(core.io, sel.mailbox, targets, cmd.items, { setSeen: !sel.readOnly, uidCommand: cmd.uid })).expungedSkipped;
  } catch (e) {
    // a literal was announced and could not be completed: the stream is out of step with the client
    if (e instanceof FetchAbortError) throw new ImapError('BYE', 'Message changed underneath while being sent', 'SERVERBUG');
    throw e;
  }
  if (gone || skipped > 0) expungeIssued();
  return { text: 'Fetch completed' };
};

export const store: Handler<{ name: 'STORE'; uid: boolean; set: SequenceSet; mode: 'add' | 'remove' | 'replace'; silent: boolean; flags: Flag[] }> = async (
  core,
  cmd,
) => {
  const sel = core.requireSelected();
  if (sel.readOnly) throw no('Mailbox is read-only');
  const { targets, gone } = live(sel, cmd.set, cmd.uid);
  const uids = targets.map((t) => t.uid);
  if (cmd.silent) {
    if (uids.length) await sel.mailbox.setFlags(uids, cmd.mode, cmd.flags, { silent: true });
  } else {
    // In batches, each batch's FETCH responses sent before the next is
    // renamed: the client reads one while we rename the next, instead of
    // waiting for all of a big folder's renames and then reading everything.
    for (let k = 0; k < uids.length; k += STORE_BATCH) {
      const metas = await sel.mailbox.setFlags(uids.slice(k, k + STORE_BATCH), cmd.mode, cmd.flags);
      const lines: string[] = [];
      for (const m of metas) {
        const seq = sel.view.seqOf(m.uid);
        if (seq === 0) continue;
        const uid = cmd.uid ? ` UID ${m.uid}` : '';
        lines.push(`* ${seq} FETCH (FLAGS ${flagList(m.flags, sel.view.isRecent(m.uid))}${uid})\r\n`);
      }
      await core.send(...lines);
      // the renames are blocking: give the socket its turn to flush (it does so in a setImmediate) first
      if (k + STORE_BATCH < uids.length) await new Promise<void>((r) => setImmediate(r));
    }
  }
  if (gone) expungeIssued();
  return { text: 'Store completed' };
};

export const copy: Handler<{ name: 'COPY' | 'MOVE'; uid: boolean; set: SequenceSet; mailbox: string }> = async (core, cmd) => {
  const sel = core.requireSelected();
  const move = cmd.name === 'MOVE';
  if (move && sel.readOnly) throw no('Mailbox is read-only');
  const { targets, gone } = live(sel, cmd.set, cmd.uid);
  if (targets.length === 0) {
    if (gone) expungeIssued();
    return { text: `No messages ${move ? 'moved' : 'copied'}` };
  }
  const { uidValidity, pairs } = await sel.mailbox.copy(targets.map((t) => t.uid), cmd.mailbox, { move });
  const code = pairs.length ? `COPYUID ${uidValidity} ${uidSet(pairs.map((p) => p[0]))} ${uidSet(pairs.map((p) => p[1]))}` : undefined;
  if (!move) {
    if (pairs.length < targets.length) expungeIssued();
    return code !== undefined ? { code, text: 'Copy completed' } : { text: 'Copy completed' };
  }
  // RFC 6851 4.3: COPYUID goes in an untagged OK before the EXPUNGEs
  if (code !== undefined) await core.send(`* OK [${code}] Moved UIDs.\r\n`);
  await core.send(...sel.view.remove(pairs.map((p) => p[0])));
  if (pairs.length < targets.length) expungeIssued();
  return { text: 'Move completed' };
};
