/**
 * The configuration every part of Mailroom reads, its defaults, and the
 * validation of what a person wrote in mailroom.yaml.
 *
 * Validation is pure (no file system): `validateConfig` takes the parsed YAML
 * value and returns a complete `Config` or throws a `ConfigError` whose message
 * is one line naming the file and the key, e.g.
 *   mailroom.yaml: imap.port: must be a port number 1-65535 or false
 * Checks that need the file system (certificate readable) live in load.ts.
 */
import { isIP } from 'node:net';
import { hostname as osHostname } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { ConfigError } from '../errors.js';

/** A listener port, or `false` when that listener is switched off. */
export type Port = number | false;

export interface AuthConfig {
  /** every failed authentication answers no sooner than this after it started */
  failureDelayMs: number;
  /** failures for one address (existing or not) before it is locked out */
  maxFailures: number;
  /** failures from one remote IP (any address) before it is locked out */
  maxFailuresPerIp: number;
  /** how long a lockout lasts, and the window in which failures are counted */
  lockoutSeconds: number;
  /** allow plaintext authentication on cleartext connections from non-loopback peers */
  allowPlaintext: boolean;
  /**
   * replace a legacy hash (SHA512-CRYPT, bcrypt, {PLAIN}, a weaker scrypt…) with
   * a fresh scrypt hash at the first successful login; off keeps imported hashes
   * as they are (a users file shared with another system, a scheme chosen on purpose)
   */
  upgradeHashes: boolean;
}

/**
 * Bounds and timers of the IMAP listeners. The idle timeout may not go below
 * RFC 3501 5.4's 30 minutes once a client is logged in; before login a client
 * gets much less (Dovecot gives 3 minutes).
 */
export interface ImapLimits {
  /** connections served at once by one process; the next gets `* BYE` */
  maxConnections: number;
  /** connections at once from one remote address */
  maxConnectionsPerIp: number;
  /** an authenticated client silent this long is logged out */
  idleTimeoutSeconds: number;
  /** a client that has not logged in within this is disconnected */
  loginTimeoutSeconds: number;
  /** failed LOGIN/AUTHENTICATE attempts on one connection before it is closed */
  maxFailedLogins: number;
  /** on SIGTERM/SIGINT, how long running commands may finish before connections are cut */
  shutdownTimeoutSeconds: number;
}

/**
 * The queue's delivery workers (DESIGN.md "The queue"). Retries follow
 * qmail-send: next try = first seen + (⌊√age⌋ + step)² seconds, `step` being
 * qmail's "chanskip" (10 local, 20 remote: first retry after 100 s / 400 s).
 */
export interface QueueConfig {
  /** a message still undeliverable this long after it arrived is bounced (qmail's queuelifetime) */
  lifetimeSeconds: number;
  retryLocal: number;
  retryRemote: number;
  /** deliveries in progress at once, in total */
  concurrency: number;
  /** remote deliveries in progress at once to one destination domain */
  perDestination: number;
  /** how often the spool is re-read for entries written by other processes and `queue flush` */
  scanIntervalSeconds: number;
  /**
   * A received message for at most this many local mailboxes is delivered
   * into them before the SMTP/LMTP 250 instead of through a queue entry
   * (src/queue/intake.ts); 0 queues everything.
   */
  inlineDelivery: number;
}

/** A static route (qmail's smtproutes): where mail for a domain, or "*" for any, is sent instead of its MX. */
export interface Route {
  host: string;
  port: number;
}

/** Bounds of the SMTP and LMTP receivers (src/smtp/). */
export interface SmtpLimits {
  /** bytes; advertised as SIZE (RFC 1870) and enforced during DATA (552 5.3.4) */
  maxMessageSize: number;
  /** RCPT TO per message; beyond it 452 4.5.3 (RFC 5321 4.5.3.1.8 asks for at least 100) */
  maxRecipients: number;
  /** SMTP and LMTP sessions at once, all listeners together; the next gets 421 */
  maxConnections: number;
  /** sessions at once from one remote address */
  maxConnectionsPerIp: number;
  /** failed AUTH attempts on one connection before 421 and close */
  maxAuthFailures: number;
}

