// Flow files from disk: streamed line by line (never read whole), gunzipped when the name ends in
// `.gz`, in the nyx format (SPEC section 7) or as Hubble / Calico exports converted on the fly.
import { createReadStream } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { createGunzip } from 'node:zlib';
import {
  calicoFlowConverter,
  type Diagnostic,
  type FlowLineResult,
  type FlowRecord,
  type FlowTupleIdentity,
  FlowWindow,
  hubbleLineToFlow,
  looksLikeCalico,
  looksLikeHubble,
  MAX_FLOW_LINE_BYTES,
  parseFlowLine,
  SILENT_SKIPS,
  TupleIdentityDecoder,
} from '@nyx/core/flows';
import { InputError } from './errors.js';
import type { FlowWorkerInput, FlowWorkerMessage } from './flow-window-worker.js';

export type FlowFileFormat = 'nyx' | 'hubble' | 'calico';

export interface ReadFlowFileOptions {
  /** Explicit format; detected from the first record-bearing line when absent. */
  format?: FlowFileFormat;
  /**
   * Called for each malformed line; the line is then skipped and reading goes on. Without it the
   * first malformed line throws an `InputError`. A line running past twice the line limit (a
   * file that is not JSON Lines at all) always throws: reading cannot go on without holding it.
   */
  onError?: (error: Diagnostic) => void;
  /**
   * Called for each line an importer skipped on purpose (a reply, a duplicate report, …), with the
   * reason alone as its second argument (for counting by reason). Blank lines and comments are not.
   */
  onSkip?: (note: Diagnostic, reason: string) => void;
  /** Name used in diagnostics; defaults to the path as given. */
  displayName?: string;
}

/** What `readFlowFile` can also do for a caller with a fast path of its own (`nyxctl verdicts`). */
export interface FlowLineOptions {
  /**
   * Offered each line of a nyx-format file first, as bytes (`bytes[start, end)`, no string made):
   * a line it returns true for is the caller's and is neither parsed nor yielded. Every other line
   * is parsed and yielded as usual, in file order with the taken ones.
   */
  takeNyxLine?: (bytes: Uint8Array, start: number, end: number, line: number) => boolean;
  /** Awaited after each chunk of lines (about 1 MiB): where a caller that took lines writes them out. */
  afterBatch?: () => Promise<void> | void;
}

type LineToFlow = (line: string, lineNo: number, file: string) => FlowLineResult;

/** A converter per file: Calico's counts each connection once across both sides' reports (state). */
const CONVERTERS: Record<FlowFileFormat, () => LineToFlow> = {
  nyx: () => parseFlowLine,
  hubble: () => hubbleLineToFlow,
  calico: calicoFlowConverter,
};

const FORMAT_NAMES: Record<FlowFileFormat, string> = { nyx: 'nyx', hubble: 'Hubble', calico: 'Calico' };

/** How many malformed lines a read reports before "…and N more". */
export const MAX_REPORTED_FLOW_ERRORS = 20;

/** `{` or `[` alone on the first line: a JSON document spread over lines, not JSON Lines. */
function prettyPrintedJson(file: string, lineNo: number): InputError {
  return new InputError([
    {
      file,
      line: lineNo,
      message:
        'this looks like pretty-printed JSON (one value spread over many lines); flow files are JSON Lines, one object per line: pipe it through `jq -c .` (for example `hubble observe -o json | jq -c .`)',
    },
  ]);
}

/**
 * The first record-bearing line of a file read with an explicit format, when it is plainly a line
 * of another format (a valid nyx flow, or Hubble or Calico fields): the whole file would otherwise
 * be skipped or refused line by line, so it is one input error here.
 */
function formatMismatch(
  line: string,
  lineNo: number,
  file: string,
  format: FlowFileFormat,
): InputError | undefined {
  const detected = detectFlowFormat(line);
  if (detected === undefined || detected === format) return undefined;
  if (detected === 'nyx') {
    const asNyx = parseFlowLine(line, lineNo, file);
    if (!asNyx.ok || asNyx.record === undefined) return undefined;
  }
  return new InputError([
    {
      file,
      line: lineNo,
      message: `line ${lineNo} is not a ${FORMAT_NAMES[format]} flow (it looks like the ${FORMAT_NAMES[detected]} format; drop --flow-format ${format} to read it as such)`,
    },
  ]);
}

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

