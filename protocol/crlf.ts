/**
 * The CRLF rule both IMAP and POP3 put stored mail through before it goes on
 * the wire (RFC 3501 and RFC 1939 both speak CRLF; stored mail is normally
 * LF only): an LF not preceded by CR becomes CRLF, an existing CRLF stays,
 * a lone CR stays. The same rule as the MIME parser's (maildir/mime/types.ts),
 * so sizes computed at parse time match what is sent.
 */
const CR = 0x0d;

/**
 * A whole in-memory range in CRLF form, as a latin1 string (one character per
 * byte). Native string replacement is ~3× faster than copying line by line
 * from JavaScript, and a string can be copied once, with the response text
 * around it, into the bytes that go to the socket.
 */
export function crlfString(raw: Buffer): string {
  const s = raw.toString('latin1');
  if (raw.indexOf(CR) < 0) return s.replaceAll('\n', '\r\n');
  return s.replace(/(?<!\r)\n/g, '\r\n');
}
