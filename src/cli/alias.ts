/** mailroom alias add|del|list */
import type { Command } from 'commander';
import { type CliContext, examples } from './context.js';

export function aliasCommands(program: Command, ctx: CliContext): void {
  const alias = program
    .command('alias')
    .description('manage aliases: addresses that deliver to local users and/or remote addresses')
    .addHelpText(
      'after',
      examples(
        'mailroom alias add postmaster@example.org alice@example.org',
        'mailroom alias add @example.org alice@example.org      # catch-all',
        'mailroom alias list example.org',
      ),
    );

  alias
    .command('add')
    .description('add targets to an alias (creating it); "@domain" is the catch-all of that domain')
    .argument('<address>', 'the alias, e.g. sales@example.org, or @example.org for the catch-all')
    .argument('<target...>', 'local users and/or remote addresses to deliver to')
    .addHelpText('after', examples('mailroom alias add sales@example.org alice@example.org bob@partner.example'))
    .action(async (address: string, targets: string[], _o, cmd: Command) => {
      const r = await (await ctx.accounts(cmd)).addAlias(address, targets);
      ctx.out(`alias ${r.alias} -> ${r.targets.join(', ')}`);
    });

  alias
    .command('del')
    .alias('delete')
    .description('remove some targets of an alias, or the whole alias when no target is named')
    .argument('<address>', 'the alias, or @domain for the catch-all')
    .argument('[target...]', 'targets to remove')
    .addHelpText('after', examples('mailroom alias del sales@example.org bob@partner.example', 'mailroom alias del sales@example.org'))
    .action(async (address: string, targets: string[], _o, cmd: Command) => {
      await (await ctx.accounts(cmd)).deleteAlias(address, targets);
      ctx.out(targets.length ? `removed ${targets.join(', ')} from alias ${address}` : `alias ${address} deleted`);
    });

  alias
    .command('list')
    .description('list aliases, of one domain or of all')
    .argument('[domain]', 'only this domain')
    .option('--json', 'print a JSON array of { alias, domain, targets }')
    .addHelpText('after', examples('mailroom alias list', 'mailroom alias list example.org --json'))
    .action(async (domain: string | undefined, o: { json?: boolean }, cmd: Command) => {
      const aliases = await (await ctx.accounts(cmd)).listAliases(domain);
      if (o.json) ctx.out(JSON.stringify(aliases, null, 2));
      else for (const a of aliases) ctx.out(`${a.alias} -> ${a.targets.join(', ')}`);
    });
}
