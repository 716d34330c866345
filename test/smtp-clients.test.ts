// Independent clients against the receivers: Python's smtplib and swaks
// (Debian package; .ci/run installs it). They run as child processes, so the
// server in this process stays responsive (execFile, never execFileSync).
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, PASSWORD, startHarness } from './smtp-harness.js';

const LIMIT = 64 * 1024;
let h: Harness;
beforeAll(async () => {
  h = await startHarness({ limits: { maxMessageSize: LIMIT }, lmtpSocket: true });
});
afterAll(() => h.close());

function run(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 30_000, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, out: stdout + stderr });
    });
  });
}

const PYTHON = String.raw`
import json, smtplib, ssl, sys
mx, sub, limit, password = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
out = {}
with smtplib.SMTP('127.0.0.1', mx, local_hostname='py.example.net') as s:
    s.ehlo()
    out['features'] = sorted(s.esmtp_features)
    out['size'] = s.esmtp_features.get('size')
    s.starttls(context=ctx)
    s.ehlo()
    out['starttls_after_tls'] = s.has_extn('starttls')
    msg = 'From: j\u00fcrgen@example.net\r\nTo: j\u00f6rg@example.org\r\nSubject: gr\u00fc\u00dfe\r\n\r\n8-bit body: gr\u00fc\u00dfe\r\n'.encode('utf-8')
    out['utf8_refused'] = s.sendmail('j\u00fcrgen@example.net', ['j\u00f6rg@example.org'], msg, mail_options=['SMTPUTF8', 'BODY=8BITMIME'])
    try:
        s.sendmail('big@example.net', ['alice@example.org'], b'Subject: big\r\n\r\n' + b'x' * (limit + 100))
        out['size'] = 'accepted'
    except smtplib.SMTPSenderRefused as e:
        out['size_refusal'] = [e.smtp_code, e.smtp_error.decode()]
    try:
        s.sendmail('a@example.net', ['victim@example.net'], b'Subject: relay\r\n\r\nx\r\n')
    except smtplib.SMTPRecipientsRefused as e:
        out['relay'] = {k: [v[0], v[1].decode()] for k, v in e.recipients.items()}
with smtplib.SMTP('127.0.0.1', sub) as s:
    s.starttls(context=ctx)
    s.login('alice@example.org', password)
    s.mail('alice@example.org')
    s.rcpt('friend@example.net')
    code, reply = s.data(b'Subject: from python\r\n\r\nhello\r\n')
    out['submission'] = [code, reply.decode()]
print(json.dumps(out))
`;

describe("Python's smtplib", () => {
  it('STARTTLS, SIZE, 8BITMIME and SMTPUTF8 on the MX port; STARTTLS and LOGIN on submission', async () => {
    const before = h.queue.spooled().length;
    const r = await run('python3', ['-c', PYTHON, String(h.port('smtp')), String(h.port('submission')), String(LIMIT), PASSWORD]);
    expect(r.code, r.out).toBe(0);
    const out = JSON.parse(r.out.trim().split('\n').at(-1)!);
    expect(out.features).toEqual(expect.arrayContaining(['8bitmime', 'dsn', 'enhancedstatuscodes', 'pipelining', 'size', 'smtputf8', 'starttls']));
    expect(out.size).toBe(String(LIMIT));
    expect(out.starttls_after_tls).toBe(false);
    expect(out.utf8_refused).toEqual({});
    expect(out.size_refusal[0]).toBe(552);
    expect(out.size_refusal[1]).toMatch(/^5\.3\.4 /);
    expect(out.relay['victim@example.net'][0]).toBe(554);
    expect(out.relay['victim@example.net'][1]).toMatch(/^5\.7\.1 /);
    expect(out.submission[0]).toBe(250);
    expect(out.submission[1]).toMatch(/^2\.0\.0 Ok: queued as /);

    const spooled = h.queue.spooled().slice(before);
    expect(spooled.length).toBe(2);
    expect(spooled[0].envelope).toMatchObject({ from: 'j\u00fcrgen@example.net', smtputf8: true, bodyType: '8BITMIME', received: { protocol: 'ESMTPS', helo: 'py.example.net' } });
    expect(spooled[0].body.toString('utf8')).toContain('8-bit body: gr\u00fc\u00dfe\n');
    expect(spooled[1].envelope).toMatchObject({ from: 'alice@example.org', recipients: [{ address: 'friend@example.net' }], received: { protocol: 'ESMTPSA', authUser: 'alice@example.org' } });
  });
});

describe('swaks', () => {
  const base = () => ['--server', `127.0.0.1:${h.port('smtp')}`, '--ehlo', 'swaks.example.net', '--hide-informational'];

  it('PIPELINING and STARTTLS with an 8-bit body to an alias', async () => {
    const r = await run('swaks', [...base(), '--pipeline', '-tls', '--from', 's@example.net', '--to', 'sales@example.org', '--data', 'Subject: swaks\n\n8-bit: \u00e9t\u00e9\n']);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/<~ +250 2\.0\.0 Ok: queued as (\S+)/);
    const id = /queued as (\S+)/.exec(r.out)![1];
    const m = h.queue.spooled().find((s) => s.id === id)!;
    expect(m.envelope).toMatchObject({ from: 's@example.net', recipients: [{ address: 'sales@example.org' }], received: { protocol: 'ESMTPS' } });
    expect(m.body.toString('utf8')).toContain('8-bit: \u00e9t\u00e9\n');
  });

  it('a relay attempt fails with 554 5.7.1', async () => {
    const r = await run('swaks', [...base(), '--from', 's@example.net', '--to', 'victim@example.net']);
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/<\*\* +554 5\.7\.1 /);
  });

  it('a message bigger than SIZE is refused at the end of DATA with 552 5.3.4', async () => {
    const r = await run('swaks', [...base(), '--from', 's@example.net', '--to', 'alice@example.org', '--body', 'z'.repeat(LIMIT + 10), '--suppress-data']);
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/<\*\* +552 5\.3\.4 /);
  });

  it('submission: STARTTLS and AUTH PLAIN, then a remote recipient', async () => {
    const r = await run('swaks', [
      '--server', `127.0.0.1:${h.port('submission')}`, '--hide-informational', '-tls',
      '-a', 'PLAIN', '-au', 'alice@example.org', '-ap', PASSWORD,
      '--from', 'alice@example.org', '--to', 'friend@example.net',
    ]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/<~ +235 /);
    expect(r.out).toMatch(/<~ +250 2\.0\.0 Ok: queued as /);
  });

  it('LMTP over the Unix socket: one reply per recipient', async () => {
    const socket = h.smtp.addresses().find((a) => a.path !== undefined)!.path!;
    const r = await run('swaks', ['--socket', socket, '--protocol', 'LMTP', '--hide-informational', '--from', 's@example.net', '--to', 'alice@example.org,bob@example.org']);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/<- +250 2\.0\.0 <alice@example\.org> Ok: queued as /);
    expect(r.out).toMatch(/<- +250 2\.0\.0 <bob@example\.org> Ok: queued as /);
  });
});