/** A runaway line (a file that is not JSON Lines at all) as an `InputError` at its line. */
function runawayLine(file: string, lineNo: number): InputError {
  return new InputError([
    {
      file,
      line: lineNo,
      message: `line is longer than ${MAX_FLOW_LINE_BYTES} bytes; a flow record is one short JSON object`,
    },
  ]);
}

/** The file's bytes as a stream of chunks, gunzipped when the name ends in `.gz`. */
function openBytes(path: string): AsyncIterable<Buffer> {
  const file = createReadStream(path, { highWaterMark: 1 << 20 });
  if (!path.endsWith('.gz')) return file;
  const gunzip = createGunzip();
  file.on('error', (e) => gunzip.destroy(e));
  return file.pipe(gunzip);
}

/** Lines of one chunk: line `k` is `bytes[bounds[2k], bounds[2k + 1])`, numbered from `firstLine`. */
interface LineBatch {
  bytes: Buffer;
  /**
   * The same bytes as a plain Uint8Array: what the engine's byte readers are given, as their own
   * buffers are (to V8 a Buffer is another kind of object, and code optimised for one is thrown
   * away on meeting the other).
   */
  view: Uint8Array;
  bounds: number[];
  firstLine: number;
}

/**
 * Every line of a file as bytes, a chunk's worth at a time (no string or copy per line). Lines end
 * at `\n` (a `\r` before it is dropped); a last line without one counts. A line is copied only
 * when it spans two chunks. One that runs past twice the parser's limit fails the read at once
 * instead of being held (lines between the two limits reach the parser, which reports them with
 * their number). Read failures become an `InputError` at the line reached.
 */
const viewOf = (bytes: Buffer): Uint8Array => new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);

async function* lineBatches(path: string, file: string): AsyncGenerator<LineBatch> {
  const limit = 2 * MAX_FLOW_LINE_BYTES;
  let lineNo = 0;
  let pending: Buffer[] = [];
  let pendingLength = 0;
  const bound = (bounds: number[], bytes: Buffer, start: number, end: number): void => {
    lineNo += 1;
    if (end - start > limit) throw runawayLine(file, lineNo);
    bounds.push(start, end > start && bytes[end - 1] === 13 ? end - 1 : end);
  };
  /** A line that spanned chunks, joined: a batch of its own. */
  const joinedLine = (parts: Buffer[]): LineBatch => {
    const bytes = Buffer.concat(parts);
    const batch: LineBatch = { bytes, view: viewOf(bytes), bounds: [], firstLine: lineNo + 1 };
    bound(batch.bounds, bytes, 0, bytes.length);
    return batch;
  };
  try {
    for await (const chunk of openBytes(path)) {
      let start = 0;
      let newline = chunk.indexOf(10);
      if (pendingLength > 0 && newline !== -1) {
        yield joinedLine([...pending, chunk.subarray(0, newline)]);
        pending = [];
        pendingLength = 0;
        start = newline + 1;
        newline = chunk.indexOf(10, start);
      }
      const batch: LineBatch = { bytes: chunk, view: viewOf(chunk), bounds: [], firstLine: lineNo + 1 };
      for (; newline !== -1; newline = chunk.indexOf(10, start)) {
        bound(batch.bounds, chunk, start, newline);
        start = newline + 1;
      }
      if (start < chunk.length) {
        pending.push(chunk.subarray(start));
        pendingLength += chunk.length - start;
        if (pendingLength > limit) throw runawayLine(file, lineNo + 1);
      }
      if (batch.bounds.length > 0) yield batch;
    }
    if (pendingLength > 0) yield joinedLine(pending);
  } catch (e) {
    throw readFailure(e, file, lineNo);
  }
}

/**
 * Turns one line into a record (or nothing), deciding the format on the first line that tells.
 * The first line with content is checked for what cannot be a flow file of that format at all
 * (pretty-printed JSON, another format's lines): that throws one `InputError`, whatever `onError`.
 */
