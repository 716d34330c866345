/** Every command's handler, by name: one entry per variant of the Command union, checked by the type. */
import type { Command } from '../commands.js';
import { append } from './cmd-append.js';
import { authenticate, login, starttls } from './cmd-auth.js';
import { idle } from './cmd-idle.js';
import { create, del, getquota, getquotaroot, list, rename, select, setquota, status, subscribe } from './cmd-mailbox.js';
import { close, copy, expunge, fetch, search, store, unselect } from './cmd-message.js';
import { capability, check, enable, id, logout, namespace, noop } from './cmd-misc.js';
import type { Handler, HandlerTable } from './handler.js';

const HANDLERS: HandlerTable = {
  CAPABILITY: capability,
  NOOP: noop,
  LOGOUT: logout,
  STARTTLS: starttls,
  AUTHENTICATE: authenticate,
  LOGIN: login,
  SELECT: select,
  EXAMINE: select,
  CREATE: create,
  DELETE: del,
  RENAME: rename,
  SUBSCRIBE: subscribe,
  UNSUBSCRIBE: subscribe,
  LIST: list,
  LSUB: list,
  XLIST: list,
  STATUS: status,
  APPEND: append,
  CHECK: check,
  CLOSE: close,
  UNSELECT: unselect,
  EXPUNGE: expunge,
  SEARCH: search,
  FETCH: fetch,
  STORE: store,
  COPY: copy,
  MOVE: copy,
  IDLE: idle,
  NAMESPACE: namespace,
  ID: id,
  ENABLE: enable,
  GETQUOTA: getquota,
  GETQUOTAROOT: getquotaroot,
  SETQUOTA: setquota,
};

/** the handler of `command` (TypeScript cannot correlate a union member with its table entry by itself) */
export function handlerFor<C extends Command>(command: C): Handler<C> {
  return HANDLERS[command.name] as unknown as Handler<C>;
}
