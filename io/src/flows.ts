// Flow files from disk: streamed line by line (never read whole), gunzipped when the name ends in
// `.gz`, in the nyx format (SPEC section 7) or as Hubble / Calico exports converted on the fly.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { type Readable, Transform } from 'node:stream';
import { createGunzip } from 'node:zlib';
import {
  calicoLineToFlow,
  type Diagnostic,
  type FlowLineResult,
  type FlowRecord,
  FlowWindow,
  hubbleLineToFlow,
  looksLikeCalico,
  looksLikeHubble,
  MAX_FLOW_LINE_BYTES,
  parseFlowLine,
  SILENT_SKIPS,
} from '@nyx/core';
import { InputFileError } from './errors.js';

export type FlowFileFormat = 'nyx' | 'hubble' | 'calico';

export interface ReadFlowFileOptions {
  /** Explicit format; detected from the first record-bearing line when absent. */
  format?: FlowFileFormat;
  /**
   * Called for each malformed line; the line is then skipped and reading goes on. Without it the
   * first malformed line throws a `FlowFileError`. A line running past twice the line limit (a
   * file that is not JSON Lines at all) always throws: reading cannot go on without holding it.
   */
  onError?: (error: Diagnostic) => void;
  /** Called for each line an importer skipped on purpose (a reply, a duplicate report, …). */
  onSkip?: (note: Diagnostic) => void;
  /** Name used in diagnostics; defaults to the path as given. */
  displayName?: string;
}

/** Malformed flow input: every problem as a `file:line` diagnostic. */
export class FlowFileError extends InputFileError {
  constructor(diagnostics: Diagnostic[]) {
    super(diagnostics);
    this.name = 'FlowFileError';
  }
}

const CONVERTERS: Record<FlowFileFormat, (line: string, lineNo: number, file: string) => FlowLineResult> = {
  nyx: parseFlowLine,
  hubble: hubbleLineToFlow,
  calico: calicoLineToFlow,
};

/**
 * The format of one line: Hubble (`{"flow": …}` or a bare flow with `IP`/`source`), Calico (flow log
 * fields), else nyx. Undefined for lines that say nothing (blank, comment, not JSON).
 */
export function detectFlowFormat(line: string): FlowFileFormat | undefined {
  const trimmed = line.trim();
  if (trimmed === '' || trimmed.startsWith('#')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const obj = value as Record<string, unknown>;
  if (looksLikeHubble(obj)) return 'hubble';
  if (looksLikeCalico(obj)) return 'calico';
  return 'nyx';
}

/**
 * readline buffers a line until its newline: a file with a gigabyte and no newline would sit in
 * memory. This guard fails the stream once a line runs past twice the parser's limit (lines between
 * the two limits still reach the parser, which reports them with their number).
 */
function lineLengthGuard(file: string): Transform {
  let lineNo = 1;
  let sinceNewline = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      let start = 0;
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) {
        lineNo += 1;
        sinceNewline = 0;
        start = i + 1;
      }
      sinceNewline += chunk.length - start;
      if (sinceNewline > 2 * MAX_FLOW_LINE_BYTES) {
        done(
          new FlowFileError([
            {
              file,
              line: lineNo,
              message: `line is longer than ${MAX_FLOW_LINE_BYTES} bytes; a flow record is one short JSON object`,
            },
          ]),
        );
        return;
      }
      done(null, chunk);
    },
  });
}

function openLines(path: string, displayName: string): Readable {
  const file = createReadStream(path);
  const guard = lineLengthGuard(displayName);
  const forward = (e: Error) => guard.destroy(e);
  if (!path.endsWith('.gz')) {
    file.on('error', forward);
    return file.pipe(guard);
  }
  const gunzip = createGunzip();
  file.on('error', forward);
  gunzip.on('error', forward);
  return file.pipe(gunzip).pipe(guard);
}

