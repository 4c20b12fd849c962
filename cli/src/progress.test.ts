import { describe, expect, it } from 'vitest';
import { memorySink } from './output.js';
import { startProgress } from './progress.js';

function io(progress: boolean) {
  let clock = 0;
  const err = memorySink();
  return {
    io: { out: memorySink(), err, progress, now: () => clock },
    err,
    advance: (ms: number) => {
      clock += ms;
    },
  };
}

describe('progress indicator', () => {
  it('prints nothing when stderr is not a terminal', () => {
    const t = io(false);
    const p = startProgress(t.io, 'reading flows');
    for (let i = 0; i < 100_000; i++) p.tick();
    p.done();
    expect(t.err.text()).toBe('');
  });

  it('redraws records and rate in place, at most every 200 ms, and clears the line when done', () => {
    const t = io(true);
    const p = startProgress(t.io, 'reading flows');
    t.advance(1000);
    for (let i = 0; i < 8192; i++) p.tick();
    // Two checks at 4,096 and 8,192 records, but the second is within 200 ms of the first.
    expect(t.err.text()).toBe('\rreading flows: 4,096 records (4,096/s)  ');
    t.advance(1000);
    for (let i = 0; i < 4096; i++) p.tick();
    expect(t.err.text()).toContain('\rreading flows: 12,288 records (6,144/s)  ');
    p.done();
    expect(t.err.text().endsWith('\r\x1b[2K')).toBe(true);
  });
});
