// Pass 1 of `nyxctl verdicts` (see verdicts.ts): every line of the flow file parsed and every
// tuple resolved, each problem a diagnostic, before anything is printed. The lines are parsed on a
// worker thread (`checkFlowsInWorker`, which loads only the flow half of the engine) while the
// command's thread loads the policy tree and the inventory, and resolves and evaluates the tuples
// the worker discovers; what the worker found (each line's tuple, the tuples' key index) is handed
// over, so that pass 2 neither scans nor looks a line up again.
import type { resolveFlow } from '@nyx/core';
import {
  ByteKeyIndex,
  type ByteKeyIndexState,
  type Diagnostic,
  type EncodedTupleIdentities,
  emptyCanonicalFlowLine,
  type FlowRecord,
  type FlowTupleIdentity,
  scanCanonicalFlowTail,
  TupleIdentityDecoder,
  TupleKeyBytes,
  tupleIdentity,
} from '@nyx/core/flows';
import {
  InputError,
  MAX_REPORTED_FLOW_ERRORS,
  moduleBeside,
  readFlowFile,
  runWorkerThread,
} from '@nyx/io/flows';
import type { FlowFormat } from '../options.js';

/** How a tuple resolved (`resolveFlow` over the inventory). */
export type TupleResolution = ReturnType<typeof resolveFlow>;

/** Distinct tuples kept at once (key, resolution and verdict text); the table starts over beyond. */
const MAX_CACHED_TUPLES = 500_000;
/** Lines whose tuple pass 1 remembers for pass 2 (4 bytes each); later lines are looked up again. */
const MAX_REMEMBERED_LINES = 32 * 1024 * 1024;

/**
 * The distinct tuples of a flow file by their canonical key's bytes: how each resolved and, once
 * evaluated, its verdict fields as UTF-8 (`verdictTail`).
 */
export class TupleTable {
  #index = new ByteKeyIndex();
  #resolved: TupleResolution[] = [];
  #tails: Array<Buffer | undefined> = [];
  readonly #keyBytes = new TupleKeyBytes();
  readonly #scan = emptyCanonicalFlowLine();
  /** The last line `knownLine` could not place (a canonical tail, an unknown key): the key's bounds, for `canonicalLineOf`. */
  #canonicalBytes: Uint8Array = new Uint8Array(0);
  #canonicalStart = 0;
  #canonicalKey = -1;
  #generation = 0;
  /**
   * Identities of the tuples added since `takeNew`, while the table has not started over: kept by a
   * table that only numbers tuples, for the thread that resolves them.
   */
  #new: FlowTupleIdentity[] = [];
  /** Tuples given to `learn`. */
  #learned = 0;
  /** `resolve`: how a tuple resolves; without it the table only numbers tuples (another thread resolves them). */
  constructor(private readonly resolve?: (identity: FlowTupleIdentity) => TupleResolution) {}

