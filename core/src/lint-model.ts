// Lint findings (issue 4): advice about a valid policy tree, each pointing at file:line with a fix.

export type LintSeverity = 'error' | 'warning' | 'info';

export interface LintFinding {
  severity: LintSeverity;
  /** Stable rule id, e.g. `shadowed-rule`, `selector-matches-nothing`, `missing-dns-egress`. */
  rule: string;
  /** `Kind/namespace/name` of the object concerned, when there is one. */
  object?: string;
  file: string;
  line: number;
  message: string;
  /** One line telling the user how to fix it. */
  hint: string;
}

/** Identity of a finding across two revisions (lines move; rule, object and message do not). */
export function lintFindingKey(f: LintFinding): string {
  return `${f.rule}|${f.object ?? ''}|${f.message}`;
}

/**
 * How often each rule decided a flow in a window, keyed by `ruleHitKey`. Evaluation produces it,
 * lint's stale-rule check and the reports read it.
 */
export type RuleHitCounts = ReadonlyMap<string, number>;

/**
 * Why a window's rule hits cannot support "no observed flow hit this rule" (`stale-rule`), or
 * undefined when they can: a rule is only stale over traffic that was looked at, so an empty window
 * or one whose records mostly did not resolve against the inventory (pods renamed, another
 * cluster's flows) claims nothing.
 */
export function staleRuleWindowProblem(window: { records: number; unresolved: number }): string | undefined {
  if (window.records === 0) return 'the flow window is empty';
  const resolved = window.records - window.unresolved;
  if (2 * resolved < window.records)
    return `only ${resolved} of ${window.records} flow records resolved against the inventory`;
  return undefined;
}

export function ruleHitKey(object: string, direction: 'ingress' | 'egress', rule: number): string {
  return `${object}#${direction}[${rule}]`;
}

/** The object a `ruleHitKey` names (object ids hold no `#`). */
export function ruleHitObject(key: string): string {
  return key.slice(0, key.lastIndexOf('#'));
}
