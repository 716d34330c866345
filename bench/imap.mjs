// The IMAP part of `npm run bench`: bench/imap-bench.mjs against Mailroom and
// against Dovecot (Debian dovecot-imapd, a private instance on a loopback port)
// on the same corpus folders, each server on its own cold copy, one after the
// other (never both at once: two cores are shared).
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { setupDovecot, withDovecot } from './peers/dovecot.mjs';
import { MAILROOM_USER, prepareMailroom, startMailroom } from './peers/mailroom.mjs';

const here = import.meta.dirname;
const PORT = Number(process.env.MAILROOM_BENCH_PORT ?? 21143);
const DOVECOT_PORT = Number(process.env.DOVECOT_BENCH_PORT ?? 21144);

function runClient(port, user, tag) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(here, 'imap-bench.mjs'), '127.0.0.1', String(port), user, 'bench', `--tag=${tag}`], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (b) => (out += b));
    child.on('exit', (code) => {
      const lines = out.split('\n').filter(Boolean).map((l) => JSON.parse(l));
      if (code !== 0) reject(new Error(`imap-bench exited ${code}: ${out.slice(-1000)}`));
      else resolve(lines);
    });
  });
}

async function benchMailroom(work, maildir, n) {
  const config = prepareMailroom(join(work, `mailroom-${n}`), maildir, PORT);
  const server = await startMailroom(config);
  try {
    return await runClient(PORT, MAILROOM_USER, `mailroom-${n}`);
  } finally {
    await server.stop();
    rmSync(join(work, `mailroom-${n}`), { recursive: true, force: true });
  }
}

async function benchDovecot(work, maildir, n) {
  return withDovecot(work, `dovecot-${n}`, maildir, [DOVECOT_PORT], () => runClient(DOVECOT_PORT, 'bench', `dovecot-${n}`));
}

/** Runs both servers on every size; returns rows for the table. */
export async function imapBench({ sizes, folderFor, work }) {
  setupDovecot();
  const results = [];
  for (const n of sizes) {
    const maildir = folderFor(n);
    process.stderr.write(`IMAP bench: Mailroom on ${n} messages…\n`);
    const mailroom = await benchMailroom(work, maildir, n);
    process.stderr.write(`IMAP bench: Dovecot on ${n} messages…\n`);
    const dovecot = await benchDovecot(work, maildir, n);
    results.push({ n, mailroom, dovecot });
  }
  return results;
}

export function printImapTable(results) {
  console.log('\nIMAP: Mailroom vs Dovecot (imapflow client, same folder, each server on its own cold copy)\n');
  console.log('| messages | operation | Mailroom | Dovecot | ratio |');
  console.log('|---:|---|---:|---:|---:|');
  for (const { n, mailroom, dovecot } of results) {
    const byOp = (lines) => new Map(lines.filter((l) => !['start', 'end'].includes(l.op)).map((l) => [l.op, l]));
    const m = byOp(mailroom);
    const d = byOp(dovecot);
    for (const [op, a] of m) {
      const b = d.get(op);
      const cell = (x) => (!x ? '—' : x.error ? `error: ${String(x.error).slice(0, 60)}` : `${x.ms} ms`);
      const ratio = a && b && !a.error && !b.error && b.ms > 0 ? (a.ms / b.ms).toFixed(2) : '—';
      const counts = a.count !== undefined && b?.count !== undefined && a.count !== b.count ? ` (count ${a.count} vs ${b.count})` : '';
      console.log(`| ${n} | ${op}${counts} | ${cell(a)} | ${cell(b)} | ${ratio} |`);
    }
  }
}
