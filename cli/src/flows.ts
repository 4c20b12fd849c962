// Reading flow files into a window, with the progress indicator. The one reader is
// `readFlowWindow` of @nyx/io (streaming, .gz, nyx/hubble/calico, malformed lines collected up to
// 100); this adds the CLI's error type and progress. It loads only the flow halves of the engine
// and the adapters (`@nyx/core/flows`, `@nyx/io/flows`), so that a command can start reading its
// flows before the rest of the engine has loaded.
import { stat } from 'node:fs/promises';
import { describeSkippedLines, type FlowTupleIdentity, type FlowWindow } from '@nyx/core/flows';
import { readFlowWindow, readFlowWindowInWorker } from '@nyx/io/flows';
import { UsageError } from './errors.js';
import type { FlowFormat } from './options.js';
import type { CommandIo } from './output.js';
import { startProgress } from './progress.js';

/** Fails with a usage error when `file` is not a readable regular file; its size. */
export async function requireFile(file: string, what: string): Promise<number> {
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile()) throw new UsageError(`${what} ${file} is not a readable file`);
  return info.size;
}

/**
 * Streams a flow file into a window of distinct tuples (memory grows with tuples, not records).
 * Malformed lines are reported together as an input error after the last line.
 * `format` absent: detected from the first record-bearing line. With `inWorker`, the file is read
 * on a worker thread, so that the caller can parse other inputs meanwhile; `signal` stops it.
 */
export async function readWindow(
  file: string,
  format: FlowFormat | undefined,
  io: CommandIo,
  options: {
    inWorker?: boolean;
    signal?: AbortSignal;
    /** With `inWorker`: the tuples discovered so far, in steps (see `readFlowWindowInWorker`). */
    onTuples?: (tuples: FlowTupleIdentity[]) => void;
  } = {},
): Promise<FlowWindow> {
  const progress = startProgress(io, 'reading flows');
  let window: FlowWindow;
  try {
    const formatOption = format ? { format } : {};
    window = options.inWorker
      ? await readFlowWindowInWorker(file, {
          ...formatOption,
          onProgress: (n) => progress.tick(n),
          ...(options.signal ? { signal: options.signal } : {}),
          ...(options.onTuples ? { onTuples: options.onTuples } : {}),
        })
      : await readFlowWindow(file, { ...formatOption, onRecord: () => progress.tick() });
  } finally {
    progress.done();
  }
  await noteSkippedLines(io, file, window.skippedByReason());
  return window;
}

/**
 * `nyxctl: note: FILE: skipped 2 lines: 2 × reply packet` on stderr: no line of a flow file is
 * dropped without a word (the same counts are in the impact's `coverage.skipped`).
 */
export async function noteSkippedLines(
  io: CommandIo,
  file: string,
  skipped: Readonly<Record<string, number>>,
): Promise<void> {
  const described = describeSkippedLines(skipped);
  if (described) await io.err.write(`nyxctl: note: ${file}: ${described}\n`);
}
