// `nyxctl verdicts`: one JSON line per input flow, in input order (SPEC section 7).
//
// Invalid input must leave stdout empty, yet the flow file can be far larger than memory. So the
// command reads the file twice: pass 1 (verdicts-check.ts) parses every line on a worker thread
// while this thread loads the policies and resolves and evaluates the tuples the worker discovers,
// and every problem is reported on stderr; only when all inputs are valid does pass 2 print.
//
// Records of one tuple (`flowTupleKey`) resolve and evaluate alike, so each distinct tuple is
// resolved once, evaluated once and its verdict fields serialised once. A line in nyx's canonical
// shape (`scanCanonicalFlowTail`) whose tuple the full parser has already accepted takes a
// fast path in both passes: looked up by its bytes, and printed as its own bytes (which are
// `JSON.stringify` of its record) followed by the tuple's verdict fields, with no string or object
// made for it. Every other line is parsed in full, as before.
import {
  compileEvaluator,
  type Diagnostic,
  type EndFallback,
  type FlowRecord,
  type FlowTupleIdentity,
  type FlowVerdict,
  formatDiagnostic,
  type Reason,
  resolveFlow,
} from '@nyx/core';
import { readFlowFile } from '@nyx/io';
import { EXIT_INVALID, EXIT_OK, InputError } from '../errors.js';
import { noteSkippedLines, requireFile } from '../flows.js';
import { emptyTreeNote, loadInventory, loadTree } from '../inputs.js';
import { parseFlowFormat } from '../options.js';
import type { CommandIo, Sink } from '../output.js';
import { startProgress } from '../progress.js';
import {
  checkFlows,
  checkFlowsInWorker,
  type FlowCheckStep,
  LineTuples,
  TupleTable,
} from './verdicts-check.js';

export interface VerdictsOptions {
  policies: string;
  inventory: string;
  flows: string;
  /** nyx, hubble or calico; detected from the first record when absent. */
  flowFormat?: string;
}

/** The ends of a flow that resolved by a fallback (a pod gone from the inventory). */
type Fallbacks = { src?: EndFallback; dst?: EndFallback };

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
 * Output lines collected into chunks of bytes and handed to `out` by `flush` (with its
 * back-pressure). Chunks end at line ends, so no character is split between two writes.
 */
class VerdictOutput {
  #chunk = Buffer.allocUnsafe(OUTPUT_CHUNK_BYTES);
  #length = 0;
  #full: Buffer[] = [];
  constructor(private readonly out: Sink) {}

