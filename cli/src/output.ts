// Where commands write. Writing through `Sink` (rather than `console.log`) lets `verdicts` stream
// millions of lines with back-pressure, lets the benchmark discard output, and keeps stdout clean.
import type { Writable } from 'node:stream';

export interface Sink {
  /** Writes `data` (text, or UTF-8 bytes) as is; resolves once the stream can take more (back-pressure). */
  write(data: string | Uint8Array): Promise<void> | void;
}

/** A sink over a Node stream that waits for `drain` when the stream's buffer is full. */
export function streamSink(stream: Writable): Sink {
  return {
    write(data: string | Uint8Array): Promise<void> | void {
      if (stream.write(data)) return;
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
  const utf8 = new TextDecoder();
  return {
    write(data: string | Uint8Array): void {
      // Bytes are whole lines (never a character split across two writes).
      chunks.push(typeof data === 'string' ? data : utf8.decode(data));
    },
    text: () => chunks.join(''),
  };
}

/**
 * Discards everything but counts what was written (characters of text, bytes of bytes), so the
 * work of producing output is still done.
 */
export function countingSink(): Sink & { length: number } {
  const sink = {
    length: 0,
    write(data: string | Uint8Array): void {
      sink.length += data.length;
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
