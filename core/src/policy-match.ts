// Whether a compiled rule matches a flow at one enforcement point: peers (pods, ip blocks, FQDNs)
// and ports.

import { cidrContains, parseIp } from './cidr.js';
import type { Endpoint, Pod } from './inventory-model.js';
import type { Direction, IpBlock, Protocol } from './model.js';
import { compileIpBlock, v4Number } from './policy-compile.js';
import type {
  CompiledIpBlock,
  CompiledPeers,
  CompiledPodPeer,
  CompiledPort,
  CompiledRule,
} from './policy-compiled.js';

/** A parsed address; IPv4 also as a uint32 for the fast path. */
export interface ParsedIp {
  ip: NonNullable<ReturnType<typeof parseIp>>;
  v4?: number;
}

export function toParsedIp(text: string): ParsedIp | undefined {
  const ip = parseIp(text);
  if (!ip) return undefined;
  return ip.kind() === 'ipv4' ? { ip, v4: v4Number(ip.toByteArray()) } : { ip };
}

/**
 * The test evaluation applies for an ip block (inside `cidr`, outside every `except`), as a
 * predicate for other checks (lint); undefined when the CIDR is malformed.
 */
export function ipBlockMatcher(block: IpBlock): ((addr: ParsedIp) => boolean) | undefined {
  const compiled = compileIpBlock(block);
  return compiled && ((addr) => blockContains(compiled, addr));
}

export function blockContains(block: CompiledIpBlock, addr: ParsedIp): boolean {
  if (addr.v4 !== undefined) {
    const r = block.v4;
    if (!r) return false; // an IPv6 block never holds an IPv4 address
    const n = addr.v4;
    if (n < r.start || n > r.end) return false;
    for (let i = 0; i < r.except.length; i++) {
      const [start, end] = r.except[i]!;
      if (n >= start && n <= end) return false;
    }
    return true;
  }
  return cidrContains(block.cidr, addr.ip) && !block.except.some((e) => cidrContains(e, addr.ip));
}

/** True when `pod` is one of the pods a selector peer matches (the one matcher, also for nft sets). */
export function podPeerMatches(peer: CompiledPodPeer, pod: Pod): boolean {
  if (peer.namespace !== undefined && pod.namespace !== peer.namespace) return false;
  if (peer.namespaceSelector && !peer.namespaceSelector(pod.namespaceLabels)) return false;
  if (peer.podSelector && !peer.podSelector(pod.labels)) return false;
  return true;
}

/** What a point needs to know about the flow, prepared once per evaluation. */
export interface PointContext {
  direction: Direction;
  subject: Pod;
  peer: Endpoint;
  /** Parsed addresses of an endpoint (the flow's address, else every address it has); shared, cached. */
  ipsOf: (endpoint: Endpoint) => ParsedIp[];
  dst: Endpoint;
  protocol: Protocol;
  port: number;
  serverName: string | undefined;
}

function peersMatch(peers: CompiledPeers, ctx: PointContext): boolean {
  const peer = ctx.peer;
  // Indexed loops: this runs for every rule a walk tries, and iterator objects would be garbage.
  if (peer.kind === 'pod') {
    const pods = peers.pods;
    for (let i = 0; i < pods.length; i++) if (podPeerMatches(pods[i]!, peer.pod)) return true;
  }
  if (peers.ipBlocks.length > 0 && (peer.kind === 'world' || peers.ipBlocksMatchClusterAddresses)) {
    const ips = ctx.ipsOf(peer);
    const blocks = peers.ipBlocks;
    for (let b = 0; b < blocks.length; b++)
      for (let i = 0; i < ips.length; i++) if (blockContains(blocks[b]!, ips[i]!)) return true;
  }
  if (peers.nodes !== undefined && peers.nodes.length > 0 && peer.kind === 'node') {
    const labels = peer.node.labels ?? {};
    for (const n of peers.nodes) if (n(labels)) return true;
  }
  if (
    peers.fqdns.length > 0 &&
    ctx.direction === 'egress' &&
    peer.kind === 'world' &&
    (peers.fqdnsOnAnyPort === true || (ctx.protocol === 'TCP' && ctx.port === 443)) &&
    ctx.serverName !== undefined
  ) {
    const name = ctx.serverName;
    if (peers.fqdns.some((f) => f(name))) return true;
  }
  return false;
}

function portsMatch(ports: CompiledPort[], ctx: PointContext): boolean {
  for (let i = 0; i < ports.length; i++) {
    const p = ports[i]!;
    if (p.protocol !== ctx.protocol) continue;
    if (p.name !== undefined) {
      const dst = ctx.dst;
      if (dst.kind !== 'pod') continue;
      const named = dst.pod.ports;
      for (let k = 0; k < named.length; k++) {
        const c = named[k]!;
        if (c.name === p.name && c.protocol === ctx.protocol && c.containerPort === ctx.port) return true;
      }
      continue;
    }
    if (p.port === undefined) return true;
    if (ctx.port >= p.port && ctx.port <= (p.endPort ?? p.port)) return true;
  }
  return false;
}

/** The first rule of `rules` whose peer and port match: the policy's hit. */
export function firstMatchingRule(
  rules: readonly CompiledRule[],
  ctx: PointContext,
): CompiledRule | undefined {
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i]!;
    if (rule.ports && !portsMatch(rule.ports, ctx)) continue;
    if (rule.peers && !peersMatch(rule.peers, ctx)) continue;
    return rule;
  }
  return undefined;
}
