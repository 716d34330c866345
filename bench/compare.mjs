// What the IMAP and POP3 comparisons share: running a benchmark client (one
// JSON line per operation on stdout) and running both servers on every size,
// one after the other (never both at once: two cores are shared).
import { execFileSync, spawn } from 'node:child_process';
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
 * For every size: Mailroom in a fresh process, Mailroom warmed up, then
 * Dovecot warmed up, on the same folder; rows for the table.
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
 */
export async function mailroomThenDovecot(label, { sizes, folderFor, work }, benchMailroom, benchDovecot) {
  setupDovecot();
  const results = [];
  for (const n of sizes) {
    const maildir = folderFor(n);
    process.stderr.write(`${label} bench: Mailroom (fresh process) on ${n} messages…\n`);
    const fresh = await benchMailroom(work, maildir, n, { warmup: false });
    process.stderr.write(`${label} bench: Mailroom (warmed up) on ${n} messages…\n`);
    const mailroom = await benchMailroom(work, maildir, n, { warmup: true });
    process.stderr.write(`${label} bench: Dovecot (warmed up) on ${n} messages…\n`);
    const dovecot = await benchDovecot(work, maildir, n);
    results.push({ n, mailroom, fresh, dovecot });
  }
  return results;
}

/** Runs a warm-up client; its writes reach the disk before the timed run starts (both peers alike). */
export async function warmUp(run) {
  await run();
  execFileSync('sync');
}

export const TABLE_HEAD =
  '| messages | operation | Mailroom | Dovecot | ratio | Mailroom, fresh process | ratio |\n|---:|---|---:|---:|---:|---:|---:|';

/** One table row: `a` (Mailroom warmed), `b` (Dovecot), `f` (Mailroom fresh); any may be missing. */
export function tableRow(n, op, a, b, f) {
  const cell = (x) => (!x ? '—' : x.error ? `error: ${String(x.error).slice(0, 60)}` : `${x.ms} ms`);
  const ratio = (x) => (x && b && !x.error && !b.error && b.ms > 0 ? (x.ms / b.ms).toFixed(2) : '—');
  return `| ${n} | ${op} | ${cell(a)} | ${cell(b)} | ${ratio(a)} | ${cell(f)} | ${ratio(f)} |`;
}
