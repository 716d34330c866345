/**
 * One APPEND message on its way into storage (STYLE.md 7: "APPEND hands
 * storage a stream"). The reader hands out the literal as slices of the
 * input; each is written into a PassThrough that UserStore.append consumes,
 * and the pump waits on backpressure, so a 50 MB message never sits in
 * memory. The stream is ended only when the reader has seen the whole
 * command (the CRLF after the literal): a command that turns out malformed,
 * or a connection that drops half-way, destroys the stream instead, and
 * storage then removes its tmp/ file, so nothing half-written ever lands.
 */
import { PassThrough } from 'node:stream';
import type { AppendHeader } from '../commands.js';
import type { UserStore } from '../../../maildir/types.js';

export interface AppendResult {
  uidValidity: number;
  uid: number;
}

export class AppendUpload {
  private readonly body = new PassThrough({ highWaterMark: 256 * 1024 });
  /** storage's answer; rejections are observed (`settled`) so none goes unhandled */
  readonly result: Promise<AppendResult>;
  private readonly settled: Promise<void>;
  private done = false;

  constructor(user: UserStore, readonly header: AppendHeader, internalDate: Date | undefined) {
    // Storage learns of an abort by reading the destroyed stream, and reports
    // it through `result`. Until storage starts reading (it first checks the
    // folder and syncs it), nobody else listens for the stream's 'error': an
    // abort in that window would otherwise be an uncaught exception that
    // ends the process.
    this.body.on('error', () => {});
    this.result = user.append(header.mailbox, this.body, {
      flags: header.flags,
      ...(internalDate !== undefined ? { internalDate } : {}),
    });
    this.settled = this.result.then(
      () => {
        this.done = true;
      },
      () => {
        this.done = true;
        this.body.destroy();
      },
    );
  }

  /** pass a slice of the message on; resolves when storage can take more (or has given up) */
  async write(chunk: Buffer): Promise<void> {
    if (this.done || this.body.destroyed) return;
    if (this.body.write(chunk)) return;
    let onDrain = (): void => {};
    const drained = new Promise<void>((resolve) => {
      onDrain = resolve;
      this.body.once('drain', onDrain);
    });
    await Promise.race([drained, this.settled]);
    this.body.off('drain', onDrain);
  }

  /** the command is complete: let storage commit the message */
  finish(): void {
    if (!this.body.destroyed) this.body.end();
  }

  /** the command or the connection failed: storage discards what it wrote */
  abort(): void {
    if (!this.body.destroyed) this.body.destroy(new Error('APPEND aborted'));
  }
}
