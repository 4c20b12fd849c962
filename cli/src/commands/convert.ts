// `nyxctl convert --to v1alpha2 DIR` (SPEC 9.6): the v1alpha1 AdminNetworkPolicy and
// BaselineAdminNetworkPolicy objects of a tree as ClusterNetworkPolicy, on stdout, and the proof on
// stderr: every flow of the window (or, without --flows, every pair of inventory ends on each port
// the tree's admin policies name) keeps its verdicts, or each flow that differs is named with both
// explanations (exit 1). The tree itself is not modified: like `kubectl convert`, the output is the
// rewrite, for review before it replaces the v1alpha1 files.
import {
  conversionDifferences,
  convertToV1alpha2,
  formatReason,
  type Inventory,
  type PolicySet,
  type ResolvedFlow,
  resolveFlow,
} from '@nyx/core';
import { readFlowFile } from '@nyx/io';
import { stringify } from 'yaml';
import { EXIT_FINDINGS, EXIT_OK, InputError, UsageError } from '../errors.js';
import { loadInventory, loadTree } from '../inputs.js';
import type { CommandIo } from '../output.js';

export interface ConvertOptions {
  dir: string;
  to: string;
  inventory: string;
  flows?: string;
}

export async function runConvert(options: ConvertOptions, io: CommandIo): Promise<number> {
  if (options.to !== 'v1alpha2') throw new UsageError(`--to ${options.to}: the only target is v1alpha2`);
  const tree = await loadTree(options.dir);
  if (!tree.ok) throw new InputError(tree.errors);
  const inventory = await loadInventory(options.inventory);
  if (!inventory.ok) throw new InputError(inventory.errors);
  const result = convertToV1alpha2(tree.policySet);
  if (!result.ok) throw new InputError(result.errors);
  for (const c of result.converted) {
    await io.out.write(
      `---\n# ${c.from.source.file}:${c.from.source.line}: ${c.from.kind} ${c.from.metadata.name} (${c.from.apiVersion})\n${stringify(c.manifest)}`,
    );
  }
  let flows: ResolvedFlow[];
  let what: string;
  if (options.flows) {
    flows = [];
    for await (const { record } of readFlowFile(options.flows)) {
      const resolved = resolveFlow(inventory.inventory, record);
      if (resolved.ok) flows.push(resolved.flow);
    }
    what = `${flows.length} flows of ${options.flows}`;
  } else {
    flows = generatedFlows(inventory.inventory, tree.policySet);
    what = `${flows.length} generated flows (every pair of inventory ends on each port the admin policies name)`;
  }
  const differences = conversionDifferences(tree.policySet, result.policySet, inventory.inventory, flows);
  if (differences.length === 0) {
    await io.err.write(
      `converted ${result.converted.length} object(s); proof: ${what}, every verdict equal before and after\n`,
    );
    return EXIT_OK;
  }
  for (const d of differences) {
    const f = d.flow;
    await io.err.write(
      `differs: ${endText(f.src)} -> ${endText(f.dst)} ${f.protocol}/${f.port}: ${d.before.verdict} before, ${d.after.verdict} after\n` +
        d.before.reasons.map((r) => `  before ${formatReason(r)}\n`).join('') +
        d.after.reasons.map((r) => `  after ${formatReason(r)}\n`).join(''),
    );
  }
  await io.err.write(`proof failed: ${differences.length} of ${what} differ\n`);
  return EXIT_FINDINGS;
}

function endText(e: ResolvedFlow['src']): string {
  if (e.kind === 'pod') return `${e.pod.namespace}/${e.pod.name}`;
  if (e.kind === 'node') return e.ip ?? e.node.name;
  return e.ip;
}

/** Every pair of distinct ends (pods, nodes, one world address) on each protocol/port the admin policies name. */
function generatedFlows(inventory: Inventory, policySet: PolicySet): ResolvedFlow[] {
  const services = new Set<string>(['TCP/80', 'TCP/443', 'UDP/53']);
  for (const o of policySet.objects) {
    if (o.kind !== 'AdminNetworkPolicy' && o.kind !== 'BaselineAdminNetworkPolicy') continue;
    for (const rule of [...(o.spec.ingress ?? []), ...(o.spec.egress ?? [])]) {
      for (const p of rule.ports ?? []) {
        if (p.portNumber) services.add(`${p.portNumber.protocol ?? 'TCP'}/${p.portNumber.port}`);
        if (p.portRange) {
          services.add(`${p.portRange.protocol ?? 'TCP'}/${p.portRange.start}`);
          services.add(`${p.portRange.protocol ?? 'TCP'}/${p.portRange.end}`);
        }
      }
    }
  }
  for (const pod of inventory.pods.values())
    for (const c of pod.ports) services.add(`${c.protocol}/${c.containerPort}`);
  const ends = [
    ...[...inventory.pods.values()].map((p) => `${p.namespace}/${p.name}`),
    ...[...inventory.nodes.values()].flatMap((n) => n.addresses.slice(0, 1)),
    '203.0.113.10',
  ];
  const out: ResolvedFlow[] = [];
  for (const src of ends)
    for (const dst of ends) {
      if (src === dst) continue;
      for (const service of services) {
        const [protocol, port] = service.split('/') as ['TCP' | 'UDP' | 'SCTP', string];
        const resolved = resolveFlow(inventory, { src, dst, protocol, port: Number(port) });
        if (resolved.ok) out.push(resolved.flow);
      }
    }
  return out;
}
