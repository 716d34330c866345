// The resumable reader: literals of both kinds, the "+" decision, APPEND
// streaming without buffering, every limit, and hostile input. Each wire
// script runs whole, byte by byte and split at every position (runAll).
import { describe, expect, it } from 'vitest';
import { ImapParseError } from '../protocol/imap/errors.js';
import { CommandReader, READER_DEFAULTS, type ReaderEvent } from '../protocol/imap/reader.js';
import { run, runAll } from './imap-harness.js';

const noop = (tag: string) => ({ type: 'command', tag, command: { name: 'NOOP' } });

describe('synchronizing literals {n}', () => {
  it('asks before each literal and collects them', () => {
    expect(runAll('a LOGIN {3}\r\njoe {8}\r\nse cr\r\nt\r\n')).toEqual([
      { type: 'literal-request', tag: 'a', key: 'LOGIN', size: 3, append: false },
      { type: 'literal-request', tag: 'a', key: 'LOGIN', size: 8, append: false },
      { type: 'command', tag: 'a', command: { name: 'LOGIN', username: 'joe', password: 'se cr\r\nt' } },
    ]);
  });

  it('handles empty literals and literals in lists', () => {
    expect(runAll('a UID FETCH 1 (BODY[HEADER.FIELDS ({4}\r\nFrom {0}\r\n)])\r\n')).toEqual([
      { type: 'literal-request', tag: 'a', key: 'UID FETCH', size: 4, append: false },
      { type: 'literal-request', tag: 'a', key: 'UID FETCH', size: 0, append: false },
      {
        type: 'command',
        tag: 'a',
        command: { name: 'FETCH', uid: true, set: [{ from: 1, to: 1 }], items: [{ type: 'BODY[]', peek: false, section: { part: [], spec: { kind: 'header.fields', not: false, fields: ['From', ''] } } }] },
      },
    ]);
  });

  it('a SEARCH string literal is decoded with the CHARSET', () => {
    expect(runAll('a SEARCH CHARSET UTF-8 SUBJECT {8}\r\nr\xc3\xa9sum\xc3\xa9\r\n')).toEqual([
      { type: 'literal-request', tag: 'a', key: 'SEARCH', size: 8, append: false },
      { type: 'command', tag: 'a', command: { name: 'SEARCH', uid: false, charset: 'UTF-8', key: { type: 'header', field: 'Subject', value: 'résumé' } } },
    ]);
  });

  it('does not ask when the command is already invalid, and the next line is a new command', () => {
    expect(runAll('a FOO {5}\r\nb NOOP\r\n')).toEqual([{ type: 'error', kind: 'BAD', tag: 'a', text: 'Unknown command FOO' }, noop('b')]);
    expect(runAll('a NOOP {5}\r\nb NOOP\r\n')).toEqual([
      { type: 'error', kind: 'BAD', tag: 'a', text: 'Error in IMAP command NOOP: Unexpected extra arguments' },
      noop('b'),
    ]);
    // the "literal" is inside an unterminated quoted string: not a literal at all
    expect(runAll('a LOGIN "x {3}\r\nb NOOP\r\n')).toEqual([
      { type: 'error', kind: 'BAD', tag: 'a', text: 'Error in IMAP command LOGIN: Unterminated quoted string' },
      noop('b'),
    ]);
    expect(runAll('a FETCH 1 {3}\r\nb NOOP\r\n')[0]).toMatchObject({ type: 'error', kind: 'BAD', tag: 'a' });
  });

  it('the session may refuse; the refused literal is never read', () => {
    const ev = runAll('a LOGIN {3}\r\nb NOOP\r\n', { literal: () => 'reject' });
    expect(ev).toEqual([
      { type: 'literal-request', tag: 'a', key: 'LOGIN', size: 3, append: false },
      { type: 'error', kind: 'BAD', tag: 'a', text: 'Literal refused' },
      noop('b'),
    ]);
  });

  it('waits for the decision and reads nothing meanwhile', () => {
    const r = new CommandReader();
    r.push(Buffer.from('a LOGIN {3}\r\njoe x\r\n'));
    expect(r.next()).toMatchObject({ type: 'literal-request', size: 3 });
    expect(r.awaitingLiteralDecision).toBe(true);
    expect(r.next()).toBeNull();
    expect(r.pendingInput).toBe(7);
    r.rejectLiteral(new ImapParseError({ kind: 'NO', text: 'Not now' }));
    expect(r.next()).toMatchObject({ type: 'error', error: { kind: 'NO', tag: 'a', text: 'Not now' } });
    expect(r.next()).toMatchObject({ type: 'error', error: { kind: 'BAD', tag: 'joe' } });
    expect(() => r.acceptLiteral()).toThrow(/no literal/);
  });

  it('a literal larger than maxLiteralSize is refused with BAD [TOOBIG] without asking', () => {
    expect(runAll('a LOGIN {70000}\r\nb NOOP\r\n')).toEqual([
      { type: 'error', kind: 'BAD', code: 'TOOBIG', tag: 'a', text: 'Literal of 70000 octets is larger than the limit of 65536' },
      noop('b'),
    ]);
  });

  it('a literal with NUL is refused (CHAR8 excludes it)', () => {
    expect(runAll('a LOGIN {3}\r\na\x00b x\r\n')).toEqual([
      { type: 'literal-request', tag: 'a', key: 'LOGIN', size: 3, append: false },
      { type: 'error', kind: 'BAD', tag: 'a', text: 'Error in IMAP command LOGIN: NUL in literal' },
    ]);
  });
});