/** LMTP (RFC 2033) for an MTA in front of us (Postfix, Exim): a TCP port, a Unix socket, both or neither. */
export interface LmtpConfig {
  port: Port;
  /** absolute path of the Unix socket; null for none */
  socket: string | null;
}

export interface Config {
  /** the file the configuration came from; null when only defaults are in force */
  file: string | null;
  hostname: string;
  /** absolute path of the data directory (DESIGN.md "On-disk formats") */
  data: string;
  bind: string;
  imap: { port: Port; tlsPort: Port } & ImapLimits;
  pop3: { port: Port; tlsPort: Port } & Pop3Limits;
  smtp: { port: Port; submissionPort: Port; tlsPort: Port } & SmtpLimits;
  lmtp: LmtpConfig;
  /** absent: a self-signed certificate is generated in data/tls */
  tls: { cert: string; key: string } | null;
  auth: AuthConfig;
  queue: QueueConfig;
  /** domain (or "*", the smarthost) → next hop */
  routes: Record<string, Route>;
}

export const DEFAULT_PORTS = {
  imap: { port: 1143, tlsPort: 1993 },
  pop3: { port: 1110, tlsPort: 1995 },
  smtp: { port: 2525, submissionPort: 1587, tlsPort: 1465 },
} as const;

export const DEFAULT_IMAP_LIMITS: ImapLimits = {
  maxConnections: 1000,
  maxConnectionsPerIp: 100,
  idleTimeoutSeconds: 30 * 60,
  loginTimeoutSeconds: 180,
  maxFailedLogins: 3,
  shutdownTimeoutSeconds: 10,
};

/**
 * Bounds of the POP3 listeners: the same shape as IMAP's; RFC 1939 section 3
 * puts the autologout timer at no less than 10 minutes.
 */
export type Pop3Limits = ImapLimits;

export const DEFAULT_POP3_LIMITS: Pop3Limits = {
  maxConnections: 1000,
  maxConnectionsPerIp: 50,
  idleTimeoutSeconds: 10 * 60,
  loginTimeoutSeconds: 180,
  maxFailedLogins: 3,
  shutdownTimeoutSeconds: 10,
};

const IMAP_LIMIT_RANGES: Record<keyof ImapLimits, [number, number]> = {
  maxConnections: [1, 1_000_000],
  maxConnectionsPerIp: [1, 1_000_000],
  idleTimeoutSeconds: [30 * 60, 7 * 24 * 3600], // RFC 3501 5.4: at least 30 minutes
  loginTimeoutSeconds: [5, 3600],
  maxFailedLogins: [1, 1000],
  shutdownTimeoutSeconds: [0, 3600],
};

const POP3_LIMIT_RANGES: Record<keyof Pop3Limits, [number, number]> = {
  ...IMAP_LIMIT_RANGES,
  idleTimeoutSeconds: [10 * 60, 7 * 24 * 3600], // RFC 1939 3: at least 10 minutes
};

export const DEFAULT_AUTH: AuthConfig = {
  failureDelayMs: 1000,
  maxFailures: 5,
  maxFailuresPerIp: 20,
  lockoutSeconds: 300,
  allowPlaintext: false,
  upgradeHashes: true,
};

export const DEFAULT_SMTP_LIMITS: SmtpLimits = {
  maxMessageSize: 25 * 1024 * 1024,
  maxRecipients: 100,
  maxConnections: 200,
  maxConnectionsPerIp: 20,
  maxAuthFailures: 3,
};

