// The pure POP3 pieces: line reader (split at every position), command parser
// table, the RETR/TOP byte transforms (split at every position), SASL decoding, UIDL.
import { describe, expect, it } from 'vitest';
import { LineReader, type LineEvent } from '../protocol/pop3/line-reader.js';
import { parseCommand } from '../protocol/pop3/commands.js';
import { multiLineBody, topOf, wholeMultiLine } from '../protocol/pop3/message-stream.js';
import { decodeBase64, parsePlain } from '../protocol/pop3/sasl.js';
import { uidl } from '../protocol/pop3/uidl.js';

function show(events: LineEvent[]): string[] {
  return events.map((e) => (e.kind === 'line' ? e.line.toString('latin1') : '<overlong>'));
}

function feed(max: number, chunks: Buffer[]): string[] {
  const r = new LineReader(max);
  return chunks.flatMap((c) => show(r.push(c)));
}

async function collect(gen: AsyncIterable<Buffer>): Promise<string> {
  const out: Buffer[] = [];
  for await (const b of gen) out.push(b);
  return Buffer.concat(out).toString('latin1');
}

async function* chunks(...parts: string[]): AsyncGenerator<Buffer> {
  for (const p of parts) yield Buffer.from(p, 'latin1');
}

describe('LineReader', () => {
  const input = Buffer.from(`USER a\r\nPASS b c\nNOOP\r\n${'x'.repeat(20)}\r\n${'y'.repeat(10)}\r\n\r\nLAST`);
  const want = ['USER a', 'PASS b c', 'NOOP', '<overlong>', 'y'.repeat(10), ''];

  it('splits lines, accepts bare LF, reports an overlong line once, keeps a partial line', () => {
    expect(feed(10, [input])).toEqual(want);
  });

  it('gives the same lines however the input is split', () => {
    for (let a = 0; a <= input.length; a++) {
      for (let b = a; b <= input.length; b += 7) {
        expect(feed(10, [input.subarray(0, a), input.subarray(a, b), input.subarray(b)]), `split at ${a}/${b}`).toEqual(want);
      }
    }
    expect(feed(10, [...input].map((x) => Buffer.from([x])))).toEqual(want);
  });

  it('the limit counts content, not the CRLF, even when the CR ends a chunk', () => {
    expect(feed(4, [Buffer.from('abcd\r'), Buffer.from('\nabcde\r\n')])).toEqual(['abcd', '<overlong>']);
    expect(feed(4, [Buffer.from('abcd'), Buffer.from('\r'), Buffer.from('\n')])).toEqual(['abcd']);
  });

  it('never holds much more than the limit for an endless line', () => {
    const r = new LineReader(100);
    for (let i = 0; i < 1000; i++) expect(r.push(Buffer.alloc(1000, 0x61))).toEqual([]);
    expect(show(r.push(Buffer.from('\r\nNOOP\r\n')))).toEqual(['<overlong>', 'NOOP']);
  });

  it('reset forgets a partial line', () => {
    const r = new LineReader(100);
    r.push(Buffer.from('USER ev'));
    r.reset();
    expect(show(r.push(Buffer.from('il\r\n')))).toEqual(['il']);
  });
});

describe('parseCommand', () => {
  const table: [string, unknown][] = [
    ['USER alice', { name: 'USER', user: 'alice' }],
    ['user alice', { name: 'USER', user: 'alice' }],
    ['PASS with spaces  ', { name: 'PASS', password: 'with spaces  ' }],
    ['STAT', { name: 'STAT' }],
    ['LIST', { name: 'LIST' }],
    ['LIST 7', { name: 'LIST', msg: 7 }],
    ['UIDL 12', { name: 'UIDL', msg: 12 }],
    ['RETR 1', { name: 'RETR', msg: 1 }],
    ['DELE 2', { name: 'DELE', msg: 2 }],
    ['TOP 3 0', { name: 'TOP', msg: 3, lines: 0 }],
    ['NOOP', { name: 'NOOP' }],
    ['RSET', { name: 'RSET' }],
    ['QUIT', { name: 'QUIT' }],
    ['CAPA', { name: 'CAPA' }],
    ['STLS', { name: 'STLS' }],
    ['AUTH', { name: 'AUTH' }],
    ['AUTH plain', { name: 'AUTH', mechanism: 'PLAIN' }],
    ['AUTH PLAIN AGEAYg==', { name: 'AUTH', mechanism: 'PLAIN', initialResponse: 'AGEAYg==' }],
  ];
  for (const [line, command] of table) it(line, () => expect(parseCommand(line)).toEqual({ ok: true, command }));

  it('refuses bad arguments and unknown keywords without throwing', () => {
    for (const line of ['RETR', 'RETR x', 'RETR 1 2', 'RETR +1', 'RETR 1e3', 'TOP 1', 'LIST a', 'USER', 'USER a b', 'PASS', 'STAT x', 'AUTH A B C', `RETR ${'9'.repeat(40)}`]) {
      expect(parseCommand(line)).toMatchObject({ ok: false, error: 'syntax' });
    }
    for (const line of ['', 'APOP a b', 'LAST', '\u0000', 'é']) expect(parseCommand(line)).toMatchObject({ ok: false, error: 'unknown' });
  });
});

