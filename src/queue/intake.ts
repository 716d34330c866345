/**
 * What the SMTP and LMTP receivers hand their messages to: the spool, with
 * local delivery done before the answer when it is small enough.
 *
 * A message for at most `inlineDelivery` local mailboxes is delivered
 * straight into those Maildirs (each tmp → fsync → rename → fsync dir)
 * before the receiver's 250, which then means "in the mailbox": more than
 * "in the queue", and a fraction of its cost: no info file, no mess/ and
 * info/ renames, no directory syncs of the spool, no checkpoint and no
 * removal. LMTP servers such as Dovecot's deliver this way; a queue that
 * only ever delivers locally adds nothing but a second copy on disk.
 *
 * The message is held in memory while it is at most HOLD_IN_MEMORY bytes
 * (Dovecot's LMTP keeps 128 KiB likewise before it spills to a temporary
 * file), so most mail is never written to queue/ at all; a bigger one
 * streams into queue/tmp/ as any other, and is delivered from there. Memory
 * stays bounded per connection whatever the message size.
 *
 * Whatever is left over (a remote recipient, a full mailbox, a failure that
 * owes a DSN, an alias with more targets than the limit) makes the message
 * an ordinary queue entry, committed with the outcomes so far, so the
 * runner carries on from there: retries, bounces and DSNs behave as if the
 * runner had made the first attempt itself. `inlineDelivery: 0` spools
 * everything (qmail's way).
 */
import type { Readable } from 'node:stream';
import type { QueueRunner } from './runner.js';
import { type Spool, SpoolError } from './spool.js';
import type { QueueEnvelope, QueueIntake } from './types.js';

/** A message up to this size is delivered from memory, never spooled unless it must be queued. */
export const HOLD_IN_MEMORY = 128 * 1024;

export class InlineIntake implements QueueIntake {
  constructor(
    private readonly spool: Spool,
    private readonly runner: QueueRunner,
    /** local deliveries a message may have to be delivered before the 250; 0: never */
    private readonly limit: number,
  ) {}

  async enqueue(envelope: QueueEnvelope, body: Readable | AsyncIterable<Buffer>, o: { maxBytes?: number } = {}): Promise<string> {
    if (this.limit === 0 || envelope.recipients.length > this.limit) return this.spool.enqueue(envelope, body, o);
    const held = await holdSmall(body, HOLD_IN_MEMORY, o.maxBytes);
    if (held.kind === 'small') {
      const id = this.spool.newId();
      const info = this.spool.newInfo({ id, size: held.bytes.length }, envelope);
      if (!(await this.runner.deliverInline(info, held.bytes, this.limit))) {
        await this.spool.commit(await this.spool.receive(held.bytes, undefined, id), info);
      }
      return id;
    }
    const received = await this.spool.receive(held.rest, o.maxBytes);
    try {
      const info = this.spool.newInfo(received, envelope);
      if (!(await this.runner.deliverInline(info, received.path, this.limit))) await this.spool.commit(received, info);
      return received.id;
    } finally {
      await received.discard();
    }
  }
}

type Held = { kind: 'small'; bytes: Buffer } | { kind: 'large'; rest: AsyncIterable<Buffer> };

/**
 * Reads `body` while it fits in `max` bytes: the whole message when it ends
 * within them, else a stream of what was read followed by the rest.
 */
async function holdSmall(body: Readable | AsyncIterable<Buffer>, max: number, maxBytes: number | undefined): Promise<Held> {
  const it = body[Symbol.asyncIterator]();
  const chunks: Buffer[] = [];
  let size = 0;
  for (;;) {
    let r: IteratorResult<Buffer>;
    try {
      r = await it.next();
    } catch (e) {
      destroy(body);
      throw e;
    }
    if (r.done) return { kind: 'small', bytes: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size) };
    const chunk = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    chunks.push(chunk);
    size += chunk.length;
    if (maxBytes !== undefined && size > maxBytes) {
      destroy(body);
      throw new SpoolError('TOOBIG', `message exceeds the size limit of ${maxBytes} bytes`);
    }
    if (size > max) break;
  }
  async function* rest(): AsyncGenerator<Buffer> {
    let ended = false;
    try {
      yield* chunks.splice(0);
      for (;;) {
        const r = await it.next();
        if (r.done) break;
        yield r.value;
      }
      ended = true;
    } finally {
      // a writer that gives up (disk full, too big) must not leave the socket's stream open
      if (!ended) destroy(body);
    }
  }
  return { kind: 'large', rest: rest() };
}

function destroy(body: Readable | AsyncIterable<Buffer>): void {
  if (typeof (body as Readable).destroy === 'function') (body as Readable).destroy();
}
