/**
 * The queue as the server sees it: an intake for the SMTP/LMTP receivers
 * (local mail delivered at once, the rest spooled: intake.ts) and a delivery
 * runner working the spool under data/queue.
 */
import { join } from 'node:path';
import type { MailStore } from '../../maildir/types.js';
import type { AccountStore } from '../accounts/store.js';
import type { Config } from '../config/schema.js';
import type { MxResolver } from '../delivery/route.js';
import { InlineIntake } from './intake.js';
import { type QueueLog, QueueRunner } from './runner.js';
import { Spool } from './spool.js';
import type { QueueIntake } from './types.js';

export interface QueueDeps {
  accounts: AccountStore;
  store: MailStore;
  log?: QueueLog;
  resolver?: MxResolver;
  now?: () => number;
}

export interface RunningQueue {
  intake: QueueIntake;
  /** the spool and runner, for tools and tests */
  spool: Spool;
  runner: QueueRunner;
  /** stop delivering; waits for deliveries in progress to be checkpointed */
  stop(): Promise<void>;
  /** retry every entry now */
  flush(): void;
}

export function queueDir(config: Pick<Config, 'data'>): string {
  return join(config.data, 'queue');
}

export async function startQueue(config: Config, deps: QueueDeps): Promise<RunningQueue> {
  const spool = new Spool(queueDir(config), deps.now);
  const runner = new QueueRunner({
    spool,
    accounts: deps.accounts,
    store: deps.store,
    hostname: config.hostname,
    queue: config.queue,
    routes: config.routes,
    ...(deps.resolver ? { resolver: deps.resolver } : {}),
    ...(deps.now ? { now: deps.now } : {}),
    ...(deps.log ? { log: deps.log } : {}),
  });
  await runner.start();
  const intake = new InlineIntake(spool, runner, config.queue.inlineDelivery);
  return { intake, spool, runner, stop: () => runner.stop(), flush: () => runner.flush() };
}
