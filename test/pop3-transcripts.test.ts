/**
 * POP3 transcripts: `C:` lines the client sends, `S:` lines the server must
 * answer (`*` matches any run of characters), `X: closed` when the server
 * must have closed the connection, `==` starting a new connection on the
 * same mailbox. Options on `!` lines (for the connection they are in): `remote` (not loopback), `tls` (STLS
 * available), `secure`, `plaintext` (cleartext auth allowed by config),
 * `failures=N`, `nopipeline` (input after STLS is discarded by design, so
 * pipelining changes the meaning).
 *
 * Each script runs three ways — each command as one chunk, byte by byte,
 * and every command of a connection in one chunk (PIPELINING) — and must
 * produce the same answers.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pop3Fixture, type ConnectOptions } from './helpers/pop3-harness.js';

const dir = join(import.meta.dirname, 'transcripts/pop3');

/** The mailbox every transcript starts with (sizes with CRLF: 72, 53, 35). */
export const TRANSCRIPT_MESSAGES = [
  Buffer.from('From: a@example.org\nSubject: one\n\nHello\n.dot line\n..two dots\nbye\n'),
  Buffer.from('From: b@example.org\r\nSubject: two\r\n\r\nLine 1\r\nLine 2\r\n'),
  Buffer.from('Subject: three\n\nno newline at end'),
];

interface Connection {
  options: ConnectOptions;
  client: string[];
  server: string[];
  closed: boolean;
}

interface Script {
  pipeline: boolean;
  connections: Connection[];
}

function parseScript(text: string): Script {
  let pipeline = true;
  const fresh = (): Connection => ({ options: {}, client: [], server: [], closed: false });
  const connections: Connection[] = [fresh()];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    const cur = connections[connections.length - 1];
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('!')) {
      const options = cur.options;
      for (const opt of line.slice(1).trim().split(/\s+/)) {
        if (opt === 'remote') options.loopback = false;
        else if (opt === 'tls') options.tlsAvailable = true;
        else if (opt === 'secure') options.secure = true;
        else if (opt === 'plaintext') options.allowPlaintextAuth = true;
        else if (opt === 'nopipeline') pipeline = false;
        else if (opt.startsWith('failures=')) options.limits = { maxAuthFailures: Number(opt.slice(9)) };
        else throw new Error(`unknown option ${opt}`);
      }
    } else if (line.startsWith('==')) connections.push(fresh());
    else if (line.startsWith('C: ') || line === 'C:') cur.client.push(line.slice(3));
    else if (line.startsWith('S: ')) cur.server.push(line.slice(3));
    else if (line === 'X: closed') cur.closed = true;
    else throw new Error(`bad transcript line: ${line}`);
  }
  return { pipeline, connections };
}

function glob(pattern: string): RegExp {
  return new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
}

type Mode = 'whole' | 'bytewise' | 'pipelined';

async function run(script: Script, mode: Mode): Promise<void> {
  const fx = await pop3Fixture(TRANSCRIPT_MESSAGES);
  try {
    for (const [n, conn] of script.connections.entries()) {
      const { session, io } = await fx.connect(conn.options);
      if (mode === 'pipelined') {
        session.receive(Buffer.from(conn.client.map((l) => `${l}\r\n`).join(''), 'latin1'));
        await session.idle();
      } else {
        for (const l of conn.client) {
          const bytes = Buffer.from(`${l}\r\n`, 'latin1');
          if (mode === 'whole') session.receive(bytes);
          else for (let i = 0; i < bytes.length; i++) session.receive(bytes.subarray(i, i + 1));
          await session.idle();
        }
      }
      const closedByServer = io.closedByServer;
      session.closed();
      await session.idle();
      const text = io.take();
      expect(text.endsWith('\r\n'), `connection ${n + 1} (${mode}): output ends with CRLF`).toBe(true);
      const got = text.slice(0, -2).split('\r\n');
      const want = conn.server;
      const shown = `connection ${n + 1} (${mode}):\n${got.join('\n')}`;
      expect(got.length, shown).toBe(want.length);
      want.forEach((w, i) => expect(got[i], `${shown}\nline ${i + 1}`).toMatch(glob(w)));
      expect(closedByServer, `connection ${n + 1} (${mode}): closed by server`).toBe(conn.closed);
    }
  } finally {
    fx.cleanup();
  }
}

const files = readdirSync(dir).filter((f) => f.endsWith('.txt')).sort();

describe('POP3 transcripts', () => {
  it('has scripts', () => {
    expect(files.length).toBeGreaterThan(5);
  });
  for (const f of files) {
    const script = parseScript(readFileSync(join(dir, f), 'utf8'));
    const modes: Mode[] = script.pipeline ? ['whole', 'bytewise', 'pipelined'] : ['whole', 'bytewise'];
    for (const mode of modes) it(`${f} (${mode})`, () => run(script, mode));
  }
});
