/**
 * Gathers small chunks of a source into writes of up to `max` bytes: each
 * write to a file is a thread-pool round trip, and a mail arriving over SMTP
 * or IMAP comes in many small chunks (a 5 KB message in two or three, plus the
 * trace header). Memory stays bounded by `max` plus one chunk.
 */
export async function* coalesce(source: AsyncIterable<Buffer | string> | Iterable<Buffer | string>, max = 64 * 1024): AsyncGenerator<Buffer> {
  let held: Buffer[] = [];
  let size = 0;
  for await (const c of source) {
    const chunk = typeof c === 'string' ? Buffer.from(c) : c;
    if (chunk.length === 0) continue;
    if (size > 0 && size + chunk.length > max) {
      yield held.length === 1 ? held[0]! : Buffer.concat(held, size);
      held = [];
      size = 0;
    }
    held.push(chunk);
    size += chunk.length;
  }
  if (size > 0) yield held.length === 1 ? held[0]! : Buffer.concat(held, size);
}
