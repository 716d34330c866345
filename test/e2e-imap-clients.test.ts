// The same core flow with independent clients: Python's imaplib and curl.
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, seedUser, startInProcess, type InProcessServer } from './helpers/server.js';
import { tempDir } from './helpers/tmp.js';

const USER = 'dave@example.test';
const MESSAGES = 6;
const tmp = tempDir('mailroom-clients-');
let srv: InProcessServer;
let maildir: string;
let certPath: string;

beforeAll(async () => {
  maildir = await seedUser(join(tmp.dir, 'data'), USER, MESSAGES);
  srv = await startInProcess(tmp.dir);
  certPath = srv.server.tls.current.certPath;
});
afterAll(async () => {
  await srv?.stop();
  tmp.cleanup();
});

function run(cmd: string, args: string[], input?: string): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { timeout: 30_000, encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr: stderr.toString() });
    });
    child.stdin?.end(input ?? '');
  });
}

/** The INBOX files with LF→CRLF, as IMAP serves them. */
function diskBodies(): Buffer[] {
  return ['cur', 'new'].flatMap((d) => readdirSync(join(maildir, d)).map((n) => Buffer.from(readFileSync(join(maildir, d, n), 'latin1').replace(/\r?\n/g, '\r\n'), 'latin1')));
}

const PYTHON = String.raw`
import imaplib, json, ssl, sys
port, tls_port, user, password, cafile, mode = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
ctx = ssl.create_default_context(cafile=cafile)
if mode == 'starttls':
    m = imaplib.IMAP4('127.0.0.1', int(port))
    m.starttls(ssl_context=ctx)
else:
    m = imaplib.IMAP4_SSL('127.0.0.1', int(tls_port), ssl_context=ctx)
out = {'caps': list(m.capabilities)}
m.login(user, password)
typ, data = m.list()
out['list'] = [d.decode() for d in data]
typ, data = m.select('INBOX')
out['exists'] = int(data[0])
typ, data = m.uid('SEARCH', None, 'ALL')
uids = data[0].split()
out['uids'] = [int(u) for u in uids]
bodies = []
for u in uids:
    typ, data = m.uid('FETCH', u, '(BODY.PEEK[] RFC822.SIZE)')
    bodies.append(data[0][1].hex())
out['bodies'] = bodies
msg = b'From: py@example.test\r\nSubject: from imaplib\r\n\r\nhello from python\r\n'
typ, data = m.append('INBOX', '(\\Seen)', None, msg)
out['append'] = [typ] + [d.decode() for d in data if d]
typ, data = m.uid('SEARCH', None, 'SUBJECT', '"from imaplib"')
found = data[0].split()
out['found'] = [int(u) for u in found]
typ, data = m.uid('STORE', found[0], '+FLAGS', '(\\Deleted)')
typ, data = m.expunge()
out['expunged'] = [d.decode() for d in data if d]
typ, data = m.select('INBOX')
out['exists_after'] = int(data[0])
m.logout()
print(json.dumps(out))
`;

describe('Python imaplib', () => {
  for (const mode of ['starttls', 'implicit'] as const) {
    it(`LIST, SELECT, SEARCH, FETCH, APPEND, STORE, EXPUNGE over ${mode} TLS`, async () => {
      const r = await run('python3', ['-c', PYTHON, String(srv.port), String(srv.tlsPort), USER, PASSWORD, certPath, mode]);
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout.toString()) as Record<string, unknown> & { bodies: string[]; uids: number[]; append: string[]; found: number[]; list: string[] };
      expect(out.list.some((l) => l.endsWith('INBOX') || l.endsWith('"INBOX"'))).toBe(true);
      expect(out.exists).toBe(MESSAGES);
      expect(out.uids).toHaveLength(MESSAGES);
      const disk = diskBodies().map((b) => b.toString('hex')).sort();
      expect([...out.bodies].sort()).toEqual(disk);
      expect(out.append[0]).toBe('OK');
      expect(out.append[1]).toMatch(/\[APPENDUID \d+ \d+\]/);
      const appendedUid = Number(/APPENDUID \d+ (\d+)/.exec(out.append[1])![1]);
      expect(out.found).toEqual([appendedUid]);
      expect(out.expunged).toHaveLength(1);
      expect(out.exists_after).toBe(MESSAGES);
    });
  }
});

describe('curl imap://', () => {
  const auth = ['-u', `${USER}:${PASSWORD}`, '--silent', '--show-error'];

  it('lists mailboxes, fetches a message by UID byte for byte, over STARTTLS (--ssl-reqd)', async () => {
    const base = `imap://127.0.0.1:${srv.port}`;
    const tls = ['--ssl-reqd', '--cacert', certPath];
    const list = await run('curl', [...auth, ...tls, `${base}/`]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout.toString()).toMatch(/\* LIST \([^)]*\) "\/" "?INBOX"?/);
    expect(list.stdout.toString()).toMatch(/Archive/);
    const search = await run('curl', [...auth, ...tls, `${base}/INBOX`, '-X', 'UID SEARCH ALL']);
    expect(search.code, search.stderr).toBe(0);
    const uids = /\* SEARCH ([\d ]+)/.exec(search.stdout.toString())![1].trim().split(' ').map(Number);
    expect(uids.length).toBe(MESSAGES);
    const disk = new Set(diskBodies().map((b) => b.toString('hex')));
    for (const uid of uids.slice(0, 3)) {
      const msg = await run('curl', [...auth, ...tls, `${base}/INBOX;UID=${uid}`]);
      expect(msg.code, msg.stderr).toBe(0);
      expect(disk.has(msg.stdout.toString('hex')), `UID ${uid}`).toBe(true);
    }
  });

  it('implicit TLS (imaps://) with the generated certificate, and a wrong password is refused', async () => {
    const base = `imaps://127.0.0.1:${srv.tlsPort}`;
    const ok = await run('curl', [...auth, '--cacert', certPath, `${base}/INBOX`, '-X', 'EXAMINE INBOX']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout.toString()).toMatch(new RegExp(`\\* ${MESSAGES} EXISTS`));
    const bad = await run('curl', ['-u', `${USER}:wrong`, '--silent', '--cacert', certPath, `${base}/INBOX`]);
    expect(bad.code).toBe(67); // CURLE_LOGIN_DENIED
  });
});
