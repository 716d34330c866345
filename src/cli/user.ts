/** mailroom user add|passwd|del|list|quota|enable|disable|forward */
import type { Command } from 'commander';
import { parseAddress } from '../accounts/address.js';
import { hashPassword, hashScheme } from '../accounts/passwords.js';
import type { Quota, UserRecord } from '../accounts/store.js';
import { AccountError, EX, MailroomError } from '../errors.js';
import { type CliContext, examples } from './context.js';
import { readPassword } from './password-input.js';
import { formatSize, parseCount, parseSize } from './size.js';

const PASSWORD_STDIN = 'read the password from standard input (without it, you are asked on the terminal)';
const HASH =
  'store this existing hash instead of asking for a password, e.g. a {SHA512-CRYPT} or {BLF-CRYPT} one from a Dovecot or Courier userdb (see README "Passwords")';

/**
 * The hash to store: the one given with --hash (when we can verify it: a hash
 * no login could ever match is refused rather than locking the user out), or
 * a fresh scrypt hash of a password read from the terminal or stdin.
 */
async function storedHash(ctx: CliContext, o: { hash?: string; passwordStdin?: boolean }): Promise<string> {
  if (o.hash === undefined) return hashPassword(await readPassword(ctx.io, { fromStdin: !!o.passwordStdin, confirm: true }));
  if (o.passwordStdin) throw new MailroomError(EX.USAGE, '--hash and --password-stdin exclude each other');
  // the value itself is not echoed: a mistyped {PLAIN} one is a password
  if (hashScheme(o.hash) === null) throw new MailroomError(EX.USAGE, `--hash: not a hash Mailroom can verify (see README "Passwords" for the schemes)`);
  return o.hash;
}

function quotaFrom(size: string | undefined, messages: string | undefined): Quota | null {
  const bytes = size === undefined ? null : parseSize(size);
  const count = messages === undefined ? null : parseCount(messages);
  if (bytes === null && count === null) return null;
  return { ...(bytes !== null ? { bytes } : {}), ...(count !== null ? { messages: count } : {}) };
}

function describeQuota(q: Quota | null): string {
  if (!q) return 'no quota';
  const parts: string[] = [];
  if (q.bytes !== undefined) parts.push(formatSize(q.bytes));
  if (q.messages !== undefined) parts.push(`${q.messages} messages`);
  return `quota ${parts.join(', ')}`;
}

/** What `user list --json` prints for a user: everything but the password hash. */
function publicView(u: UserRecord, maildir: string) {
  return { address: u.address, enabled: u.enabled, quota: u.quota, forward: u.forward, created: u.created, maildir };
}

