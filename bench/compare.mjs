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

/** For every size: Mailroom, then Dovecot, on the same folder; rows for the table. */
export async function mailroomThenDovecot(label, { sizes, folderFor, work }, benchMailroom, benchDovecot) {
  setupDovecot();
  const results = [];
  for (const n of sizes) {
    const maildir = folderFor(n);
    process.stderr.write(`${label} bench: Mailroom on ${n} messages…\n`);
    const mailroom = await benchMailroom(work, maildir, n);
    process.stderr.write(`${label} bench: Dovecot on ${n} messages…\n`);
    const dovecot = await benchDovecot(work, maildir, n);
    results.push({ n, mailroom, dovecot });
  }
  return results;
}
