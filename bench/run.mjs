#!/usr/bin/env node
// npm run bench: storage-engine figures on folders of 10,000 and 100,000
// corpus messages, then the IMAP benchmark against Mailroom and Dovecot on the
// same folders (bench/imap.mjs), and the POP3 one likewise (bench/pop3.mjs). Folders are built once and cached under the
// system's temporary directory (MAILROOM_BENCH_DIR to choose another place).
//   node bench/run.mjs [--sizes 10000,100000] [--only storage|imap|pop3|smtp] [--rounds 3]
// SMTP ingest (bench/smtp.mjs, against Postfix): [--smtp-messages 2000] [--smtp-connections 8]
// Every figure comes from a fresh child process; nothing here is a test.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, rmSync, mkdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const here = import.meta.dirname;
const argSizes = process.argv.indexOf('--sizes');
const sizes = (argSizes > 0 ? process.argv[argSizes + 1] : '10000,100000').split(',').map(Number);
const argRounds = process.argv.indexOf('--rounds');
// each IMAP/POP3 row is the median of this many alternating runs per server
const rounds = argRounds > 0 ? Number(process.argv[argRounds + 1]) : 3;
if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds takes a whole number from 1');
const argOnly = process.argv.indexOf('--only');
const only = argOnly > 0 ? process.argv[argOnly + 1] : null;
const cacheDir = process.env.MAILROOM_BENCH_DIR ?? join(tmpdir(), 'mailroom-bench-cache');
mkdirSync(cacheDir, { recursive: true });

function folderFor(n) {
  const dir = join(cacheDir, `corpus-v2-${n}`); // v2: correct W= sizes
  const root = join(dir, 'Maildir');
  if (!existsSync(join(dir, 'done'))) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    process.stderr.write(`building ${n}-message folder in ${root} (once)…\n`);
    execFileSync(process.execPath, [join(here, 'corpus.mjs'), root, String(n), '--wsize'], { stdio: ['ignore', 'ignore', 'inherit'] });
    execFileSync('touch', [join(dir, 'done')]);
  }
  return root;
}

function op(name, root) {
  const r = spawnSync(process.execPath, ['--expose-gc', join(here, 'storage-op.mjs'), name, root], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${name} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

const ours = ['mailroom-uidlist', 'mailroom-cache', 'mailroom-keywords', 'mailroom-uidvalidity', 'mailroom-index'];
function forgetState(root) {
  for (const f of ours) rmSync(join(root, f), { force: true });
}

const rows = [];
for (const n of only === null || only === 'storage' ? sizes : []) {
  const root = folderFor(n);
  forgetState(root);
  const cold = op('open', root);
  const warm = op('open', root);
  rmSync(join(root, 'mailroom-cache'), { force: true });
  const parse = op('parse', root);
  const cacheBytes = statSync(join(root, 'mailroom-cache')).size;
  const envelopes = op('envelopes', root);
  const mem = op('memory', root);
  rows.push({ n, cold, warm, parse, envelopes, mem, cacheBytes });
}

const fmt = (x) => String(x).padStart(10);
if (rows.length) {
  console.log('\nMailroom storage engine (each figure from a fresh process)\n');
  console.log('| messages | cold open+sync | warm open+sync | parse all → cache | envelopes from cache | RSS/msg | heap/msg | cache file |');
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|');
}
for (const r of rows) {
  console.log(
    `| ${r.n} | ${r.cold.openMs} ms | ${r.warm.openMs} ms | ${r.parse.ms} ms (${r.parse.perSecond}/s) | ${r.envelopes.ms} ms (${r.envelopes.perSecond}/s) | ${r.mem.rssPerMessage} B | ${r.mem.heapPerMessage} B | ${(r.cacheBytes / 1048576).toFixed(1)} MiB |`,
  );
}
void fmt;

if (only === null || only === 'imap') {
  const { imapBench, printImapTable } = await import('./imap.mjs');
  const work = join(cacheDir, 'imap-runs');
  mkdirSync(work, { recursive: true });
  printImapTable(await imapBench({ sizes, folderFor, work, rounds }));
}

if (only === null || only === 'pop3') {
  const { pop3Bench, printPop3Table } = await import('./pop3.mjs');
  const work = join(cacheDir, 'pop3-runs');
  mkdirSync(work, { recursive: true });
  printPop3Table(await pop3Bench({ sizes, folderFor, work, rounds }));
}

if (only === null || only === 'smtp') {
  const { smtpBench, printSmtpTable } = await import('./smtp.mjs');
  const arg = (name, d) => (process.argv.indexOf(name) > 0 ? Number(process.argv[process.argv.indexOf(name) + 1]) : d);
  const work = join(cacheDir, 'smtp-runs');
  mkdirSync(work, { recursive: true });
  printSmtpTable(await smtpBench({ cacheDir, work, n: arg('--smtp-messages', 2000), k: arg('--smtp-connections', 8) }));
}