describe('non-synchronizing literals {n+} (RFC 7888)', () => {
  it('are read without asking', () => {
    expect(runAll('a LOGIN {3+}\r\njoe {6+}\r\nsecret\r\nb NOOP\r\n')).toEqual([
      { type: 'command', tag: 'a', command: { name: 'LOGIN', username: 'joe', password: 'secret' } },
      noop('b'),
    ]);
  });

  it('of an invalid command are skipped, so their bytes are not taken as commands', () => {
    // the literal is "b LOGOUT\r\n"; the empty line after it ends command a
    expect(runAll('a FOO {10+}\r\nb LOGOUT\r\n\r\nc NOOP\r\n')).toEqual([
      { type: 'error', kind: 'BAD', tag: 'a', text: 'Unknown command FOO' },
      noop('c'),
    ]);
  });

  it('larger than we accept end the connection with BYE [TOOBIG]', () => {
    const ev = runAll('a LOGIN {70000+}\r\nxxxx\r\nb NOOP\r\n');
    expect(ev).toEqual([{ type: 'error', kind: 'BYE', code: 'TOOBIG', text: 'Literal of 70000 octets is larger than the limit of 65536' }]);
    const r = new CommandReader();
    r.feed(Buffer.from('a LOGIN {99999999999999999999+}\r\n'));
    expect(r.closed).toBe(true);
    expect(r.feed(Buffer.from('b NOOP\r\n'))).toEqual([]);
  });

  it('the total of one command is bounded by maxCommandSize', () => {
    const wire = `a SEARCH ${'TEXT {10+}\r\n0123456789 '.repeat(20)}ALL\r\nb NOOP\r\n`;
    const ev = runAll(wire, { maxCommandSize: 200 });
    // refused on the line that crosses the limit; the remaining {10+} literals are skipped, not run as commands
    expect(ev).toEqual([{ type: 'error', kind: 'BAD', code: 'LIMIT', tag: 'a', text: 'Command too long (limit 200 octets)' }, noop('b')]);
    const sync = runAll(`a SEARCH ${'TEXT {10}\r\n0123456789 '.repeat(20)}ALL\r\nb NOOP\r\n`, { maxCommandSize: 200 });
    expect(sync.filter((e) => e.type === 'literal-request').length).toBeGreaterThan(3);
    // refused before its "+": (this script then sends the literal anyway, which a real client would not)
    expect(sync.find((e) => e.type === 'error')).toMatchObject({ type: 'error', kind: 'BAD', code: 'TOOBIG', tag: 'a' });
  });
});

describe('literal count', () => {
  it('more than maxLiteralsPerCommand literals are refused, the rest of the command skipped', () => {
    const sync = run([Buffer.from(`a SEARCH ${'TEXT {1}\r\nx '.repeat(4)}ALL\r\nb NOOP\r\n`)], { maxLiteralsPerCommand: 3 });
    expect(sync.filter((e) => e.type === 'literal-request')).toHaveLength(3);
    expect(sync.find((e) => e.type === 'error')).toEqual({ type: 'error', kind: 'BAD', code: 'LIMIT', tag: 'a', text: 'More than 3 literals in one command' });
    const nonSync = runAll(`a SEARCH ${'TEXT {1+}\r\nx '.repeat(5)}ALL\r\nb NOOP\r\n`, { maxLiteralsPerCommand: 3 });
    expect(nonSync).toEqual([{ type: 'error', kind: 'BAD', code: 'LIMIT', tag: 'a', text: 'More than 3 literals in one command' }, noop('b')]);
    const ok = runAll(`a SEARCH ${'TEXT {1+}\r\nx '.repeat(3)}ALL\r\n`, { maxLiteralsPerCommand: 3 });
    expect(ok[0]).toMatchObject({ type: 'command', tag: 'a' });
  });
});

