// The POP3 part of `npm run bench`: bench/pop3-bench.mjs (raw-socket client:
// login, STAT, LIST, UIDL, RETR of 2,000 messages) against Mailroom and
// against Dovecot (Debian dovecot-pop3d, a private instance on loopback ports)
// on the same corpus folders, each server on its own cold copy, one after the
// other (never both at once: two cores are shared).
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mailroomThenDovecot, medianOps, opsOf, runJsonClient, tableHead, tableRow } from './compare.mjs';
import { DOVECOT_WARMUP_USER, withDovecot } from './peers/dovecot.mjs';
import { MAILROOM_USER, prepareMailroom, startMailroom, WARMUP_USER } from './peers/mailroom.mjs';

const IMAP_PORT = Number(process.env.MAILROOM_BENCH_PORT ?? 21143);
const POP3_PORT = Number(process.env.MAILROOM_BENCH_POP3_PORT ?? 21110);
const DOVECOT_IMAP_PORT = Number(process.env.DOVECOT_BENCH_PORT ?? 21144);
const DOVECOT_POP3_PORT = Number(process.env.DOVECOT_BENCH_POP3_PORT ?? 21145);
const RETR = Number(process.env.POP3_BENCH_RETR ?? 2000);

function runClient(port, user, tag, extra = []) {
  return runJsonClient('pop3-bench.mjs', ['127.0.0.1', String(port), user, 'bench', `--retr=${RETR}`, `--tag=${tag}`, ...extra]);
}

async function benchMailroom(work, maildir, n, { warmup }) {
  const dir = join(work, `mailroom-pop3-${n}`);
  const config = prepareMailroom(dir, maildir, IMAP_PORT, { warmup });
  // the peer's config serves IMAP only; POP3 on, SMTP off (its default ports may be taken)
  writeFileSync(
    config,
    `hostname: bench.test\ndata: ./data\nimap: { port: ${IMAP_PORT}, tlsPort: false }\n` +
      `pop3: { port: ${POP3_PORT}, tlsPort: false, maxConnectionsPerIp: 1000 }\n` +
      `smtp: { port: false, submissionPort: false, tlsPort: false }\nauth: { upgradeHashes: false }\n`,
  );
  const server = await startMailroom(config);
  try {
    return await runClient(POP3_PORT, MAILROOM_USER, `mailroom-${n}`, warmup ? [`--warmup-user=${WARMUP_USER}`] : []);
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function benchDovecot(work, maildir, n) {
  return withDovecot(
    work,
    `dovecot-pop3-${n}`,
    maildir,
    [DOVECOT_IMAP_PORT, DOVECOT_POP3_PORT],
    () => runClient(DOVECOT_POP3_PORT, 'bench', `dovecot-${n}`, [`--warmup-user=${DOVECOT_WARMUP_USER}`]),
    { warmup: true },
  );
}

/** Runs both servers on every size; returns rows for the table. */
export function pop3Bench(o) {
  return mailroomThenDovecot('POP3', o, benchMailroom, benchDovecot);
}

export function printPop3Table(results) {
  console.log('\nPOP3: Mailroom vs Dovecot (raw-socket client, one command at a time, same folder, each server on its own cold copy, both warmed up on another copy; rounds alternate the servers)\n');
  console.log(tableHead(results[0]?.mailroom.length ?? 1));
  for (const { n, mailroom, fresh, dovecot } of results) {
    const byOp = (lines) => {
      const ops = opsOf(lines);
      // Both servers answer PASS once the maildrop is locked and scan it for
      // the first command (STAT here); login+stat is the whole of it
      const login = ops.get('pop3_login');
      const stat = ops.get('pop3_stat');
      if (login && stat && !login.error && !stat.error) ops.set('login+stat', { ms: Math.round((login.ms + stat.ms) * 10) / 10 });
      return ops;
    };
    // login+stat is summed within each run, before the medians
    const m = medianOps(mailroom.map(byOp));
    const d = medianOps(dovecot.map(byOp));
    const f = byOp(fresh);
    for (const [op, a] of m) {
      const b = d.get(op);
      const differs = (k) => a[k] !== undefined && b?.[k] !== undefined && a[k] !== b[k];
      const note = differs('count') ? ` (count ${a.count} vs ${b.count})` : differs('bytes') ? ` (bytes ${a.bytes} vs ${b.bytes})` : '';
      console.log(tableRow(n, op.replace(/^pop3_/, '') + note, a, b, f.get(op)));
    }
  }
}
