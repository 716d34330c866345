/**
 * The storage interfaces every protocol talks to (DESIGN.md "Storage interfaces").
 * UIDs only; sequence numbers live in the protocol sessions.
 */
import type { Readable } from 'node:stream';
import type { MessageIndex } from './mime/types.js';
import type { SearchKey } from './search/query.js';

export type SystemFlag = '\\Seen' | '\\Answered' | '\\Flagged' | '\\Deleted' | '\\Draft';
export const SYSTEM_FLAGS: readonly SystemFlag[] = ['\\Seen', '\\Answered', '\\Flagged', '\\Deleted', '\\Draft'];
/** A system flag or a keyword (an IMAP atom without a leading backslash). */
export type Flag = SystemFlag | string;

export type SpecialUse = '\\Drafts' | '\\Sent' | '\\Trash' | '\\Junk' | '\\Archive';

export interface MailboxInfo {
  /** IMAP name in Unicode, '/' as delimiter, "INBOX" for the root */
  name: string;
  delimiter: '/';
  specialUse?: SpecialUse;
  subscribed: boolean;
  hasChildren: boolean;
  /** a parent that exists only because of its children (\NonExistent / \Noselect) */
  nonExistent?: boolean;
}

export interface MailboxStatus {
  messages: number;
  recent: number;
  uidNext: number;
  uidValidity: number;
  unseen: number;
  /** sum of RFC822.SIZE (CRLF) of all messages */
  size: number;
}

export interface MessageMeta {
  uid: number;
  /** system flags and keywords together, system flags first (\\Recent is `recent`) */
  flags: Flag[];
  /** \\Recent for this handle (RFC 3501 2.3.2) */
  recent: boolean;
}

export interface FlagChange {
  uid: number;
  flags: Flag[];
}

export interface MailboxChanges {
  /** UIDs new to this handle, ascending */
  added: number[];
  /** of `added`, the ones this handle is the first to see (\Recent, RFC 3501 2.3.2) */
  recent: number[];
  /** UIDs gone since the last sync, ascending */
  expunged: number[];
  /** messages (already known to this handle) whose flags changed */
  flags: FlagChange[];
}

export interface QuotaUsage {
  usedBytes: number;
  limitBytes?: number;
  usedMessages: number;
  limitMessages?: number;
}

export interface AppendOptions {
  flags?: Flag[];
  internalDate?: Date;
}

export interface MailStore {
  forUser(user: string): Promise<UserStore>;
}

export interface UserStore {
  list(): Promise<MailboxInfo[]>;
  create(name: string, specialUse?: SpecialUse): Promise<void>;
  delete(name: string): Promise<void>;
  /** renaming INBOX moves all its messages into the new folder (RFC 3501 6.3.5) */
  rename(from: string, to: string): Promise<void>;
  subscribe(name: string, on: boolean): Promise<void>;
  status(name: string): Promise<MailboxStatus>;
  append(name: string, body: Readable | Buffer, o?: AppendOptions): Promise<{ uidValidity: number; uid: number }>;
  /** local delivery (SMTP/LMTP/LDA): into new/ under quota; sessions are notified, UIDs come at their next sync */
  deliver(name: string, body: Readable | Buffer | AsyncIterable<Buffer>, o?: { maxBytes?: number }): Promise<{ fileName: string; rawSize: number }>;
  /**
   * `watch: false` for a session that never waits for outside changes
   * (POP3 works on a snapshot): the folder is then not watched for this
   * handle, and onChange hears only this process's own changes. A watched
   * folder's every own rename also costs an event to read and match
   * (measured: 1,334 \Seen renames at a POP3 QUIT, 43 ms watched, 32 ms not).
   */
  open(name: string, o: { readOnly: boolean; watch?: boolean }): Promise<Mailbox>;
  quota(): Promise<QuotaUsage>;
}

/**
 * Bytes of a stored message (or a range of it). Small messages come read
 * whole (`bytes`), so a caller can answer without any stream machinery;
 * `stream` works for every size (for small ones it is made on first use).
 * A caller that takes neither must still call `release()` (or destroy the stream).
 */
export interface MessageBytes {
  readonly size: number;
  /** the whole range, already in memory; null when it is streamed from the file */
  readonly bytes: Buffer | null;
  readonly stream: Readable;
  /** closes the file if it was left open for streaming */
  release(): void;
}

export interface Mailbox {
  readonly name: string;
  readonly uidValidity: number;
  readonly readOnly: boolean;
  /** UIDNEXT as of the last sync */
  readonly uidNext: number;
  /** UIDs of this handle's view, ascending (snapshot as of the last sync) */
  uids(): readonly number[];
  /** flags and size of one message in this handle's view */
  meta(uid: number): MessageMeta | undefined;
  messages(): MessageMeta[];
  /** the UIDs that are \Recent for this handle (cheap: no per-message objects) */
  recentUids(): number[];
  /** the first UID of this handle's view without \Seen, or null (SELECT's [UNSEEN n]) */
  firstUnseenUid(): number | null;
  /** INTERNALDATE; from the cache, else the file's mtime */
  internalDate(uid: number): Promise<Date>;
  /** RFC822.SIZE: octets with CRLF line endings (from the name's W=, the cache, or by reading the file) */
  rfc822Size(uid: number): Promise<number>;
  /**
   * INTERNALDATE and RFC822.SIZE when they are known without I/O (the name's
   * W=, an earlier read or parse), else undefined: then ask the async ones.
   * Lets a FETCH of many messages skip a wait per message.
   */
  knownInternalDate(uid: number): Date | undefined;
  knownRfc822Size(uid: number): number | undefined;
  /** keywords defined in this folder (for PERMANENTFLAGS / FLAGS) */
  keywords(): string[];
  sync(): Promise<MailboxChanges>;
  /**
   * The whole message as stored, when it is small enough to read without
   * waiting (blocking reads of a page-cached file: microseconds); null when
   * it is large or its file is not where the last sync saw it: then read(),
   * which streams and resyncs. Lets a FETCH of many messages skip a promise
   * per message. With `into`, a message that fits is read into it and the
   * result is a view of it (no allocation; the caller owns what it reuses).
   */
  readNow(uid: number, into?: Buffer): Buffer | null;
  /** the raw bytes as stored (LF line endings as on disk); range in raw offsets */
  read(uid: number, range?: { start: number; length?: number }): Promise<MessageBytes>;
  index(uid: number): Promise<MessageIndex>;
  /**
   * index() when it is at hand without waiting: a cached record, or a small
   * file read and parsed with blocking calls (as readNow); null when the cache
   * is not open yet, the file is large or not where the last sync saw it, or
   * a parse of it is under way: then index(). Lets a FETCH of many messages
   * skip the promises per message.
   */
  indexNow(uid: number): MessageIndex | null;
  /**
   * Change the flags of these UIDs; returns their metas after the change. With
   * `silent` (IMAP STORE .SILENT, POP3 UPDATE: nobody reads them) the metas
   * are not built and the result is empty.
   */
  setFlags(uids: readonly number[], mode: 'add' | 'remove' | 'replace', flags: readonly Flag[], o?: { silent?: boolean }): Promise<MessageMeta[]>;
  /** expunge the given UIDs, or all \Deleted ones; returns the UIDs removed */
  expunge(uids?: readonly number[]): Promise<number[]>;
  copy(uids: readonly number[], dest: string, o?: { move?: boolean }): Promise<{ uidValidity: number; pairs: [number, number][] }>;
  search(q: SearchKey): Promise<number[]>;
  /** a hint that something changed; the session then calls sync() */
  onChange(listener: () => void): () => void;
  close(): Promise<void>;
}