describe('APPEND streams its message literal', () => {
  it('asks with append: true and hands out the bytes, then the command', () => {
    expect(runAll('a APPEND {5}\r\nDraft (\\Draft) {12}\r\nHello\r\nWorld\r\nb NOOP\r\n')).toEqual([
      { type: 'literal-request', tag: 'a', key: 'APPEND', size: 5, append: false },
      { type: 'literal-request', tag: 'a', key: 'APPEND', size: 12, append: true },
      { type: 'append-start', tag: 'a', size: 12, header: { mailbox: 'Draft', flags: ['\\Draft'] } },
      { type: 'append-data', data: 'Hello\r\nWorld' },
      { type: 'append-literal-end' },
      { type: 'command', tag: 'a', command: { name: 'APPEND', mailbox: 'Draft', flags: ['\\Draft'], size: 12 } },
      noop('b'),
    ]);
  });

  it('an empty message literal', () => {
    expect(runAll('a APPEND INBOX {0+}\r\n\r\n')).toEqual([
      { type: 'append-start', tag: 'a', size: 0, header: { mailbox: 'INBOX', flags: [] } },
      { type: 'append-literal-end' },
      { type: 'command', tag: 'a', command: { name: 'APPEND', mailbox: 'INBOX', flags: [], size: 0 } },
    ]);
  });

  it('garbage after the message makes the APPEND fail (the session then discards it)', () => {
    expect(runAll('a APPEND INBOX {2+}\r\nhi there\r\n')).toEqual([
      { type: 'append-start', tag: 'a', size: 2, header: { mailbox: 'INBOX', flags: [] } },
      { type: 'append-data', data: 'hi' },
      { type: 'append-literal-end' },
      { type: 'error', kind: 'BAD', tag: 'a', text: 'Error in IMAP command APPEND: Unexpected extra arguments' },
    ]);
  });

  it('a header error is found before the "+" is sent', () => {
    expect(runAll('a APPEND INBOX (\\Recent) {5}\r\nb NOOP\r\n')).toEqual([
      { type: 'error', kind: 'BAD', tag: 'a', text: 'Error in IMAP command APPEND: \\Recent cannot be set' },
      noop('b'),
    ]);
  });

  it('over APPENDLIMIT: NO [TOOBIG] when synchronizing (RFC 7889), BYE when not', () => {
    expect(runAll('a APPEND INBOX {1001}\r\nb NOOP\r\n', { appendLimit: 1000 })).toEqual([
      { type: 'error', kind: 'NO', code: 'TOOBIG', tag: 'a', text: 'Literal of 1001 octets is larger than the limit of 1000' },
      noop('b'),
    ]);
    expect(runAll('a APPEND INBOX {1001+}\r\nb NOOP\r\n', { appendLimit: 1000 })).toEqual([
      { type: 'error', kind: 'BYE', code: 'TOOBIG', text: 'Literal of 1001 octets is larger than the limit of 1000' },
    ]);
  });

  it('streams a 50 MiB message without buffering it', () => {
    const size = READER_DEFAULTS.appendLimit;
    const r = new CommandReader();
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    let peak = 0;
    let streamed = 0;
    const seen: string[] = [];
    const drain = (): void => {
      for (let ev = r.next(); ev !== null; ev = r.next()) {
        peak = Math.max(peak, r.bufferedBytes);
        if (ev.type === 'append-chunk') streamed += ev.data.length;
        else seen.push(ev.type);
        if (ev.type === 'literal-request') r.acceptLiteral();
      }
    };
    r.push(Buffer.from(`a APPEND INBOX {${size}}\r\n`));
    drain();
    for (let left = size; left > 0; left -= chunk.length) {
      r.push(left >= chunk.length ? chunk : chunk.subarray(0, left));
      drain();
      peak = Math.max(peak, r.bufferedBytes);
    }
    r.push(Buffer.from('\r\n'));
    drain();
    expect(streamed).toBe(size);
    expect(seen).toEqual(['literal-request', 'append-start', 'append-literal-end', 'command']);
    expect(peak).toBeLessThan(1024);
  });

  it('abortCommand() skips the rest of the message and reports once at its end', () => {
    const r = new CommandReader();
    const events: ReaderEvent[] = [];
    r.push(Buffer.from('a APPEND INBOX {10+}\r\n0123'));
    for (let ev = r.next(); ev !== null; ev = r.next()) {
      events.push(ev);
      if (ev.type === 'append-chunk') r.abortCommand(new ImapParseError({ kind: 'NO', text: 'Over quota' }));
    }
    r.push(Buffer.from('456789\r\nb NOOP\r\n'));
    for (let ev = r.next(); ev !== null; ev = r.next()) events.push(ev);
    expect(events.map((e) => e.type)).toEqual(['append-start', 'append-chunk', 'error', 'command']);
    expect(events[2]).toMatchObject({ type: 'error', error: { kind: 'NO', tag: 'a', text: 'Over quota' } });
  });
});

