/** The IMAP session: what src/ wires to a connection. */
export { ImapSession } from './session.js';
export type { ImapContext, ImapLimits } from './context.js';
