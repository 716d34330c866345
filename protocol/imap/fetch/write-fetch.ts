/**
 * FETCH responses (RFC 3501 6.4.5, 7.4.2): one `* <seq> FETCH (…)` per
 * target, bodies streamed from disk into `{n}` literals.
 *
 * Each message goes through two phases:
 * 1. prepare: everything that can fail because the message vanished
 *    (index, size, date, header reads, opening the file for each literal) is
 *    done before the first byte of its response is written. A message
 *    expunged underneath (StoreError 'EXPUNGED') is skipped whole and counted,
 *    so the caller can answer NO [EXPUNGEISSUED] (RFC 5530) or OK as it likes;
 *    the other messages are answered normally. An open Maildir file stays
 *    readable after another process unlinks it, so once prepared a message
 *    can be sent whole.
 * 2. write: the buffered attributes go out in one write, each literal as
 *    `{n}\r\n` then `out.pipe()` of exactly n bytes (crlf-source.ts). A body
 *    that turns out shorter than its index said throws FetchAbortError: the
 *    connection is out of sync and the caller must close it (Dovecot
 *    disconnects too).
 *
 * Memory: nothing is kept from one message to the next (the targets array is
 * the caller's), literals pass through one chunk at a time with the output's
 * backpressure, and only header sections are ever buffered. BODY[] (also
 * with a partial range) and RFC822 do not even need the index: their size is
 * RFC822.SIZE and their bytes are the whole file.
 *
 * \Seen (RFC 3501 6.4.5): BODY[…] without .PEEK, RFC822 and RFC822.TEXT set
 * \Seen when `setSeen` (the session passes false for EXAMINE). It is set for
 * a batch of messages with one setFlags call before their responses are
 * written, and a message whose flags changed that way gets FLAGS in its
 * response even if not asked for (as Dovecot: only when they changed).
 */
import type { Mailbox, MessageBytes } from '../../../maildir/types.js';
import type { MessageIndex } from '../../../maildir/mime/types.js';
import type { BodySection, FetchItem } from '../commands.js';
import { astring } from '../serialize.js';
import { formatFlags, formatInternalDate } from './attributes.js';
import { renderBodyStructure, writeBodyStructure } from './bodystructure.js';
import { crlfInput, isCrlfInput } from '../../crlf.js';
import { crlfSlice, crlfViewOfInput, crlfWindow, FetchAbortError, type CrlfWindow } from './crlf-source.js';
import { renderEnvelope, writeEnvelope } from './envelope.js';
import { ResponseBytes } from '../response-bytes.js';
import { outputBuffers } from '../../buffer-pool.js';
import { filterHeaderFields } from './header-fields.js';
import { resolveSection, sectionName, type SectionSource } from './sections.js';

export { FetchAbortError };

/** Where FETCH output goes: SessionIO's write/pipe (protocol/session-io.ts). */
export interface FetchOutput {
  /** `written`: as SessionIO.write's, called once `data` may be filled again */
  write(data: Buffer | string, written?: () => void): Promise<void>;
  /** sends exactly the bytes of an already announced `{n}` literal, with backpressure */
  pipe(source: AsyncIterable<Buffer>): Promise<void>;
}

export interface FetchResult {
  /** targets skipped because the message was expunged underneath (no response written for them) */
  expungedSkipped: number;
}

/** How many messages share one setFlags(\Seen) call. */
const SEEN_BATCH = 128;
/** Buffered response bytes gathered into one write: one pooled output buffer (64 KiB). */
const FLUSH_AT = outputBuffers.size;
/** A Buffer piece at least this big is written as it is rather than copied into the write buffer. */
const PASS_THROUGH = 16 * 1024;
const EMPTY = Buffer.alloc(0);

const WHOLE: BodySection = { part: [], spec: { kind: 'all' } };
const HEADER: BodySection = { part: [], spec: { kind: 'header' } };
const TEXT: BodySection = { part: [], spec: { kind: 'text' } };

/** A literal to stream: the file opened for it and the window of its CRLF form to send. */
interface Stream {
  raw: MessageBytes;
  window: CrlfWindow;
}
/** Response text (latin1: one character per byte), bytes, or a literal to stream. */
type Piece = string | Buffer | Stream;

