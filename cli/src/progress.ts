// A one-line progress indicator for long runs: records read and rate, redrawn in place on stderr.
// Only used when stderr is a terminal (`CommandIo.progress`), so logs and pipes stay clean.
import type { CommandIo } from './output.js';

export interface Progress {
  /** Counts `n` more records; redraws at most every 200 ms. */
  tick(n?: number): void;
  /** Clears the line. */
  done(): void;
}

const noProgress: Progress = { tick() {}, done() {} };

export function startProgress(io: CommandIo, label: string): Progress {
  if (!io.progress) return noProgress;
  const started = io.now();
  let count = 0;
  let lastDraw = started;
  let drawn = false;
  return {
    tick(n = 1): void {
      count += n;
      // Reading the clock on every record would cost more than the record; look every 4,096.
      if ((count & 0xfff) !== 0) return;
      const now = io.now();
      if (now - lastDraw < 200) return;
      lastDraw = now;
      drawn = true;
      const seconds = Math.max((now - started) / 1000, 0.001);
      const rate = Math.round(count / seconds);
      void io.err.write(
        `\r${label}: ${count.toLocaleString('en-US')} records (${rate.toLocaleString('en-US')}/s)  `,
      );
    },
    done(): void {
      if (drawn) void io.err.write('\r\x1b[2K');
    },
  };
}
