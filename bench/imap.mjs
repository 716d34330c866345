// The IMAP part of `npm run bench`: bench/imap-bench.mjs against Mailroom and
// against Dovecot (Debian dovecot-imapd, a private instance on a loopback port)
// on the same corpus folders, each server on its own cold copy, one after the
// other (never both at once: two cores are shared).
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { mailroomThenDovecot, medianOps, opsOf, runJsonClient, tableHead, tableRow } from './compare.mjs';
import { DOVECOT_WARMUP_USER, withDovecot } from './peers/dovecot.mjs';
import { MAILROOM_USER, prepareMailroom, SCRYPT_USER, startMailroom, WARMUP_USER } from './peers/mailroom.mjs';

const PORT = Number(process.env.MAILROOM_BENCH_PORT ?? 21143);
const DOVECOT_PORT = Number(process.env.DOVECOT_BENCH_PORT ?? 21144);

function runClient(port, user, tag, extra = []) {
  return runJsonClient('imap-bench.mjs', ['127.0.0.1', String(port), user, 'bench', `--tag=${tag}`, ...extra]);
}

async function benchMailroom(work, maildir, n, { warmup }) {
  const config = prepareMailroom(join(work, `mailroom-${n}`), maildir, PORT, { warmup });
  const server = await startMailroom(config);
  try {
    const lines = await runClient(PORT, MAILROOM_USER, `mailroom-${n}`, warmup ? [`--warmup-user=${WARMUP_USER}`] : []);
    // Mailroom's default hash, for the record: the first login of a user with
    // a scrypt hash (~32 MiB, tens of ms by design), then one the auth cache answers
    const scrypt = await runClient(PORT, SCRYPT_USER, `mailroom-${n}`, ['--only=login']);
    for (const l of scrypt) if (l.op?.startsWith('login_select')) lines.push({ ...l, op: `${l.op} (scrypt user, empty INBOX)` });
    return lines;
  } finally {
    await server.stop();
    rmSync(join(work, `mailroom-${n}`), { recursive: true, force: true });
  }
}

async function benchDovecot(work, maildir, n) {
  return withDovecot(
    work,
    `dovecot-${n}`,
    maildir,
    [DOVECOT_PORT],
    () => runClient(DOVECOT_PORT, 'bench', `dovecot-${n}`, [`--warmup-user=${DOVECOT_WARMUP_USER}`]),
    { warmup: true },
  );
}

/** Runs both servers on every size; returns rows for the table. */
export function imapBench(o) {
  return mailroomThenDovecot('IMAP', o, benchMailroom, benchDovecot);
}

export function printImapTable(results) {
  console.log('\nIMAP: Mailroom vs Dovecot (imapflow client, same folder, each server on its own cold copy, both warmed up on another copy; rounds alternate the servers)\n');
  console.log(tableHead(results[0]?.mailroom.length ?? 1));
  for (const { n, mailroom, fresh, dovecot } of results) {
    const m = medianOps(mailroom.map(opsOf));
    const d = medianOps(dovecot.map(opsOf));
    const f = opsOf(fresh);
    for (const [op, a] of m) {
      const b = d.get(op);
      const counts = a.count !== undefined && b?.count !== undefined && a.count !== b.count ? ` (count ${a.count} vs ${b.count})` : '';
      console.log(tableRow(n, op + counts, a, b, f.get(op)));
    }
  }
}
