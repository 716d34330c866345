/** The IMAP wire codec: what the session and tests import. */
export * from './commands.js';
export * from './command-table.js';
export * from './errors.js';
export * from './mutf7.js';
export * from './reader.js';
export * from './sequence-set.js';
export { parseCommand, type ParseOutcome, type ParseOptions } from './parse-command.js';
export { decodeSaslBase64 } from './parse-session.js';
export type { CommandPart } from './decoder.js';
