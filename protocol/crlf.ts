/**
 * The CRLF rule both IMAP and POP3 put stored mail through before it goes on
 * the wire (RFC 3501 and RFC 1939 both speak CRLF; stored mail is normally
 * LF only): an LF not preceded by CR becomes CRLF, an existing CRLF stays,
 * a lone CR stays. The same rule as the MIME parser's (maildir/mime/types.ts),
 * so sizes computed at parse time match what is sent.
 *
 * Why WebAssembly: this runs over every byte of every message a FETCH BODY[]
 * or a RETR sends, and was a quarter of the server's time there. The best
 * JavaScript (native string replacement on a latin1 string, then copying the
 * string into the output) does ~0.9 GB/s; the 16-bytes-at-a-time SIMD loop
 * of crlf.wat does ~4 GB/s including both copies in and out of its memory
 * (1,000 corpus messages, 5.5 MB: 5.9 ms against 1.4 ms). The module is
 * compute only (no imports, no I/O); its bytes are embedded below so that
 * loading it reads no file. test/crlf.test.ts assembles crlf.wat and checks
 * it is these bytes.
 */
const CR = 0x0d;

/** crlf.wat assembled (wabt, SIMD on) */
export const CRLF_WASM_BASE64 =
  'AGFzbQEAAAABCQFgBH9/f38BfwMCAQAFAwEAAQcRAgZtZW1vcnkCAARjcmxmAAAKmgIBlwIDAn8BewN/IAIhBQJAA0AgBEEQaiABSw0BIAAgBGr9AAAAIQYgBSAG/QsAACAGQQr9D/0j/WQhByAHRQRAIARBEGohBCAFQRBqIQUMAQsgB2ghCCAEIAhqRQR/IAMFIAAgBGogCGpBAWstAABBDUYLIQkgBSAIaiEFIAlFBEAgBUENOgAAIAVBAWohBQsgBUEKOgAAIAVBAWohBSAEIAhqQQFqIQQMAAsLIARFBH8gAwUgACAEakEBay0AAEENRgshCQJAA0AgBCABTw0BIAAgBGotAAAhByAHQQpGIAlFcQRAIAVBDToAACAFQQFqIQULIAUgBzoAACAFQQFqIQUgB0ENRiEJIARBAWohBAwACwsgBSACaws=';

/** Input bytes converted per call: bounds the module's memory (input + twice it + 16) however big the message. */
const SLICE = 256 * 1024;
const OUT_AT = SLICE;
const PAGES = Math.ceil((SLICE + 2 * SLICE + 16) / 65536);

const instance = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(CRLF_WASM_BASE64, 'base64')));
const memory = instance.exports.memory as WebAssembly.Memory;
memory.grow(PAGES - memory.buffer.byteLength / 65536);
const convert = instance.exports.crlf as (src: number, n: number, dst: number, prevCR: number) => number;
/** the module's memory as a Buffer; stays valid because the memory never grows again */
const heap = Buffer.from(memory.buffer);

/**
 * `raw` in CRLF form, as a new Buffer. `prevCR`: the byte before `raw`
 * (the end of the previous chunk of the same message) was CR, so an LF
 * starting `raw` already has its CR.
 */
export function crlfBytes(raw: Buffer, prevCR = false): Buffer {
  if (raw.length <= SLICE) return Buffer.from(heap.subarray(OUT_AT, OUT_AT + convertSlice(raw, prevCR)));
  const parts: Buffer[] = [];
  for (let at = 0; at < raw.length; at += SLICE) {
    const slice = raw.subarray(at, at + SLICE);
    parts.push(Buffer.from(heap.subarray(OUT_AT, OUT_AT + convertSlice(slice, at === 0 ? prevCR : raw[at - 1] === CR))));
  }
  return Buffer.concat(parts);
}

/**
 * The module's input area (SLICE bytes): a caller may put raw bytes straight
 * here, for crlfOfInput to convert without copying them in first.
 */
export const crlfInput: Buffer = heap.subarray(0, SLICE);

/** Whether `b` starts at crlfInput (a read into it): then crlfOfInput converts it in place. */
export function isCrlfInput(b: Buffer): boolean {
  return b.buffer === crlfInput.buffer && b.byteOffset === crlfInput.byteOffset;
}

/**
 * The first `n` bytes of crlfInput in CRLF form, as a view of the module's
 * output area: valid only until the next call into this module, so the
 * caller copies it out (or writes it) before converting anything else.
 */
export function crlfOfInput(n: number, prevCR = false): Buffer {
  if (n < 0 || n > SLICE) throw new RangeError(`crlfOfInput: ${n} bytes do not fit the input area`);
  return heap.subarray(OUT_AT, OUT_AT + convert(0, n, OUT_AT, prevCR ? 1 : 0));
}

function convertSlice(slice: Buffer, prevCR: boolean): number {
  heap.set(slice, 0);
  return convert(0, slice.length, OUT_AT, prevCR ? 1 : 0);
}
