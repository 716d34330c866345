/**
 * Finding and reading mailroom.yaml.
 *
 * Where the file is: `--config FILE`, else $MAILROOM_CONFIG, else
 * `mailroom.yaml` in the working directory. A file named explicitly must
 * exist; the default one may be absent, and then the built-in defaults serve
 * mail on this machine out of the box.
 */
import { readFile } from 'node:fs/promises';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { errnoCode } from '../../maildir/errors.js';
import { ConfigError } from '../errors.js';
import { type Config, defaultConfig, validateConfig } from './schema.js';

export const DEFAULT_CONFIG_FILE = 'mailroom.yaml';

export interface LoadConfigOptions {
  /** the --config argument, if given */
  configPath?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Which file to read, and whether its absence is an error. */
export function configLocation(o: LoadConfigOptions = {}): { path: string; display: string; required: boolean } {
  const env = o.env ?? process.env;
  const cwd = o.cwd ?? process.cwd();
  const given = o.configPath ?? (env.MAILROOM_CONFIG || undefined);
  if (given !== undefined) return { path: resolve(cwd, given), display: given, required: true };
  return { path: resolve(cwd, DEFAULT_CONFIG_FILE), display: DEFAULT_CONFIG_FILE, required: false };
}

export async function loadConfig(o: LoadConfigOptions = {}): Promise<Config> {
  const loc = configLocation(o);
  let text: string;
  try {
    text = await readFile(loc.path, 'utf8');
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'ENOENT' && !loc.required) return defaultConfig(o.cwd ?? process.cwd());
    throw new ConfigError(`${loc.display}: cannot read the configuration file (${code ?? String(e)})`, { cause: e });
  }
  const cfg = parseConfigText(text, loc.display, dirname(loc.path));
  if (cfg.tls) await checkTlsFiles(cfg.tls, loc.display);
  return cfg;
}

/** YAML text to a validated Config; syntax errors become one line with the position. */
export function parseConfigText(text: string, display: string, baseDir: string): Config {
  const doc = parseDocument(text, { uniqueKeys: true });
  const err = doc.errors[0];
  if (err) {
    const pos = err.linePos?.[0];
    const where = pos ? `${display}:${pos.line}:${pos.col}` : display;
    const first = err.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    throw new ConfigError(`${where}: YAML syntax error: ${first}`);
  }
  return validateConfig(doc.toJS(), display, baseDir);
}

/** The certificate and key must be readable PEM, and belong together. */
async function checkTlsFiles(tls: { cert: string; key: string }, display: string): Promise<void> {
  const read = async (key: string, path: string) => {
    try {
      return await readFile(path);
    } catch (e) {
      throw new ConfigError(`${display}: ${key}: cannot read ${path} (${errnoCode(e) ?? String(e)})`, { cause: e });
    }
  };
  const certPem = await read('tls.cert', tls.cert);
  const keyPem = await read('tls.key', tls.key);
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch (e) {
    throw new ConfigError(`${display}: tls.cert: ${tls.cert} is not a PEM certificate`, { cause: e });
  }
  let key;
  try {
    key = createPrivateKey(keyPem);
  } catch (e) {
    throw new ConfigError(`${display}: tls.key: ${tls.key} is not a PEM private key (or it is encrypted)`, { cause: e });
  }
  if (!cert.checkPrivateKey(key)) {
    throw new ConfigError(`${display}: tls.key: ${tls.key} does not match the certificate ${tls.cert}`);
  }
}
