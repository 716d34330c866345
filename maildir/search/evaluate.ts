/**
 * Evaluates a typed SEARCH key (query.ts, RFC 3501 6.4.4) against messages.
 *
 * Cost tiers. The key is first compiled into a tree whose nodes know what
 * they need: the message's metadata (flags, UID, size, \Recent: free), its
 * INTERNALDATE (a stat or a cache read), its parsed index (search headers),
 * its raw header block, or its body. AND evaluates its children cheapest
 * first and stops at the first false; OR tries its cheaper side first and
 * stops at the first true. A query made only of metadata keys is evaluated
 * synchronously and never calls index() or readRange() (see needsIndex /
 * needsBody, which let the caller skip opening files at all).
 *
 * Choices where RFC 3501 is loose, following Dovecot (index-search.c):
 *  - keywords are compared ASCII case-insensitively (Dovecot's keyword table
 *    uses strcasecmp), and so are system flags;
 *  - LARGER/SMALLER compare RFC822.SIZE strictly (> and <);
 *  - dates: see dates.ts (INTERNALDATE in server time; Date: in its own zone,
 *    a missing Date: counting as 1 Jan 1970);
 *  - HEADER "" matches when the field is present, whatever its value; a
 *    non-empty string is a folded substring (text.ts) of any occurrence's decoded value;
 *  - BODY/TEXT search text/* and message/* parts only, decoded, matches do
 *    not span MIME parts; TEXT also searches every header (as "name: value"),
 *    including MIME part headers; see message-text.ts;
 *  - BODY "" and TEXT "" match every message (the empty string is a substring of anything).
 *
 * A message that vanishes while it is being searched (expunged by another
 * process: a StoreError EXPUNGED/NONEXISTENT or ENOENT) is left out of the
 * result instead of failing the whole search, as Dovecot does.
 */
import { errnoCode, isStoreError } from '../errors.js';
import { parseHeaderFields, type HeaderField } from '../mime/header-fields.js';
import { decodeHeaderValue } from '../mime/decode.js';
import { decodedHeader, parseMailDate } from '../mime/search-headers.js';
import type { MessageIndex, SearchHeaders } from '../mime/types.js';
import { compareDay, dayNumber, dayOfInstant, localOffsetMinutes, sentDay } from './dates.js';
import { readBytes, scanMessageBody, headerBlockText } from './message-text.js';
import type { SearchKey } from './query.js';
import { foldForSearch, jsonCheckable, StreamingFinder } from './text.js';

export interface SearchCandidate {
  uid: number;
  /** system flags ("\\Seen"...) and keywords */
  flags: readonly string[];
  recent: boolean;
  /** RFC822.SIZE */
  size: number;
  internalDate(): Promise<Date>;
  /** parsed structure + search headers (cached by the caller) */
  index(): Promise<MessageIndex>;
  /** just the search headers, when they can be had more cheaply than index() (synchronously when at hand) */
  headers?(): SearchHeaders | Promise<SearchHeaders>;
  /**
   * A cheap pre-check of one search header for a needle jsonCheckable
   * accepts: false only when its decoded value cannot contain it, true when
   * it may or nobody knows without decoding it.
   */
  headersMayContain?(field: keyof SearchHeaders, foldedNeedle: string): boolean;
  /** raw bytes of [start, end) of the message file */
  readRange(start: number, end: number): AsyncIterable<Buffer>;
}

export interface SearchOptions {
  /** raw bytes one BODY/TEXT/HEADER key may read per message; default 16 MiB */
  maxBodyScanBytes?: number;
  /** UTC offset for the INTERNALDATE day; default: the server's local offset at that instant */
  timezoneOffsetMinutes?: number;
}

/** longest stretch of searching before the event loop gets a turn */
const TURN_EVERY_MS = 10;

export const DEFAULT_MAX_BODY_SCAN_BYTES = 16 * 1024 * 1024;
/** messages evaluated at once when a query reads files */
const SEARCH_IN_FLIGHT = 8;

/** What a node needs, cheapest first; a composite node costs its dearest child. */
enum Cost {
  Meta = 0,
  InternalDate = 1,
  Index = 2,
  RawHeader = 3,
  Body = 4,
}

/** SearchHeaders fields that stand for a header by name (the parser keeps them apart). */
const FAST_HEADERS: Record<string, keyof SearchHeaders> = {
  from: 'from',
  to: 'to',
  cc: 'cc',
  bcc: 'bcc',
  subject: 'subject',
  'message-id': 'messageId',
  'in-reply-to': 'inReplyTo',
  references: 'references',
};

