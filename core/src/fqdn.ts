// SPEC section 2: `toFqdn` name and pattern matching against a flow's server name (TLS SNI or the
// DNS name the address was resolved from). Names compare case-insensitively, a trailing dot ignored.
import type { FqdnMatch } from './model.js';

export type FqdnPredicate = (serverName: string) => boolean;

/** Lower-cases and drops one trailing dot (`API.Stripe.com.` → `api.stripe.com`). */
export function normalizeDnsName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

// `*` stands for one or more whole DNS labels' worth of characters: it never starts with a dot and
// never produces an empty label, so `*.example.com` matches `a.example.com` and `a.b.example.com`
// but not `example.com` nor `.example.com`.
const STAR = '[^.]+(?:\\.[^.]+)*';

function patternRegExp(pattern: string): RegExp {
  const body = normalizeDnsName(pattern)
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join(STAR);
  return new RegExp(`^${body}$`);
}

/** Compiles one `toFqdn` entry once; the predicate is what evaluation calls per flow. */
export function compileFqdnMatch(match: FqdnMatch): FqdnPredicate {
  const tests: FqdnPredicate[] = [];
  if (match.matchName !== undefined) {
    const name = normalizeDnsName(match.matchName);
    tests.push((serverName) => serverName === name);
  }
  if (match.matchPattern !== undefined) {
    const re = patternRegExp(match.matchPattern);
    tests.push((serverName) => re.test(serverName));
  }
  return (serverName) => {
    const name = normalizeDnsName(serverName);
    if (name === '' || name.startsWith('.')) return false;
    return tests.some((t) => t(name));
  };
}

/** True when `serverName` equals `matchName` or fits `matchPattern` (SPEC section 2). */
export function fqdnMatches(match: FqdnMatch, serverName: string): boolean {
  return compileFqdnMatch(match)(serverName);
}
