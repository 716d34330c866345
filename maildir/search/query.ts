/**
 * A typed SEARCH query covering every RFC 3501 section 6.4.4 key. The IMAP
 * layer turns its wire syntax (and sequence sets, via its own seq→UID view)
 * into this; storage evaluates it.
 */
export interface UidRange {
  /** inclusive */
  from: number;
  /** inclusive; Infinity for "*" resolved by the caller or open-ended */
  to: number;
}

/** A calendar day, as IMAP dates are: "disregarding time and timezone" (RFC 3501 6.4.4). */
export interface Day {
  year: number;
  month: number; // 1..12
  day: number; // 1..31
}

export type SearchKey =
  | { type: 'all' }
  | { type: 'flag'; flag: '\\Seen' | '\\Answered' | '\\Flagged' | '\\Deleted' | '\\Draft'; set: boolean }
  | { type: 'keyword'; keyword: string; set: boolean }
  /** RECENT / NEW (= RECENT UNSEEN) / OLD (= NOT RECENT) are expressed with this and `flag` */
  | { type: 'recent'; set: boolean }
  | { type: 'uid'; ranges: UidRange[] }
  | { type: 'internaldate'; op: 'before' | 'on' | 'since'; day: Day }
  | { type: 'sentdate'; op: 'before' | 'on' | 'since'; day: Day }
  | { type: 'size'; op: 'larger' | 'smaller'; octets: number }
  /** FROM/TO/CC/BCC/SUBJECT and HEADER field string; empty value = field present */
  | { type: 'header'; field: string; value: string }
  | { type: 'body'; value: string }
  | { type: 'text'; value: string }
  | { type: 'not'; key: SearchKey }
  | { type: 'or'; left: SearchKey; right: SearchKey }
  | { type: 'and'; keys: SearchKey[] };
