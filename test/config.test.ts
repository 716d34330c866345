import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { configLocation, loadConfig } from '../src/config/load.js';
import { DEFAULT_AUTH, DEFAULT_IMAP_LIMITS, DEFAULT_LMTP, DEFAULT_POP3_LIMITS, DEFAULT_QUEUE, DEFAULT_SMTP_LIMITS } from '../src/config/schema.js';
import { ConfigError, EX } from '../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'mailroom-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
/** A fresh directory holding mailroom.yaml with `text`. */
function withConfig(text: string): string {
  const d = join(dir, `c${n++}`);
  execFileSync('mkdir', ['-p', d]);
  writeFileSync(join(d, 'mailroom.yaml'), text);
  return d;
}

async function loadError(text: string): Promise<ConfigError> {
  const cwd = withConfig(text);
  const e = await loadConfig({ cwd, env: {} }).then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ConfigError);
  return e as ConfigError;
}

describe('configuration defaults', () => {
  it('no file at all serves this machine with the documented defaults', async () => {
    const cwd = join(dir, 'empty');
    execFileSync('mkdir', ['-p', cwd]);
    const c = await loadConfig({ cwd, env: {} });
    expect(c).toEqual({
      file: null,
      hostname: hostname(),
      data: join(cwd, 'data'),
      bind: '127.0.0.1',
      imap: { port: 1143, tlsPort: 1993, ...DEFAULT_IMAP_LIMITS },
      pop3: { port: 1110, tlsPort: 1995, ...DEFAULT_POP3_LIMITS },
      smtp: { port: 2525, submissionPort: 1587, tlsPort: 1465, ...DEFAULT_SMTP_LIMITS },
      lmtp: DEFAULT_LMTP,
      tls: null,
      auth: DEFAULT_AUTH,
      queue: DEFAULT_QUEUE,
      routes: {},
    });
  });

  it('an empty file is the defaults too', async () => {
    const c = await loadConfig({ cwd: withConfig('# nothing yet\n'), env: {} });
    expect(c.file).toBe('mailroom.yaml');
    expect(c.imap).toEqual({ port: 1143, tlsPort: 1993, ...DEFAULT_IMAP_LIMITS });
  });

  it('reads every documented key; relative paths are relative to the file', async () => {
    const cwd = withConfig(
      [
        'hostname: mail.example.org',
        'data: ./state',
        'bind: "::"',
        'imap: { port: 143, tlsPort: false }',
        'pop3: { port: false, tlsPort: 995 }',
        'smtp: { port: 25, submissionPort: 587, tlsPort: 465 }',
        'auth: { failureDelayMs: 500, maxFailures: 3, maxFailuresPerIp: 10, lockoutSeconds: 60, allowPlaintext: true, upgradeHashes: false }',
      ].join('\n'),
    );
    const c = await loadConfig({ cwd: '/', env: { MAILROOM_CONFIG: join(cwd, 'mailroom.yaml') } });
    expect(c).toMatchObject({
      hostname: 'mail.example.org',
      data: join(cwd, 'state'),
      bind: '::',
      imap: { port: 143, tlsPort: false },
      pop3: { port: false, tlsPort: 995 },
      smtp: { port: 25, submissionPort: 587, tlsPort: 465 },
      auth: { failureDelayMs: 500, maxFailures: 3, maxFailuresPerIp: 10, lockoutSeconds: 60, allowPlaintext: true, upgradeHashes: false },
    });
  });

  it('--config wins over MAILROOM_CONFIG, which wins over ./mailroom.yaml', () => {
    expect(configLocation({ cwd: '/srv', env: {} })).toEqual({ path: '/srv/mailroom.yaml', display: 'mailroom.yaml', required: false });
    expect(configLocation({ cwd: '/srv', env: { MAILROOM_CONFIG: 'etc/m.yaml' } }).path).toBe('/srv/etc/m.yaml');
    expect(configLocation({ cwd: '/srv', env: { MAILROOM_CONFIG: 'etc/m.yaml' }, configPath: '/x.yaml' })).toEqual({
      path: '/x.yaml',
      display: '/x.yaml',
      required: true,
    });
  });

  it('a configuration file named explicitly must exist', async () => {
    const e = await loadConfig({ cwd: dir, env: {}, configPath: 'nope.yaml' }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).message).toBe('nope.yaml: cannot read the configuration file (ENOENT)');
    expect((e as ConfigError).exitCode).toBe(EX.CONFIG);
  });
});

