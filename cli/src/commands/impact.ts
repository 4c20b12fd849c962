// `nyxctl impact`: what a change (base tree -> head tree) does to the traffic observed in a flow
// window (SPEC section 5), as the bot's Markdown comment or as JSON (SPEC section 7).
//
// The flow file is the largest input: its reader starts on a worker thread before this thread loads
// the engine (the modules below load only the flow halves of core and io; the rest is imported once
// the read has started), and reads while the trees and the inventory are parsed.
import type { FlowTupleIdentity, ImpactPass } from '@nyx/core';
import { EXIT_OK, InputError } from '../errors.js';
import { readWindow, requireFile } from '../flows.js';
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
  const { loadInventory, loadTree } = await import('../inputs.js');
  // The head shares the base's load of the files the change left alone.
  const loadingBase = loadTree(options.base, 'base tree');
  const [base, head, inventory] = await Promise.all([
    loadingBase,
    loadTree(options.head, 'head tree', loadingBase),
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
  // resolves, evaluates and classifies the tuples the reader has discovered so far (what identifies
  // a tuple decides that; its counts do not) while the rest of the file is read. Once the read
  // ends, only the counts are added up.
  const stopReading = new AbortController();
  const pending: FlowTupleIdentity[][] = [];
  let impact: ImpactPass | undefined;
  const reading = readWindow(options.flows, flowFormat, io, {
    inWorker: true,
    signal: stopReading.signal,
    onTuples: (tuples) => (impact ? impact.addTuples(tuples) : pending.push(tuples)),
  });
  reading.catch(() => {}); // awaited below, or abandoned when another input fails
  const [{ ImpactPass, impactToJson, renderImpactMarkdown }, { emptyTreeNote }] = await Promise.all([
    import('@nyx/core'),
    import('../inputs.js'),
  ]);
  const { base, head, inventory } = await loadTrees(options).catch((error: unknown) => {
    stopReading.abort();
    throw error;
  });
  if (base.empty) await io.err.write(emptyTreeNote(options.base, 'base tree'));
  if (head.empty) await io.err.write(emptyTreeNote(options.head, 'head tree'));
  io.mark?.('trees+inventory');
  impact = new ImpactPass({
    base: base.policySet,
    head: head.policySet,
    inventory,
    // The whole trees, so that the head's new lint findings include the ownership checks.
    baseFiles: base.files,
    headFiles: head.files,
  });
  io.mark?.('lint (but stale rules)');
  for (const tuples of pending.splice(0)) impact.addTuples(tuples);
  const window = await reading;
  io.mark?.('flows (rest of the read, evaluating meanwhile)');
  const report = impact.finish(window);
  io.mark?.('finish');
  if (format === 'json') {
    const json: unknown = impactToJson(report);
    await io.out.write(`${typeof json === 'string' ? json.trimEnd() : JSON.stringify(json, null, 2)}\n`);
  } else {
    await io.out.write(`${renderImpactMarkdown(report, {}).trimEnd()}\n`);
  }
  io.mark?.('render');
  return EXIT_OK;
}
