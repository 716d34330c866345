// A separate OS process that writes N messages into one Maildir folder, for
// the concurrency tests. argv: root mode(append|deliver) count tag
// Prints one line per message: "<tag> <i> <uid or file name>".
import { MaildirStore } from '../../dist/maildir/store.js';

const [root, mode, countArg, tag] = process.argv.slice(2);
const count = Number(countArg);
const store = new MaildirStore({ rootOf: () => root, autoCreate: false });
const user = await store.forUser('x');
for (let i = 0; i < count; i++) {
  const body = Buffer.from(`Message-ID: <${tag}-${i}@test>\nSubject: ${tag} ${i}\n\nbody ${i}\n`);
  if (mode === 'append') {
    const r = await user.append('INBOX', body);
    process.stdout.write(`${tag} ${i} ${r.uid}\n`);
  } else {
    const r = await user.deliver('INBOX', body);
    process.stdout.write(`${tag} ${i} ${r.fileName}\n`);
  }
}
await store.close();
