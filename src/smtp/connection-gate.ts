/**
 * Bounds on SMTP/LMTP sessions shared by every listener of the process: in
 * total, and per remote address so that one client cannot take every slot.
 * A refused client hears `421 4.7.0` (RFC 5321 3.8) and is disconnected.
 */
export class ConnectionGate {
  private readonly sessions = new Map<string, string>();
  private readonly byIp = new Map<string, number>();

  constructor(private readonly limits: { maxConnections: number; maxConnectionsPerIp: number }) {}

  admit(sessionId: string, remoteAddress: string): boolean {
    const ip = remoteAddress.toLowerCase().replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
    const fromIp = this.byIp.get(ip) ?? 0;
    if (this.sessions.size >= this.limits.maxConnections || fromIp >= this.limits.maxConnectionsPerIp) return false;
    this.sessions.set(sessionId, ip);
    this.byIp.set(ip, fromIp + 1);
    return true;
  }

  /** Called for every closed session, admitted or not. */
  release(sessionId: string): void {
    const ip = this.sessions.get(sessionId);
    if (ip === undefined) return;
    this.sessions.delete(sessionId);
    const left = (this.byIp.get(ip) ?? 1) - 1;
    if (left <= 0) this.byIp.delete(ip);
    else this.byIp.set(ip, left);
  }

  get open(): number {
    return this.sessions.size;
  }
}