  /** A canonical line (`bytes[start, end)`, ending in `}`) followed by the verdict fields. */
  line(bytes: Uint8Array, start: number, end: number, tail: Buffer): void {
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
  // Pass 1 parses the lines on a worker thread, numbering their tuples, while this thread loads
  // the policy tree and the inventory, then resolves and evaluates each tuple the worker discovers.
  const pass1 = startProgress(io, 'checking flows');
  const early: FlowCheckStep[] = [];
  let onStep = (step: FlowCheckStep): void => {
    early.push(step);
  };
  const input = { flows: options.flows, ...(format ? { format } : {}) };
  const stopChecking = new AbortController();
  const checking = checkFlowsInWorker(input, (step) => onStep(step), stopChecking.signal);
  checking.catch(() => {}); // awaited below, or abandoned when loading another input fails outright
  const [tree, inventory] = await Promise.all([
    loadTree(options.policies),
    loadInventory(options.inventory),
  ]).catch((error: unknown) => {
    stopChecking.abort();
    throw error;
  });
  let errorCount = 0;
  const report = async (diagnostics: readonly Diagnostic[]): Promise<void> => {
    errorCount += diagnostics.length;
    for (const d of diagnostics) await io.err.write(`${formatDiagnostic(d)}\n`);
  };
  if (!tree.ok) await report(tree.errors);
  else if (tree.empty) await io.err.write(emptyTreeNote(options.policies));
  if (!inventory.ok) await report(inventory.errors);

  const evaluator =
    tree.ok && inventory.ok ? compileEvaluator(tree.policySet, inventory.inventory) : undefined;
  const resolve = inventory.ok
    ? (identity: FlowTupleIdentity) => resolveFlow(inventory.inventory, identity as FlowRecord)
    : undefined;
  let tuples = new TupleTable(resolve);
  const tailOfVerdict = new WeakMap<FlowVerdict, Buffer>();
  /** The verdict fields of tuple `id` of `table`, evaluated once. */
  const tailOf = (table: TupleTable, id: number, lineNo: number): Buffer => {
    let tail = table.tail(id);
    if (tail === undefined) {
      const resolved = table.resolved(id);
      // Pass 1 accepted every line; a file changed under our feet is an unexpected error (exit 1).
      if (!resolved?.ok) throw new Error(`${options.flows} changed while it was being read (line ${lineNo})`);
      const verdict = evaluator!.evaluate(resolved.flow);
      if (resolved.fallbacks) tail = Buffer.from(verdictTail(verdict, resolved.fallbacks));
      else {
        // The evaluator hands every flow of one class the same verdict object: serialise it once.
        tail = tailOfVerdict.get(verdict);
        if (tail === undefined) {
          tail = Buffer.from(verdictTail(verdict));
          tailOfVerdict.set(verdict, tail);
        }
      }
      table.setTail(id, tail);
    }
    return tail;
  };
  const malformed: Diagnostic[] = [];
  const take = (step: FlowCheckStep): void => {
    pass1.tick(step.records);
    malformed.push(...step.problems);
    for (const identity of step.tuples) {
      const id = tuples.learn(identity);
      if (evaluator && tuples.resolved(id)?.ok) tailOf(tuples, id, 0);
    }
  };
  for (const step of early.splice(0)) take(step);
  onStep = take;
  let check = await checking;
  pass1.done();
  // The flow file's problems, in line order after those above: the first MAX_REPORTED_FLOW_ERRORS,
  // then a count (a file that is not flows at all must not print one error per line).
  let problems: { told: Diagnostic[]; count: number };
  if (resolve && (check.generation > 0 || check.lines.truncated)) {
    // The worker's tuple ids do not cover the file (more distinct tuples than a table keeps, or
    // more lines than are remembered): pass 1 again here, resolving each tuple as it is read.
    tuples = new TupleTable(resolve);
    const told: Diagnostic[] = [];
    const again = startProgress(io, 'checking flows');
    check = await checkFlows(input, tuples, (step) => {
      again.tick(step.records);
      told.push(...step.problems);
    });
    again.done();
    problems = { told, count: check.problems };
  } else {
    tuples.adoptIndex(check.index);
    problems = resolve
      ? LineTuples.fromState(check.lines).problems(options.flows, tuples, malformed, check.problems)
      : { told: malformed, count: check.problems };
  }
  await report(problems.told);
  if (check.stopped) throw new InputError(check.stopped);
  if (problems.count > problems.told.length) {
    errorCount += problems.count - problems.told.length;
    await io.err.write(
      `${options.flows}: …and ${problems.count - problems.told.length} more problems in this flow file\n`,
    );
  }
  await noteSkippedLines(io, options.flows, check.skipped);
  if (errorCount > 0 || !tree.ok || !inventory.ok || !evaluator) return EXIT_INVALID;

  // Pass 2: the same lines again, each printed with its tuple's verdict fields. Pass 1's tuple ids
  // hold as long as the table never started over.
  const table = tuples;
  const lineTuples = LineTuples.fromState(check.lines);
  const pass2 = startProgress(io, 'evaluating flows');
  const out = new VerdictOutput(io.out);
  for await (const { record, line } of readFlowFile(options.flows, {
    ...(format ? { format } : {}),
    takeNyxLine: (bytes, start, end, lineNo) => {
      const remembered = table.generation === 0 ? lineTuples.printable(lineNo) : undefined;
      const id = remembered ?? table.knownLine(bytes, start, end);
      if (id < 0) return false;
      pass2.tick();
      out.line(bytes, start, end, tailOf(table, id, lineNo));
      return true;
    },
    afterBatch: () => out.flush(),
  })) {
    pass2.tick();
    const tail = tailOf(table, table.idOf(record), line);
    // The tail's bytes are UTF-8 of its text: decode only for the rare line taking this path.
    out.text(verdictLine(record, tail.toString('utf8')));
  }
  await out.flush();
  pass2.done();
  return EXIT_OK;
}
