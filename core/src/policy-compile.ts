// Compiling a policy set once: Nyx and upstream policies into `CompiledPolicy`, in a stable order.

import { compileAdminTiers } from './admin-tiers.js';
import { type Cidr, parseCidr } from './cidr.js';
import { compileFqdnMatch } from './fqdn.js';
import {
  type Direction,
  type FqdnMatch,
  type IpBlock,
  type LabelSelector,
  type NetworkPolicy,
  type NyxClusterNetworkPolicy,
  type NyxNetworkPolicy,
  objectId,
  type PolicyObject,
  type PolicySet,
  type Protocol,
} from './model.js';
import type {
  CompiledIpBlock,
  CompiledPodPeer,
  CompiledPolicy,
  CompiledPolicySet,
  CompiledPort,
  CompiledRule,
} from './policy-compiled.js';
import {
  isolatesDirection,
  listsDirection,
  nyxPeersOf,
  policyBand,
  priorityOf,
  rulesOf,
  upstreamPeersOf,
} from './policy-facts.js';
import { compileSelector, type LabelPredicate } from './selector.js';

export const DIRECTIONS: readonly Direction[] = ['ingress', 'egress'];
export const matchAll: LabelPredicate = () => true;

export function where(o: PolicyObject, pointer: string): string {
  return `${o.source.file}:${o.lines[pointer] ?? o.source.line}`;
}

export function compileIpBlock(block: IpBlock): CompiledIpBlock | undefined {
  const cidr = parseCidr(block.cidr);
  if (!cidr) return undefined; // the loader reports malformed CIDRs; an unparsable one matches nothing
  const except = (block.except ?? []).map(parseCidr).filter((c): c is Cidr => c !== undefined);
  const compiled: CompiledIpBlock = { text: block.cidr, cidr, except };
  if (cidr.family === 'ipv4') {
    compiled.v4 = {
      ...v4Range(cidr),
      except: except
        .filter((e) => e.family === 'ipv4')
        .map((e) => {
          const r = v4Range(e);
          return [r.start, r.end];
        }),
    };
  }
  return compiled;
}

export function v4Number(octets: readonly number[]): number {
  return ((octets[0]! << 24) >>> 0) + (octets[1]! << 16) + (octets[2]! << 8) + octets[3]!;
}

function v4Range(cidr: Cidr): { start: number; end: number } {
  const size = 2 ** (32 - cidr.prefixLength);
  const start = Math.floor(v4Number(cidr.range[0].toByteArray()) / size) * size;
  return { start, end: start + size - 1 };
}

function compilePorts(
  ports: Array<{ protocol?: Protocol; port?: number | string; endPort?: number }> | undefined,
) {
  // No `ports` (or an empty list) matches every port, as upstream does.
  if (!ports || ports.length === 0) return undefined;
  return ports.map((p): CompiledPort => {
    const protocol = p.protocol ?? 'TCP';
    if (p.port === undefined) return { protocol };
    if (typeof p.port === 'number' || /^[0-9]+$/.test(p.port)) {
      const port = Number(p.port);
      return { protocol, port, ...(p.endPort !== undefined ? { endPort: p.endPort } : {}) };
    }
    return { protocol, name: p.port };
  });
}

function compileSelectorPeer(
  peer: { namespaceSelector?: LabelSelector; podSelector?: LabelSelector },
  ownNamespace: string | undefined,
): CompiledPodPeer {
  // `podSelector` alone = pods of the policy's own namespace (namespaced kinds) or of any namespace
  // (cluster policies: ownNamespace undefined). A peer with neither selector is rejected by the
  // loader; here it reads as "every pod" of that same scope.
  // Every compiled object of one type has the same fields in the same order (absent ones as
  // undefined), so the hot matching loops see one shape.
  const compiled: CompiledPodPeer = {
    namespace: peer.namespaceSelector ? undefined : ownNamespace,
    namespaceSelector: peer.namespaceSelector ? compileSelector(peer.namespaceSelector) : undefined,
    podSelector: peer.podSelector ? compileSelector(peer.podSelector) : undefined,
    selectors: {
      ...(peer.namespaceSelector ? { namespaceSelector: peer.namespaceSelector } : {}),
      ...(peer.podSelector ? { podSelector: peer.podSelector } : {}),
    },
  };
  return compiled;
}

function compileNyxRule(
  o: NyxNetworkPolicy | NyxClusterNetworkPolicy,
  direction: Direction,
  rule: {
    decision: 'Allow' | 'Deny';
    ports?: Array<{ protocol?: Protocol; port?: number | string; endPort?: number }>;
    to?: Array<{ namespaceSelector?: LabelSelector; podSelector?: LabelSelector }>;
    from?: Array<{ namespaceSelector?: LabelSelector; podSelector?: LabelSelector }>;
    toIpBlock?: IpBlock;
    fromIpBlock?: IpBlock;
    toFqdn?: FqdnMatch[];
  },
  index: number,
): CompiledRule {
  const ownNamespace = o.kind === 'NyxNetworkPolicy' ? o.namespace : undefined;
  const { selectors, ipBlock: block, fqdn } = nyxPeersOf(rule, direction);
  const hasPeerField = selectors !== undefined || block !== undefined || fqdn !== undefined;
  const compiledBlock = block ? compileIpBlock(block) : undefined;
  const ports = compilePorts(rule.ports);
  return {
    index,
    decision: rule.decision === 'Deny' ? 'deny' : 'allow',
    peers: hasPeerField
      ? {
          pods: (selectors ?? []).map((p) => compileSelectorPeer(p, ownNamespace)),
          ipBlocks: compiledBlock ? [compiledBlock] : [],
          ipBlocksMatchClusterAddresses: false,
          fqdns: (fqdn ?? []).map(compileFqdnMatch),
          fqdnMatches: fqdn ?? [],
        }
      : undefined,
    ports,
    source: where(o, `/spec/${direction}/${index}`),
  };
}

