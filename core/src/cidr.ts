// CIDR parsing and matching through ipaddr.js: one place for address math.
import ipaddr from 'ipaddr.js';

export interface Cidr {
  text: string;
  range: [ipaddr.IPv4 | ipaddr.IPv6, number];
  family: 'ipv4' | 'ipv6';
  prefixLength: number;
}

// Trees repeat the same few CIDRs (0.0.0.0/0, 10.0.0.0/8, …), lint compares them pairwise and
// ipaddr.js parses IPv4 through a thrown IPv6 attempt: the one cache of parsed CIDRs (bounded;
// `Cidr` values are shared, never mutated).
const parsedCidrs = new Map<string, Cidr | undefined>();
const PARSED_CIDRS_MAX = 10_000;

/** Parses `a.b.c.d/n` or `x::/n`; undefined when malformed. Host bits set are accepted, as upstream does. */
export function parseCidr(text: string): Cidr | undefined {
  if (parsedCidrs.has(text)) return parsedCidrs.get(text);
  let cidr: Cidr | undefined;
  try {
    const range = ipaddr.parseCIDR(text);
    cidr = { text, range, family: range[0].kind(), prefixLength: range[1] };
  } catch {
    cidr = undefined;
  }
  if (parsedCidrs.size >= PARSED_CIDRS_MAX) parsedCidrs.clear();
  parsedCidrs.set(text, cidr);
  return cidr;
}

export function parseIp(text: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  if (!ipaddr.isValid(text)) return undefined;
  const ip = ipaddr.parse(text);
  // IPv4-mapped IPv6 (::ffff:a.b.c.d) is the IPv4 address, as the kernel treats it.
  return ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress()
    ? (ip as ipaddr.IPv6).toIPv4Address()
    : ip;
}

export function isIp(text: string): boolean {
  return ipaddr.isValid(text);
}

export function cidrContains(cidr: Cidr, ip: ipaddr.IPv4 | ipaddr.IPv6): boolean {
  return ip.kind() === cidr.family && ip.match(cidr.range);
}

/** True when every address of `inner` is in `outer`. */
export function cidrCovers(outer: Cidr, inner: Cidr): boolean {
  return (
    outer.family === inner.family &&
    inner.prefixLength >= outer.prefixLength &&
    cidrContains(outer, inner.range[0])
  );
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return cidrCovers(a, b) || cidrCovers(b, a);
}

/** `cidr` as its network address and prefix (`10.1.2.3/8` → `10.0.0.0/8`), the form nftables takes. */
export function cidrNetworkText(cidr: Cidr): string {
  const network =
    cidr.family === 'ipv4'
      ? ipaddr.IPv4.networkAddressFromCIDR(cidr.text)
      : ipaddr.IPv6.networkAddressFromCIDR(cidr.text);
  return `${network.toString()}/${cidr.prefixLength}`;
}
