// Pass 1 of `nyxctl verdicts` (see verdicts.ts): every line of the flow file parsed and every
// tuple resolved, each problem a diagnostic, before anything is printed. It runs on a worker thread
// (`checkFlowsInWorker`), so that the command's thread loads the policy tree and evaluates the
// tuples meanwhile; what it found (each line's tuple, the tuples' key index) is handed over for
// pass 2, which then neither scans nor looks a line up again.
import {
  ByteKeyIndex,
  type ByteKeyIndexState,
  type Diagnostic,
  emptyCanonicalFlowLine,
  type FlowRecord,
  type FlowTupleIdentity,
  type Inventory,
  resolveFlow,
  scanCanonicalFlowTail,
  TupleKeyBytes,
  tupleIdentity,
} from '@nyx/core';
import { InputError, MAX_REPORTED_FLOW_ERRORS, moduleBeside, readFlowFile, runWorkerThread } from '@nyx/io';
import type { FlowFormat } from '../options.js';

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
  #resolved: Array<ReturnType<typeof resolveFlow>> = [];
  #tails: Array<Buffer | undefined> = [];
  readonly #keyBytes = new TupleKeyBytes();
  readonly #scan = emptyCanonicalFlowLine();
  /** The last line `knownLine` could not place (a canonical tail, an unknown key): the key's bounds, for `canonicalLineOf`. */
  #canonicalBytes: Uint8Array = new Uint8Array(0);
  #canonicalStart = 0;
  #canonicalKey = -1;
  #generation = 0;
  /** Identities of the tuples added since `takeNew`, while the table has not started over. */
  #new: FlowTupleIdentity[] = [];
  constructor(private readonly inventory: Inventory) {}

  /**
   * The tuple of a line in the canonical shape whose tuple was accepted and resolved before (by
   * `idOf`); -1 for any other line, which must then be parsed.
   */
  knownLine(bytes: Uint8Array, start: number, end: number): number {
    this.#canonicalKey = -1;
    if (!scanCanonicalFlowTail(bytes, start, end, this.#scan)) return -1;
    const id = this.#index.find(bytes, start, this.#scan.keyEnd);
    if (id >= 0 && this.#resolved[id]!.ok) return id;
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
    if (this.#canonicalKey < 0 || !this.#resolved[id]!.ok) return -1;
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
      this.#resolved[id] = resolveFlow(this.inventory, record);
      if (this.#generation === 0) this.#new.push(tupleIdentity(record));
    }
    return id;
  }

  /** The identities of the tuples added since the last call (none once the table started over). */
  takeNew(): FlowTupleIdentity[] {
    return this.#new.splice(0);
  }

  /**
   * Adds the next tuple discovered by another table (`takeNew` there, in order), resolved here
   * as `idOf` resolves; `adoptIndex` then takes over that table's keys.
   */
  learn(identity: FlowTupleIdentity): number {
    const id = this.#resolved.length;
    this.#resolved[id] = resolveFlow(this.inventory, identity as FlowRecord);
    return id;
  }

  /** The key index of the table whose tuples `learn` was given, all of them (`ByteKeyIndex.state`). */
  adoptIndex(state: ByteKeyIndexState): void {
    if (state.size !== this.#resolved.length)
      throw new Error(`the tuple index holds ${state.size} tuples, ${this.#resolved.length} were learned`);
    this.#index = ByteKeyIndex.fromState(state);
  }

  indexState(): ByteKeyIndexState {
    return this.#index.state();
  }

  get size(): number {
    return this.#resolved.length;
  }

  resolved(id: number): ReturnType<typeof resolveFlow> {
    return this.#resolved[id]!;
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
}

/**
 * Per line of the file (by line number), the tuple of a line that can be printed from its bytes, or
 * -1: what pass 1 found, so that pass 2 neither scans nor looks such a line up again.
 */
export class LineTuples {
  #ids = new Int32Array(1024).fill(-1);
  #lines = 0;

  static fromState(state: LineTuplesState): LineTuples {
    const lines = new LineTuples();
    lines.#ids = state.ids;
    lines.#lines = state.lines;
    return lines;
  }

  state(): LineTuplesState {
    return { ids: this.#ids, lines: this.#lines };
  }

  set(lineNo: number, id: number): void {
    if (lineNo > MAX_REMEMBERED_LINES) return;
    if (lineNo > this.#ids.length) {
      let length = this.#ids.length;
      while (length < lineNo) length *= 2;
      const grown = new Int32Array(Math.min(length, MAX_REMEMBERED_LINES)).fill(-1);
      grown.set(this.#ids);
      this.#ids = grown;
    }
    this.#ids[lineNo - 1] = id;
    if (lineNo > this.#lines) this.#lines = lineNo;
  }

  /** The tuple of `lineNo`, -1 when it must be parsed, undefined when pass 1 did not remember. */
  get(lineNo: number): number | undefined {
    return lineNo <= this.#lines ? this.#ids[lineNo - 1] : undefined;
  }
}

/** What pass 1 found in a flow file that had no problem stopping the read. */
export interface FlowCheck {
  /** Problems found (malformed lines, tuples that do not resolve): the first `MAX_REPORTED_FLOW_ERRORS` came with `onProblems`. */
  problems: number;
  /** Lines skipped on purpose, by why. */
  skipped: Record<string, number>;
  lines: LineTuplesState;
  /** The tuples' keys (only when the inventory was usable), in the ids of `lines`. */
  index?: ByteKeyIndexState;
  /** How often the tuple table started over (then `lines` and `index` hold no tuple of the first ones). */
  generation: number;
}

export interface FlowCheckInput {
  flows: string;
  format?: FlowFormat;
  /** The inventory file, loaded on the checking thread itself; absent: not usable (lines are only parsed). */
  inventory?: string;
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
 * Pass 1: parses every line (malformed lines are problems, and reading goes on), resolves each
 * tuple when there is an inventory (a record whose tuple does not resolve is a problem at its line).
 * A problem that stops the read (not gzip, a runaway line, pretty-printed JSON, another format's
 * lines) throws its `InputError` after the problems before it were told.
 */
export async function checkFlows(
  input: Omit<FlowCheckInput, 'inventory'> & { inventory?: Inventory },
  onStep: (step: FlowCheckStep) => void,
): Promise<FlowCheck> {
  const tuples = input.inventory ? new TupleTable(input.inventory) : undefined;
  const lines = new LineTuples();
  const skipped: Record<string, number> = {};
  const told: Diagnostic[] = [];
  let problems = 0;
  let records = 0;
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
      onError: problem,
      onSkip: (_note, reason) => {
        skipped[reason] = (skipped[reason] ?? 0) + 1;
      },
      takeNyxLine: (bytes, start, end, lineNo) => {
        const id = tuples ? tuples.knownLine(bytes, start, end) : -1;
        if (id < 0) return false;
        lines.set(lineNo, id);
        records += 1;
        return true;
      },
      afterBatch: step,
    })) {
      records += 1;
      if (!tuples) continue;
      const id = tuples.idOf(record);
      const resolved = tuples.resolved(id);
      if (!resolved.ok) problem({ file: input.flows, line, message: resolved.reason });
      else lines.set(line, tuples.canonicalLineOf(id));
    }
  } finally {
    step();
  }
  return {
    problems,
    skipped,
    lines: lines.state(),
    ...(tuples ? { index: tuples.indexState() } : {}),
    generation: tuples?.generation ?? 0,
  };
}

/** What the checking thread posts. */
export type FlowCheckMessage =
  | { kind: 'step'; step: FlowCheckStep }
  | { kind: 'done'; check: FlowCheck }
  | { kind: 'stopped'; diagnostics: readonly Diagnostic[] }
  | { kind: 'failed'; message: string };

/**
 * `checkFlows` on a worker thread (verdicts-check-thread.ts), which loads the inventory itself;
 * the steps arrive here as the thread posts them. An `InputError` that stops the read rejects
 * after the steps before it.
 */
export function checkFlowsInWorker(
  input: FlowCheckInput,
  onStep: (step: FlowCheckStep) => void,
): Promise<FlowCheck> {
  return runWorkerThread<FlowCheckMessage, FlowCheck>(
    moduleBeside(import.meta.url, 'verdicts-check-thread'),
    input,
    (message, done, fail) => {
      switch (message.kind) {
        case 'step':
          return onStep(message.step);
        case 'done':
          return done(message.check);
        case 'stopped':
          return fail(new InputError(message.diagnostics));
        case 'failed':
          return fail(new Error(message.message));
      }
    },
  );
}