function compileNyx(o: NyxNetworkPolicy | NyxClusterNetworkPolicy): CompiledPolicy {
  const spec = o.spec;
  const rules = {} as Record<Direction, CompiledRule[] | undefined>;
  for (const d of DIRECTIONS) {
    // Rules of a direction that `policyTypes` does not list are ignored (lint warns about them).
    const list = spec[d];
    rules[d] = listsDirection(o, d) && list ? list.map((r, i) => compileNyxRule(o, d, r, i)) : undefined;
  }
  const isNamespaced = o.kind === 'NyxNetworkPolicy';
  const isolates = { ingress: isolatesDirection(o, 'ingress'), egress: isolatesDirection(o, 'egress') };
  return {
    id: objectId(o),
    object: o,
    band: policyBand(o),
    priority: priorityOf(o),
    enforced: (spec.enforcement ?? 'enforce') === 'enforce',
    namespace: isNamespaced ? o.namespace : undefined,
    namespaceSelector:
      o.kind === 'NyxClusterNetworkPolicy' && o.spec.namespaceSelector
        ? compileSelector(o.spec.namespaceSelector)
        : matchAll,
    podSelector: spec.podSelector ? compileSelector(spec.podSelector) : matchAll,
    selectors: {
      ...(o.kind === 'NyxClusterNetworkPolicy' && o.spec.namespaceSelector
        ? { namespaceSelector: o.spec.namespaceSelector }
        : {}),
      ...(spec.podSelector ? { podSelector: spec.podSelector } : {}),
    },
    rules,
    isolates,
    source: where(o, ''),
  };
}

function compileNetworkPolicy(o: NetworkPolicy): CompiledPolicy {
  const spec = o.spec;
  const isolates = { ingress: isolatesDirection(o, 'ingress'), egress: isolatesDirection(o, 'egress') };
  const rules = {} as Record<Direction, CompiledRule[] | undefined>;
  for (const d of DIRECTIONS) {
    if (!isolates[d]) {
      rules[d] = undefined;
      continue;
    }
    const list = rulesOf(o, d) ?? [];
    rules[d] = list.map((r, index): CompiledRule => {
      const peers = upstreamPeersOf(r, d);
      const ports = compilePorts((r as { ports?: Parameters<typeof compilePorts>[0] }).ports);
      const compiled: CompiledRule = {
        index,
        decision: 'allow',
        peers: undefined,
        ports,
        source: where(o, `/spec/${d}/${index}`),
      };
      // An absent or empty peer list matches every peer (upstream).
      if (peers && peers.length > 0) {
        const pods: CompiledPodPeer[] = [];
        const ipBlocks: CompiledIpBlock[] = [];
        for (const p of peers) {
          if (p.ipBlock) {
            const b = compileIpBlock(p.ipBlock);
            if (b) ipBlocks.push(b);
          } else {
            pods.push(compileSelectorPeer(p, o.namespace));
          }
        }
        compiled.peers = { pods, ipBlocks, ipBlocksMatchClusterAddresses: true, fqdns: [], fqdnMatches: [] };
      }
      return compiled;
    });
  }
  return {
    id: objectId(o),
    object: o,
    band: 'networkpolicy',
    priority: 0,
    enforced: true,
    namespace: o.namespace,
    namespaceSelector: matchAll,
    podSelector: compileSelector(spec.podSelector ?? {}),
    selectors: { podSelector: spec.podSelector ?? {} },
    rules,
    isolates,
    source: where(o, ''),
  };
}

/** Compiles a policy set once: selectors into predicates, CIDRs parsed, rules into lists. */
// A policy compiles from its object alone: two sets holding one object (the revisions of a change
// share the objects of the files it left alone, see `LoadOptions.sameAs`) share its compiled form.
const compiledPolicies = new WeakMap<PolicyObject, CompiledPolicy>();

function compilePolicy(o: NyxNetworkPolicy | NyxClusterNetworkPolicy | NetworkPolicy): CompiledPolicy {
  let compiled = compiledPolicies.get(o);
  if (!compiled) {
    compiled = o.kind === 'NetworkPolicy' ? compileNetworkPolicy(o) : compileNyx(o);
    compiledPolicies.set(o, compiled);
  }
  return compiled;
}

export function compilePolicySet(policySet: PolicySet): CompiledPolicySet {
  const policies: CompiledPolicy[] = [];
  for (const o of policySet.objects) {
    if (o.kind === 'NyxNetworkPolicy' || o.kind === 'NyxClusterNetworkPolicy' || o.kind === 'NetworkPolicy')
      policies.push(compilePolicy(o));
  }
  // Stable order independent of file order: priority, then namespace/name the per-pod plan splits it by band and keeps this order within each.
  policies.sort((a, b) => a.priority - b.priority || compareText(a.id, b.id));
  const config = policySet.config;
  const mode = config?.spec.defaultMode ?? 'allow';
  const configEnforced = (config?.spec.enforcement ?? 'enforce') === 'enforce';
  return {
    policies,
    excludedNamespaces: new Set(config?.spec.excludedNamespaces ?? []),
    // A NyxClusterConfig in audit behaves as `defaultMode: allow` for the effective verdict.
    defaultMode: { effective: configEnforced ? mode : 'allow', asIfEnforced: mode },
    ...(config ? { configId: objectId(config), configSource: where(config, '/spec/defaultMode') } : {}),
    configEnforced,
    adminTiers: compileAdminTiers(policySet),
  };
}

export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
