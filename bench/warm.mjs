import { execFileSync } from 'node:child_process';
// The "(warm, median of N)" row both benchmark clients add: an operation run
// N more times on the same connection, one line with the median (and the
// spread). The first run of a fresh server process includes its JIT warm-up;
// this row is what a long-running server does.
//   runQuiet(): one timed run, resolving with its line ({ op, ms, ... } or
//   { error }) without emitting it, or null when it could not run at all.
export async function warmRow(name, times, runQuiet, emit) {
  if (times <= 0) return;
  const runs = [];
  let last = null;
  for (let i = 0; i < times; i++) {
    const r = await runQuiet();
    if (!r || r.error) { if (r) emit(r); return; }
    runs.push(r.ms);
    last = r;
  }
  runs.sort((a, b) => a - b);
  emit({ ...last, op: `${name} (warm, median of ${times})`, ms: runs[runs.length >> 1], min: runs[0], max: runs[runs.length - 1] });
}

// The client's own warm-up (--warmup-user), before anything is timed: the
// whole sequence runs once as another user, whose INBOX is its own cold copy
// of the folder, on the same connection settings; then `sync`, so that its
// writes reach the disk before the timed run starts. It warms the server (its
// code compiled, as in a server that has been up a while) and just as much
// the client: imapflow is JavaScript too, and its first parse of a kind of
// response costs it several times what later ones do. How much of that lands
// in a timed row depended on what the server had sent before: Dovecot sends
// 1,354 of the 10,000-message folder's ENVELOPE strings as literals where
// Mailroom quotes all but 94, so a cold client had its literal parsing
// compiled by the time it fetched BODY.PEEK[] from Dovecot, and not from
// Mailroom (in one such run the client used 180 ms of CPU on that fetch
// against 125 ms with Dovecot, 46 and 50 ms on the repeats).
//   run(): the sequence as the warm-up user, its lines not printed
export async function clientWarmUp(warmupUser, run) {
  if (!warmupUser) return;
  await run();
  execFileSync('sync');
}
