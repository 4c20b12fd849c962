import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { DEFAULT_YAML_LIMITS, parseYamlDocuments } from './yaml.js';
import { parseWithYamlPackage } from './yaml-package.js';
import { parseSimpleYaml } from './yaml-simple.js';

const LIMITS = { ...DEFAULT_YAML_LIMITS };
const fast = (text: string) => parseSimpleYaml(text, LIMITS.maxDepth, LIMITS.maxDocuments);
const full = (text: string) => parseWithYamlPackage('f.yaml', text, LIMITS);

/** The fast path either gives up or gives exactly what the `yaml` package gives (value and lines). */
function expectSameAsFullPath(text: string): boolean {
  const documents = fast(text);
  if (documents === undefined) return false;
  expect(full(text), JSON.stringify(text)).toStrictEqual({ ok: true, documents });
  return true;
}

const POLICY = `# a policy
apiVersion: nyx.tracenyx.io/v1alpha1
kind: NyxNetworkPolicy
metadata:
  name: payments   # trailing comment
  namespace: ns-338
  labels: {app: web, "team": 'pay''ments'}
spec:
  podSelector:
    matchLabels:
      app.kubernetes.io/name: payments
  priority: 780
  enforcement: enforce
  policyTypes: [Ingress, Egress]
  ingress:
    - decision: Allow
      from:
        - namespaceSelector:
            matchLabels:
              kubernetes.io/metadata.name: ns-001
          podSelector: {}

      ports:
      - protocol: TCP
        port: http
  egress:
  -   decision: Allow
      toFqdn:
        - matchPattern: "*.amazonaws.com"
      ports:
        - {protocol: TCP, port: 443}
    # a comment between items
  - decision: Deny
    toIpBlock:
      cidr: 10.0.0.0/8
      except: [10.1.0.0/16, "10.2.0.0/16"]
  -
    decision: Allow
    to:
      -
        podSelector: {}
`;

