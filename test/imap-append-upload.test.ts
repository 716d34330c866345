/**
 * AppendUpload on its own: an APPEND aborted (the client disconnected, or the
 * command turned out malformed) before storage has started reading the body
 * must end as a rejected `result`, never as an uncaught 'error' event, which
 * would end the whole server process.
 */
import type { Readable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AppendUpload } from '../protocol/imap/session/append-upload.js';
import type { UserStore } from '../maildir/types.js';

/** a store whose append reads the body only once `start` is called, as the real one first checks and syncs the folder */
function slowStore(): { user: UserStore; start: () => void; read: Promise<number> } {
  let start = (): void => {};
  const started = new Promise<void>((resolve) => (start = resolve));
  let read!: Promise<number>;
  const user = {
    append: (_name: string, body: Readable) => {
      read = (async () => {
        await started;
        let n = 0;
        for await (const chunk of body) n += (chunk as Buffer).length;
        return n;
      })();
      return read.then(() => ({ uidValidity: 1, uid: 1 }));
    },
  } as unknown as UserStore;
  return { user, start, get read() { return read; } };
}

const header = { mailbox: 'INBOX', flags: [] };
const uncaught = vi.fn();

afterEach(() => {
  process.off('uncaughtException', uncaught);
  uncaught.mockReset();
});

describe('AppendUpload', () => {
  it('an abort before storage reads anything rejects the result and throws nothing uncaught', async () => {
    process.on('uncaughtException', uncaught);
    const store = slowStore();
    const upload = new AppendUpload(store.user, header, undefined);
    await upload.write(Buffer.from('Subject: x\r\n'));
    upload.abort();
    // the stream's 'error' event is emitted on a later tick
    await new Promise((resolve) => setImmediate(resolve));
    store.start();
    await expect(upload.result).rejects.toThrow('APPEND aborted');
    expect(uncaught).not.toHaveBeenCalled();
  });

  it('an abort while storage reads rejects the result; a finished upload resolves', async () => {
    const reading = slowStore();
    const cut = new AppendUpload(reading.user, header, undefined);
    reading.start();
    await cut.write(Buffer.alloc(1000, 0x61));
    cut.abort();
    await expect(cut.result).rejects.toThrow('APPEND aborted');

    const whole = slowStore();
    const done = new AppendUpload(whole.user, header, undefined);
    whole.start();
    await done.write(Buffer.alloc(1000, 0x61));
    done.finish();
    await expect(done.result).resolves.toEqual({ uidValidity: 1, uid: 1 });
    await expect(whole.read).resolves.toBe(1000);
  });
});
