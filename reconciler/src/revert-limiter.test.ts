import { describe, expect, it } from 'vitest';
import { RevertLimiter } from './revert-limiter.js';

describe('RevertLimiter', () => {
  it('holds an object reverted more than N times a minute, with a doubling backoff', () => {
    const l = new RevertLimiter({ maxRevertsPerMinute: 3, baseBackoffMs: 1000, maxBackoffMs: 3000 });
    expect([0, 10, 20].map((t) => l.decide('a', t).action)).toEqual(['revert', 'revert', 'revert']);
    expect(l.decide('a', 30)).toEqual({ action: 'hold', until: 1030, startedBackoff: true, reverts: 3 });
    expect(l.decide('a', 500)).toMatchObject({ action: 'hold', startedBackoff: false });
    expect(l.decide('b', 500).action).toBe('revert');
    expect(l.heldCount(500)).toBe(1);
    // Still fought over after the backoff: three more reverts, then a longer hold.
    expect([1100, 1200, 1300].map((t) => l.decide('a', t).action)).toEqual(['revert', 'revert', 'revert']);
    expect(l.decide('a', 1400)).toMatchObject({ action: 'hold', until: 3400, startedBackoff: true });
    expect([3500, 3600, 3700].map((t) => l.decide('a', t).action)).toEqual(['revert', 'revert', 'revert']);
    expect(l.decide('a', 3800)).toMatchObject({ until: 6800 }); // capped at maxBackoffMs
  });

  it('forgets a backoff after a quiet minute', () => {
    const l = new RevertLimiter({ maxRevertsPerMinute: 1, baseBackoffMs: 1000, maxBackoffMs: 60_000 });
    l.decide('a', 0);
    expect(l.decide('a', 1)).toMatchObject({ until: 1001 });
    expect(l.decide('a', 200_000).action).toBe('revert');
    expect(l.decide('a', 200_001)).toMatchObject({ until: 201_001 });
  });
});