describe('parseSimpleYaml', () => {
  it('reads a policy in the usual block style exactly as the yaml package does', () => {
    expect(expectSameAsFullPath(POLICY)).toBe(true);
    const documents = fast(POLICY)!;
    expect(documents[0]!.lines['/spec/egress/2']).toBe(38);
    expect(documents[0]!.lines['/spec/egress/2/to/0']).toBe(41);
    expect(documents[0]!.value).toMatchObject({ metadata: { labels: { team: "pay'ments" } } });
  });

  it('resolves plain scalars with the core schema, as the yaml package does', () => {
    const text = [
      'a: true',
      'b: False',
      'c: ~',
      'd: null',
      'e: 0x1F',
      'f: 0o17',
      'g: -12',
      'h: +7',
      'i: 1e3',
      'j: .5',
      'k: -.inf',
      'l: .NaN',
      'm: 007',
      'n: 1.50',
      'o: 99999999999999999999',
      'p: 12:30',
      'q: yes',
      'r: a b  c',
      's: http://x.y/z?q=1',
      't: é',
      'u: [1, true, ~, x y]',
      'v:',
      "w: ''",
      'x: "#not a comment"',
      'y: a,b',
      'constructor: x',
      '',
    ].join('\n');
    expect(expectSameAsFullPath(text)).toBe(true);
    expect(fast(text)![0]!.value).toMatchObject({
      a: true,
      c: null,
      e: 31,
      f: 15,
      m: 7,
      p: '12:30',
      v: null,
    });
  });

  it('reads every document of a stream and skips empty ones', () => {
    expect(expectSameAsFullPath('a: 1\n---\n---\n# comment\nk: v\n---   \n')).toBe(true);
    expect(fast('# only a comment\n')).toEqual([]);
    expect(fast('')).toEqual([]);
  });

  it.each([
    ['an anchor and alias', 'a: &x 1\nb: *x\n'],
    ['a merge key', 'base: {a: 1}\nsel:\n  <<: {b: 2}\n'],
    ['a tag', 'a: !!str 1\n'],
    ['a block scalar', 'a: |\n  text\n'],
    ['a folded scalar', 'a: >\n  text\n'],
    ['a multi-line plain scalar', 'a: one\n  two\n'],
    ['a multi-line quoted scalar', 'a: "one\n  two"\n'],
    ['an escape', 'a: "\\u0041"\n'],
    ['a duplicate key', 'a: 1\na: 2\n'],
    ['keys that collide as strings', 'a: 1\n"a": 2\n'],
    ['a numeric key', '1: a\n'],
    ['a null key', '~: a\n'],
    ['a __proto__ key', '__proto__: {a: 1}\n'],
    ['a tab', 'a:\n\t- b\n'],
    ['CRLF line ends', 'a: 1\r\nb: 2\r\n'],
    ['a byte order mark', '\ufeffa: 1\n'],
    ['a nested flow collection', 'a: [{b: 1}]\n'],
    ['a flow collection over lines', 'a: [1,\n  2]\n'],
    ['a trailing comma', 'a: [1, ]\n'],
    ['a directive', '%YAML 1.2\n---\na: 1\n'],
    ['content after ---', '--- a: 1\n'],
    ['a document end marker', 'a: 1\n...\n'],
    ['a top-level sequence', '- a\n- b\n'],
    ['a top-level scalar', 'just text\n'],
    ['an empty sequence item', 'a:\n  -\n  - b\n'],
    ['a compact nested sequence', 'a:\n  - - b\n'],
    ['a mapping inside a plain value', 'a: b: c\n'],
    ['a comment without a space', 'a: b#c\n'],
    ['a complex key', '? a\n: b\n'],
    ['a wrongly indented line', 'a:\n    b: 1\n  c: 2\n'],
    ['a syntax error', 'a: [1, 2\nb: 3\n'],
    ['a key over 1000 characters', `${'k'.repeat(1001)}: v\n`],
    ['an emoji (a surrogate pair)', 'a: 😀\n'],
  ])('gives up on %s', (_what, text) => {
    expect(fast(text)).toBeUndefined();
    // …and the loader then answers exactly as the yaml package does.
    expect(parseYamlDocuments('f.yaml', text)).toStrictEqual(full(text));
  });

  it('leaves input near the depth and document limits to the full path', () => {
    const deep = Array.from({ length: 99 }, (_, i) => `${' '.repeat(i)}a:`).join('\n');
    expect(fast(`${deep} 1\n`)).toBeUndefined();
    expect(parseSimpleYaml('a: [1]\n', 3, 10)).toBeUndefined();
    expect(parseSimpleYaml('a: 1\n---\nb: 1\n', 100, 1)).toBeUndefined();
    expect(parseSimpleYaml('a: 1\n---\nb: 1\n', 100, 2)).toHaveLength(2);
  });

  it('gives exactly the full path on every YAML file of the repository it accepts', () => {
    const root = join(import.meta.dirname, '../..');
    const files: string[] = [];
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        if (name === 'node_modules' || name === '.git' || name === '.bench' || name === '.tmp') continue;
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (/\.ya?ml$|(^|\/)OWNERS$/.test(name)) files.push(path);
      }
    };
    for (const dir of ['policy-repo-template', 'test/fixtures', 'cli/test/fixtures', 'deploy']) {
      walk(join(root, dir));
    }
    expect(files.length).toBeGreaterThan(50);
    const accepted = files.filter((f) => expectSameAsFullPath(readFileSync(f, 'utf8')));
    expect(accepted.length).toBeGreaterThan(files.length / 2);
  });

  it('gives up or agrees with the full path on mutated policies', () => {
    const snippets = [
      ...[': ', ':', '- ', '-', '#', ' #', "'", '"', "''", '[', ']', '{', '}', ',', ' ', '  ', '\n'],
      ...['\n  ', '\n- ', '&a ', '*a', '!t ', '|', '>', '---', '---\n', '...', '~', 'null', '1e3'],
      ...['0x1f', '.5', '-1', '.inf', 'true', '<<', '\t', 'é', '?', '%', '@', '\\', '\r', '\u00a0'],
      ...['__proto__', 'key: v', '007', '12:30', 'x:y', ' :', '\ufeff', 'a b', '2001:db8::/32'],
    ];
    let accepted = 0;
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            at: fc.nat(),
            kind: fc.constantFrom('insert', 'delete', 'repeat-line'),
            snippet: fc.constantFrom(...snippets),
            n: fc.nat({ max: 5 }),
          }),
          { minLength: 1, maxLength: 3 },
        ),
        (edits) => {
          let text = POLICY;
          for (const { at, kind, snippet, n } of edits) {
            const i = at % (text.length + 1);
            if (kind === 'insert') text = text.slice(0, i) + snippet + text.slice(i);
            else if (kind === 'delete') text = text.slice(0, i) + text.slice(i + 1 + n);
            else {
              const lines = text.split('\n');
              lines.splice(at % lines.length, 0, lines[n % lines.length]!);
              text = lines.join('\n');
            }
          }
          if (expectSameAsFullPath(text)) accepted++;
        },
      ),
      { numRuns: 3000 },
    );
    expect(accepted).toBeGreaterThan(300);
  });

  it('gives up or agrees with the full path on generated documents in every style', () => {
    const atom = fc.oneof(
      fc.constantFrom(
        ...['a', 'x.y/z', 'null', 'True', '~', '1', '0x1F', '1e3', '.5', '-', '- a', 'a: b', 'a #b'],
        ...["it's", 'say "hi"', '', ' ', 'é', '<<', '__proto__', 'a\\b', '*.x.com', '12:30', '?'],
        ...['a,b', '[x]', '{y}', 'k:', '-1', '+5', '.inf', '007'],
      ),
      fc.string({ maxLength: 6 }),
    );
    const value = fc.letrec((tie) => ({
      v: fc.oneof(
        { depthSize: 'small' },
        atom,
        fc.integer(),
        fc.double(),
        fc.boolean(),
        fc.constant(null),
        fc.array(tie('v'), { maxLength: 4 }),
        fc.dictionary(atom, tie('v'), { maxKeys: 4 }),
      ),
    })).v;
    const style = fc.record({
      indentSeq: fc.boolean(),
      indent: fc.integer({ min: 1, max: 4 }),
      defaultStringType: fc.constantFrom('PLAIN', 'QUOTE_DOUBLE', 'QUOTE_SINGLE'),
      collectionStyle: fc.constantFrom('any', 'block', 'flow'),
    } as const);
    let accepted = 0;
    fc.assert(
      fc.property(
        fc.dictionary(atom, value, { minKeys: 1, maxKeys: 5 }),
        style,
        fc.nat(),
        (v, opts, salt) => {
          let text = stringify(v, opts);
          const lines = text.split('\n');
          if (salt % 2) lines.splice(salt % (lines.length + 1), 0, `${' '.repeat(salt % 5)}# note`);
          text = lines.join('\n');
          if (salt % 3 === 0) text = `${text}---\n${text}`;
          if (expectSameAsFullPath(text)) accepted++;
        },
      ),
      { numRuns: 1500 },
    );
    expect(accepted).toBeGreaterThan(300);
  });
});
