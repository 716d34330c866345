// A separate OS process that keeps syncing one folder until told to stop
// (SIGTERM), recording the UIDs it is told about, in order.
// Prints "added <uid> <base>" lines and, at the end, "done".
import { MaildirStore } from '../../dist/maildir/store.js';

const [root] = process.argv.slice(2);
const store = new MaildirStore({ rootOf: () => root, autoCreate: false });
const user = await store.forUser('x');
const mb = await user.open('INBOX', { readOnly: false });
let stop = false;
process.on('SIGTERM', () => {
  stop = true;
});
const report = (uids) => {
  for (const uid of uids) process.stdout.write(`added ${uid}\n`);
};
report(mb.uids());
while (!stop) {
  const ch = await mb.sync();
  report(ch.added);
  if (ch.expunged.length) process.stdout.write(`expunged ${ch.expunged.join(',')}\n`);
  await new Promise((r) => setTimeout(r, 5));
}
report((await mb.sync()).added);
await mb.close();
await store.close();
process.stdout.write('done\n');
