/**
 * The two shapes of MessageBytes (types.ts): a range already read into memory
 * (small mail, nearly all of it), and a range streamed from an open file.
 * The in-memory one makes its stream only if asked: most callers (FETCH,
 * RETR) take the buffer, and a Readable per message is measurable cost
 * (an early `break` out of its iterator even builds an AbortError with a
 * stack trace).
 */
import { Readable } from 'node:stream';
import type { MessageBytes } from './types.js';

export class InMemoryBytes implements MessageBytes {
  private made: Readable | null = null;
  constructor(readonly bytes: Buffer) {}

  get size(): number {
    return this.bytes.length;
  }

  get stream(): Readable {
    return (this.made ??= Readable.from(this.bytes.length ? [this.bytes] : []));
  }

  release(): void {
    this.made?.destroy();
  }
}

export class StreamedBytes implements MessageBytes {
  readonly bytes = null;
  constructor(
    readonly size: number,
    readonly stream: Readable,
  ) {}

  release(): void {
    this.stream.destroy();
  }
}
