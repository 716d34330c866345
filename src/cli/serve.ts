/**
 * mailroom serve: the IMAP listeners (POP3 and SMTP come with their own
 * issues) until SIGTERM or SIGINT. SIGHUP re-reads the TLS certificate.
 * Logs are pino JSON lines on stderr.
 */
import type { Command } from 'commander';
import { EX } from '../errors.js';
import { createLogger } from '../log.js';
import { startServer } from '../server/serve.js';
import { type CliContext, examples } from './context.js';

export { checkDataDir } from '../server/data-dir.js';

/** After shutdown, a handle nobody closed must not keep the process alive for ever. */
const EXIT_GRACE_MS = 3_000;

export function serveCommand(program: Command, ctx: CliContext, setExit: (code: number) => void): void {
  program
    .command('serve')
    .description('serve mail: IMAP, POP3, SMTP (MX and submission), LMTP if configured, and the delivery queue, until SIGTERM/SIGINT; SIGHUP reloads the certificate')
    .addHelpText('after', examples('mailroom serve', 'mailroom serve --config /etc/mailroom/mailroom.yaml', 'kill -HUP <pid>    # after renewing the certificate'))
    .action(async (_o, cmd: Command) => {
      const config = await ctx.config(cmd);
      const log = createLogger();
      const server = await startServer(config, log);
      if (server.listening.length === 0) {
        ctx.note('every IMAP port is switched off in the configuration (imap.port and imap.tlsPort are false): nothing to serve');
        await server.shutdown();
        setExit(EX.CONFIG);
        return;
      }
      await new Promise<void>((resolve) => {
        const onHup = () => void server.reloadTls();
        const stop = (signal: string) => {
          log.info({ signal }, `${signal} received`);
          process.off('SIGHUP', onHup);
          process.off('SIGTERM', onTerm);
          process.off('SIGINT', onInt);
          void server.shutdown().then(resolve);
        };
        const onTerm = () => stop('SIGTERM');
        const onInt = () => stop('SIGINT');
        process.on('SIGHUP', onHup);
        process.on('SIGTERM', onTerm);
        process.on('SIGINT', onInt);
      });
      setExit(EX.OK);
      setTimeout(() => process.exit(process.exitCode ?? 0), EXIT_GRACE_MS).unref();
    });
}
