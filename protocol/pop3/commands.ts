/**
 * POP3 commands as a discriminated union, and the parser from one command
 * line to it (RFC 1939 section 3, RFC 2449 CAPA, RFC 2595 STLS, RFC 5034 AUTH).
 * Keywords are case-insensitive; arguments are separated by spaces. PASS takes
 * the rest of the line, since passwords may contain spaces (RFC 1939 section 7).
 * The parser never throws: bad input becomes a `ParseFailure` the session
 * answers with `-ERR`.
 */
export type Pop3Command =
  | { name: 'USER'; user: string }
  | { name: 'PASS'; password: string }
  | { name: 'AUTH'; mechanism?: string; initialResponse?: string }
  | { name: 'STLS' }
  | { name: 'CAPA' }
  | { name: 'QUIT' }
  | { name: 'STAT' }
  | { name: 'LIST'; msg?: number }
  | { name: 'UIDL'; msg?: number }
  | { name: 'RETR'; msg: number }
  | { name: 'DELE'; msg: number }
  | { name: 'TOP'; msg: number; lines: number }
  | { name: 'NOOP' }
  | { name: 'RSET' };

export type Pop3CommandName = Pop3Command['name'];

export type ParseFailure = { error: 'unknown'; keyword: string } | { error: 'syntax'; name: Pop3CommandName; text: string };

export type ParseResult = { ok: true; command: Pop3Command } | ({ ok: false } & ParseFailure);

/** Which commands each state accepts (RFC 1939 sections 4-6; CAPA in both, RFC 2449 section 5). */
export const COMMAND_STATES: Record<Pop3CommandName, readonly ('AUTHORIZATION' | 'TRANSACTION')[]> = {
  USER: ['AUTHORIZATION'],
  PASS: ['AUTHORIZATION'],
  AUTH: ['AUTHORIZATION'],
  STLS: ['AUTHORIZATION'],
  CAPA: ['AUTHORIZATION', 'TRANSACTION'],
  QUIT: ['AUTHORIZATION', 'TRANSACTION'],
  STAT: ['TRANSACTION'],
  LIST: ['TRANSACTION'],
  UIDL: ['TRANSACTION'],
  RETR: ['TRANSACTION'],
  DELE: ['TRANSACTION'],
  TOP: ['TRANSACTION'],
  NOOP: ['TRANSACTION'],
  RSET: ['TRANSACTION'],
};

const NAMES = new Set<string>(Object.keys(COMMAND_STATES));

function isName(s: string): s is Pop3CommandName {
  return NAMES.has(s);
}

/** A message number or line count: decimal digits only, within a safe range. */
function number(s: string | undefined): number | undefined {
  if (s === undefined || !/^\d{1,15}$/.test(s)) return undefined;
  return Number(s);
}

export function parseCommand(line: string): ParseResult {
  const sp = line.indexOf(' ');
  const keyword = (sp < 0 ? line : line.slice(0, sp)).toUpperCase();
  const rest = sp < 0 ? '' : line.slice(sp + 1);
  if (!isName(keyword)) return { ok: false, error: 'unknown', keyword: keyword.slice(0, 16) };
  const args = rest.split(' ').filter((a) => a !== '');
  const ok = (command: Pop3Command): ParseResult => ({ ok: true, command });
  const bad = (text: string): ParseResult => ({ ok: false, error: 'syntax', name: keyword, text });
  const none = (command: Pop3Command): ParseResult => (args.length ? bad(`${keyword} takes no arguments`) : ok(command));

  switch (keyword) {
    case 'USER':
      return args.length === 1 ? ok({ name: 'USER', user: args[0] }) : bad('Usage: USER <name>');
    case 'PASS':
      return rest !== '' ? ok({ name: 'PASS', password: rest }) : bad('Usage: PASS <password>');
    case 'AUTH':
      if (args.length > 2) return bad('Usage: AUTH <mechanism> [initial-response]');
      return ok({
        name: 'AUTH',
        ...(args[0] !== undefined ? { mechanism: args[0].toUpperCase() } : {}),
        ...(args[1] !== undefined ? { initialResponse: args[1] } : {}),
      });
    case 'LIST':
    case 'UIDL': {
      if (args.length === 0) return ok({ name: keyword });
      const msg = number(args[0]);
      return args.length === 1 && msg !== undefined ? ok({ name: keyword, msg }) : bad(`Usage: ${keyword} [message-number]`);
    }
    case 'RETR':
    case 'DELE': {
      const msg = number(args[0]);
      return args.length === 1 && msg !== undefined ? ok({ name: keyword, msg }) : bad(`Usage: ${keyword} <message-number>`);
    }
    case 'TOP': {
      const msg = number(args[0]);
      const lines = number(args[1]);
      return args.length === 2 && msg !== undefined && lines !== undefined
        ? ok({ name: 'TOP', msg, lines })
        : bad('Usage: TOP <message-number> <lines>');
    }
    case 'STLS':
    case 'CAPA':
    case 'QUIT':
    case 'STAT':
    case 'NOOP':
    case 'RSET':
      return none({ name: keyword });
  }
}
