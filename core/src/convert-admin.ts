// SPEC 9.6: AdminNetworkPolicy / BaselineAdminNetworkPolicy (v1alpha1) rewritten as
// ClusterNetworkPolicy (v1alpha2), and the proof: verdicts of given flows before and after.
// Pure: the CLI reads and writes the files.
import { compileEvaluator } from './evaluate.js';
import type { ResolvedFlow } from './flow-model.js';
import type { Inventory } from './inventory-model.js';
import {
  type AdminPortV1alpha1,
  type AdminProtocolV1alpha2,
  type AdminRule,
  CNP_API_VERSION,
  type Diagnostic,
  type PolicyObject,
  type PolicySet,
  type UpstreamAdminPolicy,
} from './model.js';
import type { FlowVerdict } from './verdict-model.js';

/** One rewritten object: the manifest to write in place of the v1alpha1 one. */
export interface ConvertedObject {
  from: UpstreamAdminPolicy;
  manifest: Record<string, unknown>;
}

export type ConversionResult =
  | { ok: true; converted: ConvertedObject[]; policySet: PolicySet }
  | { ok: false; errors: Diagnostic[] };

function protocolsOf(ports: readonly AdminPortV1alpha1[]): AdminProtocolV1alpha2[] {
  return ports.map((p): AdminProtocolV1alpha2 => {
    if (p.namedPort !== undefined) return { destinationNamedPort: p.namedPort };
    const key = (protocol: string | undefined) => (protocol ?? 'TCP').toLowerCase() as 'tcp' | 'udp' | 'sctp';
    if (p.portNumber)
      return { [key(p.portNumber.protocol)]: { destinationPort: { number: p.portNumber.port } } };
    const r = p.portRange!;
    // v1alpha2 ranges need start < end: a one-port range is a number.
    const destinationPort = r.start < r.end ? { range: { start: r.start, end: r.end } } : { number: r.start };
    return { [key(r.protocol)]: { destinationPort } };
  });
}

function ruleOf(rule: AdminRule): AdminRule {
  const { ports, ...rest } = rule;
  return {
    ...rest,
    action: rule.action === 'Allow' ? 'Accept' : rule.action,
    ...(ports && ports.length > 0 ? { protocols: protocolsOf(ports) } : {}),
  };
}

/**
 * The v1alpha1 objects of `policySet` as ClusterNetworkPolicy: Allow → Accept, ports → protocols, an
 * AdminNetworkPolicy → tier Admin at its priority, the BaselineAdminNetworkPolicy → tier Baseline
 * after every Baseline ClusterNetworkPolicy (priority one above the highest, 0 when none). Refused
 * where the order cannot be kept: a v1alpha2 object of the same tier at the same priority, the
 * Baseline tier already at 1000, or a ClusterNetworkPolicy of the same name.
 */
export function convertToV1alpha2(policySet: PolicySet): ConversionResult {
  const cnps = policySet.objects.filter((o) => o.kind === 'ClusterNetworkPolicy');
  const errors: Diagnostic[] = [];
  const converted: ConvertedObject[] = [];
  const baselinePriorities = cnps.filter((o) => o.spec.tier === 'Baseline').map((o) => o.spec.priority ?? 0);
  const banpPriority = baselinePriorities.length === 0 ? 0 : Math.max(...baselinePriorities) + 1;
  for (const o of policySet.objects) {
    if (o.kind !== 'AdminNetworkPolicy' && o.kind !== 'BaselineAdminNetworkPolicy') continue;
    const tier = o.kind === 'AdminNetworkPolicy' ? 'Admin' : 'Baseline';
    const priority = o.kind === 'AdminNetworkPolicy' ? o.spec.priority! : banpPriority;
    const name = o.metadata.name;
    const at = (message: string) => errors.push({ ...o.source, message });
    if (cnps.some((c) => c.metadata.name === name)) {
      at(`${o.kind} ${JSON.stringify(name)}: a ClusterNetworkPolicy of that name exists; rename one first`);
      continue;
    }
    const clash = cnps.find((c) => c.spec.tier === tier && c.spec.priority === priority);
    if (clash) {
      at(
        `${o.kind} ${JSON.stringify(name)}: ClusterNetworkPolicy ${JSON.stringify(clash.metadata.name)} has priority ${priority} in tier ${tier} too; converted, the two would have no defined order: give one of them a free priority first`,
      );
      continue;
    }
    if (priority > 1000) {
      at(
        `BaselineAdminNetworkPolicy "default": the Baseline tier has a ClusterNetworkPolicy at priority 1000, so nothing can come after it`,
      );
      continue;
    }
    const {
      uid: _u,
      resourceVersion: _r,
      generation: _g,
      creationTimestamp: _c,
      managedFields: _m,
      ...metadata
    } = o.metadata as unknown as Record<string, unknown>;
    const spec = {
      tier,
      priority,
      subject: o.spec.subject,
      ...(o.spec.ingress ? { ingress: o.spec.ingress.map(ruleOf) } : {}),
      ...(o.spec.egress ? { egress: o.spec.egress.map(ruleOf) } : {}),
    };
    converted.push({
      from: o,
      manifest: { apiVersion: CNP_API_VERSION, kind: 'ClusterNetworkPolicy', metadata, spec },
    });
  }
  if (errors.length > 0) return { ok: false, errors };
  const replaced = new Map<PolicyObject, PolicyObject>(
    converted.map((c) => [
      c.from,
      {
        ...c.from,
        apiVersion: CNP_API_VERSION,
        kind: 'ClusterNetworkPolicy',
        spec: c.manifest.spec,
      } as PolicyObject,
    ]),
  );
  const objects = policySet.objects.map((o) => replaced.get(o) ?? o);
  return { ok: true, converted, policySet: { ...policySet, objects } };
}

/** A flow whose verdicts differ before and after, with both verdicts (their reasons say why). */
export interface ConversionDifference {
  flow: ResolvedFlow;
  before: FlowVerdict;
  after: FlowVerdict;
}

/** The proof of SPEC 9.6: every flow whose effective or as-if-enforced verdict differs. */
export function conversionDifferences(
  before: PolicySet,
  after: PolicySet,
  inventory: Inventory,
  flows: Iterable<ResolvedFlow>,
): ConversionDifference[] {
  const a = compileEvaluator(before, inventory);
  const b = compileEvaluator(after, inventory);
  const out: ConversionDifference[] = [];
  for (const flow of flows) {
    const x = a.evaluate(flow);
    const y = b.evaluate(flow);
    if (x.verdict !== y.verdict || x.asIfEnforced !== y.asIfEnforced) out.push({ flow, before: x, after: y });
  }
  return out;
}
