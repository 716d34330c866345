/** mailroom check ADDRESS: does this password verify? (no delay, no lockout, changes nothing) */
import type { Command } from 'commander';
import { verifyPassword } from '../accounts/passwords.js';
import { EX, MailroomError } from '../errors.js';
import { type CliContext, examples } from './context.js';
import { readPassword } from './password-input.js';

/** Exit status when the password does not verify: not an error, an answer (like test(1)). */
export const EXIT_MISMATCH = 1;

export function checkCommand(program: Command, ctx: CliContext, setExit: (code: number) => void): void {
  program
    .command('check')
    .description('tell whether a password verifies for a user: exit 0 if it does, 1 if not, 67 if no such user')
    .argument('<address>', 'the user')
    .option('--password-stdin', 'read the password from standard input (without it, you are asked on the terminal)')
    .addHelpText('after', examples('printf %s "$PASS" | mailroom check alice@example.org --password-stdin'))
    .action(async (address: string, o: { passwordStdin?: boolean }, cmd: Command) => {
      const store = await ctx.accounts(cmd);
      const user = await store.getUser(address);
      if (!user) throw new MailroomError(EX.NOUSER, `no such user: ${address}`);
      const password = await readPassword(ctx.io, { fromStdin: !!o.passwordStdin, confirm: false });
      if (await verifyPassword(password, user.passwordHash)) {
        ctx.out(`password verifies for ${user.address}${user.enabled ? '' : ' (but the account is disabled)'}`);
      } else {
        ctx.out(`password does not verify for ${user.address}`);
        setExit(EXIT_MISMATCH);
      }
    });
}
