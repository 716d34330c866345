export { Pop3Session, DEFAULT_POP3_LIMITS, type Pop3Context, type Pop3Limits } from './session.js';
export { parseCommand, COMMAND_STATES, type Pop3Command, type Pop3CommandName, type ParseResult } from './commands.js';
export { LineReader, type LineEvent } from './line-reader.js';
export { multiLineBody, topOf } from './message-stream.js';
export { uidl } from './uidl.js';
