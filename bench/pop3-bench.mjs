#!/usr/bin/env node
// Adapted from the team's shared peer harness (../shared/bench/pop3-bench.mjs), unchanged but for
// this note: run by bench/pop3.mjs against Mailroom and Dovecot.
// POP3 benchmark client (raw socket, no dependencies). One JSON line per operation:
//   {"op":..., "ms":..., "count":..., ...extra}   or   {"op":..., "ms":..., "error":"..."}
//
// Usage: node pop3-bench.mjs HOST PORT USER PASS [options]
//   --retr=N|all    RETR messages 1..N (default 2000; capped at the STAT count)
//   --timeout=S     per-operation timeout in seconds (default 600)
//   --tag=STRING    added as "tag" to every line
//   --warm=N        after RETR, run LIST, UIDL and the RETRs N more times each and add a
//                   "(warm, median of N)" line for each (default 3; 0 = off): the first run of
//                   a fresh server process includes its JIT warm-up, the warm line does not
//   --warmup-user=U the whole sequence first runs as U (password PASS; its own copy of the maildrop),
//                   its lines not printed, then `sync`, then the timed run: see bench/warm.mjs (clientWarmUp)
//
// Sequence: connect(greeting) -> USER/PASS -> STAT -> LIST -> UIDL -> RETR 1..N -> QUIT.
// One command at a time (no pipelining), as a plain POP3 client does. Nothing is deleted.
// Client socket has TCP_NODELAY. Every line also has clientCpuMs (this process, during the op).
// A failed/timed-out op closes the session; the next op reconnects (untimed).
import net from 'node:net';
import { clientWarmUp, warmRow } from './warm.mjs';

const positional = [];
const opts = { retr: 2000, timeout: 600, warm: 3, tag: undefined, warmupUser: undefined };
for (const a of process.argv.slice(2)) {
  if (a.startsWith('--')) {
    const i = a.indexOf('=');
    const k = i < 0 ? a.slice(2) : a.slice(2, i);
    const v = i < 0 ? undefined : a.slice(i + 1);
    if (k === 'tag') opts.tag = v;
    else if (k === 'warmup-user' && v) opts.warmupUser = v;
    else if (k === 'retr' && v === 'all') opts.retr = Infinity;
    else if (['retr', 'timeout', 'warm'].includes(k) && /^\d+(\.\d+)?$/.test(v || '')) opts[k] = Number(v);
    else { console.error('bad option ' + a); process.exit(2); }
  } else positional.push(a);
}
if (positional.length !== 4) {
  console.error('usage: node pop3-bench.mjs HOST PORT USER PASS [--retr=N|all] [--timeout=S] [--warm=N] [--tag=T] [--warmup-user=U]');
  process.exit(2);
}
const [host, portStr, timedUser, pass] = positional;
/** who the sequence runs as: the warm-up user first (--warmup-user), then the timed one */
let user = timedUser;
/** true during the warm-up pass: its lines are not printed */
let muted = false;
const port = Number(portStr);

function emit(obj) {
  if (muted) {
    if (obj.error) console.error('warm-up pass: ' + JSON.stringify(obj));
    return;
  }
  if (opts.tag !== undefined) obj = { tag: opts.tag, ...obj };
  process.stdout.write(JSON.stringify(obj) + '\n');
}
const now = () => Number(process.hrtime.bigint()) / 1e6;
const r1 = x => Math.round(x * 10) / 10;
const cpuMs = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const TERM = Buffer.from('\r\n.\r\n');

class Pop3 {
  constructor(sock) {
    this.sock = sock;
    this.buf = Buffer.alloc(0);
    this.waiter = null;
    this.err = null;
    sock.on('data', d => { this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d; this.wake(); });
    sock.on('error', e => { this.err = e; this.wake(); });
    sock.on('close', () => { this.err = this.err || new Error('connection closed'); this.wake(); });
  }
  static connect() {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host, port });
      s.setNoDelay(true);
      s.once('connect', () => { s.removeListener('error', reject); resolve(new Pop3(s)); });
      s.once('error', reject);
    });
  }
  wake() { if (this.waiter) { const w = this.waiter; this.waiter = null; w(); } }
  wait() { return new Promise(r => { this.waiter = r; }); }
  async line() {
    let from = 0;
    for (;;) {
      const i = this.buf.indexOf('\r\n', from);
      if (i >= 0) {
        const l = this.buf.toString('latin1', 0, i);
        this.buf = this.buf.subarray(i + 2);
        return l;
      }
      from = Math.max(0, this.buf.length - 1);
      if (this.err) throw this.err;
      await this.wait();
    }
  }
  // status line, then (if +OK) the dot-terminated body; returns {status, bytes, lines}
  async multi() {
    const status = await this.line();
    if (!status.startsWith('+OK')) return { status };
    let from = 0;
    for (;;) {
      // body may be empty: terminator is then ".\r\n" right at the start
      if (this.buf.length >= 3 && this.buf[0] === 0x2e && this.buf[1] === 0x0d && this.buf[2] === 0x0a) {
        this.buf = this.buf.subarray(3);
        return { status, bytes: 0, lines: 0 };
      }
      const i = this.buf.indexOf(TERM, from);
      if (i >= 0) {
        const body = this.buf.subarray(0, i + 2);
        this.buf = this.buf.subarray(i + 5);
        let lines = 0;
        for (let p = body.indexOf(10); p >= 0; p = body.indexOf(10, p + 1)) lines++;
        return { status, bytes: body.length, lines, body };
      }
      from = Math.max(0, this.buf.length - 4);
      if (this.err) throw this.err;
      await this.wait();
    }
  }
  send(cmd) { this.sock.write(cmd + '\r\n'); }
  async cmd(c) { this.send(c); const l = await this.line(); if (!l.startsWith('+OK')) throw new Error(`${c.split(' ')[0]}: ${l}`); return l; }
  async cmdMulti(c) { this.send(c); const r = await this.multi(); if (!r.status.startsWith('+OK')) throw new Error(`${c.split(' ')[0]}: ${r.status}`); return r; }
  close() { try { this.sock.destroy(); } catch { /* ignore */ } }
}

