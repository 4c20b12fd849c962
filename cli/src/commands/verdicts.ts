// `nyxctl verdicts`: one JSON line per input flow, in input order (SPEC section 7).
//
// Invalid input must leave stdout empty, yet the flow file can be far larger than memory. So the
// command reads the file twice: pass 1 parses and resolves every line and reports every problem on
// stderr; only when all inputs are valid does pass 2 evaluate and print.
//
// Records of one tuple (`flowTupleKey`) resolve and evaluate alike, so each distinct tuple is
// resolved once, evaluated once and its verdict fields serialised once. A line in nyx's canonical
// shape (`scanCanonicalFlowTail`) whose tuple the full parser has already accepted takes a
// fast path in both passes: looked up by its bytes, and printed as its own bytes (which are
// `JSON.stringify` of its record) followed by the tuple's verdict fields, with no string or object
// made for it. Every other line is parsed in full, as before.
import {
  ByteKeyIndex,
  compileEvaluator,
  type Diagnostic,
  type EndFallback,
  emptyCanonicalFlowLine,
  type FlowRecord,
  type FlowVerdict,
  formatDiagnostic,
  type Inventory,
  type Reason,
  resolveFlow,
  scanCanonicalFlowTail,
  TupleKeyBytes,
} from '@nyx/core';
import { MAX_REPORTED_FLOW_ERRORS, readFlowFile } from '@nyx/io';
import { EXIT_INVALID, EXIT_OK, InputError } from '../errors.js';
import { noteSkippedLines } from '../flows.js';
import { emptyTreeNote, loadInventory, loadTree, requireFile } from '../inputs.js';
import { parseFlowFormat } from '../options.js';
import type { CommandIo, Sink } from '../output.js';
import { startProgress } from '../progress.js';

export interface VerdictsOptions {
  policies: string;
  inventory: string;
  flows: string;
  /** nyx, hubble or calico; detected from the first record when absent. */
  flowFormat?: string;
}

/** The ends of a flow that resolved by a fallback (a pod gone from the inventory). */
type Fallbacks = { src?: EndFallback; dst?: EndFallback };

/** Distinct tuples kept at once (key, resolution and verdict text); the table starts over beyond. */
const MAX_CACHED_TUPLES = 500_000;
/** Lines whose tuple pass 1 remembers for pass 2 (4 bytes each); later lines are looked up again. */
const MAX_REMEMBERED_LINES = 32 * 1024 * 1024;
/** Output is handed to stdout in chunks of about this many bytes, not a write per line. */
const OUTPUT_CHUNK_BYTES = 256 * 1024;

/** The fields `verdicts` adds after a record's own, in this order. */
const VERDICT_FIELDS = ['verdict', 'asIfEnforced', 'reasons', 'asIfEnforcedReasons', 'resolution'] as const;

/**
 * The verdict fields of a line as JSON text without the opening brace: `"verdict":…}`. A record
 * line is `JSON.stringify({ ...record, ...fields })`; `verdictLine` builds the same text from the
 * record's JSON and this tail.
 */
export function verdictTail(v: FlowVerdict, fallbacks?: Fallbacks): string {
  const reasons = reasonsJson(v.reasons);
  const asIfEnforcedReasons =
    v.asIfEnforcedReasons === v.reasons ? reasons : reasonsJson(v.asIfEnforcedReasons);
  // A pod gone from the inventory, resolved by a fallback of SPEC section 7: which, and how.
  const resolution = fallbacks ? `,"resolution":${JSON.stringify(fallbacks)}` : '';
  return `"verdict":${JSON.stringify(v.verdict)},"asIfEnforced":${JSON.stringify(v.asIfEnforced)},"reasons":${reasons},"asIfEnforcedReasons":${asIfEnforcedReasons}${resolution}}`;
}

// Reasons are shared, read-only records (one per rule, isolation or default of a policy set), so
// each is serialised once however many verdicts name it.
const reasonJsonCache = new WeakMap<Reason, string>();

function reasonsJson(reasons: readonly Reason[]): string {
  let text = '[';
  for (let i = 0; i < reasons.length; i++) {
    const r = reasons[i]!;
    let json = reasonJsonCache.get(r);
    if (json === undefined) {
      json = JSON.stringify(r);
      reasonJsonCache.set(r, json);
    }
    text += i > 0 ? `,${json}` : json;
  }
  return `${text}]`;
}

