// fetchmail (the Debian package; .ci/run installs it) pulls a whole Mailroom
// POP3 mailbox into a Maildir on this machine through an MDA command: first
// with --keep (the mailbox stays as it was), then without (it ends empty).
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { imapView, inboxAsServed, RawPop3, run, spawnPop3Serve, writePop3Config, type Pop3ServeProcess } from './helpers/pop3-server.js';
import { PASSWORD, seedUser } from './helpers/server.js';
import { tempDir } from './helpers/tmp.js';

const USER = 'fetch@example.test';
const MESSAGES = 12;
const tmp = tempDir('mailroom-pop3-fetchmail-');
let srv: Pop3ServeProcess;
let maildir: string;

beforeAll(async () => {
  maildir = await seedUser(join(tmp.dir, 'data'), USER, MESSAGES);
  const { file } = await writePop3Config(tmp.dir);
  srv = await spawnPop3Serve(file, tmp.dir);
});
afterAll(async () => {
  await srv?.stop();
  tmp.cleanup();
});

/** A local Maildir and an MDA script that delivers one message (stdin) into its new/. */
function localMaildir(name: string): { dir: string; mda: string } {
  const dir = join(tmp.dir, name);
  for (const d of ['tmp', 'new', 'cur']) mkdirSync(join(dir, d), { recursive: true });
  const mda = join(tmp.dir, `${name}-deliver.sh`);
  writeFileSync(mda, `#!/bin/sh\nf=$(mktemp "${dir}/tmp/msg.XXXXXXXX") && cat > "$f" && mv "$f" "${dir}/new/"\n`);
  chmodSync(mda, 0o755);
  return { dir, mda };
}

/** One fetchmail run over cleartext POP3 on loopback (sslproto '' keeps it from trying STLS with an unverifiable certificate). */
async function fetchmail(mda: string, keep: boolean) {
  const rc = join(tmp.dir, 'fetchmailrc');
  writeFileSync(
    rc,
    // invisible: no Received: line of fetchmail's own
    `set no bouncemail\nset invisible\n` +
      `poll 127.0.0.1 with protocol pop3 port ${srv.ports.pop3} timeout 20\n` +
      `  user "${USER}" there with password "${PASSWORD}"\n` +
      // fetchall: also what an earlier --keep run already took
      `  options fetchall no rewrite sslproto '' mda "${mda}"\n`,
    { mode: 0o600 },
  );
  chmodSync(rc, 0o600); // fetchmail refuses a run control file others can read
  const args = ['-f', rc, '--nosyslog', '--pidfile', join(tmp.dir, 'fetchmail.pid'), keep ? '--keep' : '--nokeep'];
  return run('fetchmail', args, { env: { ...process.env, HOME: tmp.dir, FETCHMAILHOME: tmp.dir } });
}

/** The delivered files with LF line ends (the MDA gets them from fetchmail without CRs). */
function delivered(dir: string): string[] {
  return readdirSync(join(dir, 'new')).map((n) => readFileSync(join(dir, 'new', n), 'latin1').replace(/\r\n/g, '\n'));
}

it('fetchmail --keep downloads every message and leaves the mailbox as it was; without --keep it empties it', async () => {
  const served = inboxAsServed(maildir).map((b) => b.toString('latin1').replace(/\r\n/g, '\n')).sort();
  expect(served).toHaveLength(MESSAGES);
  const before = await imapView(srv.ports.imap, USER, false);
  expect(before.uids).toHaveLength(MESSAGES);

  const kept = localMaildir('kept');
  const first = await fetchmail(kept.mda, true);
  expect(first.code, `${first.stdout.toString()}\n${first.stderr}`).toBe(0);
  expect(delivered(kept.dir).sort()).toEqual(served);
  const afterKeep = await imapView(srv.ports.imap, USER, false);
  expect(afterKeep.uids).toEqual(before.uids);
  expect(afterKeep.uidValidity).toBe(before.uidValidity);

  const moved = localMaildir('moved');
  const second = await fetchmail(moved.mda, false);
  expect(second.code, `${second.stdout.toString()}\n${second.stderr}`).toBe(0);
  expect(delivered(moved.dir).sort()).toEqual(served);
  expect((await imapView(srv.ports.imap, USER, false)).uids).toEqual([]);

  // and POP3 itself says so
  const c = await RawPop3.open(srv.ports.pop3);
  try {
    expect(await c.line()).toMatch(/^\+OK/);
    expect(await c.command(`USER ${USER}`)).toMatch(/^\+OK/);
    expect(await c.command(`PASS ${PASSWORD}`)).toMatch(/^\+OK/);
    expect(await c.command('STAT')).toBe('+OK 0 0');
    expect(await c.command('QUIT')).toMatch(/^\+OK/);
  } finally {
    c.close();
  }
  // nothing more to fetch: fetchmail's "no mail" exit status
  const third = await fetchmail(localMaildir('empty').mda, false);
  expect(third.code, third.stderr).toBe(1);
});
