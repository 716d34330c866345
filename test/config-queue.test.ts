// The queue: and routes: sections of mailroom.yaml.
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../src/config/load.js';
import { DEFAULT_QUEUE, parseRoute } from '../src/config/schema.js';
import { ConfigError } from '../src/errors.js';

const parse = (text: string) => parseConfigText(text, 'mailroom.yaml', '/srv');
const error = (text: string) => {
  try {
    parse(text);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).message;
  }
  throw new Error('no error');
};

describe('queue and routes configuration', () => {
  it('defaults: 7-day lifetime, qmail steps 10/20, no routes', () => {
    const c = parse('');
    expect(c.queue).toEqual(DEFAULT_QUEUE);
    expect(c.queue.lifetimeSeconds).toBe(604_800);
    expect(c.routes).toEqual({});
  });

  it('reads every key', () => {
    const c = parse(
      [
        'queue: { lifetimeSeconds: 86400, retryLocal: 5, retryRemote: 30, concurrency: 4, perDestination: 2, scanIntervalSeconds: 3, inlineDelivery: 0 }',
        'routes:',
        '  example.net: "127.0.0.1:2626"',
        '  Other.Example.: mx.other.example',
        '  "v6.example": "[::1]:2525"',
        '  "*": smarthost.example:587',
      ].join('\n'),
    );
    expect(c.queue).toEqual({ lifetimeSeconds: 86400, retryLocal: 5, retryRemote: 30, concurrency: 4, perDestination: 2, scanIntervalSeconds: 3, inlineDelivery: 0 });
    expect(c.routes).toEqual({
      'example.net': { host: '127.0.0.1', port: 2626 },
      'other.example': { host: 'mx.other.example', port: 25 },
      'v6.example': { host: '::1', port: 2525 },
      '*': { host: 'smarthost.example', port: 587 },
    });
  });

  it.each([
    ['queue: { lifetime: 3 }', 'mailroom.yaml: queue.lifetime: unknown key (expected one of: lifetimeSeconds, retryLocal, retryRemote, concurrency, perDestination, scanIntervalSeconds, inlineDelivery)'],
    ['queue: { lifetimeSeconds: 10 }', 'mailroom.yaml: queue.lifetimeSeconds: must be a whole number from 60 to 31536000'],
    ['queue: { concurrency: 0 }', 'mailroom.yaml: queue.concurrency: must be a whole number from 1 to 10000'],
    ['queue: 5', 'mailroom.yaml: queue: must be a mapping (key: value)'],
    ['routes: [a]', 'mailroom.yaml: routes: must be a mapping (key: value)'],
    ['routes: { "exa mple.net": "127.0.0.1" }', 'mailroom.yaml: routes.exa mple.net: the key must be a domain such as example.net, or "*" for every other domain'],
    ['routes: { example.net: "127.0.0.1:99999" }', 'mailroom.yaml: routes.example.net: must be "host" or "host:port", e.g. "127.0.0.1:2626", "mx.example.net" or "[::1]:25"'],
    ['routes: { example.net: 25 }', 'mailroom.yaml: routes.example.net: must be a non-empty string'],
  ])('%s is refused in one line', (text, message) => {
    expect(error(text)).toBe(message);
  });

  it('parseRoute', () => {
    expect(parseRoute('mx.example.net')).toEqual({ host: 'mx.example.net', port: 25 });
    expect(parseRoute('[2001:db8::1]:26')).toEqual({ host: '2001:db8::1', port: 26 });
    expect(parseRoute('2001:db8::1')).toBeNull(); // ambiguous without brackets
    expect(parseRoute('host:0')).toBeNull();
    expect(parseRoute('bad_host:25')).toBeNull();
  });
});