type Node =
  | { kind: 'const'; cost: Cost; value: boolean }
  | { kind: 'flag'; cost: Cost; flag: string; set: boolean }
  | { kind: 'recent'; cost: Cost; set: boolean }
  | { kind: 'uid'; cost: Cost; ranges: [number, number][] }
  | { kind: 'size'; cost: Cost; op: 'larger' | 'smaller'; octets: number }
  | { kind: 'internaldate'; cost: Cost; op: 'before' | 'on' | 'since'; day: number }
  | { kind: 'sentdate'; cost: Cost; op: 'before' | 'on' | 'since'; day: number }
  | { kind: 'fastHeader'; cost: Cost; field: keyof SearchHeaders; needle: string; precheck: boolean }
  | { kind: 'rawHeader'; cost: Cost; field: string; needle: string }
  | { kind: 'body'; cost: Cost; needle: string; withHeaders: boolean }
  | { kind: 'not'; cost: Cost; inner: Node }
  | { kind: 'and'; cost: Cost; items: Node[] }
  | { kind: 'or'; cost: Cost; items: Node[] };

function asciiLower(s: string): string {
  return s.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
}

function compile(key: SearchKey): Node {
  switch (key.type) {
    case 'all':
      return { kind: 'const', cost: Cost.Meta, value: true };
    case 'flag':
      return { kind: 'flag', cost: Cost.Meta, flag: asciiLower(key.flag), set: key.set };
    case 'keyword':
      return { kind: 'flag', cost: Cost.Meta, flag: asciiLower(key.keyword), set: key.set };
    case 'recent':
      return { kind: 'recent', cost: Cost.Meta, set: key.set };
    case 'uid':
      // RFC 3501 9 (seq-range): "4:2" is the same as "2:4".
      return {
        kind: 'uid',
        cost: Cost.Meta,
        ranges: key.ranges.map((r): [number, number] => [Math.min(r.from, r.to), Math.max(r.from, r.to)]),
      };
    case 'size':
      return { kind: 'size', cost: Cost.Meta, op: key.op, octets: key.octets };
    case 'internaldate':
      return { kind: 'internaldate', cost: Cost.InternalDate, op: key.op, day: dayNumber(key.day) };
    case 'sentdate':
      return { kind: 'sentdate', cost: Cost.Index, op: key.op, day: dayNumber(key.day) };
    case 'header': {
      const field = asciiLower(key.field.trim());
      const needle = foldForSearch(key.value);
      const fast = FAST_HEADERS[field];
      // The search headers say "" both for an absent and an empty header, so
      // presence (HEADER x "") needs the raw header.
      if (fast !== undefined && needle !== '') return { kind: 'fastHeader', cost: Cost.Index, field: fast, needle, precheck: jsonCheckable(needle) };
      return { kind: 'rawHeader', cost: Cost.RawHeader, field, needle };
    }
    case 'body':
    case 'text': {
      const needle = foldForSearch(key.value);
      if (needle === '') return { kind: 'const', cost: Cost.Meta, value: true };
      return { kind: 'body', cost: Cost.Body, needle, withHeaders: key.type === 'text' };
    }
    case 'not': {
      const inner = compile(key.key);
      if (inner.kind === 'const') return { ...inner, value: !inner.value };
      return { kind: 'not', cost: inner.cost, inner };
    }
    case 'or':
      return combine('or', [compile(key.left), compile(key.right)]);
    case 'and':
      return combine('and', key.keys.map(compile));
  }
}

/** Folds constants away and orders children cheapest first (a stable sort keeps the client's order otherwise). */
function combine(kind: 'and' | 'or', children: Node[]): Node {
  const absorbing = kind === 'or'; // true absorbs an OR, false absorbs an AND
  const items: Node[] = [];
  for (const c of children) {
    if (c.kind === 'const') {
      if (c.value === absorbing) return c;
      continue; // the neutral element
    }
    items.push(c);
  }
  if (items.length === 0) return { kind: 'const', cost: Cost.Meta, value: !absorbing };
  if (items.length === 1) return items[0]!;
  items.sort((a, b) => a.cost - b.cost);
  return { kind, cost: items[items.length - 1]!.cost, items };
}

function maxCost(key: SearchKey): Cost {
  return compile(key).cost;
}

/** Whether evaluating `key` may call index() (parsed structure and search headers). */
export function needsIndex(key: SearchKey): boolean {
  return maxCost(key) >= Cost.Index;
}

/** Whether evaluating `key` may call readRange() (header fields other than the search headers, BODY, TEXT). */
export function needsBody(key: SearchKey): boolean {
  return maxCost(key) >= Cost.RawHeader;
}

