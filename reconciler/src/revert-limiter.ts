// Reverts must not fight: an object reverted more than `maxRevertsPerMinute` times in a minute is
// being fought over (another controller writes it back). It is then left alone for a backoff that
// doubles on each repeat (from `baseBackoffMs` up to `maxBackoffMs`), an alert is raised, and it is
// reverted again when the backoff ends. Pure: the caller hands in the time.

export interface RevertLimiterOptions {
  maxRevertsPerMinute: number;
  baseBackoffMs: number;
  maxBackoffMs: number;
}

export const DEFAULT_REVERT_LIMITS: RevertLimiterOptions = {
  maxRevertsPerMinute: 5,
  baseBackoffMs: 30_000,
  maxBackoffMs: 10 * 60_000,
};

export type RevertDecision =
  | { action: 'revert' }
  /** `startedBackoff`: this call started it (raise the alert once). */
  | { action: 'hold'; until: number; startedBackoff: boolean; reverts: number };

interface ObjectHistory {
  reverts: number[];
  backoffUntil: number;
  backoffMs: number;
}

export class RevertLimiter {
  private readonly history = new Map<string, ObjectHistory>();

  constructor(private readonly options: RevertLimiterOptions = DEFAULT_REVERT_LIMITS) {}

  /** Called before each revert of `id` at time `now` (ms): revert now, or hold until a time. */
  decide(id: string, now: number): RevertDecision {
    let h = this.history.get(id);
    if (!h) {
      h = { reverts: [], backoffUntil: 0, backoffMs: 0 };
      this.history.set(id, h);
    }
    if (now < h.backoffUntil)
      return { action: 'hold', until: h.backoffUntil, startedBackoff: false, reverts: h.reverts.length };
    h.reverts = h.reverts.filter((t) => now - t < 60_000);
    // A quiet minute after a backoff forgets it.
    if (h.reverts.length === 0 && now - h.backoffUntil > 60_000) h.backoffMs = 0;
    if (h.reverts.length >= this.options.maxRevertsPerMinute) {
      h.backoffMs = Math.min(
        this.options.maxBackoffMs,
        h.backoffMs === 0 ? this.options.baseBackoffMs : h.backoffMs * 2,
      );
      h.backoffUntil = now + h.backoffMs;
      const reverts = h.reverts.length;
      h.reverts = [];
      return { action: 'hold', until: h.backoffUntil, startedBackoff: true, reverts };
    }
    h.reverts.push(now);
    return { action: 'revert' };
  }

  /** Ids currently held, for the gauge. */
  heldCount(now: number): number {
    let n = 0;
    for (const h of this.history.values()) if (now < h.backoffUntil) n++;
    return n;
  }

  forget(id: string): void {
    this.history.delete(id);
  }
}
