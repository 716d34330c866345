// mailroom.yaml's SMTP limits and the lmtp: section (src/config/schema.ts).
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../src/config/load.js';
import { DEFAULT_LMTP, DEFAULT_SMTP_LIMITS } from '../src/config/schema.js';
import { ConfigError } from '../src/errors.js';

const parse = (text: string) => parseConfigText(text, 'mailroom.yaml', '/etc/mailroom');

function error(text: string): string {
  try {
    parse(text);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('smtp limits', () => {
  it('defaults: 25 MiB messages, 100 recipients (RFC 5321 4.5.3.1.8), no LMTP', () => {
    const c = parse('');
    expect(c.smtp).toEqual({ port: 2525, submissionPort: 1587, tlsPort: 1465, ...DEFAULT_SMTP_LIMITS });
    expect(DEFAULT_SMTP_LIMITS).toMatchObject({ maxMessageSize: 26214400, maxRecipients: 100 });
    expect(c.lmtp).toEqual(DEFAULT_LMTP);
    expect(c.lmtp).toEqual({ port: false, socket: null });
  });

  it('reads every limit; a size may carry a binary unit', () => {
    const c = parse('smtp:\n  port: 25\n  maxMessageSize: 10M\n  maxRecipients: 500\n  maxConnections: 50\n  maxConnectionsPerIp: 5\n  maxAuthFailures: 2\n');
    expect(c.smtp).toEqual({ port: 25, submissionPort: 1587, tlsPort: 1465, maxMessageSize: 10 * 1024 * 1024, maxRecipients: 500, maxConnections: 50, maxConnectionsPerIp: 5, maxAuthFailures: 2 });
    expect(parse('smtp: { maxMessageSize: 1048576 }').smtp.maxMessageSize).toBe(1048576);
    expect(parse('smtp: { maxMessageSize: "512K" }').smtp.maxMessageSize).toBe(512 * 1024);
  });

  it('refuses bad limits in one line naming the key', () => {
    expect(error('smtp: { maxMessageSize: lots }')).toMatch(/^mailroom\.yaml: smtp\.maxMessageSize: must be a size from 1024 to \d+ bytes, e\.g\. 26214400 or "25M"$/);
    expect(error('smtp: { maxMessageSize: 3G }')).toMatch(/^mailroom\.yaml: smtp\.maxMessageSize: /);
    expect(error('smtp: { maxRecipients: 0 }')).toBe('mailroom.yaml: smtp.maxRecipients: must be a whole number from 1 to 100000');
    expect(error('smtp: { maxAuthFailures: 1.5 }')).toBe('mailroom.yaml: smtp.maxAuthFailures: must be a whole number from 1 to 1000');
    expect(error('smtp: { maxConections: 5 }')).toMatch(/^mailroom\.yaml: smtp\.maxConections: unknown key \(expected one of: port, submissionPort, tlsPort, maxMessageSize, /);
  });

  it('imap limits stay imap limits', () => {
    expect(error('smtp: { idleTimeoutSeconds: 3600 }')).toMatch(/^mailroom\.yaml: smtp\.idleTimeoutSeconds: unknown key/);
    expect(error('imap: { maxRecipients: 5 }')).toMatch(/^mailroom\.yaml: imap\.maxRecipients: unknown key/);
  });
});

describe('lmtp', () => {
  it('a port, a socket (relative to the file), or both', () => {
    expect(parse('lmtp: { port: 24 }').lmtp).toEqual({ port: 24, socket: null });
    expect(parse('lmtp: { socket: run/lmtp }').lmtp).toEqual({ port: false, socket: '/etc/mailroom/run/lmtp' });
    expect(parse('lmtp: { port: 2424, socket: /run/mailroom/lmtp }').lmtp).toEqual({ port: 2424, socket: '/run/mailroom/lmtp' });
    expect(parse('lmtp:\n').lmtp).toEqual({ port: false, socket: null });
  });

  it('refuses what cannot work', () => {
    expect(error('lmtp: { port: 70000 }')).toBe('mailroom.yaml: lmtp.port: must be a port number 1-65535 or false');
    expect(error('lmtp: { port: 2525 }')).toBe('mailroom.yaml: lmtp.port: port 2525 is already used by smtp.port');
    expect(error('lmtp: { socket: "" }')).toBe('mailroom.yaml: lmtp.socket: must be a non-empty string');
    expect(error(`lmtp: { socket: /${'x'.repeat(120)} }`)).toMatch(/^mailroom\.yaml: lmtp\.socket: the path \/x+ is too long for a Unix socket \(at most 103 bytes\)$/);
    expect(error('lmtp: { path: /run/lmtp }')).toBe('mailroom.yaml: lmtp.path: unknown key (expected one of: port, socket)');
  });
});