function lineConverter(
  file: string,
  options: ReadFlowFileOptions,
): {
  convert: (line: string, lineNo: number) => FlowRecord | undefined;
  format: () => FlowFileFormat | undefined;
} {
  let format = options.format;
  let toFlow = format ? CONVERTERS[format]() : undefined;
  let firstContent = true;
  const convert = (line: string, lineNo: number): FlowRecord | undefined => {
    if (firstContent) {
      const trimmed = line.trim();
      if (trimmed !== '' && !trimmed.startsWith('#')) {
        firstContent = false;
        if (trimmed === '{' || trimmed === '[') throw prettyPrintedJson(file, lineNo);
        const mismatch = format ? formatMismatch(line, lineNo, file, format) : undefined;
        if (mismatch) throw mismatch;
      }
    }
    if (!format || !toFlow) {
      format = detectFlowFormat(line);
      // A line that decides nothing (blank, comment, broken JSON) is judged as nyx: it is skipped
      // or reported the same way by every format.
      if (!format) {
        const r = parseFlowLine(line, lineNo, file);
        if (!r.ok) {
          if (!options.onError) throw new InputError([r.error]);
          options.onError(r.error);
        }
        return undefined;
      }
      toFlow = CONVERTERS[format]();
    }
    const r = toFlow(line, lineNo, file);
    if (!r.ok) {
      if (!options.onError) throw new InputError([r.error]);
      options.onError(r.error);
    } else if (r.record) {
      return r.record;
    } else if (options.onSkip && !SILENT_SKIPS.has(r.skipped)) {
      options.onSkip({ file, line: lineNo, message: `skipped: ${r.skipped}` }, r.skipped);
    }
    return undefined;
  };
  return { convert, format: () => format };
}

/**
 * A read failure (missing file, broken gzip, runaway line) as an `InputError` at the line being
 * read: `lineNo` lines were complete, so the failure is on the next one (a `.gz` file's lines are
 * its decompressed lines). A `.gz` file that is not gzip at all fails on line 1.
 */
function readFailure(e: unknown, file: string, lineNo: number): InputError {
  if (e instanceof InputError) return e;
  const err = e as NodeJS.ErrnoException;
  const what =
    err.code === 'ENOENT'
      ? 'no such file'
      : err.code === 'Z_DATA_ERROR'
        ? lineNo === 0
          ? 'not gzip (the name ends in .gz, but the content is not gzip-compressed)'
          : 'the gzip data is corrupt here'
        : err.code === 'Z_BUF_ERROR'
          ? 'the gzip stream ends early here (a truncated file?)'
          : err.message;
  return new InputError([{ file, line: lineNo + 1, message: `cannot read flows: ${what}` }]);
}

/**
 * Streams the flow records of a file in input order, each with its 1-based line number. Memory does
 * not grow with the file: one chunk of lines is held at a time.
 */
export async function* readFlowFile(
  path: string,
  options: ReadFlowFileOptions & FlowLineOptions = {},
): AsyncGenerator<{ record: FlowRecord; line: number }> {
  const file = options.displayName ?? path;
  const { convert, format } = lineConverter(file, options);
  const { takeNyxLine, afterBatch } = options;
  for await (const { bytes, view, bounds, firstLine } of lineBatches(path, file)) {
    for (let k = 0; k < bounds.length; k += 2) {
      const lineNo = firstLine + k / 2;
      const start = bounds[k]!;
      const end = bounds[k + 1]!;
      // Once the format is known (from the first line with content) to be nyx.
      if (takeNyxLine && format() === 'nyx' && takeNyxLine(view, start, end, lineNo)) continue;
      const record = convert(bytes.toString('utf8', start, end), lineNo);
      if (record) yield { record, line: lineNo };
    }
    await afterBatch?.();
  }
}

/**
 * Reads a whole flow file into a window of distinct tuples, counting the lines skipped on purpose
 * by reason (`FlowWindow.skip`). Every malformed line is collected; when there is any, a
 * `InputError` with the first `MAX_REPORTED_FLOW_ERRORS` and "…and N more" is thrown after the last line.
 * Lines of the nyx format in its canonical shape whose tuple the window already holds are
 * aggregated from their bytes (`FlowWindow.addCanonicalLine`); every other line is parsed in full.
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
    if (errors.length < MAX_REPORTED_FLOW_ERRORS) errors.push(d);
    else more += 1;
  };
  const onRecord = options.onRecord;
  const file = options.displayName ?? path;
  const onSkip = (note: Diagnostic, reason: string): void => {
    window.skip(reason);
    options.onSkip?.(note, reason);
  };
  const { convert, format } = lineConverter(file, { ...options, onError, onSkip });
  for await (const { bytes, view, bounds, firstLine } of lineBatches(path, file)) {
    const nyx = format() === 'nyx';
    for (let k = 0; k < bounds.length; k += 2) {
      const start = bounds[k]!;
      const end = bounds[k + 1]!;
      if (!(nyx && window.addCanonicalLine(view, start, end))) {
        const record = convert(bytes.toString('utf8', start, end), firstLine + k / 2);
        if (!record) continue;
        window.add(record);
      }
      onRecord?.();
    }
  }
  if (errors.length > 0) {
    if (more > 0) {
      const last = errors[errors.length - 1]!;
      errors.push({ file: last.file, line: last.line, message: `…and ${more} more malformed lines` });
    }
    throw new InputError(errors);
  }
  return window;
}

/**
 * `readFlowWindow` on a worker thread, so that the caller's thread can do other work meanwhile
 * (`nyxctl impact` parses the policy trees while the flows stream in). Same window, same errors
 * (`InputError` with every malformed line). `onProgress` receives record counts in steps;
 * aborting `signal` stops the worker and rejects with the signal's reason.
 */
