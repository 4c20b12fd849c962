// Test helper: policies written as YAML strings, loaded (and validated) by the real `loadPolicySet`.
import { loadPolicySet } from '../load.js';
import { formatDiagnostic, type PolicyFile, type PolicySet } from '../model.js';

/** `files` maps a tree path to YAML text; a bare string is one file `policies.yaml`. Throws on invalid input. */
export function loadPolicies(files: Record<string, string> | string): PolicySet {
  const list: PolicyFile[] = Object.entries(
    typeof files === 'string' ? { 'policies.yaml': files } : files,
  ).map(([path, content]) => ({ path, content }));
  const result = loadPolicySet(list);
  if (!result.ok) throw new Error(result.errors.map(formatDiagnostic).join('\n'));
  return result.policySet;
}
