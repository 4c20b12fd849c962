// Reading flow files into a window, with the progress indicator. The one reader is
// `readFlowFile` of @nyx/io (streaming, .gz, nyx/hubble/calico); this adds CLI error handling.
import { type Diagnostic, FlowWindow } from '@nyx/core';
import { FlowFileError, readFlowFile } from '@nyx/io';
import { InputError } from './errors.js';
import type { FlowFormat } from './options.js';
import type { CommandIo } from './output.js';
import { startProgress } from './progress.js';

/**
 * Streams a flow file into a window of distinct tuples (memory grows with tuples, not records).
 * Every malformed line is collected (up to 100) and reported as an input error after the last line.
 * `format` absent: detected from the first record-bearing line.
 */
export async function readWindow(
  file: string,
  format: FlowFormat | undefined,
  io: CommandIo,
): Promise<FlowWindow> {
  const window = new FlowWindow();
  const errors: Diagnostic[] = [];
  let more = 0;
  const onError = (d: Diagnostic): void => {
    if (errors.length < 100) errors.push(d);
    else more++;
  };
  const progress = startProgress(io, 'reading flows');
  try {
    for await (const { record } of readFlowFile(file, { ...(format ? { format } : {}), onError })) {
      window.add(record);
      progress.tick();
    }
  } catch (error) {
    if (error instanceof FlowFileError) throw new InputError(error.diagnostics);
    throw error;
  } finally {
    progress.done();
  }
  if (more > 0)
    errors.push({ file, line: errors.at(-1)!.line, message: `…and ${more} more malformed lines` });
  if (errors.length > 0) throw new InputError(errors);
  return window;
}