describe('configuration errors: one line naming the file and the key, exit code 78', () => {
  const cases: [string, string][] = [
    ['imap: { port: 70000 }', 'mailroom.yaml: imap.port: must be a port number 1-65535 or false'],
    ['imap: { port: 0 }', 'mailroom.yaml: imap.port: must be a port number 1-65535 or false'],
    ['smtp: { submissionPort: "587" }', 'mailroom.yaml: smtp.submissionPort: must be a port number 1-65535 or false'],
    ['pop3: { tlsPort: true }', 'mailroom.yaml: pop3.tlsPort: must be a port number 1-65535 or false'],
    ['imap: { prot: 143 }', 'mailroom.yaml: imap.prot: unknown key (expected one of: port, tlsPort, maxConnections, maxConnectionsPerIp, idleTimeoutSeconds, loginTimeoutSeconds, maxFailedLogins, shutdownTimeoutSeconds)'],
    ['imap: { idleTimeoutSeconds: 60 }', 'mailroom.yaml: imap.idleTimeoutSeconds: must be a whole number from 1800 to 604800'],
    ['pop3: { idleTimeoutSeconds: 60 }', 'mailroom.yaml: pop3.idleTimeoutSeconds: must be a whole number from 600 to 604800'],
    ['colour: blue', 'mailroom.yaml: colour: unknown key (expected one of: hostname, data, bind, imap, pop3, smtp, lmtp, tls, auth, queue, routes)'],
    ['smtp: 25', 'mailroom.yaml: smtp: must be a mapping (key: value)'],
    ['- a\n- b', 'mailroom.yaml: : must be a mapping (key: value)'],
    ['hostname: 12', 'mailroom.yaml: hostname: must be a non-empty string'],
    ['hostname: "mail example"', 'mailroom.yaml: hostname: must be a host name such as mail.example.org'],
    ['data: ""', 'mailroom.yaml: data: must be a non-empty string'],
    ['bind: everywhere', 'mailroom.yaml: bind: must be an IP address such as 127.0.0.1, 0.0.0.0 or ::'],
    ['pop3: { port: 1143 }', 'mailroom.yaml: pop3.port: port 1143 is already used by imap.port'],
    ['tls: { cert: a.pem }', 'mailroom.yaml: tls.key: is required when tls is given (or remove tls to use a self-signed certificate)'],
    ['auth: { maxFailures: 0 }', 'mailroom.yaml: auth.maxFailures: must be a whole number from 1 to 1000000'],
    ['auth: { allowPlaintext: "yes" }', 'mailroom.yaml: auth.allowPlaintext: must be true or false'],
  ];
  it.each(cases)('%s', async (yaml, message) => {
    const e = await loadError(yaml);
    expect(e.message).toBe(message);
    expect(e.exitCode).toBe(78);
  });

  it('YAML syntax errors give the line and column', async () => {
    const e = await loadError('hostname: a.example\nimap: { port: 143\n');
    expect(e.message).toMatch(/^mailroom\.yaml:\d+:\d+: YAML syntax error: .+$/);
    expect(e.message).not.toContain('\n');
  });

  it('a key given twice is an error', async () => {
    const e = await loadError('bind: 127.0.0.1\nbind: "::"\n');
    expect(e.message).toMatch(/^mailroom\.yaml:2:1: YAML syntax error: .*[Uu]nique/);
  });
});

describe('TLS files', () => {
  const certDir = join(dir, 'tls');
  execFileSync('mkdir', ['-p', certDir]);
  const makeCert = (name: string) =>
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=mail.test',
      '-keyout', join(certDir, `${name}.key`), '-out', join(certDir, `${name}.crt`),
    ], { stdio: 'ignore' }); // prettier-ignore
  makeCert('one');
  makeCert('two');
  writeFileSync(join(certDir, 'garbage.pem'), 'not a certificate\n');

  it('a readable matching pair is accepted, paths relative to the file', async () => {
    const cwd = withConfig(`tls: { cert: ${certDir}/one.crt, key: ${certDir}/one.key }`);
    const c = await loadConfig({ cwd, env: {} });
    expect(c.tls).toEqual({ cert: join(certDir, 'one.crt'), key: join(certDir, 'one.key') });
  });

  it('an unreadable certificate is named', async () => {
    const e = await loadError('tls: { cert: missing.crt, key: missing.key }');
    expect(e.message).toMatch(/^mailroom\.yaml: tls\.cert: cannot read \/.*\/missing\.crt \(ENOENT\)$/);
    expect(e.exitCode).toBe(78);
  });

  it('a file that is not a certificate, or a key of another certificate, is refused', async () => {
    let e = await loadError(`tls: { cert: ${certDir}/garbage.pem, key: ${certDir}/one.key }`);
    expect(e.message).toBe(`mailroom.yaml: tls.cert: ${certDir}/garbage.pem is not a PEM certificate`);
    e = await loadError(`tls: { cert: ${certDir}/one.crt, key: ${certDir}/garbage.pem }`);
    expect(e.message).toBe(`mailroom.yaml: tls.key: ${certDir}/garbage.pem is not a PEM private key (or it is encrypted)`);
    e = await loadError(`tls: { cert: ${certDir}/one.crt, key: ${certDir}/two.key }`);
    expect(e.message).toBe(`mailroom.yaml: tls.key: ${certDir}/two.key does not match the certificate ${certDir}/one.crt`);
  });
});