class Timeout extends Error {}
function withTimeout(p, ms) {
  let t;
  return Promise.race([p, new Promise((_, rej) => { t = setTimeout(() => rej(new Timeout(`timeout after ${ms / 1000}s`)), ms); })])
    .finally(() => clearTimeout(t));
}

let sess = null;
async function login(s) {
  await s.cmd(`USER ${user}`);
  await s.cmd(`PASS ${pass}`);
}
async function ensureSession() {
  if (sess && !sess.err) return sess;
  if (sess) sess.close();
  sess = null;
  const s = await withTimeout(Pop3.connect(), opts.timeout * 1000);
  try {
    const g = await withTimeout(s.line(), opts.timeout * 1000);
    if (!g.startsWith('+OK')) throw new Error('greeting: ' + g);
    await withTimeout(login(s), opts.timeout * 1000);
  } catch (err) { s.close(); throw err; }
  return (sess = s);
}
// fn again opts.warm times on the same session; one line with the median
const warmOp = (name, fn) => warmRow(name, opts.warm, () => op(name, fn, { quiet: true }), emit);

// one timed op; emits its line (quiet: returns it instead); returns fn's result, or null on failure
async function op(name, fn, { fresh = false, quiet = false } = {}) {
  if (!fresh) {
    try { await ensureSession(); } catch (err) { emit({ op: name, ms: null, error: 'reconnect failed: ' + err.message }); if (sess) sess.close(); sess = null; return null; }
  }
  const t = now();
  const cpu0 = cpuMs();
  try {
    const res = await withTimeout(fn(sess), opts.timeout * 1000);
    const line = { op: name, ms: r1(now() - t), ...(res || {}), clientCpuMs: r1(cpuMs() - cpu0) };
    if (quiet) return line;
    emit(line);
    return res;
  } catch (err) {
    const line = { op: name, ms: r1(now() - t), error: err.message || String(err), clientCpuMs: r1(cpuMs() - cpu0) };
    if (sess) sess.close();
    sess = null;
    if (quiet) return line;
    emit(line);
    return null;
  }
}

async function sequence() {
  emit({ op: 'start', proto: 'pop3', host, port, user, timeoutS: opts.timeout, node: process.version, time: new Date().toISOString() });
  const tAll = now();
  await op('pop3_connect', async () => {
    sess = await Pop3.connect();
    const g = await sess.line();
    if (!g.startsWith('+OK')) throw new Error('greeting: ' + g);
    return { count: 1 };
  }, { fresh: true });
  if (sess) await op('pop3_login', async s => { await login(s); return { count: 1 }; }, { fresh: true });
  let total = 0;
  await op('pop3_stat', async s => {
    const l = await s.cmd('STAT');
    const m = /^\+OK\s+(\d+)\s+(\d+)/.exec(l);
    if (!m) throw new Error('bad STAT reply: ' + l);
    total = Number(m[1]);
    return { count: total, bytes: Number(m[2]) };
  });
  const list = async s => { const r = await s.cmdMulti('LIST'); return { count: r.lines, bytes: r.bytes }; };
  const uidl = async s => { const r = await s.cmdMulti('UIDL'); return { count: r.lines, bytes: r.bytes }; };
  await op('pop3_list', list);
  await op('pop3_uidl', uidl);
  const n = Math.min(opts.retr, total);
  const retrName = `pop3_retr_${opts.retr === Infinity ? 'all' : opts.retr}`;
  let done = 0, bytes = 0;
  const retr = async s => {
    done = 0; bytes = 0;
    for (let i = 1; i <= n; i++) {
      const r = await s.cmdMulti(`RETR ${i}`);
      done++; bytes += r.bytes;
    }
    return { count: done, bytes };
  };
  if (n > 0) {
    const res = await op(retrName, retr);
    if (!res) emit({ op: 'pop3_retr_partial', ms: null, count: done, bytes });
  }
  if (sess) {
    await warmOp('pop3_list', list);
    await warmOp('pop3_uidl', uidl);
    if (n > 0) await warmOp(retrName, retr);
  }
  await op('pop3_quit', async s => { await s.cmd('QUIT'); s.close(); return { count: 1 }; });
  sess = null;
  emit({ op: 'end', proto: 'pop3', ms: r1(now() - tAll) });
}

async function main() {
  await clientWarmUp(opts.warmupUser, async () => {
    muted = true;
    user = opts.warmupUser;
    try {
      await sequence();
    } finally {
      muted = false;
      user = timedUser;
      if (sess) sess.close();
      sess = null;
    }
  });
  await sequence();
}

main().then(() => process.exit(0), err => { emit({ op: 'fatal', error: err.stack || String(err) }); process.exit(1); });
