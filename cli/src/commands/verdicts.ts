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
  formatDiagnostic,
  type ResolvedFlow,
  resolveFlow,
} from '@nyx/core';
import { FlowFileError, MAX_REPORTED_FLOW_ERRORS, readFlowFile } from '@nyx/io';
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

const KEEP_IN_MEMORY_BYTES = 16 * 1024 * 1024;

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
  const kept: Array<{ record: FlowRecord; flow: ResolvedFlow; fallbacks?: Fallbacks }> | undefined =
    size <= KEEP_IN_MEMORY_BYTES ? [] : undefined;
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
      const resolved = resolveFlow(inventory.inventory, record);
      if (!resolved.ok) {
        await reportFlow([{ file: options.flows, line, message: resolved.reason }]);
        continue;
      }
      kept?.push({
        record,
        flow: resolved.flow,
        ...(resolved.fallbacks ? { fallbacks: resolved.fallbacks } : {}),
      });
    }
  } catch (error) {
    // What stops the read (not gzip, a runaway line, pretty-printed JSON, another format's lines).
    if (!(error instanceof FlowFileError)) throw error;
    if (pending.length > 0) await reportFlow(pending.splice(0));
    throw new InputError(error.diagnostics);
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

  const evaluator = compileEvaluator(tree.policySet, inventory.inventory);
  const print = async (record: FlowRecord, flow: ResolvedFlow, fallbacks?: Fallbacks): Promise<void> => {
    const v = evaluator.evaluate(flow);
    const out = {
      ...record,
      verdict: v.verdict,
      asIfEnforced: v.asIfEnforced,
      reasons: v.reasons,
      asIfEnforcedReasons: v.asIfEnforcedReasons,
      // A pod gone from the inventory, resolved by a fallback of SPEC section 7: which, and how.
      ...(fallbacks ? { resolution: fallbacks } : {}),
    };
    await io.out.write(`${JSON.stringify(out)}\n`);
  };

  const pass2 = startProgress(io, 'evaluating flows');
  if (kept) {
    for (const { record, flow, fallbacks } of kept) {
      pass2.tick();
      await print(record, flow, fallbacks);
    }
  } else {
    // Pass 1 accepted every line; a file changed under our feet is an unexpected error (exit 1).
    for await (const { record, line } of readFlowFile(options.flows, format ? { format } : {})) {
      pass2.tick();
      const resolved = resolveFlow(inventory.inventory, record);
      if (!resolved.ok) throw new Error(`${options.flows} changed while it was being read (line ${line})`);
      await print(record, resolved.flow, resolved.fallbacks);
    }
  }
  pass2.done();
  return EXIT_OK;
}
