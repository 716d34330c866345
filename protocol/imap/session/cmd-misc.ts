/**
 * Commands valid in any state and the small authenticated ones with no
 * storage behind them: CAPABILITY, NOOP, CHECK, LOGOUT (RFC 3501 6.1, 6.4.1),
 * ID (RFC 2971), ENABLE (RFC 5161), NAMESPACE (RFC 2342).
 */
import type { Handler } from './handler.js';

export const capability: Handler<{ name: 'CAPABILITY' }> = async (core) => {
  await core.send(`* CAPABILITY ${core.capabilities().join(' ')}\r\n`);
  return { text: 'Capability completed' };
};

/** NOOP and CHECK: the post-command sync does the work (RFC 3501 6.1.2, 6.4.1) */
export const noop: Handler<{ name: 'NOOP' }> = async () => ({ text: 'NOOP completed' });
export const check: Handler<{ name: 'CHECK' }> = async () => ({ text: 'Check completed' });

export const logout: Handler<{ name: 'LOGOUT' }> = async (core) => {
  core.ending = true;
  await core.send('* BYE Logging out\r\n');
  return { text: 'Logout completed' };
};

export const id: Handler<{ name: 'ID'; params: [string, string | null][] | null }> = async (core, cmd) => {
  if (cmd.params !== null) core.log.info({ clientId: Object.fromEntries(cmd.params) }, 'imap client id');
  await core.send('* ID ("name" "Mailroom" "vendor" "Mailroom")\r\n');
  return { text: 'ID completed' };
};

/** RFC 5161: none of the extensions we implement needs enabling, so none is listed */
export const enable: Handler<{ name: 'ENABLE'; capabilities: string[] }> = async (core) => {
  await core.send('* ENABLED\r\n');
  return { text: 'Enabled' };
};

/** one personal namespace, no prefix, "/" as delimiter; no other users' or shared namespaces */
export const namespace: Handler<{ name: 'NAMESPACE' }> = async (core) => {
  await core.send('* NAMESPACE (("" "/")) NIL NIL\r\n');
  return { text: 'Namespace completed' };
};