const SMTP_LIMIT_RANGES: Record<keyof SmtpLimits, [number, number]> = {
  maxMessageSize: [1024, 2 * 1024 ** 3],
  maxRecipients: [1, 100_000],
  maxConnections: [1, 1_000_000],
  maxConnectionsPerIp: [1, 1_000_000],
  maxAuthFailures: [1, 1000],
};

export const DEFAULT_LMTP: LmtpConfig = { port: false, socket: null };

/** sockaddr_un.sun_path holds 108 bytes on Linux (104 on the BSDs), the terminating NUL included. */
const MAX_SOCKET_PATH = 103;

export const DEFAULT_QUEUE: QueueConfig = {
  lifetimeSeconds: 7 * 24 * 3600,
  retryLocal: 10,
  retryRemote: 20,
  concurrency: 20,
  perDestination: 4,
  scanIntervalSeconds: 10,
  inlineDelivery: 10,
};

const QUEUE_RANGES: Record<keyof QueueConfig, [number, number]> = {
  lifetimeSeconds: [60, 365 * 24 * 3600],
  retryLocal: [1, 3600],
  retryRemote: [1, 3600],
  concurrency: [1, 10_000],
  perDestination: [1, 10_000],
  scanIntervalSeconds: [1, 3600],
  inlineDelivery: [0, 1000],
};

/**
 * The configuration with nothing written: serves mail on this machine only.
 * `baseDir` is where relative paths (data) are resolved.
 */
export function defaultConfig(baseDir: string = process.cwd()): Config {
  return {
    file: null,
    hostname: osHostname() || 'localhost',
    data: resolve(baseDir, 'data'),
    bind: '127.0.0.1',
    imap: { ...DEFAULT_PORTS.imap, ...DEFAULT_IMAP_LIMITS },
    pop3: { ...DEFAULT_PORTS.pop3, ...DEFAULT_POP3_LIMITS },
    smtp: { ...DEFAULT_PORTS.smtp, ...DEFAULT_SMTP_LIMITS },
    lmtp: { ...DEFAULT_LMTP },
    tls: null,
    auth: { ...DEFAULT_AUTH },
    queue: { ...DEFAULT_QUEUE },
    routes: {},
  };
}

/** Reports the first problem as `<file>: <key path>: <what is wrong>`. */
class Checker {
  constructor(readonly file: string) {}
  fail(path: string, message: string): never {
    throw new ConfigError(`${this.file}: ${path}: ${message}`);
  }
  mapping(path: string, v: unknown, known: readonly string[]): Record<string, unknown> {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(path, 'must be a mapping (key: value)');
    const m = v as Record<string, unknown>;
    for (const k of Object.keys(m)) {
      if (!known.includes(k)) {
        this.fail(path ? `${path}.${k}` : k, `unknown key (expected one of: ${known.join(', ')})`);
      }
    }
    return m;
  }
  string(path: string, v: unknown): string {
    if (typeof v !== 'string' || v.trim() === '') this.fail(path, 'must be a non-empty string');
    return v;
  }
  boolean(path: string, v: unknown): boolean {
    if (typeof v !== 'boolean') this.fail(path, 'must be true or false');
    return v;
  }
  integer(path: string, v: unknown, min: number, max: number): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.fail(path, `must be a whole number from ${min} to ${max}`);
    }
    return v;
  }
  port(path: string, v: unknown): Port {
    if (v === false) return false;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535) {
      this.fail(path, 'must be a port number 1-65535 or false');
    }
    return v;
  }
}

// RFC 1123 2.1 host names: letters, digits, hyphens; labels of 1-63, 253 in all.
const HOSTNAME = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

const TOP_KEYS = ['hostname', 'data', 'bind', 'imap', 'pop3', 'smtp', 'lmtp', 'tls', 'auth', 'queue', 'routes'] as const;

/**
 * Validates a parsed mailroom.yaml. `raw` is what the YAML parser returned
 * (null for an empty file); `file` is the name to show in messages; relative
 * paths are resolved against `baseDir` (the directory of the file), so the
 * same file means the same thing whatever the working directory.
 */
