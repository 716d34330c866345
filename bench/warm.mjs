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