/** Turns one line into a record (or nothing), deciding the format on the first line that tells. */
function lineConverter(
  file: string,
  options: ReadFlowFileOptions,
): (line: string, lineNo: number) => FlowRecord | undefined {
  let format = options.format;
  return (line, lineNo) => {
    if (!format) {
      format = detectFlowFormat(line);
      // A line that decides nothing (blank, comment, broken JSON) is judged as nyx: it is skipped
      // or reported the same way by every format.
      if (!format) {
        const r = parseFlowLine(line, lineNo, file);
        if (!r.ok) {
          if (!options.onError) throw new FlowFileError([r.error]);
          options.onError(r.error);
        }
        return undefined;
      }
    }
    const r = CONVERTERS[format](line, lineNo, file);
    if (!r.ok) {
      if (!options.onError) throw new FlowFileError([r.error]);
      options.onError(r.error);
    } else if (r.record) {
      return r.record;
    } else if (options.onSkip && !SILENT_SKIPS.has(r.skipped)) {
      options.onSkip({ file, line: lineNo, message: `skipped: ${r.skipped}` });
    }
    return undefined;
  };
}

/** A read failure (missing file, broken gzip, runaway line) as a `FlowFileError` at the line reached. */
function readFailure(e: unknown, file: string, lineNo: number): FlowFileError {
  if (e instanceof FlowFileError) return e;
  const err = e as NodeJS.ErrnoException;
  const what =
    err.code === 'ENOENT' ? 'no such file' : err.code === 'Z_DATA_ERROR' ? 'not valid gzip' : err.message;
  return new FlowFileError([{ file, line: lineNo, message: `cannot read flows: ${what}` }]);
}

/** Reads every line through `visit`; read failures become a `FlowFileError` at the line reached. */
async function eachLine(
  path: string,
  file: string,
  visit: (line: string, lineNo: number) => void,
): Promise<void> {
  const lines = createInterface({ input: openLines(path, file), crlfDelay: Number.POSITIVE_INFINITY });
  let lineNo = 0;
  try {
    for await (const line of lines) {
      lineNo += 1;
      visit(line, lineNo);
    }
  } catch (e) {
    throw readFailure(e, file, lineNo);
  } finally {
    lines.close();
  }
}

/**
 * Streams the flow records of a file in input order, each with its 1-based line number. Memory does
 * not grow with the file: one line is held at a time.
 */
export async function* readFlowFile(
  path: string,
  options: ReadFlowFileOptions = {},
): AsyncGenerator<{ record: FlowRecord; line: number }> {
  const file = options.displayName ?? path;
  const convert = lineConverter(file, options);
  const lines = createInterface({ input: openLines(path, file), crlfDelay: Number.POSITIVE_INFINITY });
  let lineNo = 0;
  try {
    for await (const line of lines) {
      lineNo += 1;
      const record = convert(line, lineNo);
      if (record) yield { record, line: lineNo };
    }
  } catch (e) {
    throw readFailure(e, file, lineNo);
  } finally {
    lines.close();
  }
}

/**
 * Reads a whole flow file into a window of distinct tuples. Every malformed line is collected; when
 * there is any, a `FlowFileError` with all of them (up to 100) is thrown after the last line.
 */
export async function readFlowWindow(
  path: string,
  options: Omit<ReadFlowFileOptions, 'onError'> & {
    window?: FlowWindow;
    /** Called after each record added (a progress indicator's tick). */
    onRecord?: () => void;
  } = {},
): Promise<FlowWindow> {
  const window = options.window ?? new FlowWindow();
  const errors: Diagnostic[] = [];
  let more = 0;
  const onError = (d: Diagnostic): void => {
    if (errors.length < 100) errors.push(d);
    else more += 1;
  };
  // Straight into the window, without a generator step per record.
  const onRecord = options.onRecord;
  const file = options.displayName ?? path;
  const convert = lineConverter(file, { ...options, onError });
  await eachLine(path, file, (line, lineNo) => {
    const record = convert(line, lineNo);
    if (record) {
      window.add(record);
      onRecord?.();
    }
  });
  if (errors.length > 0) {
    if (more > 0) {
      const last = errors[errors.length - 1]!;
      errors.push({ file: last.file, line: last.line, message: `…and ${more} more malformed lines` });
    }
    throw new FlowFileError(errors);
  }
  return window;
}
