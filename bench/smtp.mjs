// The SMTP ingest part of `npm run bench`: N corpus messages sent over K
// parallel connections to U local users, first against Mailroom (`mailroom
// serve`, MX port), then against a private Postfix (peers/postfix.sh,
// virtual(8) into Maildirs), one after the other on fresh directories.
//
// The figure is messages per second from the first MAIL FROM to the moment
// the last message is visible in the users' Maildirs (new/ or cur/): both
// servers fsync the queue file before the 250 and the Maildir file before
// its rename, so "visible" means delivered and durable. The time to the last
// 250 (ingest alone) is shown beside it.
//
// The client is a minimal pipelining SMTP client on raw sockets (MAIL, RCPT
// and DATA in one write, RFC 2920), the same for both servers.
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';

const here = import.meta.dirname;
const cli = join(here, '..', 'dist', 'src', 'cli.js');
const MAILROOM_PORT = Number(process.env.MAILROOM_SMTP_BENCH_PORT ?? 22525);
const POSTFIX_PORT = Number(process.env.POSTFIX_BENCH_PORT ?? 22526);
const USERS = Array.from({ length: 8 }, (_, i) => `bench${i}`);

/** N corpus messages as CRLF, dot-stuffed DATA payloads (ending in CRLF.CRLF), cached once. */
function loadMessages(cacheDir, n) {
  const dir = join(cacheDir, `smtp-corpus-${n}`);
  if (!existsSync(join(dir, 'done'))) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    process.stderr.write(`building ${n} corpus messages for the SMTP bench (once)…\n`);
    execFileSync(process.execPath, [join(here, 'corpus.mjs'), join(dir, 'Maildir'), String(n), '--sent=0', '--archive=0'], { stdio: ['ignore', 'ignore', 'inherit'] });
    writeFileSync(join(dir, 'done'), '');
  }
  const cur = join(dir, 'Maildir', 'cur');
  return readdirSync(cur)
    .sort()
    .map((f) => {
      let text = readFileSync(join(cur, f), 'latin1').replace(/\r?\n/g, '\r\n');
      if (!text.endsWith('\r\n')) text += '\r\n';
      return Buffer.from(`${text.replace(/^\./gm, '..')}.\r\n`, 'latin1');
    });
}

/** One SMTP connection: sends its messages one transaction after another; resolves with the time of its last 250. */
async function sendOver(port, items) {
  const s = connect(port, '127.0.0.1');
  await once(s, 'connect');
  s.setNoDelay(true);
  let buf = '';
  const waiting = [];
  const replies = [];
  s.setEncoding('latin1');
  s.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\r\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 2);
      if (line[3] === '-') continue;
      const w = waiting.shift();
      if (w) w(line);
      else replies.push(line);
    }
  });
  s.on('error', () => {});
  const reply = () => (replies.length ? Promise.resolve(replies.shift()) : new Promise((r) => waiting.push(r)));
  const expect = async (code, what) => {
    const line = await reply();
    if (!line || !line.startsWith(String(code))) throw new Error(`${what}: expected ${code}, got ${line}`);
  };
  await expect(220, 'greeting');
  s.write('EHLO bench.client\r\n');
  await expect(250, 'EHLO');
  let last = 0;
  for (const { to, data } of items) {
    s.write(`MAIL FROM:<sender@bench.example>\r\nRCPT TO:<${to}>\r\nDATA\r\n`);
    await expect(250, 'MAIL');
    await expect(250, 'RCPT');
    await expect(354, 'DATA');
    if (!s.write(data)) await once(s, 'drain');
    await expect(250, 'end of DATA');
    last = performance.now();
  }
  s.write('QUIT\r\n');
  s.end();
  return last;
}

function countDelivered(maildirs) {
  let n = 0;
  for (const m of maildirs) for (const sub of ['new', 'cur']) n += readdirSync(join(m, sub)).length;
  return n;
}

/** The load: message i to user i mod U, connection i mod K; returns timings. */
async function load(port, messages, k, maildirs) {
  const per = Array.from({ length: k }, () => []);
  messages.forEach((data, i) => per[i % k].push({ to: `${USERS[i % USERS.length]}@bench.test`, data }));
  const t0 = performance.now();
  const ends = await Promise.all(per.map((items) => sendOver(port, items)));
  const ingested = Math.max(...ends);
  const deadline = Date.now() + 10 * 60_000;
  let delivered;
  while ((delivered = countDelivered(maildirs)) < messages.length) {
    if (Date.now() > deadline) throw new Error(`only ${delivered} of ${messages.length} delivered after 10 minutes`);
    await new Promise((r) => setTimeout(r, 10));
  }
  const done = performance.now();
  return { ingestMs: Math.round(ingested - t0), totalMs: Math.round(done - t0), perSecond: Math.round((messages.length / (done - t0)) * 1000) };
}

