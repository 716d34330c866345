/**
 * The process logger. pino writes one JSON object per line to stderr (stdout
 * stays free for command output); operators pipe it to pino-pretty or a
 * collector. Fields never carry a password or a message body: the sessions are
 * given only this narrow shape (protocol/session-io.ts SessionLog).
 */
import { pino, type Logger } from 'pino';

export type { Logger };

export interface LoggerOptions {
  /** pino level; default $MAILROOM_LOG_LEVEL or 'info' */
  level?: string;
  /** where lines go; default stderr (fd 2) */
  destination?: NodeJS.WritableStream;
}

export function createLogger(o: LoggerOptions = {}): Logger {
  const level = o.level ?? process.env.MAILROOM_LOG_LEVEL ?? 'info';
  const options = {
    level,
    base: { pid: process.pid },
    // Defence in depth: should a caller ever pass one of these keys, it is not written.
    redact: { paths: ['password', 'pass', '*.password', '*.pass', 'body'], censor: '[redacted]' },
  };
  if (o.destination) return pino(options, o.destination);
  return pino(options, pino.destination({ fd: 2, sync: false }));
}
