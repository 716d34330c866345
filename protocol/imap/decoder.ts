/**
 * Grammar functions over one framed command, named after the RFC 3501 ABNF
 * (`expectAstring`, `expectSeqSet`, `expectMailbox`…) so that each command
 * parser reads like its grammar rule — the shape of go-imap's
 * `internal/imapwire/decoder.go`.
 *
 * A command arrives from the reader as parts: text lines (CRLF removed) and
 * the literals between them. A text part that is followed by a literal ends
 * with its `{n}` / `{n+}` marker. When a grammar function reaches a literal
 * marker whose data has not arrived yet, it throws `NeedLiteral`: the reader
 * uses that to learn that the command is acceptable *so far* (RFC 3501 7.5:
 * send "+" only then) and whether the literal is an APPEND message.
 *
 * Errors are thrown as `DecodeError` and turned into one `BAD` by
 * parseCommand; nothing here throws anything else for bad input.
 */
import type { Day } from '../../maildir/search/query.js';
import type { Flag, SystemFlag } from '../../maildir/types.js';
import type { AppendHeader } from './commands.js';
import type { ParseErrorKind, ParseResponseCode } from './errors.js';
import { decodeMutf7 } from './mutf7.js';
import { parseSequenceSet, type SequenceSet } from './sequence-set.js';

export type CommandPart =
  | { kind: 'text'; data: Buffer }
  | { kind: 'literal'; data: Buffer }
  /** an APPEND message literal that was streamed, not kept */
  | { kind: 'stream'; size: number };

/** Thrown when parsing reaches a literal whose bytes are still to come. Not an error. */
export class NeedLiteral {
  constructor(readonly append?: AppendHeader) {}
}

export class DecodeError extends Error {
  constructor(
    message: string,
    readonly kind: ParseErrorKind = 'BAD',
    readonly code?: ParseResponseCode,
    readonly codeData?: string[],
  ) {
    super(message);
    this.name = 'DecodeError';
  }
}

export interface DecoderOptions {
  /** parenthesised lists (and NOT/OR chains) nested deeper than this are refused with [LIMIT] */
  maxDepth: number;
}

