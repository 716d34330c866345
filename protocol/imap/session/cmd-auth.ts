/**
 * Getting in: STARTTLS (RFC 3501 6.2.1), LOGIN (6.2.3) and AUTHENTICATE
 * PLAIN / LOGIN with SASL-IR (RFC 4959, RFC 4616). Credentials are checked by
 * SessionCore.login, which also refuses them on cleartext connections
 * (LOGINDISABLED / PRIVACYREQUIRED).
 */
import { decodeSaslBase64 } from '../parse-session.js';
import { SASL_MECHANISMS } from './capabilities.js';
import type { SessionCore } from './core.js';
import type { Handler } from './handler.js';
import { bad, CONTINUES, no, statusLine, type HandlerResult } from './response.js';

export const starttls: Handler<{ name: 'STARTTLS' }> = async (core, _cmd, tag) => {
  if (core.io.secure) throw bad('TLS is already active');
  if (!core.io.tlsAvailable) throw bad('TLS support is not enabled');
  await core.send(statusLine(tag, 'OK', 'Begin TLS negotiation now'));
  // CVE-2011-0411: whatever the client pipelined after STARTTLS came in cleartext and
  // must not be executed as if it had come over TLS
  core.reader.discardInput();
  core.tlsStarting = true;
  try {
    await core.io.startTls();
  } finally {
    core.tlsStarting = false;
  }
  core.reader.discardInput();
  return CONTINUES;
};

export const login: Handler<{ name: 'LOGIN'; username: string; password: string }> = async (core, cmd) => {
  return core.login(cmd.username, cmd.password, 'LOGIN');
};

function saslResponse(text: string): Buffer {
  // RFC 3501 6.2.2: "*" cancels the exchange and is answered BAD
  if (text === '*') throw bad('Authentication canceled');
  const data = decodeSaslBase64(text);
  if (data === null) throw bad('Invalid base64 data in the SASL response');
  return data;
}

/** RFC 4616: [authzid] NUL authcid NUL passwd */
function plain(core: SessionCore, data: Buffer): Promise<HandlerResult> {
  const parts = data.toString('utf8').split('\0');
  if (parts.length !== 3 || parts[1] === '') throw bad('Invalid PLAIN response');
  const [authzid, authcid, password] = parts;
  if (authzid !== '' && authzid !== authcid) throw no('Authorization as another user is not allowed', 'AUTHORIZATIONFAILED');
  return core.login(authcid, password, 'PLAIN');
}

/** ask the client for the next SASL response; `then` handles it */
async function challenge(core: SessionCore, tag: string, prompt: string, then: (data: Buffer) => Promise<HandlerResult>): Promise<HandlerResult> {
  core.continuation = { kind: 'sasl', tag, onLine: (text) => then(saslResponse(text)) };
  core.reader.expectLine();
  await core.send(`+ ${Buffer.from(prompt).toString('base64')}\r\n`);
  return CONTINUES;
}

/** the non-standard but universal LOGIN mechanism: user name, then password */
function loginMechanism(core: SessionCore, tag: string, initial: Buffer | undefined): Promise<HandlerResult> {
  const askPassword = (user: Buffer) =>
    challenge(core, tag, 'Password:', (password) => core.login(user.toString('utf8'), password.toString('utf8'), 'LOGIN'));
  return initial !== undefined ? askPassword(initial) : challenge(core, tag, 'Username:', askPassword);
}

export const authenticate: Handler<{ name: 'AUTHENTICATE'; mechanism: string; initialResponse?: Buffer }> = async (core, cmd, tag) => {
  const mechanism = SASL_MECHANISMS.find((m) => m === cmd.mechanism);
  if (mechanism === undefined) throw no(`Unsupported authentication mechanism ${cmd.mechanism}`);
  if (!core.plaintextAllowed) throw no('Plaintext authentication disallowed on non-secure connections', 'PRIVACYREQUIRED');
  if (mechanism === 'LOGIN') return loginMechanism(core, tag, cmd.initialResponse);
  if (cmd.initialResponse !== undefined) return plain(core, cmd.initialResponse);
  return challenge(core, tag, '', (data) => plain(core, data));
};
