/**
 * CRC-32 (the zlib/PNG polynomial) over a byte range, for the checksums of
 * `mailroom-cache` records. Node has it natively from 20.15 (`zlib.crc32`);
 * the table-driven fallback keeps older Node 20 releases (engines: >=20) working.
 */
import * as zlib from 'node:zlib';

let table: Uint32Array | undefined;

function fallbackCrc32(bytes: Uint8Array): number {
  if (table === undefined) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = table[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

// A namespace import: on a Node without zlib.crc32 this is undefined instead of a link error.
const native: ((data: Uint8Array) => number) | undefined = typeof zlib.crc32 === 'function' ? zlib.crc32 : undefined;

/** Unsigned CRC-32 of `bytes`. */
export function crc32(bytes: Uint8Array): number {
  return native !== undefined ? native(bytes) >>> 0 : fallbackCrc32(bytes);
}

/** Exported for the test that pins the fallback to the native result. */
export const crc32Fallback = fallbackCrc32;