describe('limits', () => {
  it('a line over maxLineLength is refused with a tagged BAD [LIMIT] and the next command is read', () => {
    const long = `a SELECT ${'x'.repeat(150)}\r\nb NOOP\r\n`;
    expect(runAll(long, { maxLineLength: 100 })).toEqual([
      { type: 'error', kind: 'BAD', code: 'LIMIT', tag: 'a', text: 'Command line too long (limit 100 octets)' },
      noop('b'),
    ]);
    // exactly at the limit is fine
    const exact = `a SELECT ${'x'.repeat(100 - 9)}\r\n`;
    expect(runAll(exact, { maxLineLength: 100 })[0]).toMatchObject({ type: 'command' });
  });

  it('a too long line ending in a non-synchronizing literal skips that literal too', () => {
    const wire = `a LOGIN ${'x'.repeat(150)} {9+}\r\nb LOGOUT\r\n\r\nc NOOP\r\n`;
    expect(runAll(wire, { maxLineLength: 100 })).toEqual([
      { type: 'error', kind: 'BAD', code: 'LIMIT', tag: 'a', text: 'Command line too long (limit 100 octets)' },
      noop('c'),
    ]);
    expect(runAll(`a LOGIN ${'x'.repeat(150)} {999999999+}\r\n`, { maxLineLength: 100 })).toEqual([
      { type: 'error', kind: 'BYE', code: 'TOOBIG', text: 'Literal of 999999999 octets is larger than the limit of 52428800' },
    ]);
  });

  it('a 10 MB line is discarded as it arrives, not buffered', () => {
    const r = new CommandReader();
    const chunk = Buffer.alloc(64 * 1024, 0x78);
    let peak = 0;
    const events: ReaderEvent[] = [];
    r.push(Buffer.from('a1 SEARCH TEXT '));
    for (let sent = 0; sent < 10 * 1024 * 1024; sent += chunk.length) {
      r.push(chunk);
      for (let ev = r.next(); ev !== null; ev = r.next()) events.push(ev);
      peak = Math.max(peak, r.bufferedBytes + r.pendingInput);
    }
    r.push(Buffer.from('\r\na2 NOOP\r\n'));
    for (let ev = r.next(); ev !== null; ev = r.next()) events.push(ev);
    expect(peak).toBeLessThanOrEqual(READER_DEFAULTS.maxLineLength);
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({ type: 'error', error: { kind: 'BAD', code: 'LIMIT', tag: 'a1' } });
    expect(events[1]).toMatchObject({ type: 'command', tag: 'a2', command: { name: 'NOOP' } });
  });

  it('nesting deeper than maxDepth is refused with BAD [LIMIT]', () => {
    const nest = (n: number) => `a SEARCH ${'('.repeat(n)}ALL${')'.repeat(n)}\r\n`;
    expect(runAll(nest(32))).toEqual([{ type: 'command', tag: 'a', command: { name: 'SEARCH', uid: false, key: { type: 'all' } } }]);
    expect(runAll(nest(33))).toEqual([
      { type: 'error', kind: 'BAD', code: 'LIMIT', tag: 'a', text: 'Error in IMAP command SEARCH: Too deeply nested (more than 32 levels)' },
    ]);
    expect(runAll(nest(3), { maxDepth: 2 })[0]).toMatchObject({ type: 'error', code: 'LIMIT' });
  });

  it('long NOT/OR chains count as nesting (no stack overflow)', () => {
    const ev = run([Buffer.from(`a SEARCH ${'NOT '.repeat(15000)}ALL\r\n`)]);
    expect(ev).toEqual([{ type: 'error', kind: 'BAD', code: 'LIMIT', tag: 'a', text: 'Error in IMAP command SEARCH: Too deeply nested (more than 32 levels)' }]);
    const ev2 = run([Buffer.from(`a SEARCH ${'OR ALL '.repeat(9000)}ALL\r\n`)]);
    expect(ev2[0]).toMatchObject({ type: 'error', code: 'LIMIT' });
  });
});

