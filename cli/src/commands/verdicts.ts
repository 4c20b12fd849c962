// `nyxctl verdicts`: one JSON line per input flow, in input order (SPEC section 7).
//
// Invalid input must leave stdout empty, yet the flow file can be far larger than memory. So the
// command makes two passes: pass 1 parses and resolves every line and reports every problem on
// stderr; only when all inputs are valid does pass 2 evaluate and print. Files up to
// `KEEP_IN_MEMORY_BYTES` are kept from pass 1 instead of being read twice.
import {
  compileEvaluator,
  type Diagnostic,
  type EndFallback,
  type FlowRecord,
  type FlowVerdict,
  flowTupleKey,
  formatDiagnostic,
  type Inventory,
  resolveFlow,
} from '@nyx/core';
import { MAX_REPORTED_FLOW_ERRORS, readFlowFile } from '@nyx/io';
import { EXIT_INVALID, EXIT_OK, InputError } from '../errors.js';
import { noteSkippedLines } from '../flows.js';
import { emptyTreeNote, loadInventory, loadTree, requireFile } from '../inputs.js';
import { parseFlowFormat } from '../options.js';
import type { CommandIo } from '../output.js';
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

/** A distinct tuple: how it resolved and, once evaluated, its verdict fields as JSON (`verdictTail`). */
interface TupleResult {
  resolved: ReturnType<typeof resolveFlow>;
  tail?: string;
}

const KEEP_IN_MEMORY_BYTES = 16 * 1024 * 1024;
/** Distinct tuples whose verdict text is kept (~200 bytes each); the cache starts over beyond. */
const MAX_CACHED_TUPLES = 200_000;
/** Output is handed to stdout in chunks of about this many characters, not a write per line. */
const OUTPUT_CHUNK_CHARS = 64 * 1024;

/** The fields `verdicts` adds after a record's own, in this order. */
const VERDICT_FIELDS = ['verdict', 'asIfEnforced', 'reasons', 'asIfEnforcedReasons', 'resolution'] as const;

/**
 * The verdict fields of a line as JSON text without the opening brace: `"verdict":…}`. A record
 * line is `JSON.stringify({ ...record, ...fields })`; `verdictLine` builds the same text from the
 * record's JSON and this tail.
 */
export function verdictTail(v: FlowVerdict, fallbacks?: Fallbacks): string {
  return JSON.stringify({
    verdict: v.verdict,
    asIfEnforced: v.asIfEnforced,
    reasons: v.reasons,
    asIfEnforcedReasons: v.asIfEnforcedReasons,
    // A pod gone from the inventory, resolved by a fallback of SPEC section 7: which, and how.
    ...(fallbacks ? { resolution: fallbacks } : {}),
  }).slice(1);
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

/** Collects lines and writes them to `io.out` a chunk at a time (with its back-pressure). */
class VerdictLineWriter {
  private chunk = '';
  constructor(private readonly io: CommandIo) {}
  write(line: string): Promise<void> | void {
    this.chunk += line;
    if (this.chunk.length >= OUTPUT_CHUNK_CHARS) return this.flush();
  }
  flush(): Promise<void> | void {
    const text = this.chunk;
    this.chunk = '';
    if (text !== '') return this.io.out.write(text);
  }
}

export async function runVerdicts(options: VerdictsOptions, io: CommandIo): Promise<number> {
  const format = parseFlowFormat(options.flowFormat);
  const size = await requireFile(options.flows, 'flow file');
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

  // Pass 1: parse every line (malformed lines are reported and skipped); resolve each record when
  // the inventory is usable.
  const kept: Array<{ record: FlowRecord; key: string }> | undefined =
    size <= KEEP_IN_MEMORY_BYTES ? [] : undefined;
  // Records of one tuple (`flowTupleKey`) resolve and evaluate alike: each distinct tuple is
  // resolved once, and evaluated and its verdict fields serialised once (`tail`, in pass 2).
  const tuples = new Map<string, TupleResult>();
  const tupleOf = (on: Inventory, record: FlowRecord, key: string): TupleResult => {
    let tuple = tuples.get(key);
    if (tuple === undefined) {
      if (tuples.size >= MAX_CACHED_TUPLES) tuples.clear();
      tuple = { resolved: resolveFlow(on, record) };
      tuples.set(key, tuple);
    }
    return tuple;
  };
  const pending: Diagnostic[] = [];
  const pass1 = startProgress(io, 'checking flows');
  try {
    for await (const { record, line } of readFlowFile(options.flows, {
      ...(format ? { format } : {}),
      onError: (d) => pending.push(d),
      onSkip: (_note, reason) => {
        skipped[reason] = (skipped[reason] ?? 0) + 1;
      },
    })) {
      pass1.tick();
      if (pending.length > 0) await reportFlow(pending.splice(0));
      if (!inventory.ok) continue;
      const key = flowTupleKey(record);
      const { resolved } = tupleOf(inventory.inventory, record, key);
      if (!resolved.ok) {
        await reportFlow([{ file: options.flows, line, message: resolved.reason }]);
        continue;
      }
      kept?.push({ record, key });
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
  if (errorCount > 0 || !tree.ok || !inventory.ok) return EXIT_INVALID;

  const pass2 = startProgress(io, 'evaluating flows');
  const evaluator = compileEvaluator(tree.policySet, inventory.inventory);
  const out = new VerdictLineWriter(io);
  const tailOfVerdict = new WeakMap<FlowVerdict, string>();
  const lineOf = (record: FlowRecord, key: string, lineNo?: number): string => {
    const tuple = tupleOf(inventory.inventory, record, key);
    if (tuple.tail === undefined) {
      const { resolved } = tuple;
      // Pass 1 accepted every line; a file changed under our feet is an unexpected error (exit 1).
      if (!resolved.ok) throw new Error(`${options.flows} changed while it was being read (line ${lineNo})`);
      const verdict = evaluator.evaluate(resolved.flow);
      if (resolved.fallbacks) tuple.tail = verdictTail(verdict, resolved.fallbacks);
      else {
        // The evaluator hands every flow of one class the same verdict object: serialise it once.
        let tail = tailOfVerdict.get(verdict);
        if (tail === undefined) {
          tail = verdictTail(verdict);
          tailOfVerdict.set(verdict, tail);
        }
        tuple.tail = tail;
      }
    }
    return verdictLine(record, tuple.tail);
  };
  if (kept) {
    for (const { record, key } of kept) {
      pass2.tick();
      await out.write(lineOf(record, key));
    }
  } else {
    for await (const { record, line } of readFlowFile(options.flows, format ? { format } : {})) {
      pass2.tick();
      await out.write(lineOf(record, flowTupleKey(record), line));
    }
  }
  await out.flush();
  pass2.done();
  return EXIT_OK;
}
