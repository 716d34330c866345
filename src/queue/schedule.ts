/**
 * qmail-send's retry schedule: an entry born at `birth` is tried again at
 *
 *   birth + (⌊√age⌋ + c)²   seconds, age = now - birth in seconds,
 *
 * so the gaps grow with the message's age (c = 10 gives 100 s, 7 min, 15 min…
 * for a new message; a day-old message is retried about every hour and a
 * half with c = 20). `c` is qmail's "chanskip": smaller for local deliveries,
 * which fail for local reasons (a full mailbox) that clear sooner. Since
 * (⌊√a⌋ + c)² > a for c ≥ 1, the next try is always in the future.
 */
export function nextRetry(birthMs: number, nowMs: number, c: number): number {
  const age = Math.max(0, Math.floor((nowMs - birthMs) / 1000));
  const n = Math.floor(Math.sqrt(age)) + c;
  return birthMs + n * n * 1000;
}

/** A counting semaphore: at most `limit` holders at once, the rest wait in order. */
export class Semaphore {
  private held = 0;
  private waiters: (() => void)[] = [];
  constructor(private readonly limit: number) {}

  get inUse(): number {
    return this.held;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.held >= this.limit) await new Promise<void>((resolve) => this.waiters.push(resolve));
    else this.held++;
    try {
      return await fn();
    } finally {
      const next = this.waiters.shift();
      if (next) next(); // the slot passes straight to the next waiter
      else this.held--;
    }
  }
}
