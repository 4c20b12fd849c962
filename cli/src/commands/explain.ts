// `nyxctl explain`: why one flow is allowed or denied, per enforcement point, for the effective and
// the as-if-enforced verdicts (SPEC sections 3 and 4).
import {
  compileEvaluator,
  type Endpoint,
  type FlowRecord,
  type FlowVerdict,
  type Inventory,
  podsOfWorkload,
  type Reason,
  reasonFormatter,
  resolveFlow,
} from '@nyx/core';
import { EXIT_OK, InputError, UsageError } from '../errors.js';
import { displayPath, emptyTreeNote, loadInventory, loadTree } from '../inputs.js';
import { parseFormat, parsePort, parseProtocol } from '../options.js';
import type { CommandIo } from '../output.js';

export interface ExplainOptions {
  policies: string;
  inventory: string;
  from: string;
  to: string;
  port: string;
  protocol?: string;
  serverName?: string;
  format?: string;
}

function describeEndpoint(e: Endpoint): string {
  if (e.kind === 'pod') return `pod ${e.pod.namespace}/${e.pod.name}${e.ip ? ` (${e.ip})` : ''}`;
  if (e.kind === 'node') return `node ${e.node.name}${e.ip ? ` (${e.ip})` : ''}`;
  return `world ${e.ip}`;
}

function reasonLine(reason: Reason, dir: string): string {
  const where = reason.point ?? 'flow';
  // The point, decision and band have columns of their own; the source names the object.
  const text = reasonFormatter({
    point: false,
    object: false,
    source: (source) => `  [${displayPath(dir, source)}]`,
  })(reason);
  return `  ${where.padEnd(7)} ${reason.decision.padEnd(5)}  ${reason.band.padEnd(13)} ${text}`;
}

/** The text form: a header for the flow, then one line per enforcement point for each verdict. */
export function explainText(
  record: FlowRecord,
  src: Endpoint,
  dst: Endpoint,
  v: FlowVerdict,
  dir: string,
  notes: readonly string[] = [],
): string {
  const lines = [
    `flow: ${record.src} -> ${record.dst} ${record.protocol}/${record.port}${record.serverName ? ` (${record.serverName})` : ''}`,
    `  from ${describeEndpoint(src)}`,
    `  to   ${describeEndpoint(dst)}`,
    ...notes.map((n) => `  (${n})`),
    '',
    `effective: ${v.verdict}`,
    ...v.reasons.map((r) => reasonLine(r, dir)),
    '',
    `as if every audit object were enforced: ${v.asIfEnforced}`,
    ...v.asIfEnforcedReasons.map((r) => reasonLine(r, dir)),
  ];
  if (v.verdict === 'allow' && v.asIfEnforced === 'deny') {
    lines.push('', 'would-deny: promoting the audit object above to enforce will deny this flow');
  }
  return `${lines.join('\n')}\n`;
}

/**
 * `<ns>/<workload>` as one of its pods, so that every name a report prints can be pasted here: a
 * ref that is an IP or a pod of the inventory stays as is; else the first by name of the workload's
 * current pods (owner from ownerReferences, else read from the pod names). `note` says which.
 */
export function pickWorkloadPod(inventory: Inventory, ref: string): { ref: string; note?: string } {
  if (!ref.includes('/') || inventory.pods.has(ref)) return { ref };
  const pods = podsOfWorkload(inventory, ref);
  const first = pods[0];
  if (!first) return { ref };
  const pod = `${first.namespace}/${first.name}`;
  const others = pods.length > 1 ? ` (the first by name of its ${pods.length} pods)` : '';
  return { ref: pod, note: `workload ${ref} is explained as its pod ${pod}${others}` };
}

export async function runExplain(options: ExplainOptions, io: CommandIo): Promise<number> {
  const format = parseFormat('--format', options.format, ['text', 'json'] as const);
  const record: FlowRecord = {
    src: options.from,
    dst: options.to,
    protocol: parseProtocol(options.protocol),
    port: parsePort(options.port),
    ...(options.serverName ? { serverName: options.serverName } : {}),
  };
  const tree = await loadTree(options.policies);
  const inventory = await loadInventory(options.inventory);
  const errors = [...(tree.ok ? [] : tree.errors), ...(inventory.ok ? [] : inventory.errors)];
  if (!tree.ok || !inventory.ok) throw new InputError(errors);
  if (tree.empty) await io.err.write(emptyTreeNote(options.policies));
  const from = pickWorkloadPod(inventory.inventory, record.src);
  const to = pickWorkloadPod(inventory.inventory, record.dst);
  const resolved = resolveFlow(inventory.inventory, { ...record, src: from.ref, dst: to.ref });
  if (!resolved.ok)
    throw new UsageError(
      `${record.src} -> ${record.dst}: ${resolved.reason.replace(' is not in the inventory', ' is neither a pod nor a workload of the inventory')}`,
    );
  const notes = [from.note, to.note].filter((n): n is string => n !== undefined);
  const verdict = compileEvaluator(tree.policySet, inventory.inventory).evaluate(resolved.flow);
  if (format === 'json') {
    await io.out.write(
      `${JSON.stringify(
        {
          flow: record,
          src: describeEndpoint(resolved.flow.src),
          dst: describeEndpoint(resolved.flow.dst),
          ...(notes.length > 0 ? { notes } : {}),
          ...verdict,
          wouldDeny: verdict.verdict === 'allow' && verdict.asIfEnforced === 'deny',
        },
        null,
        2,
      )}\n`,
    );
  } else {
    await io.out.write(
      explainText(record, resolved.flow.src, resolved.flow.dst, verdict, options.policies, notes),
    );
  }
  return EXIT_OK;
}
