// Modified UTF-7, sequence sets and the command table.
import { describe, expect, it } from 'vitest';
import { COMMAND_TABLE, isAllowedIn, type SessionState } from '../protocol/imap/command-table.js';
import type { CommandKey } from '../protocol/imap/commands.js';
import { decodeMutf7, encodeMutf7 } from '../protocol/imap/mutf7.js';
import { formatSequenceSet, parseSequenceSet, resolveSequenceSet, sequenceSetHas } from '../protocol/imap/sequence-set.js';

describe('modified UTF-7 (RFC 3501 5.1.3)', () => {
  const PAIRS: [string, string][] = [
    ['INBOX', 'INBOX'],
    ['A & B', 'A &- B'],
    ['Entwürfe', 'Entw&APw-rfe'],
    ['日本語', '&ZeVnLIqe-'],
    ['~peter/mail/台北/日本語', '~peter/mail/&U,BTFw-/&ZeVnLIqe-'], // the RFC's own example
    ['😀', '&2D3eAA-'],
    ['Ünïcödé & co', '&ANw-n&AO8-c&APY-d&AOk- &- co'],
    ['', ''],
  ];
  for (const [unicode, wire] of PAIRS) {
    it(`${JSON.stringify(unicode)} ⇄ ${wire}`, () => {
      expect(encodeMutf7(unicode)).toBe(wire);
      expect(decodeMutf7(wire)).toBe(unicode);
    });
  }

  it('refuses everything that is not the one valid spelling', () => {
    for (const bad of [
      '&', // unterminated
      '&Jjo', // unterminated
      '&AGE-', // encodes "a", which must be written directly
      '&AP-', // stray bits
      '&APw', // no "-"
      '&AP/8-', // "/" instead of ","
      '&APw=-', // padding
      '&2D0-', // lone high surrogate
      '&3gA-', // lone low surrogate
      '&AA-', // half a code unit
      'caf\xe9', // raw 8-bit
      'a\tb', // control
      'a\x7fb',
    ]) {
      expect(decodeMutf7(bad), bad).toBeNull();
    }
  });

  it('round-trips arbitrary strings', () => {
    const samples = ['a/b/c', 'Привет мир', 'x&y&&z', 'mixed ascii 中文 and more 中文', '\u00e9\u00e9', 'end&'];
    for (const s of samples) expect(decodeMutf7(encodeMutf7(s))).toBe(s);
  });
});

describe('sequence sets', () => {
  it('parses and formats', () => {
    expect(parseSequenceSet('1:3,7,9:*,*')).toEqual([
      { from: 1, to: 3 },
      { from: 7, to: 7 },
      { from: 9, to: '*' },
      { from: '*', to: '*' },
    ]);
    expect(formatSequenceSet(parseSequenceSet('4:2,*:1,5') ?? [])).toBe('4:2,*:1,5');
    for (const bad of ['', '0', '1:', ':1', '1,,2', '1:2:3', '01', 'a', '4294967296', '1:0']) expect(parseSequenceSet(bad), bad).toBeNull();
    expect(parseSequenceSet('4294967295')).toEqual([{ from: 4294967295, to: 4294967295 }]);
  });

  it('resolves "*" against the largest number, sorts and merges', () => {
    const set = parseSequenceSet('9:*,1:3,2,4,*:20') ?? [];
    expect(resolveSequenceSet(set, 12)).toEqual([
      { from: 1, to: 4 },
      { from: 9, to: 20 },
    ]);
    // "3:*" on an empty mailbox: "*" is 0, the range is 0..3, clipped at 1
    expect(resolveSequenceSet(parseSequenceSet('*') ?? [], 0)).toEqual([]);
    expect(sequenceSetHas(parseSequenceSet('5:*') ?? [], 4, 4)).toBe(true); // 5:* with max 4 is 4:5
    expect(sequenceSetHas(parseSequenceSet('5:*') ?? [], 3, 4)).toBe(false);
    expect(sequenceSetHas(parseSequenceSet('1,3') ?? [], 2, 10)).toBe(false);
  });
});

describe('command table', () => {
  const states: SessionState[] = ['not-authenticated', 'authenticated', 'selected', 'logout'];
  const allowed = (key: CommandKey) => states.filter((s) => isAllowedIn(key, s));

  it('places each command in its RFC 3501 states', () => {
    expect(allowed('CAPABILITY')).toEqual(['not-authenticated', 'authenticated', 'selected']);
    expect(allowed('LOGIN')).toEqual(['not-authenticated']);
    expect(allowed('AUTHENTICATE')).toEqual(['not-authenticated']);
    expect(allowed('STARTTLS')).toEqual(['not-authenticated']);
    expect(allowed('SELECT')).toEqual(['authenticated', 'selected']);
    expect(allowed('APPEND')).toEqual(['authenticated', 'selected']);
    expect(allowed('ENABLE')).toEqual(['authenticated']); // RFC 5161 3.1
    expect(allowed('FETCH')).toEqual(['selected']);
    expect(allowed('UID EXPUNGE')).toEqual(['selected']);
    expect(allowed('UNSELECT')).toEqual(['selected']);
  });

  it('nothing is allowed after LOGOUT', () => {
    for (const key of Object.keys(COMMAND_TABLE) as CommandKey[]) expect(isAllowedIn(key, 'logout')).toBe(false);
  });

  it('states the numbering and concurrency of message commands', () => {
    expect(COMMAND_TABLE.FETCH).toMatchObject({ numbering: 'sequence', concurrent: true, mayExpunge: false });
    expect(COMMAND_TABLE['UID FETCH']).toMatchObject({ numbering: 'uid', concurrent: true });
    expect(COMMAND_TABLE.STORE).toMatchObject({ numbering: 'sequence', concurrent: false });
    expect(COMMAND_TABLE.EXPUNGE).toMatchObject({ mayExpunge: true, concurrent: false });
    expect(COMMAND_TABLE['UID MOVE']).toMatchObject({ numbering: 'uid', mayExpunge: true });
    // a concurrent command never expunges (RFC 3501 5.5)
    for (const spec of Object.values(COMMAND_TABLE)) expect(spec.concurrent && spec.mayExpunge).toBe(false);
  });
});
