// `nyxctl impact`: what a change (base tree -> head tree) does to the traffic observed in a flow
// window (SPEC section 5), as the bot's Markdown comment or as JSON (SPEC section 7).
import { computeImpact, type Diagnostic, FlowWindow, impactToJson, renderImpactMarkdown } from '@nyx/core';
import { readFlowFile } from '@nyx/io';
import { EXIT_OK, InputError } from '../errors.js';
import { loadInventory, loadTree, requireFile } from '../inputs.js';
import type { CommandIo } from '../output.js';
import { startProgress } from '../progress.js';
import { parseFormat } from './explain.js';

export const FLOW_FORMATS = ['nyx', 'hubble', 'calico'] as const;
export type FlowFormat = (typeof FLOW_FORMATS)[number];

export interface ImpactOptions {
  base: string;
  head: string;
  inventory: string;
  flows: string;
  format?: string;
  flowFormat?: string;
}

/** Streams a flow file into a window of distinct tuples (memory grows with tuples, not records). */
export async function readWindow(file: string, format: FlowFormat, io: CommandIo): Promise<FlowWindow> {
  const window = new FlowWindow();
  const progress = startProgress(io, 'reading flows');
  try {
    for await (const { record } of readFlowFile(file, { format })) {
      window.add(record);
      progress.tick();
    }
  } catch (error) {
    // A malformed line is invalid input (exit 2) when the reader says where it is.
    const diagnostics = (error as { diagnostics?: Diagnostic[] }).diagnostics;
    if (diagnostics) throw new InputError(diagnostics);
    throw error;
  } finally {
    progress.done();
  }
  return window;
}

export async function runImpact(options: ImpactOptions, io: CommandIo): Promise<number> {
  const format = parseFormat('--format', options.format, ['markdown', 'json'] as const);
  const flowFormat = parseFormat('--flow-format', options.flowFormat, FLOW_FORMATS);
  await requireFile(options.flows, 'flow file');
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
  const window = await readWindow(options.flows, flowFormat, io);
  const report = computeImpact({
    base: base.policySet,
    head: head.policySet,
    inventory: inventory.inventory,
    window,
  });
  if (format === 'json') {
    const json: unknown = impactToJson(report);
    await io.out.write(`${typeof json === 'string' ? json.trimEnd() : JSON.stringify(json, null, 2)}\n`);
  } else {
    await io.out.write(`${renderImpactMarkdown(report, {}).trimEnd()}\n`);
  }
  return EXIT_OK;
}
