// `nyxctl convert --to v1alpha2 DIR` (SPEC 9.6): the v1alpha1 AdminNetworkPolicy and
// BaselineAdminNetworkPolicy objects of a tree rewritten as ClusterNetworkPolicy, and the proof: the
// rewritten tree is loaded and validated again, and every flow of the window (or, without --flows,
// generated flows) keeps its verdicts, or each flow that differs is named with both explanations
// (exit 1). Without --write the rewrite is printed for review (like `kubectl convert`); with
// --write the files are rewritten in place, and only when the proof holds: a refused conversion or
// a failed proof leaves the tree untouched.
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  conversionDifferences,
  convertToV1alpha2,
  formatReason,
  type Inventory,
  loadPolicySet,
  proofFlows,
  proofInventory,
  type ResolvedFlow,
  resolveFlow,
  rewriteFilesAsV1alpha2,
} from '@nyx/core';
import { readFlowFile } from '@nyx/io';
import { stringify } from 'yaml';
import { EXIT_FINDINGS, EXIT_OK, InputError, UsageError } from '../errors.js';
import { displayPath, loadInventory, loadTree } from '../inputs.js';
import type { CommandIo } from '../output.js';

export interface ConvertOptions {
  dir: string;
  to: string;
  inventory?: string;
  flows?: string;
  write?: boolean;
}

export async function runConvert(options: ConvertOptions, io: CommandIo): Promise<number> {
  if (options.to !== 'v1alpha2') throw new UsageError(`--to ${options.to}: the only target is v1alpha2`);
  if (options.flows && !options.inventory)
    throw new UsageError('--flows needs --inventory: the flows resolve against it');
  const tree = await loadTree(options.dir);
  if (!tree.ok) throw new InputError(tree.errors);
  let inventory: Inventory | undefined;
  if (options.inventory) {
    const loaded = await loadInventory(options.inventory);
    if (!loaded.ok) throw new InputError(loaded.errors);
    inventory = loaded.inventory;
  }
  const result = convertToV1alpha2(tree.policySet);
  if (!result.ok) throw new InputError(result.errors);
  if (result.converted.length === 0) {
    await io.err.write(
      `nothing to convert: ${options.dir} has no AdminNetworkPolicy or BaselineAdminNetworkPolicy\n`,
    );
    return EXIT_OK;
  }

  // The proof is made on what would be written: the rewritten files, loaded and validated again.
  const rewritten = rewriteFilesAsV1alpha2(tree.files, result.converted);
  const byPath = new Map(rewritten.map((f) => [f.path, f]));
  const after = loadPolicySet(
    tree.files.map((f) => byPath.get(f.path) ?? f),
    { displayPath: (path) => displayPath(options.dir, path) },
  );
  if (!after.ok) {
    throw new InputError(
      after.errors.map((e) => ({
        ...e,
        file: displayPath(options.dir, e.file),
        message: `after conversion to v1alpha2: ${e.message}`,
      })),
    );
  }

  const proofInv = inventory ?? proofInventory(tree.policySet);
  let flows: ResolvedFlow[];
  let what: string;
  if (options.flows) {
    flows = [];
    let unresolved = 0;
    for await (const { record } of readFlowFile(options.flows)) {
      const resolved = resolveFlow(proofInv, record);
      if (resolved.ok) flows.push(resolved.flow);
      else unresolved++;
    }
    // As in `impact`: ends the inventory lacks are counted, not evaluated.
    what = `${flows.length} flows of ${options.flows}${unresolved > 0 ? ` (${unresolved} unresolved against the inventory, not evaluated)` : ''}`;
  } else {
    flows = proofFlows(proofInv, tree.policySet);
    what = inventory
      ? `${flows.length} generated flows (every pair of inventory ends on each port the admin policies name)`
      : `${flows.length} generated flows (no --inventory: between stand-in pods, nodes and addresses for every selector, network and port the admin policies name)`;
  }
  const differences = conversionDifferences(tree.policySet, after.policySet, proofInv, flows);
  if (differences.length > 0) {
    for (const d of differences) {
      const f = d.flow;
      await io.err.write(
        `differs: ${endText(f.src)} -> ${endText(f.dst)} ${f.protocol}/${f.port}: ${d.before.verdict} before, ${d.after.verdict} after\n` +
          d.before.reasons.map((r) => `  before ${formatReason(r)}\n`).join('') +
          d.after.reasons.map((r) => `  after ${formatReason(r)}\n`).join(''),
      );
    }
    await io.err.write(
      `proof failed: ${differences.length} of ${what} differ${options.write ? '; nothing written' : ''}\n`,
    );
    return EXIT_FINDINGS;
  }

  if (options.write) {
    for (const file of rewritten) await writeInPlace(join(options.dir, file.path), file.content);
    const files = rewritten.map((f) => displayPath(options.dir, f.path)).join(', ');
    await io.err.write(
      `converted ${result.converted.length} object(s) in ${files}; proof: ${what}, every verdict equal before and after\n`,
    );
    return EXIT_OK;
  }
  for (const c of result.converted) {
    await io.out.write(
      `---\n# ${c.from.source.file}:${c.from.source.line}: ${c.from.kind} ${c.from.metadata.name} (${c.from.apiVersion})\n${stringify(c.manifest)}`,
    );
  }
  await io.err.write(
    `converted ${result.converted.length} object(s); proof: ${what}, every verdict equal before and after\n`,
  );
  return EXIT_OK;
}

/** Replaces a file whole or not at all: written beside it, then renamed over it. */
async function writeInPlace(path: string, content: string): Promise<void> {
  const temporary = `${path}.nyx-convert.tmp`;
  await writeFile(temporary, content);
  await rename(temporary, path);
}

function endText(e: ResolvedFlow['src']): string {
  if (e.kind === 'pod') return `${e.pod.namespace}/${e.pod.name}`;
  if (e.kind === 'node') return e.ip ?? e.node.name;
  return e.ip;
}
