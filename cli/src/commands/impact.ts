// `nyxctl impact`: what a change (base tree -> head tree) does to the traffic observed in a flow
// window (SPEC section 5), as the bot's Markdown comment or as JSON (SPEC section 7).
import {
  computeImpact,
  evaluateAhead,
  type FlowTupleIdentity,
  impactEvaluators,
  impactToJson,
  renderImpactMarkdown,
} from '@nyx/core';
import { EXIT_OK, InputError } from '../errors.js';
import { readWindow } from '../flows.js';
import { emptyTreeNote, loadInventory, loadTree, requireFile } from '../inputs.js';
import { parseFlowFormat, parseFormat } from '../options.js';
import type { CommandIo } from '../output.js';

export interface ImpactOptions {
  base: string;
  head: string;
  inventory: string;
  flows: string;
  format?: string;
  flowFormat?: string;
}

/** Both trees and the inventory, or an input error with every problem of all three. */
async function loadTrees(options: ImpactOptions) {
  const [base, head, inventory] = await Promise.all([
    loadTree(options.base, 'base tree'),
    loadTree(options.head, 'head tree'),
    loadInventory(options.inventory),
  ]);
  if (!base.ok || !head.ok || !inventory.ok) {
    throw new InputError([
      ...(base.ok ? [] : base.errors),
      ...(head.ok ? [] : head.errors),
      ...(inventory.ok ? [] : inventory.errors),
    ]);
  }
  return { base, head, inventory: inventory.inventory };
}

export async function runImpact(options: ImpactOptions, io: CommandIo): Promise<number> {
  const format = parseFormat('--format', options.format, ['markdown', 'json'] as const);
  const flowFormat = parseFlowFormat(options.flowFormat);
  await requireFile(options.flows, 'flow file');
  // The flows stream in on a worker thread while this one parses the trees and the inventory, then
  // evaluates the tuples the reader has discovered so far (their verdicts need no counts) while
  // the rest of the file is read.
  const stopReading = new AbortController();
  const pending: FlowTupleIdentity[][] = [];
  let evaluate: ((tuples: FlowTupleIdentity[]) => void) | undefined;
  const reading = readWindow(options.flows, flowFormat, io, {
    inWorker: true,
    signal: stopReading.signal,
    onTuples: (tuples) => (evaluate ? evaluate(tuples) : pending.push(tuples)),
  });
  reading.catch(() => {}); // awaited below, or abandoned when another input fails
  const { base, head, inventory } = await loadTrees(options).catch((error: unknown) => {
    stopReading.abort();
    throw error;
  });
  if (base.empty) await io.err.write(emptyTreeNote(options.base, 'base tree'));
  if (head.empty) await io.err.write(emptyTreeNote(options.head, 'head tree'));
  io.mark?.('trees+inventory');
  const evaluators = impactEvaluators(base.policySet, head.policySet, inventory);
  evaluate = (tuples) => evaluateAhead(evaluators, inventory, tuples);
  for (const tuples of pending.splice(0)) evaluate(tuples);
  const window = await reading;
  io.mark?.('flows (rest of the read, evaluating meanwhile)');
  const report = computeImpact({
    base: base.policySet,
    head: head.policySet,
    inventory,
    window,
    evaluators,
    // The whole trees, so that the head's new lint findings include the ownership checks.
    baseFiles: base.files,
    headFiles: head.files,
  });
  io.mark?.('computeImpact');
  if (format === 'json') {
    const json: unknown = impactToJson(report);
    await io.out.write(`${typeof json === 'string' ? json.trimEnd() : JSON.stringify(json, null, 2)}\n`);
  } else {
    await io.out.write(`${renderImpactMarkdown(report, {}).trimEnd()}\n`);
  }
  io.mark?.('render');
  return EXIT_OK;
}
