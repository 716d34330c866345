// The uidlist's append (maildir/uidlist.ts): lines encoded straight into
// buffers, written in pieces that end on line boundaries. What one process
// appends, a fresh reader reads back line for line, whatever the names.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { Uidlist } from '../maildir/uidlist.js';
import { tempDir } from './helpers/tmp.js';

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.cleanup());

async function fresh(dir: string): Promise<Uidlist> {
  const u = new Uidlist(dir);
  await u.read();
  return u;
}

describe('Uidlist.append', () => {
  it('appends more than one write piece of lines, non-ASCII names included, and reads them back', async () => {
    await Uidlist.create(tmp.dir, 42, 7);
    const writer = await fresh(tmp.dir);
    // ~20,000 lines of 60+ bytes: well over one 256 KiB piece
    const bases = Array.from({ length: 20_000 }, (_, i) => `${1700000000 + i}.M${i}P99.höst-ñame-${'x'.repeat(i % 40)}`);
    await writer.lock(async () => {
      await writer.read();
      expect(await writer.append(bases)).toBe(7);
    });
    expect(writer.uidNext).toBe(7 + bases.length);
    // the writer consumed its own lines: nothing new for it to read
    expect((await writer.read()).entries).toEqual([]);

    const lines = readFileSync(`${tmp.dir}/mailroom-uidlist`, 'utf8').split('\n');
    expect(lines[0]).toBe('1 V42 N7');
    expect(lines.at(-1)).toBe(''); // ends with a newline: no partial line
    expect(lines.length).toBe(bases.length + 2);

    const reader = new Uidlist(tmp.dir);
    const { entries } = await reader.read();
    expect(entries.length).toBe(bases.length);
    expect(entries.every((e, k) => e.uid === 7 + k && e.base === bases[k])).toBe(true);
    expect(reader.uidNext).toBe(7 + bases.length);
  });

  it('continues after the last UID, and an empty append assigns nothing', async () => {
    await Uidlist.create(tmp.dir, 1);
    const u = await fresh(tmp.dir);
    await u.lock(async () => {
      expect(await u.append(['a', 'b'])).toBe(1);
      expect(await u.append([])).toBe(3);
      expect(await u.append(['c'])).toBe(3);
    });
    const { entries } = await new Uidlist(tmp.dir).read();
    expect(entries).toEqual([
      { uid: 1, base: 'a' },
      { uid: 2, base: 'b' },
      { uid: 3, base: 'c' },
    ]);
  });

  it('writes UIDs of every digit count', async () => {
    await Uidlist.create(tmp.dir, 1, 4_294_967_290);
    const u = await fresh(tmp.dir);
    await u.lock(async () => {
      expect(await u.append(['x', 'y'])).toBe(4_294_967_290);
    });
    const { entries } = await new Uidlist(tmp.dir).read();
    expect(entries.map((e) => e.uid)).toEqual([4_294_967_290, 4_294_967_291]);
    expect(readFileSync(`${tmp.dir}/mailroom-uidlist`, 'utf8')).toContain('\n4294967290 x\n4294967291 y\n');
  });
});
