import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { watchFolder, watchedFolders } from '../maildir/watcher.js';

let root: string;
let folder: string;
const unsubscribes: (() => Promise<void>)[] = [];

async function makeFolder(dir: string): Promise<void> {
  for (const sub of ['cur', 'new', 'tmp']) await mkdir(join(dir, sub), { recursive: true });
}

/** Waits (bounded) until `cond` holds; fails the test if it never does. */
async function until(cond: () => boolean, what: string, limitMs = 10_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Subscribes and waits for the "watch is live" notification, then resets the count. */
async function subscribe(dir: string, o: { onError?: (e: unknown) => void } = {}) {
  const state = { calls: 0, unsubscribe: async () => {} };
  let live = false;
  state.unsubscribe = watchFolder(
    dir,
    () => {
      live = true;
      state.calls++;
    },
    o,
  );
  unsubscribes.push(state.unsubscribe);
  await until(() => live, 'the initial notification');
  state.calls = 0;
  return state;
}

async function deliver(dir: string, name: string): Promise<void> {
  await writeFile(join(dir, 'tmp', name), 'Subject: hi\n\nbody\n');
  await rename(join(dir, 'tmp', name), join(dir, 'new', name));
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'mailroom-watch-'));
  folder = join(root, 'Maildir');
  await makeFolder(folder);
});

afterEach(async () => {
  for (const u of unsubscribes.splice(0)) await u();
  await rm(root, { recursive: true, force: true });
});

describe('watchFolder', () => {
  it('notifies when a message is delivered into new/', async () => {
    const s = await subscribe(folder);
    await deliver(folder, '1700000000.M1P1Q1.host');
    await until(() => s.calls >= 1, 'a notification for the delivery');
  });

  it('notifies when a message is renamed in cur/ (a flag change)', async () => {
    await writeFile(join(folder, 'cur', '1700000000.M2P1Q1.host:2,'), 'x');
    const s = await subscribe(folder);
    await rename(join(folder, 'cur', '1700000000.M2P1Q1.host:2,'), join(folder, 'cur', '1700000000.M2P1Q1.host:2,S'));
    await until(() => s.calls >= 1, 'a notification for the rename');
  });

  it('notifies when a message is removed from cur/ (an expunge by another process)', async () => {
    await writeFile(join(folder, 'cur', '1700000000.M3P1Q1.host:2,S'), 'x');
    const s = await subscribe(folder);
    await rm(join(folder, 'cur', '1700000000.M3P1Q1.host:2,S'));
    await until(() => s.calls >= 1, 'a notification for the unlink');
  });

  it('does not watch tmp/ or the Maildir++ sub-folders inside a root', async () => {
    const sub = join(folder, '.Archive');
    await makeFolder(sub);
    const s = await subscribe(folder);
    await writeFile(join(folder, 'tmp', 'in-progress'), 'x');
    await deliver(sub, '1700000000.M4P1Q1.host');
    await writeFile(join(sub, 'cur', '1700000000.M5P1Q1.host:2,'), 'x');
    await pause(400);
    expect(s.calls).toBe(0);
    // and the folder's own new/ still works afterwards
    await deliver(folder, '1700000000.M6P1Q1.host');
    await until(() => s.calls >= 1, 'a notification for the root delivery');
  });

  it('folds a burst of 1,000 deliveries into a few notifications', async () => {
    const s = await subscribe(folder);
    await Promise.all(Array.from({ length: 1000 }, (_, i) => deliver(folder, `1700000000.M${i}P7Q1.host`)));
    await until(() => s.calls >= 1, 'a notification for the burst');
    await pause(400); // let the trailing notification arrive
    expect(s.calls).toBeGreaterThanOrEqual(1);
    expect(s.calls).toBeLessThan(100);
  });

  it('shares one watch between subscribers; one unsubscribing keeps the other alive', async () => {
    const a = await subscribe(folder);
    const b = await subscribe(folder);
    expect(watchedFolders().get(resolve(folder))?.subscribers).toBe(2);
    expect(watchedFolders().size).toBe(1);
    await a.unsubscribe();
    expect(watchedFolders().get(resolve(folder))?.subscribers).toBe(1);
    await deliver(folder, '1700000000.M8P1Q1.host');
    await until(() => b.calls >= 1, 'a notification for the remaining subscriber');
    expect(a.calls).toBe(0);
  });

  it('delivers nothing after the last unsubscribe and releases the watch', async () => {
    const s = await subscribe(folder);
    await s.unsubscribe();
    await s.unsubscribe(); // idempotent
    expect(watchedFolders().has(resolve(folder))).toBe(false);
    await deliver(folder, '1700000000.M9P1Q1.host');
    await pause(400);
    expect(s.calls).toBe(0);
  });

  it('survives the folder being deleted, and picks up its re-creation', async () => {
    const errors: unknown[] = [];
    const s = await subscribe(folder, { onError: (e) => errors.push(e) });
    await rm(folder, { recursive: true });
    await until(() => s.calls >= 1, 'a notification for the deletion');
    await until(() => watchedFolders().get(resolve(folder))?.mode === 'polling', 'the switch to polling');
    await makeFolder(folder);
    await until(() => watchedFolders().get(resolve(folder))?.mode === 'watching', 'watching again');
    s.calls = 0;
    await deliver(folder, '1700000000.M10P1Q1.host');
    await until(() => s.calls >= 1, 'a notification after re-creation');
    expect(errors).toEqual([]); // a vanished folder is not an error
  });

  it('subscribing to a folder that does not exist yet polls, and never throws', async () => {
    const missing = join(root, 'Maildir', '.NotYet');
    const s = await subscribe(missing);
    expect(watchedFolders().get(resolve(missing))?.mode).toBe('polling');
    await makeFolder(missing);
    await until(() => s.calls >= 1, 'a notification for the folder appearing');
    await until(() => watchedFolders().get(resolve(missing))?.mode === 'watching', 'watching once it exists');
  });

  it('a throwing listener does not stop the others; its error goes to its onError', async () => {
    const errors: unknown[] = [];
    let thrower = 0;
    const unsubscribe = watchFolder(
      folder,
      () => {
        thrower++;
        throw new Error('listener bug');
      },
      { onError: (e) => errors.push(e) },
    );
    unsubscribes.push(unsubscribe);
    const s = await subscribe(folder);
    await until(() => thrower >= 1, 'the throwing listener to be called');
    await deliver(folder, '1700000000.M11P1Q1.host');
    await until(() => s.calls >= 1 && thrower >= 2, 'both listeners called');
    expect(errors.length).toBeGreaterThanOrEqual(1);
    expect((errors[0] as Error).message).toBe('listener bug');
  });
});