describe('multiLineBody', () => {
  const cases: [string, string][] = [
    ['a\nb\n', 'a\r\nb\r\n.\r\n'],
    ['a\r\nb\r\n', 'a\r\nb\r\n.\r\n'],
    ['.\n..\n.x\n', '..\r\n...\r\n..x\r\n.\r\n'],
    ['x.\n.', 'x.\r\n..\r\n.\r\n'],
    ['no newline', 'no newline\r\n.\r\n'],
    ['ends in CR\r', 'ends in CR\r\n.\r\n'],
    ['bare\rCR\n', 'bare\rCR\r\n.\r\n'],
    ['', '.\r\n'],
    ['\n\n', '\r\n\r\n.\r\n'],
  ];
  for (const [input, want] of cases) {
    it(JSON.stringify(input), async () => {
      expect(await collect(multiLineBody(chunks(input)))).toBe(want);
      // split at every position, and byte by byte
      for (let i = 0; i <= input.length; i++) expect(await collect(multiLineBody(chunks(input.slice(0, i), input.slice(i))))).toBe(want);
      expect(await collect(multiLineBody(chunks(...input.split(''))))).toBe(want);
    });
  }

  for (const [input, want] of cases) {
    it(`whole in memory: ${JSON.stringify(input)}`, () => {
      expect(wholeMultiLine('+OK x\r\n', Buffer.from(input, 'latin1')).toString('latin1')).toBe('+OK x\r\n' + want);
    });
  }

  it('whole in memory gives what the streamed transform gives, on random mixes of CR, LF, dots and 8-bit bytes', async () => {
    const alphabet = ['\n', '\r', '.', 'a', '\xe9', '\r\n', '\n.'];
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    for (let k = 0; k < 500; k++) {
      let input = '';
      for (let n = rand(30); n > 0; n--) input += alphabet[rand(alphabet.length)];
      const want = await collect(multiLineBody(chunks(input)));
      expect(wholeMultiLine('', Buffer.from(input, 'latin1')).toString('latin1'), JSON.stringify(input)).toBe(want);
    }
  });

  it('passes a chunk that needs no change through without copying', async () => {
    const b = Buffer.from('a\r\nb\r\n');
    const it = multiLineBody((async function* () { yield b; })())[Symbol.asyncIterator]();
    expect((await it.next()).value).toBe(b);
  });
});

describe('topOf', () => {
  const msg = 'H: 1\r\nH: 2\n\nb1\r\nb2\nb3\n';
  const cases: [string, number, string][] = [
    [msg, 0, 'H: 1\r\nH: 2\n\n'],
    [msg, 2, 'H: 1\r\nH: 2\n\nb1\r\nb2\n'],
    [msg, 10, msg],
    ['H: 1\r\n\r\nbody', 0, 'H: 1\r\n\r\n'],
    ['H: 1\r\n\r\nbody', 1, 'H: 1\r\n\r\nbody'],
    ['only header\n', 0, 'only header\n'],
    ['\nbody\nmore\n', 1, '\nbody\n'],
  ];
  for (const [input, n, want] of cases) {
    it(`${JSON.stringify(input)} ${n}`, async () => {
      expect(await collect(topOf(chunks(input), n))).toBe(want);
      for (let i = 0; i <= input.length; i++) expect(await collect(topOf(chunks(input.slice(0, i), input.slice(i)), n))).toBe(want);
      expect(await collect(topOf(chunks(...input.split('')), n))).toBe(want);
    });
  }

  it('stops pulling from the source once enough lines were sent', async () => {
    let pulled = 0;
    async function* source() {
      for (let i = 0; i < 1000; i++) {
        pulled++;
        yield Buffer.from(i === 0 ? 'H: x\n\n' : 'line\n');
      }
    }
    expect(await collect(topOf(source(), 2))).toBe('H: x\n\nline\nline\n');
    expect(pulled).toBe(3);
  });
});

describe('SASL', () => {
  it('decodes strict base64 and "=" as empty', () => {
    expect(decodeBase64('YWI=')?.toString()).toBe('ab');
    expect(decodeBase64('=')?.length).toBe(0);
    for (const bad of ['YWI', 'Y W=', 'YWI=YWI=', '!!!!']) expect(decodeBase64(bad)).toBeUndefined();
  });

  it('parses PLAIN and refuses acting for someone else', () => {
    expect(parsePlain(Buffer.from('\0a@b\0pw'))).toEqual({ identity: 'a@b', password: 'pw' });
    expect(parsePlain(Buffer.from('a@b\0a@b\0pw'))).toEqual({ identity: 'a@b', password: 'pw' });
    for (const bad of ['c@d\0a@b\0pw', '\0a@b', '\0\0pw', '\0a@b\0', '\0a\0b\0c']) expect(parsePlain(Buffer.from(bad))).toBeUndefined();
  });
});

describe('uidl', () => {
  it('is Dovecot %08Xu%08Xv: UID then UIDVALIDITY, lower-case hex, at least 8 digits each', () => {
    expect(uidl(1700000000, 1)).toBe('00000001' + (1700000000).toString(16));
    expect(uidl(0xfffffffe, 0xabc)).toBe('00000abcfffffffe');
  });
});