/** Per-message state: every expensive lookup is done at most once per message. */
class MessageContext {
  private indexPromise: Promise<MessageIndex> | null = null;
  private headersValue: SearchHeaders | Promise<SearchHeaders> | null = null;
  private headerPromise: Promise<HeaderField[]> | null = null;
  private readonly decoded = new Map<HeaderField, string>();

  constructor(
    readonly candidate: SearchCandidate,
    readonly maxScanBytes: number,
    readonly tzOffset: number | undefined,
  ) {}

  index(): Promise<MessageIndex> {
    this.indexPromise ??= this.candidate.index();
    return this.indexPromise;
  }

  /** The search headers: from the index if it is wanted anyway, else on their own (maybe synchronously). */
  headers(): SearchHeaders | Promise<SearchHeaders> {
    if (this.headersValue === null) {
      const own = this.indexPromise === null ? this.candidate.headers?.() : undefined;
      this.headersValue = own ?? this.index().then((idx) => idx.headers);
    }
    return this.headersValue;
  }

  /** The top-level header fields, raw (read once, bounded by maxScanBytes). */
  headerFields(): Promise<HeaderField[]> {
    this.headerPromise ??= this.index().then(async (idx) => {
      const end = Math.max(0, idx.body.bodyStart);
      const block = await readBytes(this.candidate, 0, end, this.maxScanBytes);
      return parseHeaderFields(block);
    });
    return this.headerPromise;
  }

  decodedValue(field: HeaderField): string {
    let v = this.decoded.get(field);
    if (v === undefined) {
      v = decodeHeaderValue(field.value);
      this.decoded.set(field, v);
    }
    return v;
  }
}

type Result = boolean | Promise<boolean>;

function hasFlag(flags: readonly string[], lowerFlag: string): boolean {
  for (const f of flags) {
    if (f.length === lowerFlag.length && asciiLower(f) === lowerFlag) return true;
  }
  return false;
}

function evalNode(node: Node, ctx: MessageContext): Result {
  const c = ctx.candidate;
  switch (node.kind) {
    case 'const':
      return node.value;
    case 'flag':
      return hasFlag(c.flags, node.flag) === node.set;
    case 'recent':
      return c.recent === node.set;
    case 'uid':
      return node.ranges.some(([lo, hi]) => c.uid >= lo && c.uid <= hi);
    case 'size':
      return node.op === 'larger' ? c.size > node.octets : c.size < node.octets;
    case 'internaldate':
      return c.internalDate().then((d) => {
        const ms = d.getTime();
        const offset = ctx.tzOffset ?? localOffsetMinutes(ms);
        return compareDay(node.op, dayOfInstant(ms, offset), node.day);
      });
    case 'sentdate':
      // (the day is the one in the Date: header's own zone, so the raw date in the envelope is needed)
      return ctx.index().then((idx) => compareDay(node.op, sentDay(parseMailDate(idx.envelope.date), idx.envelope.date), node.day));
    case 'fastHeader': {
      // most messages of a big folder fail here without their headers being decoded
      if (node.precheck && c.headersMayContain?.(node.field, node.needle) === false) return false;
      const h = ctx.headers();
      const test = (v: SearchHeaders) => foldForSearch(decodedHeader(v, node.field)).includes(node.needle);
      return h instanceof Promise ? h.then(test) : test(h);
    }
    case 'rawHeader':
      return ctx.headerFields().then((fields) => {
        for (const f of fields) {
          if (f.name !== node.field) continue;
          if (node.needle === '') return true;
          if (foldForSearch(ctx.decodedValue(f)).includes(node.needle)) return true;
        }
        return false;
      });
    case 'body':
      return evalBody(node.needle, node.withHeaders, ctx);
    case 'not': {
      const r = evalNode(node.inner, ctx);
      return typeof r === 'boolean' ? !r : r.then((v) => !v);
    }
    case 'and':
      return evalSequence(node.items, 0, ctx, false);
    case 'or':
      return evalSequence(node.items, 0, ctx, true);
  }
}

/** AND (stop = false) or OR (stop = true): returns `stop` at the first child that gives it. */
function evalSequence(items: readonly Node[], from: number, ctx: MessageContext, stop: boolean): Result {
  for (let i = from; i < items.length; i++) {
    const r = evalNode(items[i]!, ctx);
    if (typeof r !== 'boolean') {
      return r.then((v) => (v === stop ? stop : evalSequence(items, i + 1, ctx, stop)));
    }
    if (r === stop) return stop;
  }
  return !stop;
}

