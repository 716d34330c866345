/** mailroom domain add|del|list */
import type { Command } from 'commander';
import { type CliContext, examples } from './context.js';

export function domainCommands(program: Command, ctx: CliContext): void {
  const domain = program
    .command('domain')
    .description('manage the mail domains this server is the final destination for')
    .addHelpText('after', examples('mailroom domain add example.org', 'mailroom domain list'));

  domain
    .command('add')
    .description('add a domain')
    .argument('<domain>', 'domain name, e.g. example.org')
    .addHelpText('after', examples('mailroom domain add example.org'))
    .action(async (name: string, _o, cmd: Command) => {
      const added = await (await ctx.accounts(cmd)).addDomain(name);
      ctx.out(`domain ${added} added`);
    });

  domain
    .command('del')
    .alias('delete')
    .description('delete a domain; refused while it has users or aliases unless --force')
    .argument('<domain>', 'domain name')
    .option('--force', 'also delete its users and aliases')
    .option('--keep-mail', "keep the users' Maildirs under data/mail/<domain>")
    .addHelpText('after', examples('mailroom domain del example.org', 'mailroom domain del example.org --force --keep-mail'))
    .action(async (name: string, o: { force?: boolean; keepMail?: boolean }, cmd: Command) => {
      const store = await ctx.accounts(cmd);
      const { domain: deleted, users } = await store.deleteDomain(name, { force: o.force, keepMail: o.keepMail });
      ctx.out(`domain ${deleted} deleted${users.length ? ` with ${users.length} user(s)` : ''}`);
    });

  domain
    .command('list')
    .description('list the domains')
    .option('--json', 'print a JSON array')
    .addHelpText('after', examples('mailroom domain list --json'))
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const domains = await (await ctx.accounts(cmd)).listDomains();
      if (o.json) ctx.out(JSON.stringify(domains, null, 2));
      else for (const d of domains) ctx.out(d);
    });
}
