// protocol/buffer-pool.ts: buffers given back are handed out again, up to a bound.
import { describe, expect, it } from 'vitest';
import { BufferPool } from '../protocol/buffer-pool.js';

describe('BufferPool', () => {
  it('hands out a buffer given back, keeps at most `keep` idle, and refuses what is not one of its own size', () => {
    const pool = new BufferPool(1024, 2);
    const a = pool.take();
    const b = pool.take();
    const c = pool.take();
    expect([a.length, b.length, c.length]).toEqual([1024, 1024, 1024]);
    expect(a.buffer).not.toBe(b.buffer); // each its own memory, never a slice of a shared one
    pool.give(a);
    pool.give(b);
    pool.give(c); // over the bound: left to the collector
    expect(pool.idle).toBe(2);
    const again = [pool.take(), pool.take()];
    expect(again).toContain(a);
    expect(again).toContain(b);
    expect(pool.take()).not.toBe(c);
    pool.give(Buffer.alloc(512));
    pool.give(pool.take().subarray(1));
    expect(pool.idle).toBe(0);
  });
});
