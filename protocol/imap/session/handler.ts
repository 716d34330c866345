/** The shape of a command handler: parse is done, so it calls storage and returns the tagged reply. */
import type { Command } from '../commands.js';
import type { SessionCore } from './core.js';
import type { HandlerResult } from './response.js';

export type Handler<C extends Command> = (core: SessionCore, command: C, tag: string) => Promise<HandlerResult>;

export type HandlerTable = { [N in Command['name']]: Handler<Extract<Command, { name: N }>> };
