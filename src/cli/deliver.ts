/** mailroom deliver: the local delivery agent (see src/delivery/lda.ts). */
import type { Command } from 'commander';
import { MaildirStore } from '../../maildir/store.js';
import { ldaDeliver } from '../delivery/lda.js';
import { queueDir } from '../queue/index.js';
import { Spool } from '../queue/spool.js';
import { type CliContext, examples } from './context.js';

export function deliverCommand(program: Command, ctx: CliContext, setExit: (code: number) => void): void {
  program
    .command('deliver')
    .description('deliver one message from standard input into a local mailbox (an MDA, like Dovecot\'s LDA); exit 0 delivered, 67 no such user, 75 try again later')
    .requiredOption('--to <address>', 'the recipient: a local user, alias or forward')
    .option('--from <sender>', 'the envelope sender, written as Return-Path ("" for none)', '')
    .addHelpText('after', examples('mailroom deliver --to alice@example.org --from bob@example.net < message.eml', '# Postfix master.cf: flags=DRhu user=mail argv=/usr/bin/mailroom deliver --to ${recipient} --from ${sender}'))
    .action(async (o: { to: string; from: string }, cmd: Command) => {
      const config = await ctx.config(cmd);
      const accounts = await ctx.accounts(cmd);
      const store = new MaildirStore({ rootOf: (u) => accounts.maildirPath(u) });
      try {
        const r = await ldaDeliver(
          { accounts, store, hostname: config.hostname, spool: new Spool(queueDir(config)) },
          { to: o.to, from: o.from.replace(/^<|>$/g, ''), body: ctx.io.stdin as AsyncIterable<Buffer> },
        );
        // silent on success, as an MDA should be; the MTA logs what we print on failure
        if (r.exitCode !== 0) for (const line of r.lines) ctx.note(line);
        setExit(r.exitCode);
      } finally {
        await store.close();
      }
    });
}
