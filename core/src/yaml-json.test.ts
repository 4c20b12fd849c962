import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_YAML_LIMITS, parseYamlDocuments } from './yaml.js';
import { parseJsonStyleYaml } from './yaml-json.js';
import { parseWithYamlPackage } from './yaml-package.js';

const LIMITS = { ...DEFAULT_YAML_LIMITS };
const fast = (text: string) => parseJsonStyleYaml(text, LIMITS.maxDepth);
const full = (text: string) => parseWithYamlPackage('f.json', text, LIMITS);

/** The fast path either gives up or gives exactly what the `yaml` package gives (value and lines). */
function expectSameAsFullPath(text: string): boolean {
  const documents = fast(text);
  if (documents === undefined) return false;
  expect(full(text), JSON.stringify(text)).toStrictEqual({ ok: true, documents });
  return true;
}

const POLICY = {
  apiVersion: 'nyx.tracenyx.io/v1alpha1',
  kind: 'NyxNetworkPolicy',
  metadata: { name: 'payments', namespace: 'ns-338', labels: { app: 'web', 'a/b~c': 'x"y\\z' } },
  spec: {
    podSelector: { matchLabels: { 'app.kubernetes.io/name': 'payments' } },
    priority: 780,
    enforcement: 'enforce',
    policyTypes: ['Ingress', 'Egress'],
    ingress: [{ decision: 'Allow', from: [{ ipBlock: { cidr: '10.0.0.0/8' } }], ports: [{ port: 443 }] }],
    egress: [],
    extra: { empty: {}, yes: true, no: false, nothing: null, negative: -12, unicode: 'é✓\u2028' },
  },
};

describe('the JSON-style fast path', () => {
  it('reads a policy as `kubectl -o json` and generators write it, with the same lines as the yaml package', () => {
    for (const indent of [0, 2, 4]) {
      expect(expectSameAsFullPath(JSON.stringify(POLICY, null, indent))).toBe(true);
      expect(expectSameAsFullPath(`\n  ${JSON.stringify([POLICY, POLICY], null, indent)}\n\n`)).toBe(true);
      expect(expectSameAsFullPath(JSON.stringify(POLICY, null, indent).replaceAll('\n', '\r\n'))).toBe(true);
    }
  });

  it('gives up where YAML and JSON may differ, so the yaml package decides', () => {
    for (const text of [
      '{"a": 1, "a": 2}',
      '{"__proto__": {"x": 1}}',
      '{"a": 1.5}',
      '{"a": 1e3}',
      '{"a": -0}',
      '{"a": 12345678901234567}',
      '{"a": "\\ud800"}',
      '{\t"a": 1}',
      '{"a"\n: 1}',
      `{"${'k'.repeat(1001)}": 1}`,
      '{"a": 1} # comment',
      '{a: 1}',
      '{"a": 1,}',
      '{"a": [1 2]}',
      '{"a": "x\u0001"}',
      '{"a": 1}\r{"b": 2}',
      `${'['.repeat(101)}${']'.repeat(101)}`,
      'a: 1',
    ]) {
      expect(fast(text), JSON.stringify(text)).toBeUndefined();
    }
  });

  it('property: any JSON value in any layout is read as the yaml package reads it, or left to it', () => {
    const key = fc.oneof(
      fc.constantFrom('a', 'b/c', 'd~e', '', 'port', '__proto__'),
      fc.string({ maxLength: 6 }),
    );
    const leaf = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 8 }),
      fc.string({ unit: 'binary', maxLength: 4 }),
      fc.integer({ min: -70000, max: 70000 }),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
    );
    const { tree } = fc.letrec((tie) => ({
      tree: fc.oneof({ depthSize: 'small' }, leaf, tie('array'), tie('object')),
      array: fc.array(tie('tree'), { maxLength: 4 }),
      object: fc.dictionary(key, tie('tree'), { maxKeys: 4 }),
    }));
    const root = fc.oneof(fc.array(tree, { maxLength: 4 }), fc.dictionary(key, tree, { maxKeys: 4 }));
    let taken = 0;
    fc.assert(
      fc.property(
        root,
        fc.constantFrom(0, 1, 2, 4),
        fc.constantFrom('', '\n', '  \n '),
        (value, indent, pad) => {
          if (expectSameAsFullPath(`${pad}${JSON.stringify(value, null, indent)}${pad}`)) taken++;
        },
      ),
      { numRuns: 500 },
    );
    expect(taken).toBeGreaterThan(100);
  });

  it('is the path the loader takes for a JSON file, and the loader names file:line for its errors', () => {
    const text = JSON.stringify(POLICY, null, 2);
    expect(parseYamlDocuments('p.json', text)).toStrictEqual(full(text));
    const broken = '{\n  "a": 1,\n  "a": 2\n}';
    const result = parseYamlDocuments('p.json', broken);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors[0]).toMatchObject({ file: 'p.json', line: 3 });
  });
});
