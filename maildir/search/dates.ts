/**
 * Calendar-day arithmetic for the SEARCH date keys.
 *
 * RFC 3501 6.4.4 compares dates "disregarding time and timezone": the message's
 * date is reduced to a calendar day, then compared with the key's day. Which
 * day an instant falls on depends on a time zone, and we follow Dovecot
 * (index-search.c search_arg_match_cached):
 *  - INTERNALDATE (BEFORE/ON/SINCE): the day in the server's time zone (the
 *    offset in force at that instant, so DST is honoured), or a configured offset;
 *  - Date: header (SENTBEFORE/SENTON/SENTSINCE): the day in the header's own
 *    time zone, i.e. the day the sender wrote; a missing or unparseable Date:
 *    counts as the epoch, 1 Jan 1970 (Dovecot's mail_get_date gives 0 then),
 *    so such messages match SENTBEFORE of any later day.
 * Days are counted as whole days since 1970-01-01 so comparisons are integer ones.
 */
import type { Day } from './query.js';

const MS_PER_DAY = 86_400_000;

/** Days since 1970-01-01 of a calendar day. */
export function dayNumber(day: Day): number {
  return Math.floor(Date.UTC(day.year, day.month - 1, day.day) / MS_PER_DAY);
}

/** The calendar day (days since epoch) that instant `ms` falls on at UTC offset `offsetMinutes`. */
export function dayOfInstant(ms: number, offsetMinutes: number): number {
  return Math.floor((ms + offsetMinutes * 60_000) / MS_PER_DAY);
}

/** The server's UTC offset in minutes at instant `ms` (east positive). */
export function localOffsetMinutes(ms: number): number {
  const offset = -new Date(ms).getTimezoneOffset();
  return Number.isFinite(offset) ? offset : 0;
}

export function compareDay(op: 'before' | 'on' | 'since', actual: number, target: number): boolean {
  switch (op) {
    case 'before':
      return actual < target;
    case 'on':
      return actual === target;
    case 'since':
      return actual >= target;
  }
}

/** RFC 5322 4.3 obsolete zone names; military letters count as -0000 (ibid.). */
const NAMED_ZONES: Record<string, number> = {
  UT: 0,
  UTC: 0,
  GMT: 0,
  Z: 0,
  EST: -5 * 60,
  EDT: -4 * 60,
  CST: -6 * 60,
  CDT: -5 * 60,
  MST: -7 * 60,
  MDT: -6 * 60,
  PST: -8 * 60,
  PDT: -7 * 60,
};

/** time-of-day, optional comment, then the zone: "+0200", "-0000", "GMT", "EST", "(CET)"… */
const ZONE_AFTER_TIME = /\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*([+-]\d{4}|[A-Za-z]{1,5}\b)?/;

/**
 * The UTC offset in minutes written in a raw Date: header value, or 0 when
 * there is none we understand (RFC 5322 4.3: unknown zones are "-0000").
 */
export function headerZoneOffset(rawDate: string | null): number {
  if (rawDate === null) return 0;
  const m = ZONE_AFTER_TIME.exec(rawDate);
  const zone = m?.[1];
  if (zone === undefined) return 0;
  if (zone[0] === '+' || zone[0] === '-') {
    const hours = Number(zone.slice(1, 3));
    const minutes = Number(zone.slice(3, 5));
    if (minutes >= 60) return 0;
    return (zone[0] === '-' ? -1 : 1) * (hours * 60 + minutes);
  }
  return NAMED_ZONES[zone.toUpperCase()] ?? 0;
}

/** The day a message was sent, per the rules in the file comment. */
export function sentDay(dateMs: number | null, rawDate: string | null): number {
  if (dateMs === null || !Number.isFinite(dateMs)) return dayOfInstant(0, 0);
  return dayOfInstant(dateMs, headerZoneOffset(rawDate));
}