export function userCommands(program: Command, ctx: CliContext): void {
  const user = program
    .command('user')
    .description('manage mail users (each has a password, a Maildir, an optional quota and forward)')
    .addHelpText(
      'after',
      examples('mailroom user add alice@example.org --quota 2G', 'echo "$PASS" | mailroom user passwd alice@example.org --password-stdin', 'mailroom user list --json'),
    );

  user
    .command('add')
    .description('add a user and create its Maildir with the Drafts, Sent, Trash, Junk and Archive folders')
    .argument('<address>', 'the user, e.g. alice@example.org (its domain must exist)')
    .option('--quota <size>', 'storage quota, e.g. 500M or 2G (binary units)')
    .option('--quota-messages <count>', 'quota on the number of messages')
    .option('--password-stdin', PASSWORD_STDIN)
    .option('--hash <stored>', HASH)
    .option('--disabled', 'create the account disabled (it receives mail but cannot log in)')
    .addHelpText('after', examples('mailroom user add alice@example.org --quota 2G', 'printf %s "$PASS" | mailroom user add bob@example.org --password-stdin'))
    .action(async (address: string, o: { quota?: string; quotaMessages?: string; passwordStdin?: boolean; hash?: string; disabled?: boolean }, cmd: Command) => {
      const quota = quotaFrom(o.quota, o.quotaMessages); // usage errors before asking for a password
      const store = await ctx.accounts(cmd);
      const a = parseAddress(address);
      if (!(await store.hasDomain(a.domain))) throw new AccountError('NODOMAIN', `no such domain: ${a.domain} (add it with: mailroom domain add ${a.domain})`);
      if (await store.getUser(a.address)) throw new AccountError('EXISTS', `user ${a.address} already exists`);
      const u = await store.addUser(address, await storedHash(ctx, o), { quota, enabled: !o.disabled });
      ctx.out(`user ${u.address} added (${describeQuota(u.quota)}; Maildir ${store.maildirPath(u.address)})`);
    });

  user
    .command('passwd')
    .description("change a user's password")
    .argument('<address>', 'the user')
    .option('--password-stdin', PASSWORD_STDIN)
    .option('--hash <stored>', HASH)
    .addHelpText('after', examples('mailroom user passwd alice@example.org', 'printf %s "$PASS" | mailroom user passwd alice@example.org --password-stdin'))
    .action(async (address: string, o: { passwordStdin?: boolean; hash?: string }, cmd: Command) => {
      const store = await ctx.accounts(cmd);
      const existing = await store.getUser(address);
      if (!existing) throw new MailroomError(EX.NOUSER, `no such user: ${address}`);
      await store.setPassword(existing.address, await storedHash(ctx, o));
      ctx.out(`password of ${existing.address} changed`);
    });

  user
    .command('del')
    .alias('delete')
    .description('delete a user and, unless --keep-mail, its mail')
    .argument('<address>', 'the user')
    .option('--keep-mail', 'keep data/mail/<domain>/<user> (adding the user again gives the mail back)')
    .addHelpText('after', examples('mailroom user del alice@example.org', 'mailroom user del alice@example.org --keep-mail'))
    .action(async (address: string, o: { keepMail?: boolean }, cmd: Command) => {
      await (await ctx.accounts(cmd)).deleteUser(address, { keepMail: o.keepMail });
      ctx.out(`user ${parseAddress(address).address} deleted${o.keepMail ? ' (mail kept)' : ''}`);
    });

  user
    .command('list')
    .description('list users, of one domain or of all')
    .argument('[domain]', 'only this domain')
    .option('--json', 'print a JSON array (no password hashes)')
    .addHelpText('after', examples('mailroom user list', 'mailroom user list example.org --json'))
    .action(async (domain: string | undefined, o: { json?: boolean }, cmd: Command) => {
      const store = await ctx.accounts(cmd);
      const users = await store.listUsers(domain);
      if (o.json) {
        ctx.out(JSON.stringify(users.map((u) => publicView(u, store.maildirPath(u.address))), null, 2));
        return;
      }
      for (const u of users) {
        const fwd = u.forward ? `  forward ${u.forward.to.join(', ')}${u.forward.keepCopy ? ' (keeps a copy)' : ''}` : '';
        ctx.out(`${u.address}  ${u.enabled ? 'enabled' : 'disabled'}  ${describeQuota(u.quota)}${fwd}`);
      }
    });

  user
    .command('quota')
    .description("set or remove a user's quota")
    .argument('<address>', 'the user')
    .argument('<size>', 'storage limit such as 500M or 2G, or "none"')
    .option('--messages <count>', 'also limit the number of messages ("none" for no limit)')
    .addHelpText('after', examples('mailroom user quota alice@example.org 2G', 'mailroom user quota alice@example.org 1G --messages 50000', 'mailroom user quota alice@example.org none'))
    .action(async (address: string, size: string, o: { messages?: string }, cmd: Command) => {
      const quota = quotaFrom(size, o.messages);
      const store = await ctx.accounts(cmd);
      await store.setQuota(address, quota);
      ctx.out(`${parseAddress(address).address}: ${describeQuota(quota)}`);
    });

  for (const [name, enabled] of [
    ['enable', true],
    ['disable', false],
  ] as const) {
    user
      .command(name)
      .description(enabled ? 'allow a user to log in again' : 'refuse logins for a user (mail is still delivered)')
      .argument('<address>', 'the user')
      .addHelpText('after', examples(`mailroom user ${name} alice@example.org`))
      .action(async (address: string, _o, cmd: Command) => {
        await (await ctx.accounts(cmd)).setEnabled(address, enabled);
        ctx.out(`${parseAddress(address).address} ${enabled ? 'enabled' : 'disabled'}`);
      });
  }

  user
    .command('forward')
    .description("set a user's forward (its mail goes to the targets), or show it when no target is given")
    .argument('<address>', 'the user')
    .argument('[target...]', 'addresses to forward to')
    .option('--keep-copy', 'also deliver into the Maildir of the user')
    .option('--none', 'remove the forward')
    .addHelpText(
      'after',
      examples('mailroom user forward alice@example.org alice@elsewhere.example --keep-copy', 'mailroom user forward alice@example.org --none'),
    )
    .action(async (address: string, targets: string[], o: { keepCopy?: boolean; none?: boolean }, cmd: Command) => {
      const store = await ctx.accounts(cmd);
      if (o.none && targets.length > 0) throw new MailroomError(EX.USAGE, '--none takes no target addresses');
      if (o.none || targets.length > 0) {
        await store.setForward(address, o.none ? null : { to: targets, keepCopy: !!o.keepCopy });
      }
      const u = await store.getUser(address);
      if (!u) throw new MailroomError(EX.NOUSER, `no such user: ${address}`);
      ctx.out(u.forward ? `${u.address} forwards to ${u.forward.to.join(', ')}${u.forward.keepCopy ? ' and keeps a copy' : ''}` : `${u.address} has no forward`);
    });
}