export function readFlowWindowInWorker(
  path: string,
  options: Omit<ReadFlowFileOptions, 'onError' | 'onSkip'> & {
    onProgress?: (records: number) => void;
    /**
     * Receives the tuples the window has discovered (in steps, with progress; every tuple is in
     * the final window): their verdicts can be computed before the read ends.
     */
    onTuples?: (tuples: FlowTupleIdentity[]) => void;
    signal?: AbortSignal;
  } = {},
): Promise<FlowWindow> {
  const input: FlowWorkerInput = {
    path,
    ...(options.format ? { format: options.format } : {}),
    ...(options.displayName ? { displayName: options.displayName } : {}),
  };
  // The tuples handed out with progress, in id order: the window need not read them back.
  const identities: FlowTupleIdentity[] = [];
  const decoder = new TupleIdentityDecoder();
  return runWorkerThread<FlowWorkerMessage, FlowWindow>(
    moduleBeside(import.meta.url, 'flow-window-worker'),
    input,
    (message, done, fail) => {
      switch (message.kind) {
        case 'progress': {
          options.onProgress?.(message.records);
          const tuples = decoder.decode(message.tuples);
          for (const t of tuples) identities.push(t);
          if (tuples.length > 0) options.onTuples?.(tuples);
          return;
        }
        case 'done':
          return done(FlowWindow.fromState(message.state, identities));
        case 'invalid':
          return fail(new InputError(message.diagnostics));
        case 'failed':
          return fail(new Error(message.message));
      }
    },
    options.signal,
  );
}

/**
 * Runs `entry` on a worker thread (see `startWorkerThread`) until `onMessage`, which sees each of
 * its messages in order, calls `done` with the result or `fail`. Aborting `signal` rejects with its
 * reason; so does a thread that errs or exits first. The thread is terminated once settled.
 */
export function runWorkerThread<M, T>(
  entry: URL,
  workerData: unknown,
  onMessage: (message: M, done: (value: T) => void, fail: (error: unknown) => void) => void,
  signal?: AbortSignal,
): Promise<T> {
  const worker = startWorkerThread(entry, workerData);
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      void worker.terminate();
      fn();
    };
    const onAbort = (): void => settle(() => reject(signal?.reason));
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort);
    const done = (value: T): void => settle(() => resolve(value));
    const fail = (error: unknown): void => settle(() => reject(error));
    worker.on('message', (message: M) => {
      if (settled) return;
      try {
        onMessage(message, done, fail);
      } catch (error) {
        fail(error);
      }
    });
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the worker thread exited (code ${code}) without a result`)));
  });
}

/**
 * The module `name` beside the module at `url` (its `import.meta.url`), in the form that one runs
 * as: `dist/name.js` when built, `src/name.ts` when the sources run (tests and development).
 */
export function moduleBeside(url: string, name: string): URL {
  return new URL(`./${name}${url.endsWith('.ts') ? '.ts' : '.js'}`, url);
}

/**
 * A worker thread on `entry` (the flow reader here, the bot's analysis threads). The built output runs as is. The sources run as TypeScript through tsx, and
 * a worker does not inherit the loader its parent registered, so a `.ts` entry registers tsx first
 * and resolves the workspace packages to their sources (the `source` export condition).
 */
export function startWorkerThread(entry: URL, workerData?: unknown): Worker {
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, { workerData });
  // Resolved here, next to this file: the worker's own code runs from the current directory, which
  // may be anywhere (`nyxctl` run from a policy repository elsewhere on disk).
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); })`;
  const execArgv = process.execArgv.includes('--conditions=source')
    ? process.execArgv
    : [...process.execArgv, '--conditions=source'];
  return new Worker(bootstrap, { eval: true, workerData, execArgv });
}
