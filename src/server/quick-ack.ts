/**
 * TCP_QUICKACK after each read (Linux).
 *
 * Why: a client that sends a synchronizing literal and then the CRLF that
 * ends the command in two writes, with Nagle's algorithm on (Python's
 * imaplib does, for every APPEND), holds the CRLF back until its literal is
 * acknowledged. Having just answered the command line with "+", the server's
 * kernel is in its interactive ("ping-pong") mode and delays that ACK, up
 * to 40 ms, hoping to send it with a reply, but no reply can come before the
 * CRLF: every such APPEND then took ~45 ms (Dovecot answered the same client
 * in ~3 ms). Setting TCP_QUICKACK after a read sends the
 * pending ACK now; the option is not sticky, hence once per read.
 *
 * Node has no setsockopt: the `sockopt` package (an optional dependency with
 * prebuilt N-API binaries) does it on the socket's descriptor. Where it is
 * missing or the system has no TCP_QUICKACK, reads simply go without.
 */
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';

const IPPROTO_TCP = 6;
const TCP_QUICKACK = 12;

type SetSockOpt = (socket: { _handle: { fd: number } }, level: number, option: number, value: number) => void;

let loaded: SetSockOpt | null | undefined;

function setSockOpt(): SetSockOpt | null {
  if (loaded !== undefined) return loaded;
  loaded = null;
  if (process.platform !== 'linux') return loaded;
  try {
    loaded = (createRequire(import.meta.url)('sockopt') as { setsockopt: SetSockOpt }).setsockopt;
  } catch {
    // not installed (optional), or no binary for this platform
  }
  return loaded;
}

/** The descriptor under a TCP socket, or a TLS socket over one; -1 when there is none. */
function descriptorOf(socket: Socket): number {
  const handle = (socket as unknown as { _handle?: { fd?: unknown; _parent?: { fd?: unknown } } })._handle;
  const fd = typeof handle?.fd === 'number' ? handle.fd : handle?._parent?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : -1;
}

/**
 * A function that acknowledges what `socket` has received so far, now; null
 * where that cannot be done. Call it only while the socket is open: its
 * descriptor number is reused once it closes.
 */
export function quickAcker(socket: Socket): (() => void) | null {
  const set = setSockOpt();
  const fd = descriptorOf(socket);
  if (set === null || fd < 0) return null;
  const target = { _handle: { fd } };
  let failed = false;
  return () => {
    if (failed) return;
    try {
      set(target, IPPROTO_TCP, TCP_QUICKACK, 1);
    } catch {
      failed = true; // e.g. a kernel without the option: do not try on every read
    }
  };
}
