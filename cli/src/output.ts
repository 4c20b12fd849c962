// Where commands write. Writing through `Sink` (rather than `console.log`) lets `verdicts` stream
// millions of lines with back-pressure, lets the benchmark discard output, and keeps stdout clean.
import type { Writable } from 'node:stream';

export interface Sink {
  /** Writes `text` as is; resolves once the stream can take more (back-pressure). */
  write(text: string): Promise<void> | void;
}

/** A sink over a Node stream that waits for `drain` when the stream's buffer is full. */
export function streamSink(stream: Writable): Sink {
  return {
    write(text: string): Promise<void> | void {
      if (stream.write(text)) return;
      return new Promise((resolve, reject) => {
        const onDrain = (): void => {
          stream.off('error', onError);
          resolve();
        };
        const onError = (error: Error): void => {
          stream.off('drain', onDrain);
          reject(error);
        };
        stream.once('drain', onDrain);
        stream.once('error', onError);
      });
    },
  };
}

/** Collects everything written; for tests and for the benchmark (which only keeps the length). */
export function memorySink(): Sink & { text(): string } {
  const chunks: string[] = [];
  return {
    write(text: string): void {
      chunks.push(text);
    },
    text: () => chunks.join(''),
  };
}

/** Discards everything but counts the characters, so the work of producing output is still done. */
export function countingSink(): Sink & { length: number } {
  const sink = {
    length: 0,
    write(text: string): void {
      sink.length += text.length;
    },
  };
  return sink;
}

/** What every command receives: its two output streams and whether to show progress. */
export interface CommandIo {
  out: Sink;
  err: Sink;
  /** Show a progress indicator on `err` (only when stderr is a terminal). */
  progress: boolean;
  /** The clock for the progress rate; injected so commands stay testable. */
  now: () => number;
  /** Called as each phase of a long command ends (`impact`: `trees+inventory`, `flows`, `computeImpact`, `render`); for timing. */
  mark?: (phase: string) => void;
}
