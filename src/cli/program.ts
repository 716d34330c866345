/**
 * The `mailroom` command line: the program, its commands, and the one place
 * where anything thrown becomes a line on stderr and a sysexits exit code.
 */
import { Command, CommanderError } from 'commander';
import { errnoCode } from '../../maildir/errors.js';
import { EX, MailroomError } from '../errors.js';
import { aliasCommands } from './alias.js';
import { checkCommand } from './check.js';
import { deliverCommand } from './deliver.js';
import { CliContext, type CliIO, examples } from './context.js';
import { domainCommands } from './domain.js';
import { queueCommands } from './queue.js';
import { serveCommand } from './serve.js';
import { userCommands } from './user.js';

export function buildProgram(ctx: CliContext, setExit: (code: number) => void): Command {
  const program = new Command('mailroom')
    .description('Mailroom: SMTP in, a durable queue, Maildir++ delivery, IMAP and POP3 out')
    // Before the commands are added: subcommands inherit these settings.
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.io.stdout.write(s),
      writeErr: (s) => ctx.io.stderr.write(s),
    })
    .option('-c, --config <file>', 'configuration file (default: $MAILROOM_CONFIG, else ./mailroom.yaml); accepted before or after the command')
    .addHelpText(
      'after',
      `${examples('mailroom domain add example.org', 'mailroom user add alice@example.org --quota 2G', 'mailroom serve --config /etc/mailroom/mailroom.yaml')}
Exit codes (sysexits): 0 done, 64 usage, 67 no such user or domain, 73 cannot create,
75 temporary failure (try again), 78 configuration error.
`,
    );
  serveCommand(program, ctx, setExit);
  domainCommands(program, ctx);
  userCommands(program, ctx);
  aliasCommands(program, ctx);
  checkCommand(program, ctx, setExit);
  deliverCommand(program, ctx, setExit);
  queueCommands(program, ctx);
  return program;
}

/** Runs the command line; resolves to the exit code. Never throws. */
export async function runCli(argv: string[], io: CliIO): Promise<number> {
  let exit: number = EX.OK;
  const ctx = new CliContext(io);
  const program = buildProgram(ctx, (code) => {
    exit = code;
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exit;
  } catch (e) {
    return reportError(e, io);
  }
}

function reportError(e: unknown, io: CliIO): number {
  if (e instanceof CommanderError) {
    // commander has already printed its one-line message (or the help)
    return e.exitCode === 0 ? EX.OK : EX.USAGE;
  }
  if (e instanceof MailroomError) {
    io.stderr.write(`mailroom: ${e.message}\n`);
    return e.exitCode;
  }
  const code = errnoCode(e);
  const message = e instanceof Error ? e.message : String(e);
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS' || code === 'ENOSPC' || code === 'EDQUOT') {
    io.stderr.write(`mailroom: cannot write: ${message}\n`);
    return EX.CANTCREAT;
  }
  if (code !== undefined) {
    io.stderr.write(`mailroom: ${message}\n`);
    return EX.IOERR;
  }
  io.stderr.write(`mailroom: internal error: ${message}\n`);
  if (io.env.MAILROOM_DEBUG && e instanceof Error && e.stack) io.stderr.write(`${e.stack}\n`);
  return EX.SOFTWARE;
}
