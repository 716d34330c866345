// TLS credentials: the self-signed certificate generated once into data/tls
// and reused, the configured one, and reloading (SIGHUP) without a restart.
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { copyFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { connect, createServer } from 'node:tls';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TlsProvider } from '../src/tls/context.js';
import { ensureSelfSigned, selfSignedPaths } from '../src/tls/self-signed.js';
import { tempDir } from './helpers/tmp.js';

const tmp = tempDir('mailroom-tls-');
afterAll(() => tmp.cleanup());
let n = 0;
const dataDir = () => join(tmp.dir, `d${n++}`);

describe('self-signed certificate in data/tls', () => {
  it('is generated for the host name on first start, private key 0600, and reused afterwards', async () => {
    const data = dataDir();
    const first = await ensureSelfSigned(data, 'mail.example.test');
    expect(first.generated).toBe(true);
    const cert = new X509Certificate(readFileSync(first.certPath));
    expect(cert.subject).toContain('CN=mail.example.test');
    expect(cert.subjectAltName).toContain('DNS:mail.example.test');
    expect(cert.subjectAltName).toContain('IP Address:127.0.0.1');
    expect(cert.checkHost('mail.example.test')).toBe('mail.example.test');
    expect(statSync(first.keyPath).mode & 0o777).toBe(0o600);
    const again = await ensureSelfSigned(data, 'mail.example.test');
    expect(again.generated).toBe(false);
    expect(new X509Certificate(readFileSync(again.certPath)).fingerprint256).toBe(cert.fingerprint256);
  });

  it('processes starting together agree on one certificate', async () => {
    const data = dataDir();
    const results = await Promise.all([1, 2, 3, 4].map(() => ensureSelfSigned(data, 'mail.example.test')));
    expect(results.filter((r) => r.generated)).toHaveLength(1);
    const { provider } = await TlsProvider.fromConfig({ tls: null, data, hostname: 'mail.example.test' });
    expect(provider.selfSigned).toBe(true);
    expect(provider.current.certPath).toBe(selfSignedPaths(data).certPath);
  });

  it('a damaged certificate file is replaced', async () => {
    const data = dataDir();
    const { certPath } = await ensureSelfSigned(data, 'a.example.test');
    writeFileSync(certPath, 'not a certificate');
    const r = await ensureSelfSigned(data, 'a.example.test');
    expect(r.generated).toBe(true);
    expect(() => new X509Certificate(readFileSync(certPath))).not.toThrow();
  });
});

describe('TlsProvider', () => {
  it('uses the configured files, and reload() makes new handshakes present the renewed certificate', async () => {
    const a = await ensureSelfSigned(dataDir(), 'one.example.test');
    const b = await ensureSelfSigned(dataDir(), 'two.example.test');
    const dir = dataDir();
    mkdirSync(dir);
    const certPath = join(dir, 'cert.pem');
    const keyPath = join(dir, 'key.pem');
    copyFileSync(a.certPath, certPath);
    copyFileSync(a.keyPath, keyPath);
    const { provider, generated } = await TlsProvider.fromConfig({ tls: { cert: certPath, key: keyPath }, data: dir, hostname: 'ignored.example' });
    expect(generated).toBe(false);
    expect(provider.selfSigned).toBe(false);

    const server = createServer(provider.current.options, (s) => s.end('hello\r\n'));
    provider.onReload((c) => server.setSecureContext(c.options));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    const peerCn = async () => {
      const s = connect({ port, host: '127.0.0.1', rejectUnauthorized: false });
      await once(s, 'secureConnect');
      const cn = s.getPeerCertificate().subject.CN;
      s.destroy();
      return cn;
    };
    expect(await peerCn()).toBe('one.example.test');

    // a half-done renewal (key of another certificate) is refused, the old credentials stay
    copyFileSync(b.certPath, certPath);
    await expect(provider.reload()).rejects.toThrow(/does not belong/);
    expect(await peerCn()).toBe('one.example.test');
    copyFileSync(b.keyPath, keyPath);
    await provider.reload();
    expect(provider.current.subject).toContain('two.example.test');
    expect(await peerCn()).toBe('two.example.test');
    server.close();
  });
});
