// The one object change set: what was added, removed and changed between two collections of objects
// keyed by id (for policy objects, `objectId`). The reconciler plans its apply and prune with it;
// ownership (`changedObjects`), the evaluator's reuse and `lintChange` read "what changed" here too.

import type { PolicyObject } from './model.js';

/** Ids of objects added, removed and changed from `before` to `after`, each list sorted. */
export interface ObjectChangeSet {
  added: string[];
  removed: string[];
  changed: string[];
  /** Ids present on both sides with the same content. */
  unchanged: string[];
}

/**
 * Compares two id → object maps. `same(before, after)` decides whether an object present on both
 * sides is unchanged (default: equal JSON with object keys sorted).
 */
export function diffObjects<B, A = B>(
  before: ReadonlyMap<string, B>,
  after: ReadonlyMap<string, A>,
  same: (before: B, after: A) => boolean = (b, a) => stableJson(b) === stableJson(a),
): ObjectChangeSet {
  const set: ObjectChangeSet = { added: [], removed: [], changed: [], unchanged: [] };
  for (const [id, a] of after) {
    if (!before.has(id)) set.added.push(id);
    else if (same(before.get(id) as B, a)) set.unchanged.push(id);
    else set.changed.push(id);
  }
  for (const id of before.keys()) if (!after.has(id)) set.removed.push(id);
  for (const list of [set.added, set.removed, set.changed, set.unchanged]) list.sort(compareIds);
  return set;
}

/** True when the change set has nothing added, removed or changed. */
export function isEmptyChangeSet(set: ObjectChangeSet): boolean {
  return set.added.length === 0 && set.removed.length === 0 && set.changed.length === 0;
}

/** JSON with object keys sorted, so two objects that differ only in key order give the same text. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)),
        )
      : v,
  );
}

const objectTexts = new WeakMap<PolicyObject, string>();

/**
 * Everything an object is (kind, metadata, spec, source file and lines) as one string, cached per
 * object: two objects with the same text compile to the same policy with the same reasons and get
 * the same per-object lint findings. Compares objects across two loads of a tree (base and head),
 * where `samePolicyContent` would miss a move in the file (reasons carry file:line).
 */
export function objectText(o: PolicyObject): string {
  let text = objectTexts.get(o);
  if (text === undefined) {
    text = JSON.stringify(o);
    objectTexts.set(o, text);
  }
  return text;
}

/**
 * Whether two versions of a policy object say the same (apiVersion, metadata and spec, key order
 * ignored): what a reviewer and the cluster see, wherever in the tree it is written.
 */
export function samePolicyContent(a: PolicyObject, b: PolicyObject): boolean {
  return (
    a.apiVersion === b.apiVersion &&
    stableJson(a.metadata) === stableJson(b.metadata) &&
    stableJson(a.spec) === stableJson(b.spec)
  );
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
