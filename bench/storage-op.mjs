// One storage measurement in a fresh process (so "warm" means: files on disk
// from an earlier process, nothing in memory). Prints one JSON line.
// argv: op root    op = open | parse | envelopes | memory
import { MaildirStore } from '../dist/maildir/store.js';

const [op, root] = process.argv.slice(2);
const gc = globalThis.gc ?? (() => {});
const store = new MaildirStore({ rootOf: () => root, autoCreate: false });
const user = await store.forUser('bench');

gc();
const rss0 = process.memoryUsage().rss;
const heap0 = process.memoryUsage().heapUsed;
let t0 = performance.now();
const mb = await user.open('INBOX', { readOnly: false });
const openMs = performance.now() - t0;
const n = mb.uids().length;
const out = { op, n, openMs: Math.round(openMs) };

if (op === 'memory') {
  gc();
  const m = process.memoryUsage();
  out.rssPerMessage = Math.round((m.rss - rss0) / n);
  out.heapPerMessage = Math.round((m.heapUsed - heap0) / n);
} else if (op === 'parse' || op === 'envelopes') {
  t0 = performance.now();
  let subjects = 0;
  // 8 messages in flight, as a FETCH handler prefetching envelopes would
  const uids = mb.uids();
  let next = 0;
  const worker = async () => {
    while (next < uids.length) {
      const idx = await mb.index(uids[next++]);
      if (idx.envelope.subject) subjects++;
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  await mb.close();
  out.ms = Math.round(performance.now() - t0);
  out.perSecond = Math.round(n / (out.ms / 1000));
  out.subjects = subjects;
}
await mb.close();
await store.close();
console.log(JSON.stringify(out));