async function benchMailroom(dir, messages, k) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const config = join(dir, 'mailroom.yaml');
  writeFileSync(
    config,
    `hostname: bench.test\ndata: ./data\nimap: { port: false, tlsPort: false }\npop3: { port: false, tlsPort: false }\n` +
      `smtp: { port: ${MAILROOM_PORT}, submissionPort: false, tlsPort: false, maxConnectionsPerIp: 1000 }\n`,
  );
  const run = (args, input) => execFileSync(process.execPath, [cli, '--config', config, ...args], { input, cwd: dir, stdio: ['pipe', 'ignore', 'inherit'] });
  run(['domain', 'add', 'bench.test']);
  for (const u of USERS) run(['user', 'add', `${u}@bench.test`, '--password-stdin'], 'bench');
  const maildirs = USERS.map((u) => join(dir, 'data', 'mail', 'bench.test', u, 'Maildir'));
  for (const m of maildirs) for (const sub of ['new', 'cur', 'tmp']) mkdirSync(join(m, sub), { recursive: true });

  const child = spawn(process.execPath, [...(process.env.MAILROOM_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.MAILROOM_PROF}`] : []), cli, 'serve', '--config', config], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, MAILROOM_LOG_LEVEL: process.env.MAILROOM_LOG_LEVEL ?? 'warn' },
  });
  let log = '';
  child.stderr.on('data', (b) => (log = (log + b).slice(-100_000)));
  const exited = once(child, 'exit');
  await waitListening(MAILROOM_PORT, () => child.exitCode !== null && `mailroom serve exited ${child.exitCode}: ${log}`);
  try {
    return await load(MAILROOM_PORT, messages, k, maildirs);
  } finally {
    child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

async function benchPostfix(dir, messages, k) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const script = join(here, 'peers', 'postfix.sh');
  execFileSync(script, ['start', dir, String(POSTFIX_PORT), ...USERS], { stdio: ['ignore', 'inherit', 'inherit'] });
  try {
    return await load(POSTFIX_PORT, messages, k, USERS.map((u) => join(dir, 'mail', u, 'Maildir')));
  } finally {
    execFileSync(script, ['stop', dir], { stdio: ['ignore', 'inherit', 'inherit'] });
    rmSync(dir, { recursive: true, force: true });
  }
}

async function waitListening(port, failed) {
  for (let i = 0; i < 600; i++) {
    const why = failed();
    if (why) throw new Error(why);
    const ok = await new Promise((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listening on ${port}`);
}

/** Runs both servers; `n` messages over `k` connections. */
export async function smtpBench({ cacheDir, work, n = 2000, k = 8 }) {
  execFileSync(join(here, 'peers', 'postfix.sh'), ['setup'], { stdio: ['ignore', 'inherit', 'inherit'] });
  const messages = loadMessages(cacheDir, n);
  const bytes = messages.reduce((a, m) => a + m.length, 0);
  await quietDisk();
  const mailroom = await benchMailroom(join(work, 'mailroom-smtp'), messages, k);
  await quietDisk();
  const postfix = await benchPostfix(join(work, 'postfix-smtp'), messages, k);
  return { n, k, users: USERS.length, bytes, mailroom, postfix };
}

/**
 * Each server starts on a quiet disk, so that one's teardown (thousands of
 * files deleted; this machine's file system is mounted with `discard`, which
 * trims freed blocks at the next journal commits) and writeback do not land
 * in the other's measurement. A precaution: on this shared machine the
 * figures still vary by up to 2x from run to run.
 */
async function quietDisk() {
  execFileSync('sync');
  await new Promise((r) => setTimeout(r, 3000));
}

export function printSmtpTable({ n, k, users, bytes, mailroom, postfix }) {
  console.log(`\nSMTP ingest: ${n} corpus messages (${(bytes / 1048576).toFixed(1)} MiB) over ${k} connections to ${users} local users, first MAIL → last message in the Maildirs\n`);
  console.log('| server | last 250 | all delivered | messages/s | ratio (Mailroom/Postfix) |');
  console.log('|---|---:|---:|---:|---:|');
  console.log(`| Mailroom | ${mailroom.ingestMs} ms | ${mailroom.totalMs} ms | ${mailroom.perSecond} | ${(mailroom.perSecond / postfix.perSecond).toFixed(2)} |`);
  console.log(`| Postfix | ${postfix.ingestMs} ms | ${postfix.totalMs} ms | ${postfix.perSecond} | 1.00 |`);
}
