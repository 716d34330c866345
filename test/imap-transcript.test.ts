// Transcript tests (STYLE.md 11): C:/S: scripts under test/transcripts/imap/, each run
// against an ImapSession over MemoryIO with a real Maildir store, once with every client
// block in one chunk and once one byte at a time; the server's output must be the same.
//
// Script syntax:
//   # comment
//   @ io remote            the connection is not from loopback (cleartext auth refused)
//   @ io tls               STARTTLS is available
//   @ plaintext            the operator allows cleartext auth anywhere
//   @ seed <mailbox> <n>   n sample messages appended to alice's <mailbox> before connecting
//   @ quota <bytes>        a Maildir++ storage limit for alice
//   C: <line>              client line (CRLF added); consecutive C: lines form one block,
//                          sent when every S: line before it has arrived
//   S: <line>              expected server line; <*> matches any text within the line
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sampleMessage } from './helpers/tmp.js';
import { ALICE, imapWorld, type MemoryIOOptions } from './helpers/memory-io.js';

const DIR = join(import.meta.dirname, 'transcripts/imap');

interface Script {
  io: MemoryIOOptions;
  plaintext: boolean;
  seeds: [string, number][];
  quota?: number;
  /** client blocks, each with the number of S: lines expected before it is sent */
  blocks: { after: number; text: string }[];
  expected: string[];
}

function parseScript(text: string): Script {
  const s: Script = { io: {}, plaintext: false, seeds: [], blocks: [], expected: [] };
  let lastWasClient = false;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line.startsWith('C: ') || line === 'C:') {
      const content = line.slice(3) + '\r\n';
      if (lastWasClient) s.blocks[s.blocks.length - 1].text += content;
      else s.blocks.push({ after: s.expected.length, text: content });
      lastWasClient = true;
      continue;
    }
    lastWasClient = false;
    if (line.startsWith('S: ')) s.expected.push(line.slice(3));
    else if (line.startsWith('@ ')) {
      const [word, a, b] = line.slice(2).trim().split(/\s+/);
      if (word === 'io' && a === 'remote') s.io.loopback = false;
      else if (word === 'io' && a === 'tls') s.io.tlsAvailable = true;
      else if (word === 'plaintext') s.plaintext = true;
      else if (word === 'seed') s.seeds.push([a, Number(b)]);
      else if (word === 'quota') s.quota = Number(a);
      else throw new Error(`unknown directive: ${line}`);
    } else if (line.trim() !== '' && !line.startsWith('#')) throw new Error(`unknown script line: ${line}`);
  }
  return s;
}

function lineMatcher(pattern: string): RegExp {
  return new RegExp('^' + pattern.split('<*>').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$', 's');
}

async function runScript(script: Script, byteByByte: boolean): Promise<{ actual: string[]; expected: string[] }> {
  const world = await imapWorld({ allowPlaintextAuth: script.plaintext });
  try {
    const user = await world.store.forUser(ALICE);
    for (const [mailbox, n] of script.seeds) for (let i = 1; i <= n; i++) await user.append(mailbox, sampleMessage(`Message ${i}`));
    if (script.quota !== undefined) await user.quotaFile.setLimit({ bytes: script.quota });
    const { io, session } = await world.connect(script.io);
    const enough = (n: number) => (out: string) => out.split('\r\n').length - 1 >= n;
    for (const block of script.blocks) {
      await io.until(enough(block.after)).catch(() => {});
      await io.until(() => !io.tlsInProgress);
      const bytes = Buffer.from(block.text, 'latin1');
      if (byteByByte) for (let i = 0; i < bytes.length; i++) session.receive(bytes.subarray(i, i + 1));
      else session.receive(bytes);
    }
    await io.until(enough(script.expected.length)).catch(() => {});
    // anything extra the session would still send shows up as a mismatch
    await new Promise((r) => setTimeout(r, 30));
    return { actual: io.lines(), expected: script.expected };
  } finally {
    await world.close();
  }
}

function compare(actual: string[], expected: string[]): void {
  const n = Math.max(actual.length, expected.length);
  const report: string[] = [];
  let ok = true;
  for (let i = 0; i < n; i++) {
    const a = actual[i];
    const e = expected[i];
    const good = a !== undefined && e !== undefined && lineMatcher(e).test(a);
    if (!good) ok = false;
    report.push(`${good ? '  ' : '!!'} S: ${e ?? '(nothing expected)'}\n   got ${a ?? '(nothing)'}`);
  }
  if (!ok) expect.fail(`transcript mismatch:\n${report.join('\n')}`);
}

const scripts = readdirSync(DIR).filter((f) => f.endsWith('.txt')).sort();

describe('IMAP transcripts', () => {
  it('has scripts', () => {
    expect(scripts.length).toBeGreaterThan(5);
  });
  for (const file of scripts) {
    const script = parseScript(readFileSync(join(DIR, file), 'utf8'));
    it(`${file} (whole)`, async () => {
      const r = await runScript(script, false);
      compare(r.actual, r.expected);
    });
    it(`${file} (one byte at a time)`, async () => {
      const r = await runScript(script, true);
      compare(r.actual, r.expected);
    });
  }
});
