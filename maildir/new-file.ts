/**
 * A file being written durably, on a raw descriptor: open, writes and fsync on
 * the thread pool (a create or a write can wait for the journal), close with
 * a blocking call (it never waits, and through fs promises it would be one
 * more thread-pool round trip on the way to an SMTP 250).
 */
import { close, closeSync, fsync, open, write } from 'node:fs';
import { unlink } from 'node:fs/promises';

export class NewFile {
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly fd: number,
  ) {}

  static create(path: string, flags: string, mode: number): Promise<NewFile> {
    return new Promise((resolve, reject) => open(path, flags, mode, (e, fd) => (e ? reject(e) : resolve(new NewFile(path, fd)))));
  }

  async write(data: Buffer): Promise<void> {
    let off = 0;
    while (off < data.length) {
      off += await new Promise<number>((resolve, reject) =>
        write(this.fd, data, off, data.length - off, null, (e, n) => (e ? reject(e) : resolve(n))),
      );
    }
  }

  sync(): Promise<void> {
    return new Promise((resolve, reject) => fsync(this.fd, (e) => (e ? reject(e) : resolve())));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }

  /** fsync and close; if that fails, the file is removed and the error thrown */
  async syncAndClose(): Promise<void> {
    try {
      await this.sync();
      this.close();
    } catch (e) {
      await this.discard();
      throw e;
    }
  }

  /** close (never throwing: this follows another error) and remove the file */
  async discard(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      close(this.fd, () => undefined);
    }
    await unlink(this.path).catch(() => {});
  }
}