/** One output line: `JSON.stringify({ ...record, ...verdictFields })` and a newline. */
export function verdictLine(record: FlowRecord, tail: string): string {
  // A record carrying a field of the verdict's own name keeps that field's place in the object.
  for (const name of VERDICT_FIELDS) {
    if (Object.hasOwn(record, name)) return `${JSON.stringify({ ...record, ...JSON.parse(`{${tail}`) })}\n`;
  }
  const own = JSON.stringify(record);
  return own === '{}' ? `{${tail}\n` : `${own.slice(0, -1)},${tail}\n`;
}

/**
 * The distinct tuples of a flow file by their canonical key's bytes: how each resolved and, once
 * evaluated, its verdict fields as UTF-8 (`verdictTail`).
 */
class TupleTable {
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
      }
      id = this.#index.insert(key.bytes, 0, length);
      this.#resolved[id] = resolveFlow(this.inventory, record);
    }
    return id;
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

/**
 * Per line of the file (by line number), the tuple of a line that can be printed from its bytes, or
 * -1: what pass 1 found, so that pass 2 neither scans nor looks such a line up again.
 */
class LineTuples {
  #ids = new Int32Array(1024).fill(-1);
  #lines = 0;

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

/**
 * Output lines collected into chunks of bytes and handed to `out` by `flush` (with its
 * back-pressure). Chunks end at line ends, so no character is split between two writes.
 */
class VerdictOutput {
  #chunk = Buffer.allocUnsafe(OUTPUT_CHUNK_BYTES);
  #length = 0;
  #full: Buffer[] = [];
  constructor(private readonly out: Sink) {}

  /** A canonical line (`bytes[start, end)`, ending in `}`) followed by the verdict fields. */
  line(bytes: Buffer, start: number, end: number, tail: Buffer): void {
    this.#room(end - start + 1 + tail.length);
    const chunk = this.#chunk;
    // A loop, not `Buffer.copy`: that makes a view object per call, a million of them per file.
    let at = this.#length;
    for (let i = start; i < end - 1; i++) chunk[at++] = bytes[i]!;
    chunk[at++] = 44; // ,
    chunk.set(tail, at);
    at += tail.length;
    chunk[at++] = 10; // newline
    this.#length = at;
  }

  text(line: string): void {
    const bytes = Buffer.byteLength(line);
    this.#room(bytes);
    this.#length += this.#chunk.write(line, this.#length);
  }

