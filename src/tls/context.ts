/**
 * The TLS credentials every listener uses, reloadable without a restart.
 *
 * Implicit-TLS servers get new credentials with `server.setSecureContext()`;
 * STARTTLS reads `current` at the moment a client asks, so after a reload
 * (SIGHUP, when the operator renewed the certificate) new handshakes use the
 * new certificate while sessions already encrypted keep theirs.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls';
import type { Config } from '../config/schema.js';
import { ensureSelfSigned, type CertificateFiles } from './self-signed.js';

export interface TlsCredentials extends CertificateFiles {
  /** what createSecureContext / tls.Server / setSecureContext take */
  options: SecureContextOptions;
  context: SecureContext;
  /** SHA-256 fingerprint, for the log (and for a person comparing what the client shows) */
  fingerprint: string;
  subject: string;
  validTo: string;
}

export class TlsProvider {
  private creds: TlsCredentials;
  private listeners = new Set<(c: TlsCredentials) => void>();

  private constructor(
    private readonly files: CertificateFiles,
    readonly selfSigned: boolean,
    creds: TlsCredentials,
  ) {
    this.creds = creds;
  }

  /** The configured certificate, or data/tls's self-signed one (generated on first start). */
  static async fromConfig(config: Pick<Config, 'tls' | 'data' | 'hostname'>): Promise<{ provider: TlsProvider; generated: boolean }> {
    let files: CertificateFiles;
    let generated = false;
    if (config.tls) files = { certPath: config.tls.cert, keyPath: config.tls.key };
    else {
      const s = await ensureSelfSigned(config.data, config.hostname);
      files = { certPath: s.certPath, keyPath: s.keyPath };
      generated = s.generated;
    }
    const provider = new TlsProvider(files, !config.tls, await loadCredentials(files));
    return { provider, generated };
  }

  get current(): TlsCredentials {
    return this.creds;
  }

  /**
   * Re-reads the files. On failure (a half-copied renewal, a key that does not
   * match) the old credentials stay in force and the error is thrown for the log.
   */
  async reload(): Promise<TlsCredentials> {
    const next = await loadCredentials(this.files);
    this.creds = next;
    for (const l of this.listeners) l(next);
    return next;
  }

  onReload(listener: (c: TlsCredentials) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

export async function loadCredentials(files: CertificateFiles): Promise<TlsCredentials> {
  const cert = await readFile(files.certPath);
  const key = await readFile(files.keyPath);
  const x509 = new X509Certificate(cert);
  if (!x509.checkPrivateKey(createPrivateKey(key))) {
    throw new Error(`the key ${files.keyPath} does not belong to the certificate ${files.certPath}`);
  }
  const options: SecureContextOptions = { cert, key, minVersion: 'TLSv1.2' };
  return {
    ...files,
    options,
    context: createSecureContext(options),
    fingerprint: x509.fingerprint256,
    subject: x509.subject.replace(/\n/g, ', '),
    validTo: x509.validTo,
  };
}