export function validateConfig(raw: unknown, file: string, baseDir: string): Config {
  const c = new Checker(file);
  const cfg = defaultConfig(baseDir);
  cfg.file = file;
  if (raw === null || raw === undefined) return cfg;
  const top = c.mapping('', raw, TOP_KEYS);
  const path = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));

  if (top.hostname !== undefined) {
    const h = c.string('hostname', top.hostname);
    if (!HOSTNAME.test(h)) c.fail('hostname', 'must be a host name such as mail.example.org');
    cfg.hostname = h.replace(/\.$/, '');
  }
  if (top.data !== undefined) cfg.data = path(c.string('data', top.data));
  if (top.bind !== undefined) {
    const b = c.string('bind', top.bind);
    if (isIP(b) === 0 && b !== 'localhost') c.fail('bind', 'must be an IP address such as 127.0.0.1, 0.0.0.0 or ::');
    cfg.bind = b;
  }
  for (const proto of ['imap', 'pop3', 'smtp'] as const) {
    const v = top[proto];
    if (v === undefined) continue;
    const keys = Object.keys(DEFAULT_PORTS[proto]);
    const ranges: Record<string, [number, number]> = proto === 'imap' ? IMAP_LIMIT_RANGES : proto === 'smtp' ? SMTP_LIMIT_RANGES : POP3_LIMIT_RANGES;
    const limitKeys = Object.keys(ranges);
    const m = c.mapping(proto, v, [...keys, ...limitKeys]);
    const ports = cfg[proto] as unknown as Record<string, Port>;
    for (const k of keys) if (m[k] !== undefined) ports[k] = c.port(`${proto}.${k}`, m[k]);
    const limits = cfg[proto] as unknown as Record<string, number>;
    for (const k of limitKeys) {
      const [min, max] = ranges[k];
      if (m[k] === undefined) continue;
      limits[k] = k === 'maxMessageSize' ? sizeValue(c, `${proto}.${k}`, m[k], min, max) : c.integer(`${proto}.${k}`, m[k], min, max);
    }
  }
  if (top.lmtp !== undefined && top.lmtp !== null) {
    const m = c.mapping('lmtp', top.lmtp, Object.keys(DEFAULT_LMTP));
    if (m.port !== undefined) cfg.lmtp.port = c.port('lmtp.port', m.port);
    if (m.socket !== undefined && m.socket !== null && m.socket !== false) {
      const socket = path(c.string('lmtp.socket', m.socket));
      if (Buffer.byteLength(socket) > MAX_SOCKET_PATH) c.fail('lmtp.socket', `the path ${socket} is too long for a Unix socket (at most ${MAX_SOCKET_PATH} bytes)`);
      cfg.lmtp.socket = socket;
    }
  }
  checkPortsDistinct(c, cfg);
  if (top.tls !== undefined && top.tls !== null) {
    const m = c.mapping('tls', top.tls, ['cert', 'key']);
    if (m.cert === undefined) c.fail('tls.cert', 'is required when tls is given (or remove tls to use a self-signed certificate)');
    if (m.key === undefined) c.fail('tls.key', 'is required when tls is given (or remove tls to use a self-signed certificate)');
    cfg.tls = { cert: path(c.string('tls.cert', m.cert)), key: path(c.string('tls.key', m.key)) };
  }
  if (top.auth !== undefined) {
    const m = c.mapping('auth', top.auth, Object.keys(DEFAULT_AUTH));
    const a = cfg.auth;
    if (m.failureDelayMs !== undefined) a.failureDelayMs = c.integer('auth.failureDelayMs', m.failureDelayMs, 0, 60_000);
    if (m.maxFailures !== undefined) a.maxFailures = c.integer('auth.maxFailures', m.maxFailures, 1, 1_000_000);
    if (m.maxFailuresPerIp !== undefined) a.maxFailuresPerIp = c.integer('auth.maxFailuresPerIp', m.maxFailuresPerIp, 1, 1_000_000);
    if (m.lockoutSeconds !== undefined) a.lockoutSeconds = c.integer('auth.lockoutSeconds', m.lockoutSeconds, 1, 31_536_000);
    if (m.allowPlaintext !== undefined) a.allowPlaintext = c.boolean('auth.allowPlaintext', m.allowPlaintext);
    if (m.upgradeHashes !== undefined) a.upgradeHashes = c.boolean('auth.upgradeHashes', m.upgradeHashes);
  }
  if (top.queue !== undefined) {
    const m = c.mapping('queue', top.queue, Object.keys(DEFAULT_QUEUE));
    for (const k of Object.keys(DEFAULT_QUEUE) as (keyof QueueConfig)[]) {
      const [min, max] = QUEUE_RANGES[k];
      if (m[k] !== undefined) cfg.queue[k] = c.integer(`queue.${k}`, m[k], min, max);
    }
  }
  if (top.routes !== undefined && top.routes !== null) {
    const m = c.mapping('routes', top.routes, Object.keys(top.routes as object));
    for (const [domain, v] of Object.entries(m)) {
      const key = `routes.${domain}`;
      if (domain !== '*' && !HOSTNAME.test(domain)) c.fail(key, 'the key must be a domain such as example.net, or "*" for every other domain');
      const route = parseRoute(c.string(key, v)) ?? c.fail(key, 'must be "host" or "host:port", e.g. "127.0.0.1:2626", "mx.example.net" or "[::1]:25"');
      cfg.routes[domain.toLowerCase().replace(/\.$/, '')] = route;
    }
  }
  return cfg;
}