  /**
   * The tuple of a line in the canonical shape whose tuple was accepted and resolved before (by
   * `idOf`); -1 for any other line, which must then be parsed.
   */
  knownLine(bytes: Uint8Array, start: number, end: number): number {
    this.#canonicalKey = -1;
    if (!scanCanonicalFlowTail(bytes, start, end, this.#scan)) return -1;
    const id = this.#index.find(bytes, start, this.#scan.keyEnd);
    if (id >= 0 && this.#resolvedOk(id)) return id;
    this.#canonicalBytes = bytes;
    this.#canonicalStart = start;
    this.#canonicalKey = this.#scan.keyEnd;
    return -1;
  }

  /**
   * After `knownLine` returned -1 for a line in the canonical shape and the line's record got `id`
   * from `idOf`: `id` when the line's own key bytes are that tuple's key (then the line can take the
   * fast path next time), else -1 (say, unsorted labels or a lowercase protocol: the record's JSON is
   * not the line).
   */
  canonicalLineOf(id: number): number {
    if (this.#canonicalKey < 0 || !this.#resolvedOk(id)) return -1;
    return this.#index.find(this.#canonicalBytes, this.#canonicalStart, this.#canonicalKey) === id ? id : -1;
  }

  /** How many times the table started over (tuple ids handed out before are then void). */
  get generation(): number {
    return this.#generation;
  }

  /** The tuple of a parsed record, resolved on first sight. */
  idOf(record: FlowRecord): number {
    const key = this.#keyBytes;
    const length = key.encode(record);
    let id = this.#index.find(key.bytes, 0, length);
    if (id < 0) {
      if (this.#index.size >= MAX_CACHED_TUPLES) {
        this.#generation += 1;
        this.#index = new ByteKeyIndex();
        this.#resolved = [];
        this.#tails = [];
        this.#new = [];
      }
      id = this.#index.insert(key.bytes, 0, length);
      if (this.resolve) this.#resolved[id] = this.resolve(record);
      else if (this.#generation === 0) this.#new.push(tupleIdentity(record));
    }
    return id;
  }

  /** The identities of the tuples added since the last call (a table that only numbers them; none once it started over). */
  takeNew(): FlowTupleIdentity[] {
    return this.#new.splice(0);
  }

  /**
   * Adds the next tuple discovered by another table (`takeNew` there, in order), resolved here
   * as `idOf` resolves; `adoptIndex` then takes over that table's keys.
   */
  learn(identity: FlowTupleIdentity): number {
    const id = this.#learned;
    this.#learned += 1;
    if (this.resolve) this.#resolved[id] = this.resolve(identity);
    return id;
  }

  /** The key index of the table whose tuples `learn` was given, all of them (`ByteKeyIndex.state`). */
  adoptIndex(state: ByteKeyIndexState): void {
    if (state.size !== this.#learned)
      throw new Error(`the tuple index holds ${state.size} tuples, ${this.#learned} were learned`);
    this.#index = ByteKeyIndex.fromState(state);
  }

  indexState(): ByteKeyIndexState {
    return this.#index.state();
  }

  /** How tuple `id` resolved (a table without `resolve` knows nothing: undefined). */
  resolved(id: number): TupleResolution | undefined {
    return this.#resolved[id];
  }

  /** Resolved, or not resolved here at all. */
  #resolvedOk(id: number): boolean {
    return this.resolve === undefined || this.#resolved[id]!.ok;
  }

  tail(id: number): Buffer | undefined {
    return this.#tails[id];
  }

  setTail(id: number, tail: Buffer): void {
    this.#tails[id] = tail;
  }
}

/** `LineTuples` as data, for a thread to post with its buffer transferred. */
export interface LineTuplesState {
  ids: Int32Array<ArrayBuffer>;
  lines: number;
  /** Some line came after `MAX_REMEMBERED_LINES` and is not remembered. */
  truncated: boolean;
}

/** A line with no record (blank, comment, skipped on purpose). */
const NO_RECORD = -1;
/** A malformed line. */
const MALFORMED = -2;

/**
 * Per line of the file (by line number), what pass 1 found there: the line's tuple and whether the
 * line is in the canonical shape (then pass 2 prints it from its bytes without scanning or looking
 * it up again), a malformed line, or no record.
 */
export class LineTuples {
  #ids = new Int32Array(1024).fill(NO_RECORD);
  #lines = 0;
  #truncated = false;

  static fromState(state: LineTuplesState): LineTuples {
    const lines = new LineTuples();
    lines.#ids = state.ids;
    lines.#lines = state.lines;
    lines.#truncated = state.truncated;
    return lines;
  }

  state(): LineTuplesState {
    return { ids: this.#ids, lines: this.#lines, truncated: this.#truncated };
  }

  /** Line `lineNo` holds a record of tuple `id`; `canonical`: in the canonical shape, its key that tuple's. */
  setTuple(lineNo: number, id: number, canonical: boolean): void {
    this.#set(lineNo, id * 2 + (canonical ? 1 : 0));
  }

  setMalformed(lineNo: number): void {
    this.#set(lineNo, MALFORMED);
  }

  #set(lineNo: number, value: number): void {
    if (lineNo > MAX_REMEMBERED_LINES) {
      this.#truncated = true;
      return;
    }
    if (lineNo > this.#ids.length) {
      let length = this.#ids.length;
      while (length < lineNo) length *= 2;
      const grown = new Int32Array(Math.min(length, MAX_REMEMBERED_LINES)).fill(NO_RECORD);
      grown.set(this.#ids);
      this.#ids = grown;
    }
    this.#ids[lineNo - 1] = value;
    if (lineNo > this.#lines) this.#lines = lineNo;
  }

  /**
   * The tuple of `lineNo` when pass 2 can print it from its bytes; -1 when it must be parsed;
   * undefined when pass 1 did not remember.
   */
  printable(lineNo: number): number | undefined {
    if (lineNo > this.#lines) return undefined;
    const value = this.#ids[lineNo - 1]!;
    return value >= 0 && (value & 1) === 1 ? value >> 1 : -1;
  }

  /**
   * The problems of the lines, in line order, when the tuples were resolved after the lines were
   * read (`checkFlowsInWorker`): the malformed lines' diagnostics (`malformed`, the first ones, in
   * order) and a line of a tuple that did not resolve. The first `MAX_REPORTED_FLOW_ERRORS`, and
   * how many there are in all (`malformedCount` of them malformed).
   */
  problems(
    file: string,
    table: TupleTable,
    malformed: readonly Diagnostic[],
    malformedCount: number,
  ): { told: Diagnostic[]; count: number } {
    const told: Diagnostic[] = [];
    let count = malformedCount;
    let nextMalformed = 0;
    for (let i = 0; i < this.#lines; i++) {
      const value = this.#ids[i]!;
      if (value === MALFORMED) {
        const d = malformed[nextMalformed++];
        if (d && told.length < MAX_REPORTED_FLOW_ERRORS) told.push(d);
        continue;
      }
      if (value < 0) continue;
      const resolved = table.resolved(value >> 1);
      if (resolved === undefined || resolved.ok) continue;
      count += 1;
      if (told.length < MAX_REPORTED_FLOW_ERRORS) told.push({ file, line: i + 1, message: resolved.reason });
    }
    return { told, count };
  }
}

/** What pass 1 found in a flow file. */
export interface FlowCheck {
  /**
   * Problems found (malformed lines, and lines of tuples that did not resolve when the table
   * resolved them): the first `MAX_REPORTED_FLOW_ERRORS` came with the steps.
   */
  problems: number;
  /** Lines skipped on purpose, by why. */
  skipped: Record<string, number>;
  lines: LineTuplesState;
  /** The tuples' keys, in the ids of `lines`. */
  index: ByteKeyIndexState;
  /** How often the tuple table started over (then `lines` and `index` hold no tuple of the first ones). */
  generation: number;
  /** The problem that stopped the read (not gzip, a runaway line, pretty-printed JSON, another format's lines). */
  stopped?: readonly Diagnostic[];
}

export interface FlowCheckInput {
  flows: string;
  format?: FlowFormat;
}

/** What `checkFlows` tells after each chunk of lines (about 1 MiB) and at the end. */
export interface FlowCheckStep {
  /** The next problems, in line order (no more than `MAX_REPORTED_FLOW_ERRORS` in all). */
  problems: Diagnostic[];
  /** Tuples discovered, in id order (while the table has not started over). */
  tuples: FlowTupleIdentity[];
  /** Records read since the last step. */
  records: number;
}

/**
 * Pass 1 over `tuples` (a table that resolves, or one that only numbers tuples for another thread
 * to resolve; none: the inventory is not usable and lines are only parsed): malformed lines are
 * problems and reading goes on; so is a record whose tuple does not resolve, at its line. A problem
 * that stops the read ends it, after the problems before it were told (`stopped`).
 */
export async function checkFlows(
  input: FlowCheckInput,
  tuples: TupleTable | undefined,
  onStep: (step: FlowCheckStep) => void,
): Promise<FlowCheck> {
  const table = tuples ?? new TupleTable();
  const lines = new LineTuples();
  const skipped: Record<string, number> = {};
  const told: Diagnostic[] = [];
  let problems = 0;
  let records = 0;
  let stopped: readonly Diagnostic[] | undefined;
  const problem = (d: Diagnostic): void => {
    problems += 1;
    if (problems <= MAX_REPORTED_FLOW_ERRORS) told.push(d);
  };
  const step = (): void => {
    const discovered = tuples?.takeNew() ?? [];
    if (told.length === 0 && discovered.length === 0 && records === 0) return;
    onStep({ problems: told.splice(0), tuples: discovered, records });
    records = 0;
  };
  try {
    for await (const { record, line } of readFlowFile(input.flows, {
      ...(input.format ? { format: input.format } : {}),
      onError: (d) => {
        lines.setMalformed(d.line);
        problem(d);
      },
      onSkip: (_note, reason) => {
        skipped[reason] = (skipped[reason] ?? 0) + 1;
      },
      takeNyxLine: (bytes, start, end, lineNo) => {
        const id = tuples ? tuples.knownLine(bytes, start, end) : -1;
        if (id < 0) return false;
        lines.setTuple(lineNo, id, true);
        records += 1;
        return true;
      },
      afterBatch: step,
    })) {
      records += 1;
      if (!tuples) continue;
      const id = tuples.idOf(record);
      const resolved = tuples.resolved(id);
      if (resolved && !resolved.ok) problem({ file: input.flows, line, message: resolved.reason });
      else lines.setTuple(line, id, tuples.canonicalLineOf(id) === id);
    }
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    stopped = error.diagnostics;
  } finally {
    step();
  }
  return {
    problems,
    skipped,
    lines: lines.state(),
    index: table.indexState(),
    generation: table.generation,
    ...(stopped ? { stopped } : {}),
  };
}

/** What the checking thread posts: a step's tuples encoded (see `EncodedTupleIdentities`). */
export type FlowCheckMessage =
  | { kind: 'step'; step: Omit<FlowCheckStep, 'tuples'> & { tuples: EncodedTupleIdentities } }
  | { kind: 'done'; check: FlowCheck }
  | { kind: 'failed'; message: string };

/**
 * `checkFlows` on a worker thread (verdicts-check-thread.ts) with a table that numbers tuples
 * without resolving them: the steps bring each tuple discovered (in id order) for this thread to
 * resolve, and `LineTuples.problems` then finds the lines of those that did not resolve.
 * Aborting `signal` stops the thread.
 */
export function checkFlowsInWorker(
  input: FlowCheckInput,
  onStep: (step: FlowCheckStep) => void,
  signal?: AbortSignal,
): Promise<FlowCheck> {
  const decoder = new TupleIdentityDecoder();
  return runWorkerThread<FlowCheckMessage, FlowCheck>(
    moduleBeside(import.meta.url, 'verdicts-check-thread'),
    input,
    (message, done, fail) => {
      switch (message.kind) {
        case 'step':
          return onStep({ ...message.step, tuples: decoder.decode(message.step.tuples) });
        case 'done':
          return done(message.check);
        case 'failed':
          return fail(new Error(message.message));
      }
    },
    signal,
  );
}