  async flush(): Promise<void> {
    if (this.#length > 0) this.#rotate(0);
    for (const chunk of this.#full.splice(0)) await this.out.write(chunk);
  }

  #room(bytes: number): void {
    if (this.#length + bytes > this.#chunk.length) this.#rotate(bytes);
  }

  #rotate(next: number): void {
    if (this.#length > 0) this.#full.push(this.#chunk.subarray(0, this.#length));
    this.#chunk = Buffer.allocUnsafe(Math.max(OUTPUT_CHUNK_BYTES, next));
    this.#length = 0;
  }
}

export async function runVerdicts(options: VerdictsOptions, io: CommandIo): Promise<number> {
  const format = parseFlowFormat(options.flowFormat);
  await requireFile(options.flows, 'flow file');
  const tree = await loadTree(options.policies);
  const inventory = await loadInventory(options.inventory);
  let errorCount = 0;
  const report = async (diagnostics: readonly Diagnostic[]): Promise<void> => {
    errorCount += diagnostics.length;
    for (const d of diagnostics) await io.err.write(`${formatDiagnostic(d)}\n`);
  };
  // The flow file's problems: the first MAX_REPORTED_FLOW_ERRORS, then a count (a file that is
  // not flows at all must not print one error per line).
  let flowErrors = 0;
  const reportFlow = async (diagnostics: readonly Diagnostic[]): Promise<void> => {
    const room = Math.max(0, MAX_REPORTED_FLOW_ERRORS - flowErrors);
    flowErrors += diagnostics.length;
    await report(diagnostics.slice(0, room));
    errorCount += diagnostics.length - Math.min(room, diagnostics.length);
  };
  const skipped: Record<string, number> = {};
  if (!tree.ok) await report(tree.errors);
  else if (tree.empty) await io.err.write(emptyTreeNote(options.policies));
  if (!inventory.ok) await report(inventory.errors);

  // Pass 1: parse every line (malformed lines are reported and skipped); resolve each tuple when
  // the inventory is usable.
  const tuples = inventory.ok ? new TupleTable(inventory.inventory) : undefined;
  const lineTuples = new LineTuples();
  const pending: Diagnostic[] = [];
  const pass1 = startProgress(io, 'checking flows');
  try {
    for await (const { record, line } of readFlowFile(options.flows, {
      ...(format ? { format } : {}),
      onError: (d) => pending.push(d),
      onSkip: (_note, reason) => {
        skipped[reason] = (skipped[reason] ?? 0) + 1;
      },
      takeNyxLine: (bytes, start, end, lineNo) => {
        const id = tuples ? tuples.knownLine(bytes, start, end) : -1;
        if (id < 0) return false;
        lineTuples.set(lineNo, id);
        pass1.tick();
        return true;
      },
    })) {
      pass1.tick();
      if (pending.length > 0) await reportFlow(pending.splice(0));
      if (!tuples) continue;
      const id = tuples.idOf(record);
      const resolved = tuples.resolved(id);
      if (!resolved.ok) await reportFlow([{ file: options.flows, line, message: resolved.reason }]);
      else lineTuples.set(line, tuples.canonicalLineOf(id));
    }
  } catch (error) {
    // What stops the read (not gzip, a runaway line, pretty-printed JSON, another format's lines).
    if (!(error instanceof InputError)) throw error;
    if (pending.length > 0) await reportFlow(pending.splice(0));
    throw error;
  } finally {
    pass1.done();
  }
  if (pending.length > 0) await reportFlow(pending.splice(0));
  if (flowErrors > MAX_REPORTED_FLOW_ERRORS) {
    await io.err.write(
      `${options.flows}: …and ${flowErrors - MAX_REPORTED_FLOW_ERRORS} more problems in this flow file\n`,
    );
  }
  await noteSkippedLines(io, options.flows, skipped);
  if (errorCount > 0 || !tree.ok || !inventory.ok || !tuples) return EXIT_INVALID;

  // Pass 2: the same lines again, each printed with its tuple's verdict fields.
  const pass2 = startProgress(io, 'evaluating flows');
  const evaluator = compileEvaluator(tree.policySet, inventory.inventory);
  const out = new VerdictOutput(io.out);
  const tailOfVerdict = new WeakMap<FlowVerdict, Buffer>();
  const tailOf = (id: number, lineNo: number): Buffer => {
    let tail = tuples.tail(id);
    if (tail === undefined) {
      const resolved = tuples.resolved(id);
      // Pass 1 accepted every line; a file changed under our feet is an unexpected error (exit 1).
      if (!resolved.ok) throw new Error(`${options.flows} changed while it was being read (line ${lineNo})`);
      const verdict = evaluator.evaluate(resolved.flow);
      if (resolved.fallbacks) tail = Buffer.from(verdictTail(verdict, resolved.fallbacks));
      else {
        // The evaluator hands every flow of one class the same verdict object: serialise it once.
        tail = tailOfVerdict.get(verdict);
        if (tail === undefined) {
          tail = Buffer.from(verdictTail(verdict));
          tailOfVerdict.set(verdict, tail);
        }
      }
      tuples.setTail(id, tail);
    }
    return tail;
  };
  for await (const { record, line } of readFlowFile(options.flows, {
    ...(format ? { format } : {}),
    takeNyxLine: (bytes, start, end, lineNo) => {
      // Tuple ids of pass 1 hold as long as the table never started over.
      const remembered = tuples.generation === 0 ? lineTuples.get(lineNo) : undefined;
      const id = remembered ?? tuples.knownLine(bytes, start, end);
      if (id < 0) return false;
      pass2.tick();
      out.line(bytes, start, end, tailOf(id, lineNo));
      return true;
    },
    afterBatch: () => out.flush(),
  })) {
    pass2.tick();
    const tail = tailOf(tuples.idOf(record), line);
    // The tail's bytes are UTF-8 of its text: decode only for the rare line taking this path.
    out.text(verdictLine(record, tail.toString('utf8')));
  }
  await out.flush();
  pass2.done();
  return EXIT_OK;
}