async function evalBody(needle: string, withHeaders: boolean, ctx: MessageContext): Promise<boolean> {
  const finder = new StreamingFinder(needle);
  if (withHeaders) {
    const fields = await ctx.headerFields();
    finder.push(headerBlockText(fields, (f) => ctx.decodedValue(f)));
    if (finder.end()) return true;
  }
  const idx = await ctx.index();
  return scanMessageBody(ctx.candidate, idx.body, finder, { withPartHeaders: withHeaders, budget: ctx.maxScanBytes });
}

/** A message deleted underneath the search: leave it out rather than fail the search. */
function vanished(e: unknown): boolean {
  return isStoreError(e, 'EXPUNGED') || isStoreError(e, 'NONEXISTENT') || errnoCode(e) === 'ENOENT';
}

function isAsyncIterable<T>(x: Iterable<T> | AsyncIterable<T>): x is AsyncIterable<T> {
  return typeof (x as AsyncIterable<T>)[Symbol.asyncIterator] === 'function';
}

/** The UIDs of the candidates that match `key`, in candidate order. */
export async function evaluateSearch(
  key: SearchKey,
  candidates: Iterable<SearchCandidate> | AsyncIterable<SearchCandidate>,
  o: SearchOptions = {},
): Promise<number[]> {
  const root = compile(key);
  const maxScan = o.maxBodyScanBytes !== undefined && Number.isFinite(o.maxBodyScanBytes) && o.maxBodyScanBytes >= 0
    ? Math.floor(o.maxBodyScanBytes)
    : DEFAULT_MAX_BODY_SCAN_BYTES;
  const tz = o.timezoneOffsetMinutes !== undefined && Number.isFinite(o.timezoneOffsetMinutes)
    ? o.timezoneOffsetMinutes
    : undefined;
  const out: number[] = [];

  const settle = (e: unknown): boolean => {
    if (vanished(e)) return false;
    throw e;
  };
  /** true if the candidate matches; false also when it vanished meanwhile (synchronously when nothing had to be read) */
  const consider = (c: SearchCandidate): boolean | Promise<boolean> => {
    let r: Result;
    try {
      r = evalNode(root, new MessageContext(c, maxScan, tz));
    } catch (e) {
      return settle(e);
    }
    return typeof r === 'boolean' ? r : r.catch(settle);
  };

  if (!isAsyncIterable(candidates) && root.cost === Cost.Meta) {
    // Metadata only: no promise per message (this is the common UNSEEN / UID / FLAGGED search).
    for (const c of candidates) {
      if (evalNode(root, new MessageContext(c, maxScan, tz)) === true) out.push(c.uid);
    }
    return out;
  }
  // Keys that read files: several messages in flight, so that their reads
  // overlap; answers are collected in candidate order. Memory stays bounded
  // by the window (each message's scan is itself bounded).
  const window: { uid: number; match: Promise<boolean> }[] = [];
  const drain = async (keep: number) => {
    while (window.length > keep) {
      const w = window.shift()!;
      if (await w.match) out.push(w.uid);
    }
  };
  let lastTurn = performance.now();
  let considered = 0;
  /** Takes one candidate; returns a promise only when the caller must wait. */
  const add = (c: SearchCandidate): Promise<void> | undefined => {
    // Small files are read with blocking calls and cached headers are
    // decoded without waiting, so a long search would hold the process:
    // every few milliseconds, let other sessions have a turn.
    if (++considered % 64 === 0 && performance.now() - lastTurn >= TURN_EVERY_MS) {
      lastTurn = performance.now();
      return new Promise<void>((resolve) => setImmediate(resolve)).then(() => add(c));
    }
    const r = consider(c);
    if (typeof r === 'boolean' && window.length === 0) {
      // answered at once and nothing ahead of it: no promise, no window
      if (r) out.push(c.uid);
      return undefined;
    }
    const match = typeof r === 'boolean' ? Promise.resolve(r) : r;
    match.catch(() => undefined); // awaited, in order, by drain()
    window.push({ uid: c.uid, match });
    return window.length >= SEARCH_IN_FLIGHT ? drain(SEARCH_IN_FLIGHT - 1) : undefined;
  };
  try {
    if (isAsyncIterable(candidates)) {
      for await (const c of candidates) await add(c);
    } else {
      for (const c of candidates) {
        const wait = add(c);
        if (wait) await wait;
      }
    }
    await drain(0);
  } finally {
    // after a failure, let the messages still in flight settle quietly
    for (const w of window) w.match.catch(() => undefined);
  }
  return out;
}