function isStream(p: Piece): p is Stream {
  return typeof p !== 'string' && !Buffer.isBuffer(p);
}

/** A body-ish item in one shape: the name to answer with, the section, an optional partial range. */
interface BodyItem {
  name: string;
  section: BodySection;
  partial?: { offset: number; length: number };
}

function bodyItem(item: FetchItem): BodyItem | null {
  switch (item.type) {
    case 'RFC822':
      return { name: 'RFC822', section: WHOLE };
    case 'RFC822.HEADER':
      return { name: 'RFC822.HEADER', section: HEADER };
    case 'RFC822.TEXT':
      return { name: 'RFC822.TEXT', section: TEXT };
    case 'BODY[]': {
      const name = `BODY[${sectionName(item.section, astring)}]` + (item.partial ? `<${item.partial.offset}>` : '');
      return item.partial ? { name, section: item.section, partial: item.partial } : { name, section: item.section };
    }
    default:
      return null;
  }
}

/** bodyItem of each item of a FETCH, made once for all its messages (its name is a string to build) */
const bodyItems = new WeakMap<FetchItem, BodyItem>();

function bodyItemOf(item: FetchItem): BodyItem {
  let b = bodyItems.get(item);
  if (b === undefined) {
    b = bodyItem(item)!;
    bodyItems.set(item, b);
  }
  return b;
}

/** RFC 3501 6.4.5: which items set \Seen */
function setsSeen(item: FetchItem): boolean {
  return item.type === 'RFC822' || item.type === 'RFC822.TEXT' || (item.type === 'BODY[]' && !item.peek);
}

function itemKey(item: FetchItem): string {
  return JSON.stringify(item);
}

/** Items in answer order: UID first (always there for UID FETCH, RFC 3501 6.4.8), duplicates dropped. */
function normalizeItems(items: readonly FetchItem[], uidCommand: boolean): FetchItem[] {
  const seen = new Set<string>();
  const out: FetchItem[] = [];
  if (uidCommand || items.some((i) => i.type === 'UID')) {
    out.push({ type: 'UID' });
    seen.add(itemKey({ type: 'UID' }));
  }
  for (const i of items) {
    const k = itemKey(i);
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(i);
  }
  return out;
}

/** The target is not (any more) in the mailbox view: skipped like an expunged message. */
class NotInView extends Error {}

function isExpunged(e: unknown): boolean {
  if (e instanceof NotInView) return true;
  // protocol/ may only import types from maildir/, so StoreError is recognised by shape.
  return e instanceof Error && e.name === 'StoreError' && 'code' in e && e.code === 'EXPUNGED';
}

