/** In-memory SEARCH candidates with call counters, for the search-*.test.ts files. */
import { parseMessage } from '../maildir/mime/parser.js';
import type { MessageIndex } from '../maildir/mime/types.js';
import type { SearchCandidate } from '../maildir/search/evaluate.js';

export interface Counters {
  index: number;
  readRange: number;
  internalDate: number;
  bytesRead: number;
}

export function newCounters(): Counters {
  return { index: 0, readRange: 0, internalDate: 0, bytesRead: 0 };
}

export interface MessageSpec {
  uid: number;
  raw: string | Buffer;
  flags?: string[];
  recent?: boolean;
  internalDate?: Date;
  /** overrides the parsed index (hand-built MessageIndex tests) */
  index?: MessageIndex;
}

export interface CandidateOptions {
  /** readRange yields chunks of this many bytes (default 4096) */
  chunkSize?: number;
  counters?: Counters;
}

export function candidate(spec: MessageSpec, o: CandidateOptions = {}): SearchCandidate {
  const raw = typeof spec.raw === 'string' ? Buffer.from(spec.raw, 'latin1') : spec.raw;
  const counters = o.counters ?? newCounters();
  const chunkSize = o.chunkSize ?? 4096;
  let parsed: Promise<MessageIndex> | null = null;
  const size = spec.index?.size ?? raw.length + (raw.toString('latin1').match(/(?<!\r)\n/g)?.length ?? 0);
  return {
    uid: spec.uid,
    flags: spec.flags ?? [],
    recent: spec.recent ?? false,
    size,
    internalDate: async () => {
      counters.internalDate++;
      return spec.internalDate ?? new Date(Date.UTC(2020, 0, 1));
    },
    index: () => {
      counters.index++;
      parsed ??= spec.index !== undefined ? Promise.resolve(spec.index) : parseMessage(raw);
      return parsed;
    },
    readRange: (start: number, end: number) => {
      counters.readRange++;
      return (async function* () {
        for (let p = Math.max(0, start); p < Math.min(end, raw.length); p += chunkSize) {
          const chunk = raw.subarray(p, Math.min(p + chunkSize, end, raw.length));
          counters.bytesRead += chunk.length;
          yield chunk;
        }
      })();
    },
  };
}

/** Joins header and body lines with LF, as Maildir files are stored. */
export function lines(...ls: string[]): string {
  return ls.join('\n');
}