/** "host", "host:port", "[v6]" or "[v6]:port"; port 25 when none is given. */
export function parseRoute(s: string): Route | null {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:\s[\]]+))(?::(\d{1,5}))?$/.exec(s.trim());
  if (!m) return null;
  const host = m[1] ?? m[2];
  if (m[1] !== undefined ? isIP(host) !== 6 : isIP(host) !== 4 && !HOSTNAME.test(host)) return null;
  const port = m[3] === undefined ? 25 : Number(m[3]);
  if (port < 1 || port > 65535) return null;
  return { host, port };
}

/** Two listeners on one port would fail at bind time with a less helpful message. */
function checkPortsDistinct(c: Checker, cfg: Config): void {
  const seen = new Map<number, string>();
  for (const proto of ['imap', 'pop3', 'smtp'] as const) {
    for (const k of Object.keys(DEFAULT_PORTS[proto])) {
      const p = (cfg[proto] as unknown as Record<string, Port>)[k];
      if (p === false) continue;
      const other = seen.get(p);
      if (other) c.fail(`${proto}.${k}`, `port ${p} is already used by ${other}`);
      seen.set(p, `${proto}.${k}`);
    }
  }
  const lmtp = cfg.lmtp.port;
  if (lmtp !== false && seen.has(lmtp)) c.fail('lmtp.port', `port ${lmtp} is already used by ${seen.get(lmtp)}`);
}

/** A size in bytes, written as a whole number or with a binary unit: 26214400, "25M", "512K", "1G". */
function sizeValue(c: Checker, path: string, v: unknown, min: number, max: number): number {
  const units: Record<string, number> = { K: 1024, M: 1024 ** 2, G: 1024 ** 3 };
  let n: number | null = null;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string') {
    const m = /^\s*(\d+)\s*([KMG])?i?B?\s*$/i.exec(v);
    if (m) n = Number(m[1]) * (m[2] ? units[m[2].toUpperCase()] : 1);
  }
  if (n === null || !Number.isInteger(n) || n < min || n > max) {
    c.fail(path, `must be a size from ${min} to ${max} bytes, e.g. 26214400 or "25M"`);
  }
  return n;
}
