// Reuse across two revisions of a tree: which policies changed, and whether a pod's plan can hold one.

import { diffObjects, objectText } from './diff.js';
import type { Pod } from './inventory-model.js';
import type { Direction } from './model.js';
import type { CompiledPolicy, CompiledPolicySet } from './policy-compiled.js';

/** The config as the walk reads it: default modes, enforcement, source, excluded namespaces. */
export function sameConfig(a: CompiledPolicySet, b: CompiledPolicySet): boolean {
  return (
    a.defaultMode.effective === b.defaultMode.effective &&
    a.defaultMode.asIfEnforced === b.defaultMode.asIfEnforced &&
    a.configEnforced === b.configEnforced &&
    a.configId === b.configId &&
    a.configSource === b.configSource &&
    a.excludedNamespaces.size === b.excludedNamespaces.size &&
    [...a.excludedNamespaces].every((ns) => b.excludedNamespaces.has(ns))
  );
}

/** Both sets hold the same upstream admin policies (reuse is per-point otherwise; SPEC 9 keeps it simple). */
export function sameAdminTiers(a: CompiledPolicySet, b: CompiledPolicySet): boolean {
  const texts = (c: CompiledPolicySet) =>
    [...c.adminTiers.admin, ...c.adminTiers.baseline].map((p) => objectText(p.object)).join('\n');
  return a.adminTiers === b.adminTiers || texts(a) === texts(b);
}

/**
 * The policies of either set whose id is missing from the other set or whose object differs: both
 * versions of a changed policy, the added ones and the removed ones.
 */
export function changedPolicies(a: CompiledPolicySet, b: CompiledPolicySet): CompiledPolicy[] {
  // Ids are unique within a set (the loader refuses duplicates).
  const set = diffObjects(
    new Map(a.policies.map((p) => [p.id, p.object])),
    new Map(b.policies.map((p) => [p.id, p.object])),
    (x, y) => objectText(x) === objectText(y),
  );
  const changed = new Set([...set.added, ...set.removed, ...set.changed]);
  const differs = (p: CompiledPolicy) => changed.has(p.id);
  return [...a.policies.filter(differs), ...b.policies.filter(differs)];
}

/**
 * Whether `p` can be in a pod's plan for `direction`: it selects the pod (as `planFor` filters) and
 * has rules for that direction or isolates it.
 */
export function inPlanOf(p: CompiledPolicy, pod: Pod, direction: Direction): boolean {
  if ((p.rules[direction]?.length ?? 0) === 0 && !p.isolates[direction]) return false;
  if (p.namespace !== undefined ? p.namespace !== pod.namespace : !p.namespaceSelector(pod.namespaceLabels))
    return false;
  return p.podSelector(pod.labels);
}
