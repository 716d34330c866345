// Test helpers for the IMAP reader: run wire bytes through a CommandReader in a
// given chunking and collect comparable events (STYLE.md 5: whole, one byte at
// a time, split at every position).
import { CommandReader, type ReaderEvent, type ReaderOptions } from '../protocol/imap/reader.js';

/** ReaderEvent with APPEND chunks merged and errors flattened, so runs in different chunkings compare equal. */
export type Collected =
  | Exclude<ReaderEvent, { type: 'append-chunk' } | { type: 'error' }>
  | { type: 'append-data'; data: string }
  | { type: 'error'; kind: string; code?: string; tag?: string; text: string };

export interface RunOptions extends ReaderOptions {
  /** answer to literal-request events; default: accept */
  literal?: (ev: Extract<ReaderEvent, { type: 'literal-request' }>) => 'accept' | 'reject';
}

export function run(chunks: readonly Buffer[], o: RunOptions = {}): Collected[] {
  const reader = new CommandReader(o);
  const out: Collected[] = [];
  let append: Buffer[] | null = null;
  const drain = (): void => {
    for (let ev = reader.next(); ev !== null; ev = reader.next()) {
      if (ev.type === 'append-chunk') {
        (append ??= []).push(Buffer.from(ev.data));
        continue;
      }
      if (append !== null) {
        out.push({ type: 'append-data', data: Buffer.concat(append).toString('latin1') });
        append = null;
      }
      if (ev.type === 'error') {
        const e: Collected = { type: 'error', kind: ev.error.kind, text: ev.error.text };
        if (ev.error.code !== undefined) e.code = ev.error.code;
        if (ev.error.tag !== undefined) e.tag = ev.error.tag;
        out.push(e);
        continue;
      }
      out.push(ev);
      if (ev.type === 'literal-request') {
        if ((o.literal?.(ev) ?? 'accept') === 'accept') reader.acceptLiteral();
        else reader.rejectLiteral();
      }
    }
  };
  for (const c of chunks) {
    reader.push(c);
    drain();
  }
  if (append !== null) out.push({ type: 'append-data', data: Buffer.concat(append).toString('latin1') });
  return out;
}

export function bytes(wire: string | Buffer): Buffer {
  return typeof wire === 'string' ? Buffer.from(wire, 'latin1') : wire;
}

/** the wire text whole, one byte at a time, and split in two at every position */
export function chunkings(wire: string | Buffer): { name: string; chunks: Buffer[] }[] {
  const b = bytes(wire);
  const out = [
    { name: 'whole', chunks: [b] },
    { name: 'byte by byte', chunks: [...b].map((x) => Buffer.from([x])) },
  ];
  for (let i = 1; i < b.length; i++) out.push({ name: `split at ${i}`, chunks: [b.subarray(0, i), b.subarray(i)] });
  return out;
}

/** run `wire` in every chunking, assert they all agree, and return the events */
export function runAll(wire: string | Buffer, o: RunOptions = {}): Collected[] {
  const [first, ...rest] = chunkings(wire);
  const expected = run(first.chunks, o);
  for (const c of rest) {
    const got = run(c.chunks, o);
    if (JSON.stringify(got) !== JSON.stringify(expected)) {
      throw new Error(`chunking "${c.name}" differs:\n${JSON.stringify(got)}\nvs whole:\n${JSON.stringify(expected)}`);
    }
  }
  return expected;
}
