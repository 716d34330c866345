// A separate OS process running the queue runner over a data directory, for
// the crash tests: it prints "D <address>" after each local delivery (the
// checkpoint follows) and "IDLE" when nothing is left to do, then exits.
// argv: dataDir delayMs — each mailbox open is delayed by delayMs so that a
// SIGKILL from the test lands in the middle of the work.
import { setTimeout as sleep } from 'node:timers/promises';
import { MaildirStore } from '../../dist/maildir/store.js';
import { AccountStore } from '../../dist/src/accounts/store.js';
import { defaultConfig } from '../../dist/src/config/schema.js';
import { startQueue } from '../../dist/src/queue/index.js';

const [data, delayArg] = process.argv.slice(2);
const delay = Number(delayArg);
const config = defaultConfig(data);
config.data = data;
config.hostname = 'mx.example.org';
const accounts = new AccountStore(data);
const maildirs = new MaildirStore({ rootOf: (u) => accounts.maildirPath(u) });
const store = {
  async forUser(user) {
    await sleep(delay);
    return maildirs.forUser(user);
  },
};
const log = {
  info(o, msg) {
    if (msg === 'delivery delivered') process.stdout.write(`D ${o.to}\n`);
  },
  warn(o, msg) {
    process.stdout.write(`W ${msg} ${JSON.stringify(o)}\n`);
  },
  error(o, msg) {
    process.stdout.write(`E ${msg} ${JSON.stringify(o)}\n`);
  },
};
const queue = await startQueue(config, { accounts, store, log });
await queue.runner.idle();
process.stdout.write(`IDLE ${queue.runner.delivering}\n`);
await queue.stop();
await maildirs.close();