describe('hostile and odd input', () => {
  it('unbalanced parentheses', () => {
    for (const wire of ['a FETCH 1 (FLAGS (UID)\r\n', 'a FETCH 1 (FLAGS))\r\n', 'a SEARCH ((ALL)\r\n', 'a SEARCH ALL)\r\n', 'a STORE 1 FLAGS (\\Seen\r\n', 'a STATUS INBOX MESSAGES)\r\n']) {
      const ev = runAll(wire);
      expect(ev).toHaveLength(1);
      expect(ev[0]).toMatchObject({ type: 'error', kind: 'BAD', tag: 'a' });
    }
  });

  it('random garbage never throws and the reader recovers at the next line', () => {
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const alphabet = Buffer.from('a1 {}()[]<>"\\*%+-.:,\r\n\x00\xff UID FETCH APPEND LOGIN BODY[ NIL 5 {3} {2+}');
    let closed = 0;
    for (let round = 0; round < 300; round++) {
      const len = 1 + rand(120);
      const garbage = Buffer.alloc(len);
      for (let i = 0; i < len; i++) garbage[i] = rand(3) === 0 ? rand(256) : alphabet[rand(alphabet.length)];
      const r = new CommandReader({ maxLineLength: 200, maxLiteralSize: 50, appendLimit: 100 });
      const events: ReaderEvent[] = [];
      // random chunking
      let off = 0;
      while (off < len) {
        const n = 1 + rand(len - off);
        r.push(garbage.subarray(off, off + n));
        off += n;
        for (let ev = r.next(); ev !== null; ev = r.next()) {
          events.push(ev);
          if (ev.type === 'literal-request') r.acceptLiteral();
        }
      }
      // finish whatever is pending (a literal, a line), then a command must come through
      r.push(Buffer.from(`${'x'.repeat(110)}\r\n\r\nz NOOP\r\n`));
      for (let ev = r.next(); ev !== null; ev = r.next()) {
        events.push(ev);
        if (ev.type === 'literal-request') r.acceptLiteral();
      }
      for (const e of events) expect(['command', 'error', 'done', 'literal-request', 'append-start', 'append-chunk', 'append-literal-end']).toContain(e.type);
      if (!r.closed) expect(events.at(-1)).toEqual({ type: 'command', tag: 'z', command: { name: 'NOOP' } });
      else closed++;
    }
    expect(closed).toBeLessThan(300); // most rounds must exercise recovery, not just BYE
  });

  it('DONE is reported on its own (it ends IDLE)', () => {
    expect(runAll('a IDLE\r\ndone\r\nb NOOP\r\n')).toEqual([
      { type: 'command', tag: 'a', command: { name: 'IDLE' } },
      { type: 'done' },
      noop('b'),
    ]);
  });

  it('expectLine() reads the next line raw (AUTHENTICATE continuation)', () => {
    const r = new CommandReader();
    r.push(Buffer.from('a AUTHENTICATE PLAIN\r\nAGpvZQBzZWNyZXQ=\r\nb NOOP\r\n'));
    expect(r.next()).toMatchObject({ type: 'command', command: { name: 'AUTHENTICATE', mechanism: 'PLAIN' } });
    r.expectLine();
    expect(r.next()).toEqual({ type: 'line', text: 'AGpvZQBzZWNyZXQ=' });
    expect(r.next()).toEqual({ type: 'command', tag: 'b', command: { name: 'NOOP' } });
  });

  it('discardInput() drops what was pipelined after STARTTLS (CVE-2011-0411)', () => {
    const r = new CommandReader();
    r.push(Buffer.from('a STARTTLS\r\nb LOGIN joe {6+}\r\nsecret\r\n'));
    expect(r.next()).toMatchObject({ type: 'command', command: { name: 'STARTTLS' } });
    r.discardInput();
    expect(r.next()).toBeNull();
    r.push(Buffer.from('c NOOP\r\n'));
    expect(r.next()).toEqual({ type: 'command', tag: 'c', command: { name: 'NOOP' } });
  });
});
