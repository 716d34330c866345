/**
 * The MDA interface (`mailroom deliver --to ADDRESS [--from SENDER] < message`),
 * like Dovecot's LDA or qmail-local: one message for one address, straight
 * into the Maildir, the answer in the exit code (sysexits, which every MTA
 * reads the same way): 0 delivered, 67 no such user, 75 try again later.
 *
 * The message is first streamed into queue/tmp/ (fsync'd, never whole in
 * memory), so that it can be read more than once: for the loop check, for
 * each local target of an alias, and for a forward. Aliases, catch-alls and
 * forwards are honoured; remote targets of a forward are queued (with the
 * same sender) for the server's queue runner to send on.
 */
import type { Readable } from 'node:stream';
import { EX, type ExitCode } from '../errors.js';
import type { QueueInfo, Spool, SpoolRecipient } from '../queue/spool.js';
import { readHeaderSection } from './headers.js';
import { deliverToMailbox, expandRecipient, type LocalDeliveryDeps } from './local.js';
import type { DeliveryOutcome } from './outcome.js';

export interface LdaRequest {
  to: string;
  from: string;
  body: Readable | AsyncIterable<Buffer>;
  maxBytes?: number;
}

export interface LdaResult {
  exitCode: ExitCode;
  /** one line per target: "<address>: <outcome>" */
  lines: string[];
}

export async function ldaDeliver(deps: LocalDeliveryDeps & { spool: Spool }, req: LdaRequest): Promise<LdaResult> {
  const tmp = await deps.spool.receiveTemp(req.body, req.maxBytes);
  try {
    const now = (deps.now ?? Date.now)();
    const info: QueueInfo = {
      version: 1,
      id: tmp.id,
      from: req.from,
      received: { helo: 'localhost', remoteAddress: '127.0.0.1', protocol: 'local' },
      firstSeen: now,
      nextTry: now,
      size: tmp.size,
      recipients: [],
    };
    const headers = await readHeaderSection(tmp.path);
    const exp = await expandRecipient(deps.accounts, req.to, headers);
    const results: [string, DeliveryOutcome][] = [];
    if (exp.kind === 'remote') {
      return { exitCode: EX.NOUSER, lines: [`${req.to}: not an address of one of our domains`] };
    } else if (exp.kind === 'failed') {
      results.push([req.to, exp.outcome]);
    } else if (exp.kind === 'mailbox') {
      results.push([exp.address, await deliverToMailbox(deps, info, tmp.path, exp.address, headers)]);
    } else {
      for (const a of exp.local) results.push([a, await deliverToMailbox(deps, info, tmp.path, a, headers)]);
      for (const a of exp.unknown) results.push([a, { kind: 'failed', status: '5.1.1', diagnostic: `x-mailroom; ${req.to} points to ${a}, which does not exist` }]);
      if (exp.remote.length > 0) {
        const recipients: SpoolRecipient[] = exp.remote.map((address) => ({
          address,
          route: 'remote',
          parent: req.to,
          orcpt: `rfc822;${req.to}`,
          state: 'pending',
          attempts: 0,
        }));
        const { createReadStream } = await import('node:fs');
        const q = await deps.spool.enqueueEntry(
          { from: req.from, recipients: [], received: info.received },
          createReadStream(tmp.path),
          { recipients },
        );
        for (const a of exp.remote) results.push([a, { kind: 'delivered', status: '2.0.0', diagnostic: `x-mailroom; queued as ${q.id} for forwarding` }]);
      }
    }
    return summarize(results);
  } finally {
    await tmp.discard();
  }
}

/** The worst outcome decides: anything temporary → 75 (the MTA retries); else a missing user → 67. */
function summarize(results: [string, DeliveryOutcome][]): LdaResult {
  const lines = results.map(([a, o]) => `${a}: ${o.kind} ${o.status}${o.diagnostic ? ` ${o.diagnostic.replace(/^[\w-]+;\s*/, '')}` : ''}`);
  if (results.some(([, o]) => o.kind === 'deferred')) return { exitCode: EX.TEMPFAIL, lines };
  const failures = results.filter(([, o]) => o.kind === 'failed');
  if (failures.length === 0) return { exitCode: EX.OK, lines };
  if (failures.some(([, o]) => o.status === '5.1.1')) return { exitCode: EX.NOUSER, lines };
  return { exitCode: EX.DATAERR, lines };
}
