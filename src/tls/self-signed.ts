/**
 * The certificate Mailroom uses when the operator configured none: generated
 * once for `hostname` into data/tls/{key,cert}.pem and reused afterwards, so
 * that a client that accepted it once is not asked again at every restart.
 *
 * Several `mailroom serve` processes may start at once on one data directory
 * (DESIGN.md: nothing assumes a single process). Generation is therefore done
 * under a lock directory (mkdir is atomic, also on NFS), and each file is
 * published with write-to-temp + rename, key first: whoever sees cert.pem
 * also sees the key that belongs to it.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdir, readFile, rename, rmdir, stat, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import { errnoCode } from '../../maildir/errors.js';

export interface CertificateFiles {
  certPath: string;
  keyPath: string;
}

/** A generated certificate is valid this long; an expired one is replaced at start. */
const VALID_DAYS = 3650;
/** A lock older than this was left by a process that died while generating. */
const STALE_LOCK_MS = 60_000;

export function selfSignedPaths(dataDir: string): CertificateFiles & { dir: string } {
  const dir = join(dataDir, 'tls');
  return { dir, certPath: join(dir, 'cert.pem'), keyPath: join(dir, 'key.pem') };
}

/**
 * Returns the paths of a usable self-signed certificate under data/tls,
 * generating it when absent, damaged, mismatched or expired.
 * `generated` says whether this call made it (to log it once).
 */
export async function ensureSelfSigned(dataDir: string, hostname: string): Promise<CertificateFiles & { generated: boolean }> {
  const p = selfSignedPaths(dataDir);
  await mkdir(p.dir, { recursive: true, mode: 0o700 });
  const lock = join(p.dir, '.generating');
  for (let attempt = 0; ; attempt++) {
    if (await usable(p)) return { certPath: p.certPath, keyPath: p.keyPath, generated: false };
    try {
      await mkdir(lock);
    } catch (e) {
      if (errnoCode(e) !== 'EEXIST') throw e;
      // Another process is generating: wait for it, or take over a stale lock.
      const age = await stat(lock).then((s) => Date.now() - s.mtimeMs, () => 0);
      if (age > STALE_LOCK_MS) await rmdir(lock).catch(() => {});
      else await new Promise((r) => setTimeout(r, Math.min(50 * (attempt + 1), 500)));
      continue;
    }
    try {
      // Re-check under the lock: the previous holder may have just finished.
      if (await usable(p)) return { certPath: p.certPath, keyPath: p.keyPath, generated: false };
      const pems = await generateFor(hostname);
      await publish(p.keyPath, pems.private, 0o600);
      await publish(p.certPath, pems.cert, 0o644);
      return { certPath: p.certPath, keyPath: p.keyPath, generated: true };
    } finally {
      await rmdir(lock).catch(() => {});
    }
  }
}

async function usable(p: CertificateFiles): Promise<boolean> {
  let certPem: Buffer;
  let keyPem: Buffer;
  try {
    certPem = await readFile(p.certPath);
    keyPem = await readFile(p.keyPath);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return false;
    throw e;
  }
  try {
    const cert = new X509Certificate(certPem);
    if (new Date(cert.validTo).getTime() < Date.now()) return false;
    return cert.checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    return false; // damaged: replace it
  }
}

async function publish(path: string, content: string, mode: number): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, content, { mode });
  await rename(tmp, path);
}

function generateFor(hostname: string) {
  const notBeforeDate = new Date(Date.now() - 60_000); // tolerate small clock differences
  const notAfterDate = new Date(notBeforeDate.getTime() + VALID_DAYS * 86_400_000);
  const names = [...new Set([hostname, 'localhost'])];
  return generate([{ name: 'commonName', value: hostname }], {
    keyType: 'rsa',
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          ...names.map((value) => (isIP(value) ? { type: 7 as const, ip: value } : { type: 2 as const, value })),
          { type: 7 as const, ip: '127.0.0.1' },
          { type: 7 as const, ip: '::1' },
        ],
      },
    ],
  });
}