async function readAll(r: MessageBytes): Promise<Buffer> {
  if (r.bytes) return r.bytes;
  const chunks: Buffer[] = [];
  for await (const c of r.stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Gathers one message's response, opening what must be open before anything is written. */
class MessagePrep {
  readonly pieces: Piece[] = [];
  private index: MessageIndex | undefined;

  constructor(
    private mailbox: Mailbox,
    private uid: number,
    /** the index asked for ahead of time, if it was */
    private ahead: Promise<MessageIndex> | undefined,
  ) {}

  private async getIndex(): Promise<MessageIndex> {
    return (this.index ??= await (this.ahead ?? this.mailbox.index(this.uid)));
  }

  /** appends response text (latin1: one character per byte) or bytes; the Writer copies each into its buffer */
  attr(s: string | Buffer): void {
    this.pieces.push(s);
  }

  async body(b: BodyItem): Promise<void> {
    this.attr(`${b.name} `);
    let source: SectionSource;
    if (b.section.part.length === 0 && b.section.spec.kind === 'all') {
      // the whole message (or a window of it): RFC822.SIZE bytes of the whole file, no index needed
      const size = this.mailbox.knownRfc822Size(this.uid) ?? (await this.mailbox.rfc822Size(this.uid));
      source = { kind: 'range', start: 0, end: Infinity, size };
    } else {
      source = resolveSection(await this.getIndex(), b.section);
    }
    if (source.kind === 'empty') return this.attr('{0}\r\n');
    if (source.kind === 'header-fields') {
      const raw = await this.read(source.start, source.end);
      let data = filterHeaderFields(raw === null ? Buffer.alloc(0) : await readAll(raw), source.fields, source.not);
      if (b.partial) data = data.subarray(Math.min(b.partial.offset, data.length), b.partial.offset + b.partial.length);
      this.attr(`{${data.length}}\r\n`);
      return this.attr(data);
    }
    const skip = b.partial ? Math.min(b.partial.offset, source.size) : 0;
    const length = b.partial ? Math.min(b.partial.length, source.size - skip) : source.size;
    this.attr(`{${length}}\r\n`);
    if (length === 0) return;
    const raw = await this.read(source.start, source.end);
    const window = { skip, length, what: `UID ${this.uid} ${b.name}` };
    if (raw === null || raw.bytes) {
      // In memory (most mail): converted now and written with the rest of the
      // response. Fewer bytes than the index promised fail here, before this
      // message's response has started (FetchAbortError: the connection is closed).
      return this.attr(crlfSlice(raw?.bytes ?? EMPTY, window));
    }
    // Streamed: a file that turns out shorter fails mid-literal (FetchAbortError).
    this.pieces.push({ raw, window });
  }

  private async read(start: number, end: number): Promise<MessageBytes | null> {
    if (end <= start) return null;
    return this.mailbox.read(this.uid, end === Infinity ? { start } : { start, length: end - start });
  }

  async envelope(): Promise<void> {
    this.attr('ENVELOPE ');
    this.attr(renderEnvelope((await this.getIndex()).envelope));
  }

  async structure(extended: boolean): Promise<void> {
    this.attr(extended ? 'BODYSTRUCTURE ' : 'BODY ');
    this.attr(renderBodyStructure((await this.getIndex()).body, extended));
  }

  finish(): Piece[] {
    return this.pieces;
  }

  /** releases files opened for literals that will not be sent */
  discard(): void {
    for (const p of this.pieces) if (isStream(p)) p.raw.release();
  }
}

/**
 * The items of a message's response in answer order: `items` itself, or,
 * for a message whose \Seen this FETCH just set (RFC 3501 6.4.5), with FLAGS
 * added where it was not asked for: right after a leading UID, else last.
 */
function withImpliedFlags(items: readonly FetchItem[]): readonly FetchItem[] {
  if (items.some((i) => i.type === 'FLAGS')) return items;
  const flags: FetchItem = { type: 'FLAGS' };
  return items[0]?.type === 'UID' ? [items[0], flags, ...items.slice(1)] : [...items, flags];
}

async function prepareMessage(
  mailbox: Mailbox,
  t: { seq: number; uid: number },
  items: readonly FetchItem[],
  indexAhead: Promise<MessageIndex> | undefined,
): Promise<Piece[]> {
  const meta = mailbox.meta(t.uid);
  if (meta === undefined) throw new NotInView();
  const p = new MessagePrep(mailbox, t.uid, indexAhead);
  p.attr(`* ${t.seq} FETCH (`);
  try {
    for (let k = 0; k < items.length; k++) {
      const item = items[k];
      if (k > 0) p.attr(' ');
      switch (item.type) {
        case 'UID':
          p.attr(`UID ${t.uid}`);
          break;
        case 'FLAGS':
          p.attr(`FLAGS ${formatFlags(meta)}`);
          break;
        case 'INTERNALDATE':
          p.attr(`INTERNALDATE ${formatInternalDate(mailbox.knownInternalDate(t.uid) ?? (await mailbox.internalDate(t.uid)))}`);
          break;
        case 'RFC822.SIZE':
          p.attr(`RFC822.SIZE ${mailbox.knownRfc822Size(t.uid) ?? (await mailbox.rfc822Size(t.uid))}`);
          break;
        case 'ENVELOPE':
          await p.envelope();
          break;
        case 'BODY':
          await p.structure(false);
          break;
        case 'BODYSTRUCTURE':
          await p.structure(true);
          break;
        default:
          await p.body(bodyItemOf(item));
      }
    }
    p.attr(')\r\n');
    return p.finish();
  } catch (e) {
    p.discard();
    throw e;
  }
}

/**
 * Items prepareMessageNow can answer: from memory, from the index when it is
 * at hand (indexNow), and for bodies the whole (small) file.
 */
function isNowItem(item: FetchItem): boolean {
  switch (item.type) {
    case 'UID':
    case 'FLAGS':
    case 'INTERNALDATE':
    case 'RFC822.SIZE':
    case 'RFC822':
    case 'ENVELOPE':
    case 'BODY':
    case 'BODYSTRUCTURE':
      return true;
    case 'BODY[]':
      return item.section.part.length === 0 && item.section.spec.kind === 'all';
    default:
      return false;
  }
}

/**
 * prepareMessage's synchronous twin for items that are all isNowItem: the
 * response written into `out` with no promise at all, and true; or false
 * when something it needs is not at hand without waiting (a size or date
 * not known yet, an index the cache cannot give and a blocking parse cannot
 * make, a large file, a file not where the last sync saw it, a message gone
 * from the view): then prepareMessage does it, and deals with what
 * happened. `out` is reset first; on false what it holds is meaningless.
 */
function prepareMessageNow(
  mailbox: Mailbox,
  t: { seq: number; uid: number },
  items: readonly FetchItem[],
  /** exactly one body item: its bytes may be a view of the converter's memory */
  oneBody: boolean,
  /** some item is answered from the index (ENVELOPE, BODY, BODYSTRUCTURE) */
  structureWanted: boolean,
  out: ResponseBytes,
): boolean {
  const meta = mailbox.meta(t.uid);
  if (meta === undefined) return false;
  // the index first: a fresh parse also learns the date and size asked for beside it
  let index: MessageIndex | null = null;
  if (structureWanted) {
    index = mailbox.indexNow(t.uid);
    if (index === null) return false;
  }
  out.reset();
  out.text('* ');
  out.number(t.seq);
  out.text(' FETCH (');
  let raw: Buffer | null = null;
  for (let k = 0; k < items.length; k++) {
    const item = items[k];
    if (k > 0) out.space();
    switch (item.type) {
      case 'UID':
        out.text('UID ');
        out.number(t.uid);
        break;
      case 'FLAGS':
        out.text('FLAGS ');
        out.text(formatFlags(meta));
        break;
      case 'ENVELOPE':
        out.text('ENVELOPE ');
        writeEnvelope(out, index!.envelope);
        break;
      case 'BODY':
      case 'BODYSTRUCTURE':
        out.text(item.type === 'BODY' ? 'BODY ' : 'BODYSTRUCTURE ');
        writeBodyStructure(out, index!.body, item.type === 'BODYSTRUCTURE');
        break;
      case 'INTERNALDATE': {
        const date = mailbox.knownInternalDate(t.uid);
        if (date === undefined) return false;
        out.text('INTERNALDATE ');
        out.text(formatInternalDate(date));
        break;
      }
      case 'RFC822.SIZE': {
        const size = mailbox.knownRfc822Size(t.uid);
        if (size === undefined) return false;
        out.text('RFC822.SIZE ');
        out.number(size);
        break;
      }
      default: {
        // the whole message or a window of it (isNowItem): RFC822.SIZE bytes of the whole file
        const b = bodyItemOf(item);
        const size = mailbox.knownRfc822Size(t.uid);
        if (size === undefined) return false;
        const skip = b.partial ? Math.min(b.partial.offset, size) : 0;
        const length = b.partial ? Math.min(b.partial.length, size - skip) : size;
        out.text(b.name);
        out.text(' {');
        out.number(length);
        out.text('}\r\n');
        if (length === 0) break;
        const window = { skip, length, what: `UID ${t.uid} ${b.name}` };
        // fewer bytes than RFC822.SIZE fail here, before this message's response has started
        if (oneBody) {
          // read straight into the CRLF converter, answered with a view of its output (messageNow copies it)
          const got = mailbox.readNow(t.uid, crlfInput);
          if (got === null) return false;
          out.splice(isCrlfInput(got) ? crlfViewOfInput(got.length, window) : crlfSlice(got, window));
        } else {
          raw ??= mailbox.readNow(t.uid);
          if (raw === null) return false;
          out.splice(crlfSlice(raw, window));
        }
      }
    }
  }
  out.text(')\r\n');
  return true;
}

/**
 * Output with small responses gathered into larger writes: `1:* (UID FLAGS)`
 * on a big folder would otherwise cost one write (and one await) per
 * message. What is pending is bounded by FLUSH_AT plus one response, and is
 * always written before a literal body is piped.
 */
class Writer {
  /** filled buffers, in order, waiting for the next flush */
  private chunks: Buffer[] = [];
  /** for each of `chunks`, the pooled buffer it lies in, given back once written (null: not pooled) */
  private owners: (Buffer | null)[] = [];
  /** the buffer being filled, and how much of it is */
  private buf: Buffer = EMPTY;
  /** `buf` came from outputBuffers */
  private pooled = false;
  private pos = 0;
  /** bytes in `chunks` and `buf` */
  private size = 0;
  constructor(private out: FetchOutput) {}

  async message(pieces: Piece[]): Promise<void> {
    let i = 0;
    try {
      for (; i < pieces.length; i++) {
        const piece = pieces[i]!;
        if (!isStream(piece)) {
          this.put(piece);
        } else {
          await this.flush();
          const { stream } = piece.raw;
          await this.out.pipe(crlfWindow(stream, piece.window, () => stream.destroy()));
        }
      }
    } finally {
      for (; i < pieces.length; i++) {
        const piece = pieces[i]!;
        if (isStream(piece)) piece.raw.release();
      }
    }
    if (this.size >= FLUSH_AT) await this.flush();
  }

  /**
   * A response with no literal to stream, made by prepareMessageNow, copied
   * in (a spliced body may be a view of memory that is reused:
   * crlfViewOfInput); true when enough is gathered that it should be flushed.
   */
  messageNow(r: ResponseBytes): boolean {
    let from = 0;
    for (let k = 0; k < r.spliceCount; k++) {
      const at = r.splicedAt(k);
      this.copyIn(r.buf, from, at);
      this.copyIn(r.splicedBody(k), 0, r.splicedBody(k).length);
      from = at;
    }
    this.copyIn(r.buf, from, r.pos);
    return this.size >= FLUSH_AT;
  }

  /** Copies bytes [start, end) of `src` into the buffer being filled. */
  private copyIn(src: Buffer, start: number, end: number): void {
    const n = end - start;
    if (n <= 0) return;
    this.size += n;
    this.room(n);
    this.pos += src.copy(this.buf, this.pos, start, end);
  }

  /** Room for `n` more bytes in the buffer being filled (a new one when it is full). */
  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.seal();
    this.pooled = n <= outputBuffers.size;
    this.buf = this.pooled ? outputBuffers.take() : Buffer.allocUnsafe(n);
  }

  /**
   * Copies text (latin1) or bytes into the buffer being filled: one copy per
   * byte on the way to the socket, and one write per FLUSH_AT bytes. A large
   * Buffer is passed on as it is (the socket writes it without a copy).
   */
  private put(p: string | Buffer): void {
    const n = p.length;
    if (n === 0) return;
    this.size += n;
    if (typeof p !== 'string' && n >= PASS_THROUGH) {
      this.seal();
      this.chunks.push(p);
      this.owners.push(null);
      return;
    }
    this.room(n);
    this.pos += typeof p === 'string' ? this.buf.write(p, this.pos, 'latin1') : p.copy(this.buf, this.pos);
  }

  /** closes the buffer being filled (the socket will own it: it is never written to again until written) */
  private seal(): void {
    if (this.pos > 0) {
      this.chunks.push(this.buf.subarray(0, this.pos));
      this.owners.push(this.pooled ? this.buf : null);
    } else if (this.pooled) {
      outputBuffers.give(this.buf);
    }
    this.buf = EMPTY;
    this.pooled = false;
    this.pos = 0;
  }

  /** Response text (latin1) for the buffer; true when enough is gathered that it should be flushed. */
  text(s: string): boolean {
    this.put(s);
    return this.size >= FLUSH_AT;
  }

  async flush(): Promise<void> {
    if (this.size === 0) return;
    this.seal();
    const chunks = this.chunks;
    const owners = this.owners;
    this.chunks = [];
    this.owners = [];
    this.size = 0;
    for (let k = 0; k < chunks.length; k++) {
      const owner = owners[k];
      await this.out.write(chunks[k], owner ? () => outputBuffers.give(owner) : undefined);
    }
  }
}

/** Sets \Seen on those of `uids` that lack it; returns the UIDs whose flags changed. */
async function markSeen(mailbox: Mailbox, uids: readonly number[]): Promise<Set<number>> {
  const unseen = uids.filter((u) => {
    const m = mailbox.meta(u);
    return m !== undefined && !m.flags.includes('\\Seen');
  });
  if (unseen.length === 0) return new Set();
  const after = await mailbox.setFlags(unseen, 'add', ['\\Seen']);
  return new Set(after.filter((m) => m.flags.includes('\\Seen')).map((m) => m.uid));
}

/**
 * Writes one `* <seq> FETCH (…)\r\n` per target, in order. Resolves with how
 * many targets were skipped because their message was expunged underneath.
 * Rejects with FetchAbortError when a literal already announced could not be
 * completed (close the connection), or with the output's or storage's own
 * error for anything else.
 */
/** how many messages ahead the indexes are requested */
const PREFETCH_AHEAD = 8;
/** how many messages ahead are prepared (files opened, sizes and dates read) */
const PREPARE_AHEAD = 4;

function discardPieces(pieces: Piece[]): void {
  for (const p of pieces) if (isStream(p)) p.raw.release();
}

/** Whether an item is answered from the parsed structure (rather than flags, dates, sizes or the whole file). */
function needsIndex(item: FetchItem): boolean {
  switch (item.type) {
    case 'ENVELOPE':
    case 'BODY':
    case 'BODYSTRUCTURE':
    case 'RFC822.HEADER':
    case 'RFC822.TEXT':
      return true;
    case 'BODY[]':
      return item.section.part.length > 0 || item.section.spec.kind !== 'all';
    default:
      return false;
  }
}

/** Items answered from what the mailbox holds in memory: no file, no index, nothing to wait for. */
function isMetaItem(item: FetchItem): boolean {
  return item.type === 'UID' || item.type === 'FLAGS';
}

/**
 * FETCH of UID and FLAGS only (how clients resynchronise a folder:
 * `UID FETCH 1:* (FLAGS)`): each response is made synchronously as one
 * string, with no per-message promise; the output is awaited only when
 * FLUSH_AT bytes are gathered, which also gives other sessions their turn.
 */
async function writeMetaResponses(writer: Writer, mailbox: Mailbox, targets: readonly { seq: number; uid: number }[], list: readonly FetchItem[]): Promise<FetchResult> {
  let expungedSkipped = 0;
  const withUid = list.some((i) => i.type === 'UID');
  const withFlags = list.some((i) => i.type === 'FLAGS');
  try {
    for (const t of targets) {
      const meta = mailbox.meta(t.uid);
      if (meta === undefined) {
        expungedSkipped++;
        continue;
      }
      const text = withUid
        ? withFlags
          ? `* ${t.seq} FETCH (UID ${t.uid} FLAGS ${formatFlags(meta)})\r\n`
          : `* ${t.seq} FETCH (UID ${t.uid})\r\n`
        : `* ${t.seq} FETCH (FLAGS ${formatFlags(meta)})\r\n`;
      if (writer.text(text)) await writer.flush();
    }
  } catch (e) {
    await writer.flush().catch(() => undefined);
    throw e;
  }
  await writer.flush();
  return { expungedSkipped };
}

/**
 * FETCH of items that are all isNowItem (`BODY.PEEK[]`, `RFC822`, with
 * UID, FLAGS, sizes, dates: how clients download mail; ENVELOPE and
 * BODYSTRUCTURE with them: how they list a folder): each response made
 * synchronously (prepareMessageNow) and gathered into the output buffer, the
 * output awaited only when FLUSH_AT bytes are gathered. No promise, no
 * prepared-ahead window per message: for small page-cached files that
 * machinery cost more than the reads it overlapped. A message that is not
 * at hand (large, moved, not yet measured) goes through prepareMessage and
 * streams, in its place in the order.
 */
async function writeNowResponses(
  writer: Writer,
  mailbox: Mailbox,
  targets: readonly { seq: number; uid: number }[],
  list: readonly FetchItem[],
  withSeen: readonly FetchItem[],
  seenWanted: boolean,
): Promise<FetchResult> {
  let expungedSkipped = 0;
  const oneBody = list.filter((i) => i.type === 'BODY[]' || i.type === 'RFC822').length === 1;
  const structureWanted = list.some(needsIndex);
  const response = new ResponseBytes();
  try {
    for (let b = 0; b < targets.length; b += SEEN_BATCH) {
      const batch = targets.slice(b, b + SEEN_BATCH);
      const changed = seenWanted ? await markSeen(mailbox, batch.map((t) => t.uid)) : null;
      for (const t of batch) {
        const items = changed?.has(t.uid) ? withSeen : list;
        if (prepareMessageNow(mailbox, t, items, oneBody, structureWanted, response)) {
          if (writer.messageNow(response)) await writer.flush();
          continue;
        }
        let pieces: Piece[];
        try {
          pieces = await prepareMessage(mailbox, t, items, undefined);
        } catch (e) {
          if (!isExpunged(e)) throw e;
          expungedSkipped++;
          continue;
        }
        await writer.message(pieces);
      }
    }
  } catch (e) {
    // what was answered before the failure still goes out (unless the output itself failed)
    await writer.flush().catch(() => undefined);
    throw e;
  }
  await writer.flush();
  return { expungedSkipped };
}

export async function writeFetchResponses(
  out: FetchOutput,
  mailbox: Mailbox,
  targets: readonly { seq: number; uid: number }[],
  items: FetchItem[],
  o: { setSeen: boolean; uidCommand: boolean },
): Promise<FetchResult> {
  const list = normalizeItems(items, o.uidCommand);
  const seenWanted = o.setSeen && !mailbox.readOnly && list.some(setsSeen);
  const writer = new Writer(out);
  if (list.every(isMetaItem)) return writeMetaResponses(writer, mailbox, targets, list);
  const withSeen = seenWanted ? withImpliedFlags(list) : list;
  if (list.every(isNowItem)) return writeNowResponses(writer, mailbox, targets, list, withSeen, seenWanted);
  let expungedSkipped = 0;
  // Items that need the parsed structure: ask storage for the next few
  // messages' indexes ahead of writing, so that file reads (and parses of a
  // cold folder) overlap instead of running one after another.
  // The same promise then serves the message's preparation: asking index()
  // again once it has resolved would read and decode the cache record twice.
  const prefetch = list.some(needsIndex);
  let ahead = 0;
  /** target position → its index asked for ahead, until its preparation takes it */
  const indexAhead = new Map<number, Promise<MessageIndex>>();
  const prefetchUpTo = (k: number) => {
    if (!prefetch) return;
    for (; ahead < Math.min(k, targets.length); ahead++) {
      const p = mailbox.index(targets[ahead].uid);
      p.catch(() => undefined); // awaited by the preparation, if it ever comes
      indexAhead.set(ahead, p);
    }
  };
  try {
    for (let b = 0; b < targets.length; b += SEEN_BATCH) {
      const batch = targets.slice(b, b + SEEN_BATCH);
      const changed = seenWanted ? await markSeen(mailbox, batch.map((t) => t.uid)) : null;
      // Prepare (open files, read sizes and dates) a few messages ahead of the
      // one being written: their file-system round trips overlap the writing.
      const prepared: (Promise<Piece[]> | null)[] = [];
      const start = (k: number) => {
        if (k >= batch.length || prepared[k] !== undefined) return;
        const index = indexAhead.get(b + k);
        indexAhead.delete(b + k);
        const p = prepareMessage(mailbox, batch[k], changed?.has(batch[k].uid) ? withSeen : list, index);
        p.catch(() => undefined); // awaited in order below
        prepared[k] = p;
      };
      try {
        for (let k = 0; k < batch.length; k++) {
          prefetchUpTo(b + k + PREFETCH_AHEAD);
          for (let j = k; j < k + PREPARE_AHEAD; j++) start(j);
          const next = prepared[k]!;
          prepared[k] = null;
          let pieces: Piece[];
          try {
            pieces = await next;
          } catch (e) {
            if (!isExpunged(e)) throw e;
            expungedSkipped++;
            continue;
          }
          await writer.message(pieces);
        }
      } finally {
        // on failure, close what was opened ahead and never written
        for (const p of prepared) if (p) p.then(discardPieces, () => undefined);
      }
    }
  } catch (e) {
    // what was answered before the failure still goes out (unless the output itself failed)
    await writer.flush().catch(() => undefined);
    throw e;
  }
  await writer.flush();
  return { expungedSkipped };
}
