/**
 * mailroom queue list|flush|remove: the spool on disk (data/queue), whether
 * or not a server is running. A running server picks up `flush` through the
 * mtime of queue/flush, which it checks every queue.scanIntervalSeconds; a
 * removed entry is dropped by the server at its next checkpoint or scan.
 */
import type { Command } from 'commander';
import { EX, MailroomError } from '../errors.js';
import { queueDir } from '../queue/index.js';
import { isQueueId, type QueueInfo, Spool } from '../queue/spool.js';
import { type CliContext, examples } from './context.js';

export function queueCommands(program: Command, ctx: CliContext): void {
  const queue = program
    .command('queue')
    .description('inspect and manage the mail queue (data/queue)')
    .addHelpText('after', examples('mailroom queue list', 'mailroom queue flush', 'mailroom queue remove <id>'));

  const spoolOf = async (cmd: Command) => new Spool(queueDir(await ctx.config(cmd)));

  queue
    .command('list')
    .description('list queued messages with each recipient\'s state')
    .option('--json', 'print a JSON array of the queue entries as stored')
    .addHelpText('after', examples('mailroom queue list', 'mailroom queue list --json'))
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const entries = await (await spoolOf(cmd)).list();
      if (o.json) {
        ctx.out(JSON.stringify(entries, null, 2));
        return;
      }
      if (entries.length === 0) ctx.out('the queue is empty');
      for (const e of entries) for (const line of describe(e)) ctx.out(line);
    });

  queue
    .command('flush')
    .description('retry every queued message now (a running server notices within queue.scanIntervalSeconds)')
    .addHelpText('after', examples('mailroom queue flush'))
    .action(async (_o, cmd: Command) => {
      const spool = await spoolOf(cmd);
      await spool.requestFlush();
      ctx.out(`flush requested for ${(await spool.ids()).length} queued message(s)`);
    });

  queue
    .command('remove')
    .alias('rm')
    .description('remove a message from the queue without delivering it further (no bounce is sent)')
    .argument('<id...>', 'queue ids, as shown by `mailroom queue list`')
    .addHelpText('after', examples('mailroom queue remove mww5x3oz.gnc0001.mail'))
    .action(async (ids: string[], _o, cmd: Command) => {
      const spool = await spoolOf(cmd);
      for (const id of ids) {
        if (!isQueueId(id)) throw new MailroomError(EX.USAGE, `"${id}" is not a queue id`);
        if (!(await spool.remove(id))) throw new MailroomError(EX.NOUSER, `no queued message ${id}`);
        ctx.out(`removed ${id}`);
      }
    });
}

function describe(e: QueueInfo): string[] {
  const age = Math.max(0, Math.round((Date.now() - e.firstSeen) / 60_000));
  const open = e.recipients.filter((r) => r.state === 'pending' || r.state === 'deferred').length;
  const lines = [
    `${e.id}  ${e.size} bytes  ${age} min old  from <${e.from}>  ${open} to go, next try ${new Date(e.nextTry).toISOString()}`,
  ];
  for (const r of e.recipients) {
    const why = r.state === 'deferred' || r.state === 'failed' ? `  ${r.status ?? ''} ${r.diagnostic ?? ''}`.trimEnd() : '';
    lines.push(`    ${r.state.padEnd(9)} <${r.address}>${r.parent ? ` (via ${r.parent})` : ''}  attempts ${r.attempts}${why}`);
  }
  return lines;
}
