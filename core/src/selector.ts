// The one label-selector matcher. Selectors are compiled once into predicates; evaluation, lint and
// the nftables compiler all match through here.
import type { LabelSelector } from './model.js';

export type Labels = Readonly<Record<string, string>>;
export type LabelPredicate = (labels: Labels) => boolean;

const matchAll: LabelPredicate = () => true;

/** `{}` (and a selector with no terms) selects everything, as in Kubernetes. */
export function compileSelector(selector: LabelSelector): LabelPredicate {
  const tests: LabelPredicate[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    tests.push((labels) => labels[key] === value);
  }
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    const set = new Set(values);
    switch (operator) {
      case 'In':
        tests.push((labels) => key in labels && set.has(labels[key]!));
        break;
      case 'NotIn':
        tests.push((labels) => !(key in labels) || !set.has(labels[key]!));
        break;
      case 'Exists':
        tests.push((labels) => key in labels);
        break;
      case 'DoesNotExist':
        tests.push((labels) => !(key in labels));
        break;
    }
  }
  if (tests.length === 0) return matchAll;
  if (tests.length === 1) return tests[0]!;
  // A loop, not `every` with a callback: this runs for every selector a walk tries.
  return (labels) => {
    for (let i = 0; i < tests.length; i++) if (!tests[i]!(labels)) return false;
    return true;
  };
}

/** Label keys a selector reads, for indexing policies by the keys their selectors use. */
export function selectorKeys(selector: LabelSelector): string[] {
  return [...Object.keys(selector.matchLabels ?? {}), ...(selector.matchExpressions ?? []).map((e) => e.key)];
}

export function selectsEverything(selector: LabelSelector): boolean {
  return selectorKeys(selector).length === 0;
}

/**
 * A label set the selector selects: its `matchLabels`, the first value of each `In`, `filler` for
 * each `Exists` (`NotIn` and `DoesNotExist` hold for absent labels). For stand-in pods and namespaces.
 */
export function labelsSelectedBy(selector: LabelSelector, filler: string): Record<string, string> {
  const labels: Record<string, string> = { ...(selector.matchLabels ?? {}) };
  for (const e of selector.matchExpressions ?? []) {
    if (e.operator === 'In' && e.values?.[0] !== undefined) labels[e.key] = e.values[0];
    if (e.operator === 'Exists') labels[e.key] = filler;
  }
  return labels;
}

// Label syntax as the API server checks it (k8s.io/apimachinery validation).
const NAME = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function labelKeyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) {
    return `label key "${key}": prefix must be a DNS subdomain`;
  }
  if (!NAME.test(name)) {
    return `label key "${key}": name must be 1-63 characters of [A-Za-z0-9-_.], starting and ending alphanumeric`;
  }
  return undefined;
}

export function labelValueProblem(value: string): string | undefined {
  if (value === '' || NAME.test(value)) return undefined;
  return `label value "${value}" must be at most 63 characters of [A-Za-z0-9-_.], starting and ending alphanumeric`;
}

/** Problems of one selector, each with the JSON-pointer suffix it concerns (relative to the selector). */
export function selectorProblems(selector: LabelSelector): Array<{ path: string; message: string }> {
  const problems: Array<{ path: string; message: string }> = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    const p = labelKeyProblem(key) ?? labelValueProblem(String(value));
    if (p) problems.push({ path: `/matchLabels/${escapePointer(key)}`, message: p });
  }
  (selector.matchExpressions ?? []).forEach((e, i) => {
    const path = `/matchExpressions/${i}`;
    const keyProblem = labelKeyProblem(e.key);
    if (keyProblem) problems.push({ path, message: keyProblem });
    const values = e.values ?? [];
    if ((e.operator === 'In' || e.operator === 'NotIn') && values.length === 0) {
      problems.push({ path, message: `operator ${e.operator} needs a non-empty values list` });
    }
    if ((e.operator === 'Exists' || e.operator === 'DoesNotExist') && values.length > 0) {
      problems.push({ path, message: `operator ${e.operator} takes no values` });
    }
    for (const v of values) {
      const vp = labelValueProblem(v);
      if (vp) problems.push({ path, message: vp });
    }
  });
  return problems;
}

export function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}