/* Byte classes of RFC 3501 section 9. */
const ATOM = 1; // ATOM-CHAR: any CHAR except atom-specials ( ) { SP CTL % * " \ ]
const ASTRING = 2; // ASTRING-CHAR = ATOM-CHAR / "]"
const LIST = 4; // list-char = ATOM-CHAR / list-wildcards / resp-specials
const TAG = 8; // tag = 1*<any ASTRING-CHAR except "+">
const FETCHATT = 16; // letters, digits and "." (fetch attribute names, section specs)
const SEQ = 32; // digits, ":", ",", "*" (sequence-set)
const CLASS = new Uint8Array(256);
for (let c = 0x21; c < 0x7f; c++) {
  if (!'(){%*"\\]'.includes(String.fromCharCode(c))) CLASS[c] |= ATOM | ASTRING | LIST | TAG;
}
CLASS[0x5d] |= ASTRING | LIST | TAG; // ]
CLASS[0x25] |= LIST; // %
CLASS[0x2a] |= LIST | SEQ; // *
CLASS[0x2b] &= ~TAG; // +
for (const ch of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.') CLASS[ch.charCodeAt(0)] |= FETCHATT;
for (const ch of '0123456789:,') CLASS[ch.charCodeAt(0)] |= SEQ;

const SP = 0x20;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;
const LBRACE = 0x7b;
const EMPTY = Buffer.alloc(0);

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const SYSTEM_FLAGS: Record<string, SystemFlag> = {
  '\\SEEN': '\\Seen',
  '\\ANSWERED': '\\Answered',
  '\\FLAGGED': '\\Flagged',
  '\\DELETED': '\\Deleted',
  '\\DRAFT': '\\Draft',
};
const MAX_NUMBER = 4294967295;

export interface Mark {
  pi: number;
  pos: number;
}

export class Decoder {
  private pi = 0;
  private pos = 0;
  private depth = 0;

  constructor(
    private readonly parts: readonly CommandPart[],
    private readonly options: DecoderOptions,
  ) {}

  private get buf(): Buffer {
    const p = this.parts[this.pi];
    return p !== undefined && p.kind === 'text' ? p.data : EMPTY;
  }

  fail(message: string, code?: ParseResponseCode): never {
    throw new DecodeError(message, 'BAD', code);
  }

  mark(): Mark {
    return { pi: this.pi, pos: this.pos };
  }

  reset(m: Mark): void {
    this.pi = m.pi;
    this.pos = m.pos;
  }

  /** the next byte of the current line, or -1 at its end */
  peek(): number {
    const b = this.buf;
    return this.pos < b.length ? b[this.pos] : -1;
  }

  consume(byte: number): boolean {
    if (this.peek() !== byte) return false;
    this.pos++;
    return true;
  }

  expect(byte: number, what: string): void {
    if (!this.consume(byte)) this.fail(`Expected ${what}`);
  }

  sp(): boolean {
    return this.consume(SP);
  }

  expectSP(): void {
    if (this.sp()) return;
    this.fail(this.peek() < 0 ? 'Missing arguments' : 'Expected a space');
  }

  /** the whole command has been read */
  expectEnd(): void {
    if (this.pi === this.parts.length - 1 && this.pos === this.buf.length) return;
    const c = this.peek();
    if (c === SP) this.fail('Unexpected extra arguments');
    this.fail(c > 0x20 && c < 0x7f ? `Unexpected character ${String.fromCharCode(c)}` : 'Unexpected 8-bit or control character');
  }

  /** nesting bound shared by lists and NOT/OR chains, so that recursion depth is bounded */
  enter(): void {
    if (++this.depth > this.options.maxDepth) {
      throw new DecodeError(`Too deeply nested (more than ${this.options.maxDepth} levels)`, 'BAD', 'LIMIT');
    }
  }

  leave(): void {
    this.depth--;
  }

  private take(cls: number): string {
    const b = this.buf;
    const start = this.pos;
    while (this.pos < b.length && (CLASS[b[this.pos]] & cls) !== 0) this.pos++;
    return b.toString('latin1', start, this.pos);
  }

  /* ------------------------------------------------------------ atoms */

  /** atom = 1*ATOM-CHAR; '' when none */
  atom(): string {
    return this.take(ATOM);
  }

  expectAtom(what = 'an atom'): string {
    const a = this.atom();
    if (a === '') this.fail(`Expected ${what}`);
    return a;
  }

  /** whether an atom equal (case-insensitively) to `word` comes next; consumes it if so */
  atomIs(word: string): boolean {
    const m = this.mark();
    if (this.atom().toUpperCase() === word) return true;
    this.reset(m);
    return false;
  }

  /** tag = 1*<any ASTRING-CHAR except "+"> */
  expectTag(): string {
    const t = this.take(TAG);
    if (t === '') this.fail('Invalid tag');
    return t;
  }

  /** letters, digits and dots: fetch attribute names and section specs */
  fetchAttName(): string {
    return this.take(FETCHATT);
  }

  /* ---------------------------------------------------------- numbers */

  /** number = 1*DIGIT, a 32-bit unsigned integer unless `max` says otherwise */
  expectNumber(what = 'a number', max = MAX_NUMBER): number {
    const b = this.buf;
    const start = this.pos;
    while (this.pos < b.length && b[this.pos] >= 0x30 && b[this.pos] <= 0x39) this.pos++;
    const s = b.toString('latin1', start, this.pos);
    if (s === '') this.fail(`Expected ${what}`);
    const n = s.length > 20 ? Infinity : Number(s);
    if (n > max) this.fail(`${what} out of range`);
    return n;
  }

  /** nz-number = digit-nz *DIGIT */
  expectNzNumber(what = 'a non-zero number'): number {
    if (this.peek() === 0x30) this.fail(`Expected ${what}`);
    return this.expectNumber(what);
  }

  /* ---------------------------------------------------------- strings */

  /** quoted = DQUOTE *QUOTED-CHAR DQUOTE, with \" and \\ escapes; null when not at a quote */
  quoted(): Buffer | null {
    if (this.peek() !== DQUOTE) return null;
    const b = this.buf;
    let i = this.pos + 1;
    let out: number[] | null = null; // only allocated when an escape forces a copy
    let segStart = i;
    for (;;) {
      if (i >= b.length) this.fail('Unterminated quoted string');
      const c = b[i];
      if (c === DQUOTE) break;
      if (c === 0 || c === 0x0d || c === 0x0a) this.fail('Invalid character in quoted string');
      if (c === BACKSLASH) {
        const e = b[i + 1];
        if (e !== DQUOTE && e !== BACKSLASH) this.fail('Invalid escape in quoted string');
        out ??= [];
        for (let k = segStart; k < i; k++) out.push(b[k]);
        out.push(e);
        i += 2;
        segStart = i;
        continue;
      }
      i++;
    }
    let result: Buffer;
    if (out === null) result = Buffer.from(b.subarray(this.pos + 1, i));
    else {
      for (let k = segStart; k < i; k++) out.push(b[k]);
      result = Buffer.from(out);
    }
    this.pos = i + 1;
    return result;
  }

  /** Parse `{n}` / `{n+}` at the end of the current line; returns the next part, or throws NeedLiteral. */
  private literalPart(append?: AppendHeader): CommandPart {
    const b = this.buf;
    let i = this.pos + 1;
    while (i < b.length && b[i] >= 0x30 && b[i] <= 0x39) i++;
    if (i === this.pos + 1) this.fail('Invalid literal');
    if (b[i] === 0x2b) i++; // "+": LITERAL+ (RFC 7888)
    if (b[i] !== 0x7d || i + 1 !== b.length) this.fail('A literal must end the line');
    const next = this.parts[this.pi + 1];
    if (next === undefined) throw new NeedLiteral(append);
    this.pi += 2;
    this.pos = 0;
    return next;
  }

  /** literal = "{" number ["+"] "}" CRLF *CHAR8; null when not at a literal */
  literal(): Buffer | null {
    if (this.peek() !== LBRACE) return null;
    const p = this.literalPart();
    if (p.kind !== 'literal') this.fail('Unexpected literal');
    if (p.data.includes(0)) this.fail('NUL in literal'); // CHAR8 = %x01-ff
    return p.data;
  }

  /** string = quoted / literal */
  string(): Buffer | null {
    return this.quoted() ?? this.literal();
  }

  expectString(what = 'a string'): Buffer {
    const s = this.string();
    if (s === null) this.fail(`Expected ${what}`);
    return s;
  }

  /** astring = 1*ASTRING-CHAR / string */
  astring(): Buffer | null {
    const s = this.string();
    if (s !== null) return s;
    const a = this.take(ASTRING);
    return a === '' ? null : Buffer.from(a, 'latin1');
  }

  expectAstring(what = 'a string'): Buffer {
    const s = this.astring();
    if (s === null) this.fail(`Expected ${what}`);
    return s;
  }

  /** astring decoded as UTF-8 */
  expectText(what = 'a string'): string {
    return this.expectAstring(what).toString('utf8');
  }

  /** nstring = string / nil; null for NIL */
  expectNstring(what = 'a string or NIL'): Buffer | null {
    const s = this.string();
    if (s !== null) return s;
    if (this.atom().toUpperCase() === 'NIL') return null;
    this.fail(`Expected ${what}`);
  }

  /** The message literal of APPEND: returns its declared size, or throws NeedLiteral(header) before it arrives. */
  expectMessageLiteral(header: AppendHeader): number {
    if (this.peek() !== LBRACE) this.fail('Expected the message as a literal');
    const p = this.literalPart(header);
    if (p.kind !== 'stream') this.fail('Unexpected literal');
    return p.size;
  }

  /* ------------------------------------------------------------ lists */

  /** "(" item *(SP item) ")", or "()" when allowed; depth-limited */
  expectList<T>(item: () => T, o: { allowEmpty: boolean; what: string }): T[] {
    this.expect(0x28, `"(" to open ${o.what}`);
    this.enter();
    const out: T[] = [];
    if (this.consume(0x29)) {
      if (!o.allowEmpty) this.fail(`Empty ${o.what}`);
    } else {
      do out.push(item());
      while (this.sp());
      this.expect(0x29, `")" to close ${o.what}`);
    }
    this.leave();
    return out;
  }

  /* -------------------------------------------------------- mailboxes */

  /** mailbox = "INBOX" / astring — modified UTF-7 decoded, INBOX case-insensitive (RFC 3501 5.1) */
  expectMailbox(): string {
    const name = this.mutf7(this.expectAstring('a mailbox name'));
    return name.toUpperCase() === 'INBOX' ? 'INBOX' : name;
  }

  /** a LIST reference name: a mailbox name, kept as written (no INBOX folding) */
  expectReference(): string {
    return this.mutf7(this.expectAstring('a reference name'));
  }

  /** list-mailbox = 1*list-char / string (may contain the wildcards % and *) */
  expectListMailbox(): string {
    const s = this.string();
    if (s !== null) return this.mutf7(s);
    const a = this.take(LIST);
    if (a === '') this.fail('Expected a mailbox pattern');
    return this.mutf7(Buffer.from(a, 'latin1'));
  }

  private mutf7(bytes: Buffer): string {
    const decoded = decodeMutf7(bytes.toString('latin1', 0, bytes.length));
    if (decoded === null) this.fail('Mailbox name is not valid modified UTF-7');
    return decoded;
  }

  /* ------------------------------------------------------- sequences */

  expectSeqSet(): SequenceSet {
    const text = this.take(SEQ);
    const set = parseSequenceSet(text);
    if (set === null) this.fail(text === '' ? 'Expected a sequence set' : `Invalid sequence set ${text}`);
    return set;
  }

  /** whether a sequence set starts here (a digit or "*") */
  atSeqSet(): boolean {
    const c = this.peek();
    return c === 0x2a || (c >= 0x30 && c <= 0x39);
  }

  /* ------------------------------------------------------------ flags */

  /**
   * flag = "\Answered" / "\Flagged" / "\Deleted" / "\Seen" / "\Draft" / flag-keyword / flag-extension.
   * System flags are normalised to their canonical case. \Recent cannot be set by a client
   * (RFC 3501 2.3.2), and flag extensions we do not know cannot be stored, so both are refused.
   */
  expectFlag(): Flag {
    if (this.consume(BACKSLASH)) {
      const name = this.atom();
      const flag = SYSTEM_FLAGS[`\\${name.toUpperCase()}`];
      if (flag !== undefined) return flag;
      if (name.toUpperCase() === 'RECENT') this.fail('\\Recent cannot be set');
      this.fail(name === '' ? 'Expected a flag' : `Unsupported system flag \\${name}`);
    }
    return this.expectAtom('a flag');
  }

  /** flag-list = "(" [flag *(SP flag)] ")" */
  expectFlagList(): Flag[] {
    return this.expectList(() => this.expectFlag(), { allowEmpty: true, what: 'the flag list' });
  }

  /* ------------------------------------------------------------ dates */

  /** date = date-text / DQUOTE date-text DQUOTE; date-text = date-day "-" date-month "-" date-year */
  expectDate(): Day {
    const q = this.quoted();
    const text = q !== null ? q.toString('latin1', 0, q.length) : this.atom();
    const m = /^(\d{1,2})-([A-Za-z]{3})-(\d{4})$/.exec(text);
    const day = m ? toDay(Number(m[3]), m[2], Number(m[1])) : null;
    if (day === null) this.fail(`Invalid date ${JSON.stringify(text)}`);
    return day;
  }

  /** date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE */
  expectDateTime(): Date {
    const q = this.quoted();
    if (q === null) this.fail('Expected a date-time');
    const text = q.toString('latin1', 0, q.length);
    // date-day-fixed is (SP DIGIT) / 2DIGIT; a bare single digit is tolerated as many clients send it.
    const m = /^ ?(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)$/.exec(text);
    const day = m ? toDay(Number(m[3]), m[2], Number(m[1])) : null;
    if (m === null || day === null) this.fail(`Invalid date-time ${JSON.stringify(text)}`);
    const [hh, mi, ss, zh, zm] = [m[4], m[5], m[6], m[8], m[9]].map(Number);
    if (hh > 23 || mi > 59 || ss > 60 || zh > 23 || zm > 59) this.fail(`Invalid date-time ${JSON.stringify(text)}`);
    const offsetMin = (m[7] === '-' ? -1 : 1) * (zh * 60 + zm);
    return new Date(Date.UTC(day.year, day.month - 1, day.day, hh, mi, ss) - offsetMin * 60_000);
  }
}

function toDay(year: number, monthName: string, day: number): Day | null {
  const month = MONTHS.indexOf(monthName.toUpperCase()) + 1;
  if (month === 0 || day < 1 || year < 1000) return null;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return day <= daysInMonth ? { year, month, day } : null;
}
