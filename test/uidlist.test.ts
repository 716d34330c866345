// The uidlist's append (maildir/uidlist.ts): lines encoded straight into
// buffers, written in pieces that end on line boundaries. What one process
// appends, a fresh reader reads back line for line, whatever the names.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
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

describe('Uidlist.createNumbered', () => {
  it('creates the file already holding the numbering, and the creator reads on from its end', async () => {
    const bases = Array.from({ length: 5_000 }, (_, i) => `${1700000000 + i}.M${i}P1.hôst`);
    const u = new Uidlist(tmp.dir);
    expect(await u.createNumbered(99, bases)).toBe(true);
    expect(u.uidValidity).toBe(99);
    expect(u.uidNext).toBe(bases.length + 1);
    // its own lines are not read again (a 100,000-line folder would parse them twice)
    expect(await u.read()).toEqual({ reset: false, entries: [] });
    const lines = readFileSync(`${tmp.dir}/mailroom-uidlist`, 'utf8').split('\n');
    expect(lines[0]).toBe(`1 V99 N${bases.length + 1}`);
    expect(lines.length).toBe(bases.length + 2);
    const { entries } = await new Uidlist(tmp.dir).read();
    expect(entries.every((e, k) => e.uid === k + 1 && e.base === bases[k])).toBe(true);
    // and then appends go on after them
    await u.lock(async () => {
      await u.read();
      expect(await u.append(['later'])).toBe(bases.length + 1);
    });
    // no temporary file left behind
    expect(readdirSync(tmp.dir).sort()).toEqual(['mailroom-uidlist']);
  });

  it('changes nothing when the file exists already (another process created it first)', async () => {
    await Uidlist.create(tmp.dir, 5, 1, [{ uid: 1, base: 'theirs' }]);
    const before = readFileSync(`${tmp.dir}/mailroom-uidlist`, 'utf8');
    const u = new Uidlist(tmp.dir);
    expect(await u.createNumbered(6, ['mine'])).toBe(false);
    expect(readFileSync(`${tmp.dir}/mailroom-uidlist`, 'utf8')).toBe(before);
    expect(readdirSync(tmp.dir)).toEqual(['mailroom-uidlist']);
    // this reader has not moved: it reads the other's file from the start
    expect(await u.read()).toEqual({ reset: true, entries: [{ uid: 1, base: 'theirs' }] });
    expect(u.uidValidity).toBe(5);
  });
});
