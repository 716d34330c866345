/**
 * What each command is allowed to do, as data (Dovecot's imap-commands.c
 * table): the session looks a command up here *before* its handler runs, and
 * when a synchronizing literal is announced, before it sends "+".
 *
 * - `states`: where the command is valid (RFC 3501 section 3 and 6; ENABLE is
 *   authenticated-only, RFC 5161 3.1; ID is valid in any state, RFC 2971).
 * - `numbering`: whether arguments/responses use message sequence numbers or
 *   UIDs. A command using sequence numbers must not run while another may
 *   expunge, or the numbers shift underneath it (RFC 3501 5.5, 7.4.1).
 * - `mayExpunge`: the command can remove messages or change the selected
 *   mailbox, so sequence numbers may change when it runs.
 * - `concurrent`: the command only reads, and may run while other
 *   concurrent commands of the same session are in progress (RFC 3501 5.5).
 *   A non-concurrent command waits for those before it and blocks those after.
 */
import type { CommandKey } from './commands.js';

export type SessionState = 'not-authenticated' | 'authenticated' | 'selected' | 'logout';

export interface CommandSpec {
  states: readonly SessionState[];
  numbering: 'none' | 'sequence' | 'uid';
  mayExpunge: boolean;
  concurrent: boolean;
}

const ANY: readonly SessionState[] = ['not-authenticated', 'authenticated', 'selected'];
const NOT_AUTH: readonly SessionState[] = ['not-authenticated'];
const AUTH: readonly SessionState[] = ['authenticated', 'selected'];
const SELECTED: readonly SessionState[] = ['selected'];

function spec(states: readonly SessionState[], o: Partial<Omit<CommandSpec, 'states'>> = {}): CommandSpec {
  return { states, numbering: 'none', mayExpunge: false, concurrent: false, ...o };
}

export const COMMAND_TABLE: Readonly<Record<CommandKey, CommandSpec>> = {
  // any state (RFC 3501 6.1)
  CAPABILITY: spec(ANY, { concurrent: true }),
  NOOP: spec(ANY, { mayExpunge: true }), // reports pending EXPUNGEs
  LOGOUT: spec(ANY),
  ID: spec(ANY, { concurrent: true }),
  // not authenticated (RFC 3501 6.2)
  STARTTLS: spec(NOT_AUTH),
  AUTHENTICATE: spec(NOT_AUTH),
  LOGIN: spec(NOT_AUTH),
  // authenticated (RFC 3501 6.3) — also valid when a mailbox is selected
  SELECT: spec(AUTH, { mayExpunge: true }),
  EXAMINE: spec(AUTH, { mayExpunge: true }),
  CREATE: spec(AUTH),
  DELETE: spec(AUTH),
  RENAME: spec(AUTH),
  SUBSCRIBE: spec(AUTH),
  UNSUBSCRIBE: spec(AUTH),
  LIST: spec(AUTH, { concurrent: true }),
  LSUB: spec(AUTH, { concurrent: true }),
  XLIST: spec(AUTH, { concurrent: true }),
  STATUS: spec(AUTH, { concurrent: true }),
  APPEND: spec(AUTH),
  NAMESPACE: spec(AUTH, { concurrent: true }),
  IDLE: spec(AUTH, { mayExpunge: true }),
  ENABLE: spec(['authenticated']),
  GETQUOTA: spec(AUTH, { concurrent: true }),
  GETQUOTAROOT: spec(AUTH, { concurrent: true }),
  SETQUOTA: spec(AUTH),
  // selected (RFC 3501 6.4, RFC 3691, RFC 4315, RFC 6851)
  CHECK: spec(SELECTED, { mayExpunge: true }),
  CLOSE: spec(SELECTED, { mayExpunge: true }),
  UNSELECT: spec(SELECTED, { mayExpunge: true }),
  EXPUNGE: spec(SELECTED, { mayExpunge: true }),
  SEARCH: spec(SELECTED, { numbering: 'sequence', concurrent: true }),
  FETCH: spec(SELECTED, { numbering: 'sequence', concurrent: true }),
  STORE: spec(SELECTED, { numbering: 'sequence' }),
  COPY: spec(SELECTED, { numbering: 'sequence' }),
  MOVE: spec(SELECTED, { numbering: 'sequence', mayExpunge: true }),
  'UID SEARCH': spec(SELECTED, { numbering: 'uid', concurrent: true }),
  'UID FETCH': spec(SELECTED, { numbering: 'uid', concurrent: true }),
  'UID STORE': spec(SELECTED, { numbering: 'uid' }),
  'UID COPY': spec(SELECTED, { numbering: 'uid' }),
  'UID MOVE': spec(SELECTED, { numbering: 'uid', mayExpunge: true }),
  'UID EXPUNGE': spec(SELECTED, { numbering: 'uid', mayExpunge: true }),
};

export function commandSpec(key: CommandKey): CommandSpec {
  return COMMAND_TABLE[key];
}

/** whether `key` may be issued in `state` */
export function isAllowedIn(key: CommandKey, state: SessionState): boolean {
  return COMMAND_TABLE[key].states.includes(state);
}
