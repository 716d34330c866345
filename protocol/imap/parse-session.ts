/**
 * Commands about the connection and the session rather than mailboxes:
 * the argument-less ones, LOGIN, AUTHENTICATE (with SASL-IR, RFC 4959),
 * ID (RFC 2971) and ENABLE (RFC 5161).
 */
import type { Command } from './commands.js';
import type { Decoder } from './decoder.js';

type Bare = Extract<Command, { name: 'CAPABILITY' | 'NOOP' | 'LOGOUT' | 'STARTTLS' | 'CHECK' | 'CLOSE' | 'UNSELECT' | 'IDLE' | 'NAMESPACE' }>;

/** a command without arguments */
export function bare(name: Bare['name']) {
  return (): Command => ({ name });
}

/** login = "LOGIN" SP userid SP password; both astrings, read as UTF-8 */
export function parseLogin(d: Decoder): Command {
  d.expectSP();
  const username = d.expectText('a user name');
  d.expectSP();
  return { name: 'LOGIN', username, password: d.expectText('a password') };
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Strictly decode a SASL base64 response; "=" is the empty response (RFC 4959). Null when invalid. */
export function decodeSaslBase64(text: string): Buffer | null {
  if (text === '=') return Buffer.alloc(0);
  if (text === '' || !BASE64.test(text)) return null;
  return Buffer.from(text, 'base64');
}

/** authenticate = "AUTHENTICATE" SP auth-type [SP (base64 / "=")] */
export function parseAuthenticate(d: Decoder): Command {
  d.expectSP();
  const mechanism = d.expectAtom('a SASL mechanism').toUpperCase();
  if (!d.sp()) return { name: 'AUTHENTICATE', mechanism };
  const text = d.expectAtom('an initial response');
  const initialResponse = decodeSaslBase64(text);
  if (initialResponse === null) d.fail('Invalid base64 in the initial response');
  return { name: 'AUTHENTICATE', mechanism, initialResponse };
}

/** RFC 2971 section 3.3: at most 30 field/value pairs */
const MAX_ID_PAIRS = 30;

/** id = "ID" SP id_params_list; id_params_list = "(" #(string SP nstring) ")" / nil */
export function parseId(d: Decoder): Command {
  d.expectSP();
  if (d.peek() !== 0x28) {
    if (d.atom().toUpperCase() !== 'NIL') d.fail('Expected a parameter list or NIL');
    return { name: 'ID', params: null };
  }
  d.expect(0x28, '"("');
  d.enter();
  const params: [string, string | null][] = [];
  if (!d.consume(0x29)) {
    do {
      const field = d.expectString('a field name').toString('utf8');
      d.expectSP();
      const value = d.expectNstring();
      params.push([field, value === null ? null : value.toString('utf8')]);
      if (params.length > MAX_ID_PAIRS) d.fail(`More than ${MAX_ID_PAIRS} ID parameters`);
    } while (d.sp());
    d.expect(0x29, '")" to close the parameter list');
  }
  d.leave();
  return { name: 'ID', params };
}

/** enable = "ENABLE" 1*(SP capability) */
export function parseEnable(d: Decoder): Command {
  const capabilities: string[] = [];
  do {
    d.expectSP();
    capabilities.push(d.expectAtom('a capability').toUpperCase());
  } while (d.peek() === 0x20);
  return { name: 'ENABLE', capabilities };
}
