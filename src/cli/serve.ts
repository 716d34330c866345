/**
 * mailroom serve. The listeners (IMAP, POP3, SMTP) are not written yet: for
 * now this validates the configuration and the data directory, says plainly
 * that nothing is listening, and exits EX_UNAVAILABLE, rather than pretend.
 */
import { mkdir, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { errnoCode } from '../../maildir/errors.js';
import { EX, MailroomError } from '../errors.js';
import { type CliContext, examples } from './context.js';

/** The data directory must exist (it is created) and be writable: every listener writes there. */
export async function checkDataDir(dir: string): Promise<void> {
  const probe = join(dir, `.write-test-${process.pid}`);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFile(probe, '');
    await unlink(probe);
  } catch (e) {
    throw new MailroomError(EX.CANTCREAT, `the data directory ${dir} is not writable (${errnoCode(e) ?? String(e)})`, { cause: e });
  }
}

export function serveCommand(program: Command, ctx: CliContext, setExit: (code: number) => void): void {
  program
    .command('serve')
    .description('start every enabled listener (IMAP, POP3, SMTP) with the configuration')
    .addHelpText('after', examples('mailroom serve', 'mailroom serve --config /etc/mailroom/mailroom.yaml'))
    .action(async (_o, cmd: Command) => {
      const config = await ctx.config(cmd);
      await checkDataDir(config.data);
      ctx.note(`configuration ${config.file ?? '(built-in defaults)'} is valid and ${config.data} is writable`);
      ctx.note('no network listener is implemented yet (IMAP, POP3 and SMTP come with their own issues); nothing to serve');
      setExit(EX.UNAVAILABLE);
    });
}
