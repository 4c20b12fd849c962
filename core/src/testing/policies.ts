// Test helper: policies written as YAML strings. Uses the real `loadPolicySet` from `../load.js`
// when it is exported; until that module lands, a small private loader with the same output shape
// (objects with `source` and per-pointer `lines`, namespace from metadata or the folder) stands in.
// It does no validation: tests that need validation belong to load.ts.
import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Node as YamlNode } from 'yaml';
import * as load from '../load.js';
import type { PolicyFile, PolicyObject, PolicySet } from '../model.js';

type LoadFn = (
  files: PolicyFile[],
) =>
  | { ok: true; policySet: PolicySet }
  | { ok: false; errors: Array<{ file: string; line: number; message: string }> };

const realLoad = (load as unknown as { loadPolicySet?: LoadFn }).loadPolicySet;

/** `files` maps a tree path to YAML text; a bare string is one file `policies.yaml`. */
export function loadPolicies(files: Record<string, string> | string): PolicySet {
  const list: PolicyFile[] = Object.entries(
    typeof files === 'string' ? { 'policies.yaml': files } : files,
  ).map(([path, content]) => ({ path, content }));
  if (realLoad) {
    const result = realLoad(list);
    if (!result.ok) throw new Error(result.errors.map((e) => `${e.file}:${e.line}: ${e.message}`).join('\n'));
    return result.policySet;
  }
  return privateLoad(list);
}

const KINDS = new Set(['NyxClusterConfig', 'NyxClusterNetworkPolicy', 'NyxNetworkPolicy', 'NetworkPolicy']);

function privateLoad(files: PolicyFile[]): PolicySet {
  const objects: PolicyObject[] = [];
  const set: PolicySet = { objects, ignored: [] };
  for (const file of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    const lineCounter = new LineCounter();
    const docs = parseAllDocuments(file.content, { lineCounter });
    if (!Array.isArray(docs)) continue;
    for (const doc of docs) {
      if (doc.errors.length > 0) throw new Error(`${file.path}: ${doc.errors[0]?.message}`);
      const value = doc.toJS() as Record<string, unknown> | null;
      if (!value || typeof value !== 'object') continue;
      const lines: Record<string, number> = {};
      const walk = (node: unknown, pointer: string): void => {
        const n = node as YamlNode | null;
        if (n?.range) lines[pointer] = lineCounter.linePos(n.range[0]).line;
        if (isMap(n)) {
          for (const pair of n.items) {
            const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
            walk(pair.value, `${pointer}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`);
          }
        } else if (isSeq(n)) {
          n.items.forEach((item, i) => {
            walk(item, `${pointer}/${i}`);
          });
        }
      };
      walk(doc.contents, '');
      const line = lines['/apiVersion'] ?? lines[''] ?? 1;
      const kind = String(value.kind);
      if (!KINDS.has(kind)) {
        set.ignored.push({ source: { file: file.path, line }, apiVersion: String(value.apiVersion), kind });
        continue;
      }
      const metadata = (value.metadata ?? {}) as { name: string; namespace?: string };
      const folder = /^namespaces\/([^/]+)\//.exec(file.path)?.[1];
      const base = {
        apiVersion: String(value.apiVersion),
        kind,
        metadata,
        spec: value.spec ?? {},
        source: { file: file.path, line },
        lines,
      };
      const object = (
        kind === 'NyxClusterConfig' || kind === 'NyxClusterNetworkPolicy'
          ? base
          : { ...base, namespace: metadata.namespace ?? folder ?? 'default' }
      ) as PolicyObject;
      objects.push(object);
      if (object.kind === 'NyxClusterConfig') set.config = object;
    }
  }
  return set;
}
