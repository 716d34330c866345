// What the IMAP and POP3 comparisons share: running a benchmark client (one
// JSON line per operation on stdout) and running both servers on every size,
// one after the other (never both at once: two cores are shared).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { setupDovecot } from './peers/dovecot.mjs';

const here = import.meta.dirname;

/** Runs bench/<script> with `args`; resolves with its parsed output lines. */
export function runJsonClient(script, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(here, script), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (b) => (out += b));
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`${script} exited ${code}: ${out.slice(-1000)}`));
      else resolve(out.split('\n').filter(Boolean).map((l) => JSON.parse(l)));
    });
  });
}

/**
 * For every size: Mailroom in a fresh process once, then `rounds` rounds of
 * Mailroom warmed up and Dovecot warmed up, alternating, on the same folder;
 * rows for the table (each peer's runs kept apart: see medianOps).
 *
 * Warmed up: before the timed run the server has served the same client
 * sequence to another user whose INBOX is its own cold copy of the folder.
 * The timed folder is still one nobody has opened (no index, no cache), but
 * the process has run the code before, as a server that has been up for a
 * while has: a fresh Node process compiles its code while it runs (V8's
 * lazy compilation and optimising JIT), which a C server does not, and that
 * one-time cost would otherwise be charged to whichever operation comes first.
 * Both peers are warmed the same way; the fresh-process figures are printed
 * beside them so the one-time cost stays visible.
 *
 * Why rounds: on this kind of machine (a shared VM, two cores that the
 * client and the server split) one run of a row moves by a third between
 * runs of unchanged code; alternating the peers and taking each one's median
 * compares the servers, not the moment.
 */
export async function mailroomThenDovecot(label, { sizes, folderFor, work, rounds = 1 }, benchMailroom, benchDovecot) {
  setupDovecot();
  const results = [];
  for (const n of sizes) {
    const maildir = folderFor(n);
    process.stderr.write(`${label} bench: Mailroom (fresh process) on ${n} messages…\n`);
    const fresh = await benchMailroom(work, maildir, n, { warmup: false });
    const mailroom = [];
    const dovecot = [];
    for (let r = 1; r <= rounds; r++) {
      process.stderr.write(`${label} bench: Mailroom (warmed up) on ${n} messages, round ${r} of ${rounds}…\n`);
      mailroom.push(await benchMailroom(work, maildir, n, { warmup: true }));
      process.stderr.write(`${label} bench: Dovecot (warmed up) on ${n} messages, round ${r} of ${rounds}…\n`);
      dovecot.push(await benchDovecot(work, maildir, n));
    }
    results.push({ n, mailroom, fresh, dovecot });
  }
  return results;
}

/** One client run's lines as op → line, without the start/end markers. */
export function opsOf(lines) {
  return new Map(lines.filter((l) => !['start', 'end'].includes(l.op)).map((l) => [l.op, l]));
}

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : Math.round(((s[h - 1] + s[h]) / 2) * 10) / 10;
};

/**
 * Several runs (each from opsOf) folded into one: per op, the first run's
 * line with `ms` the median over the runs and `range` their [min, max]. An
 * op that failed, or is missing, in any run shows that failure instead: a
 * median must not hide an error.
 */
export function medianOps(runs) {
  const out = new Map();
  for (const [op, first] of runs[0]) {
    const lines = runs.map((r) => r.get(op));
    const bad = lines.findIndex((l) => l === undefined || l.error || typeof l.ms !== 'number');
    if (bad >= 0) {
      out.set(op, lines[bad] ?? { error: `missing in round ${bad + 1}` });
      continue;
    }
    const ms = lines.map((l) => l.ms);
    out.set(op, { ...first, ms: median(ms), range: runs.length > 1 ? [Math.min(...ms), Math.max(...ms)] : undefined });
  }
  return out;
}

export const tableHead = (rounds) =>
  rounds > 1
    ? `| messages | operation | Mailroom, median of ${rounds} (range) | Dovecot, median of ${rounds} (range) | ratio of medians | Mailroom, fresh process | ratio |\n|---:|---|---:|---:|---:|---:|---:|`
    : '| messages | operation | Mailroom | Dovecot | ratio | Mailroom, fresh process | ratio |\n|---:|---|---:|---:|---:|---:|---:|';

/** One table row: `a` (Mailroom warmed), `b` (Dovecot), `f` (Mailroom fresh); any may be missing. */
export function tableRow(n, op, a, b, f) {
  const cell = (x) =>
    !x ? '—' : x.error ? `error: ${String(x.error).slice(0, 60)}` : x.range ? `${x.ms} ms (${x.range[0]}–${x.range[1]})` : `${x.ms} ms`;
  const ratio = (x) => (x && b && !x.error && !b.error && b.ms > 0 ? (x.ms / b.ms).toFixed(2) : '—');
  return `| ${n} | ${op} | ${cell(a)} | ${cell(b)} | ${ratio(a)} | ${cell(f)} | ${ratio(f)} |`;
}
