/**
 * Where mail for a remote domain goes next: a static route (qmail's
 * smtproutes: the domain itself, else "*" as a smarthost), or the domain's MX
 * hosts in preference order (RFC 5321 5.1), or — when the domain has no MX
 * records — the domain itself, whose A/AAAA records the SMTP client looks up
 * (the "implicit MX" of RFC 5321 5.1). A null MX (RFC 7505) refuses mail.
 */
import { promises as dns } from 'node:dns';
import type { Route } from '../config/schema.js';
import { errnoCode } from '../../maildir/errors.js';
import { deferred, type DeliveryOutcome, failed } from './outcome.js';

export interface MxResolver {
  resolveMx(domain: string): Promise<{ exchange: string; priority: number }[]>;
}

export const systemResolver: MxResolver = { resolveMx: (d) => dns.resolveMx(d) };

export type Hops = { kind: 'hosts'; hosts: Route[] } | { kind: 'failed'; outcome: DeliveryOutcome };

export async function nextHops(domain: string, routes: Record<string, Route>, resolver: MxResolver, smtpPort = 25): Promise<Hops> {
  const d = domain.toLowerCase().replace(/\.$/, '');
  const route = routes[d] ?? routes['*'];
  if (route) return { kind: 'hosts', hosts: [route] };
  let mx: { exchange: string; priority: number }[];
  try {
    mx = await resolver.resolveMx(d);
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'ENODATA') return { kind: 'hosts', hosts: [{ host: d, port: smtpPort }] };
    if (code === 'ENOTFOUND') return { kind: 'failed', outcome: failed('5.1.2', `x-mailroom; the domain ${d} does not exist (DNS ${code})`) };
    return { kind: 'failed', outcome: deferred('4.4.3', `x-mailroom; DNS lookup of the MX of ${d} failed (${code ?? String(e)})`) };
  }
  if (mx.length === 0) return { kind: 'hosts', hosts: [{ host: d, port: smtpPort }] };
  if (mx.length === 1 && (mx[0].exchange === '' || mx[0].exchange === '.')) {
    return { kind: 'failed', outcome: failed('5.1.10', `x-mailroom; ${d} accepts no mail (null MX, RFC 7505)`) };
  }
  // lower preference first; the order among equals is left as the resolver gave it
  const hosts = [...mx]
    .filter((m) => m.exchange !== '' && m.exchange !== '.')
    .sort((a, b) => a.priority - b.priority)
    .map((m) => ({ host: m.exchange.replace(/\.$/, ''), port: smtpPort }));
  return { kind: 'hosts', hosts };
}
