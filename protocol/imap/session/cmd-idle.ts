/**
 * IDLE (RFC 2177): "+ idling", then changes are pushed as they happen
 * (SessionCore hooks the mailbox's change hints to a sync), with a
 * `* OK Still here` now and then so that NAT boxes and clients do not drop
 * the connection. DONE ends it (session.ts).
 */
import { CONTINUES } from './response.js';
import type { Handler } from './handler.js';

export const idle: Handler<{ name: 'IDLE' }> = async (core, _cmd, tag) => {
  await core.send('+ idling\r\n');
  const keepalive = setInterval(() => {
    core.send('* OK Still here\r\n').catch(() => {});
  }, core.ctx.idleKeepaliveMs);
  keepalive.unref?.();
  core.continuation = { kind: 'idle', tag, keepalive };
  // what changed before IDLE began is told at once
  core.syncWhileIdle();
  return CONTINUES;
};
