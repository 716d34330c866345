#!/usr/bin/env node
// A few rows of the IMAP bench, repeated: each round serves a fresh cold copy
// of the folder from a warmed-up server, Mailroom then Dovecot, and the table
// shows each row's median (and range) over the rounds, with the CPU the
// client and the server used during it. For chasing one row's ratio when
// single runs move more than the margin, and for telling a row the server
// could shorten from one the imapflow client's own parsing decides.
//   node bench/focus.mjs [--size 10000] [--rounds 3] [--only login,flags]
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median, runJsonClient } from './compare.mjs';
import { DOVECOT_WARMUP_USER, setupDovecot, withDovecot } from './peers/dovecot.mjs';
import { MAILROOM_USER, prepareMailroom, startMailroom, WARMUP_USER } from './peers/mailroom.mjs';

const arg = (name, d) => (process.argv.indexOf(name) > 0 ? process.argv[process.argv.indexOf(name) + 1] : d);
const n = Number(arg('--size', '10000'));
const rounds = Number(arg('--rounds', '3'));
const only = arg('--only', 'login,flags');
const cacheDir = process.env.MAILROOM_BENCH_DIR ?? join(tmpdir(), 'mailroom-bench-cache');
const maildir = join(cacheDir, `corpus-v2-${n}`, 'Maildir');
const work = join(cacheDir, 'focus-runs');
mkdirSync(work, { recursive: true });
const PORT = 21153;
const DOVECOT_PORT = 21154;
const DOVECOT_COMMS = new Set(['dovecot', 'imap', 'imap-login', 'auth', 'config', 'log', 'anvil', 'stats']);

/**
 * Samples the server's CPU (utime + stime, in ms) every 10 ms while `run`
 * goes, and gives each of its ops `serverCpuMs`: the CPU its processes used
 * between the op's start (`at`) and end. Processes that exit meanwhile are
 * not counted; the resolution is the kernel's 10 ms tick.
 */
async function withServerCpu(pids, run) {
  const samples = [];
  const sample = () => {
    const m = new Map();
    for (const pid of pids()) {
      try {
        const f = readFileSync(`/proc/${pid}/stat`, 'latin1');
        const v = f.slice(f.lastIndexOf(')') + 2).split(' ');
        m.set(pid, (Number(v[11]) + Number(v[12])) * 10);
      } catch {}
    }
    samples.push({ t: Date.now(), m });
  };
  const timer = setInterval(sample, 10);
  let lines;
  try {
    lines = await run();
  } finally {
    clearInterval(timer);
    sample();
  }
  for (const l of lines) {
    if (l.at === undefined || l.ms === null) continue;
    const before = samples.findLast((x) => x.t <= l.at) ?? samples[0];
    const after = samples.find((x) => x.t >= l.at + l.ms) ?? samples[samples.length - 1];
    let ms = 0;
    for (const [pid, v] of after.m) ms += v - (before.m.get(pid) ?? 0);
    l.serverCpuMs = ms;
  }
  return lines;
}
const dovecotPids = () =>
  readdirSync('/proc').filter((p) => /^\d+$/.test(p) && DOVECOT_COMMS.has(readComm(p)));
function readComm(pid) {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'latin1').trim();
  } catch {
    return '';
  }
}

const client = (port, user, warmupUser) => runJsonClient('imap-bench.mjs', ['127.0.0.1', String(port), user, 'bench', `--only=${only}`, `--warmup-user=${warmupUser}`]);

const rows = { mailroom: new Map(), dovecot: new Map() };
/** the client's own CPU per op: imapflow's parsing is a large part of some rows */
const cpu = { mailroom: new Map(), dovecot: new Map() };
const serverCpu = { mailroom: new Map(), dovecot: new Map() };
const keep = (peer, lines) => {
  for (const l of lines) {
    if (l.op === 'start' || l.op === 'end' || l.ms === null) continue;
    if (!rows[peer].has(l.op)) rows[peer].set(l.op, []);
    rows[peer].get(l.op).push(l.ms);
    if (!cpu[peer].has(l.op)) cpu[peer].set(l.op, []);
    cpu[peer].get(l.op).push(l.clientCpuMs);
    if (!serverCpu[peer].has(l.op)) serverCpu[peer].set(l.op, []);
    serverCpu[peer].get(l.op).push(l.serverCpuMs);
  }
};
setupDovecot();
for (let r = 0; r < rounds; r++) {
  const server = await startMailroom(prepareMailroom(join(work, 'mailroom'), maildir, PORT, { warmup: true }));
  try {
    keep('mailroom', await withServerCpu(() => [server.child.pid], () => client(PORT, MAILROOM_USER, WARMUP_USER)));
  } finally {
    await server.stop();
  }
  keep('dovecot', await withDovecot(work, 'dovecot', maildir, [DOVECOT_PORT], async () => {
    return withServerCpu(dovecotPids, () => client(DOVECOT_PORT, 'bench', DOVECOT_WARMUP_USER));
  }, { warmup: true }));
}
const show = (xs) => (xs ? `${median(xs)} ms (${Math.min(...xs)}–${Math.max(...xs)})` : '—');
console.log(`\n${n} messages, ${rounds} rounds, median (range)\n\n| operation | Mailroom | Dovecot | ratio of medians | client CPU, Mailroom | client CPU, Dovecot | server CPU, Mailroom | server CPU, Dovecot |\n|---|---:|---:|---:|---:|---:|---:|---:|`);
for (const [op, xs] of rows.mailroom) {
  const ys = rows.dovecot.get(op);
  const cx = cpu.mailroom.get(op);
  const cy = cpu.dovecot.get(op);
  console.log(`| ${op} | ${show(xs)} | ${show(ys)} | ${ys ? (median(xs) / median(ys)).toFixed(2) : '—'} | ${median(cx)} ms | ${cy ? median(cy) : '—'} ms | ${median(serverCpu.mailroom.get(op))} ms | ${cy ? median(serverCpu.dovecot.get(op)) : '—'} ms |`);
}
