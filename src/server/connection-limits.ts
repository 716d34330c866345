/**
 * Counts open connections, in total and per remote address, so that one
 * client (or one busy NAT) cannot take every session slot. A refused client
 * is told why with `* BYE` (RFC 3501 7.1.5) rather than left hanging.
 */
import { normalizeAddress } from './address.js';

export type Admission = { ok: true; release: () => void } | { ok: false; reason: 'total' | 'perIp' };

export class ConnectionLimits {
  private total = 0;
  private byIp = new Map<string, number>();

  constructor(private readonly limits: { maxConnections: number; maxConnectionsPerIp: number }) {}

  admit(remoteAddress: string): Admission {
    const ip = normalizeAddress(remoteAddress);
    if (this.total >= this.limits.maxConnections) return { ok: false, reason: 'total' };
    const n = this.byIp.get(ip) ?? 0;
    if (n >= this.limits.maxConnectionsPerIp) return { ok: false, reason: 'perIp' };
    this.total++;
    this.byIp.set(ip, n + 1);
    let released = false;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        this.total--;
        const left = (this.byIp.get(ip) ?? 1) - 1;
        if (left <= 0) this.byIp.delete(ip);
        else this.byIp.set(ip, left);
      },
    };
  }

  get open(): number {
    return this.total;
  }

  openFrom(remoteAddress: string): number {
    return this.byIp.get(normalizeAddress(remoteAddress)) ?? 0;
  }
}
