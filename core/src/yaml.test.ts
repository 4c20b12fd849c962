import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { escapePointer } from './selector.js';
import { lineForPointer, parseYamlDocuments, utf8ByteLength } from './yaml.js';

describe('parseYamlDocuments', () => {
  it('maps every node to its JSON pointer and line, across documents', () => {
    const r = parseYamlDocuments(
      'f.yaml',
      'a: 1\nb:\n  c: [1, 2]\n  "x/y~z":\n    - k: 1\n      v: 2\n---\n---\n# comment\nk: v\n',
    );
    expect(r).toEqual({
      ok: true,
      documents: [
        {
          value: { a: 1, b: { c: [1, 2], 'x/y~z': [{ k: 1, v: 2 }] } },
          line: 1,
          lines: {
            '': 1,
            '/a': 1,
            '/b': 2,
            '/b/c': 3,
            '/b/c/0': 3,
            '/b/c/1': 3,
            '/b/x~1y~0z': 4,
            '/b/x~1y~0z/0': 5,
            '/b/x~1y~0z/0/k': 5,
            '/b/x~1y~0z/0/v': 6,
          },
        },
        { value: { k: 'v' }, line: 10, lines: { '': 10, '/k': 10 } },
      ],
    });
  });

  it('reports syntax errors with file and line', () => {
    const r = parseYamlDocuments('f.yaml', 'a: 1\nb: [1, 2\nc: 3\n');
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.errors[0]).toMatchObject({
        file: 'f.yaml',
        message: expect.stringMatching(/^YAML syntax error: /),
      });
    const tabs = parseYamlDocuments('f.yaml', 'a:\n\t- b\n');
    expect(tabs.ok).toBe(false);
  });

  it('refuses duplicate keys', () => {
    expect(parseYamlDocuments('f.yaml', 'spec:\n  a: 1\n  a: 2\n')).toEqual({
      ok: false,
      errors: [
        { file: 'f.yaml', line: 3, message: 'duplicate key "a": each key may appear only once in a mapping' },
      ],
    });
  });

  it('refuses files over the size limit before parsing', () => {
    const r = parseYamlDocuments('f.yaml', 'a: é\n'.repeat(100), { maxBytes: 100 });
    expect(r).toEqual({
      ok: false,
      errors: [{ file: 'f.yaml', line: 1, message: 'file is 600 bytes; the limit is 100 bytes (100 bytes)' }],
    });
  });

  it('refuses too many documents', () => {
    const r = parseYamlDocuments('f.yaml', 'a: 1\n---\n'.repeat(5), { maxDocuments: 3 });
    expect(r).toEqual({
      ok: false,
      errors: [{ file: 'f.yaml', line: 6, message: 'more than 3 YAML documents in one file' }],
    });
  });

  it('refuses deep nesting with a clear error, block and flow', () => {
    const block = Array.from({ length: 10_000 }, (_, i) => `${' '.repeat(i)}a:`).join('\n');
    // With the default size limit a 10,000-deep block mapping is already refused by size.
    expect(parseYamlDocuments('f.yaml', block).ok).toBe(false);
    const r = parseYamlDocuments('f.yaml', `${block} 1\n`, { maxBytes: 100 * 1024 * 1024 });
    expect(r).toEqual({
      ok: false,
      errors: [
        {
          file: 'f.yaml',
          line: 101,
          message: 'nesting deeper than 100 levels; refusing to load this document',
        },
      ],
    });
    const flow = parseYamlDocuments('f.yaml', `x:\n  ${'['.repeat(10_000)}${']'.repeat(10_000)}\n`);
    expect(flow).toEqual({
      ok: false,
      errors: [
        {
          file: 'f.yaml',
          line: 2,
          message: 'nesting deeper than 100 levels; refusing to load this document',
        },
      ],
    });
    expect(parseYamlDocuments('f.yaml', `${'['.repeat(50)}${']'.repeat(50)}`, { maxDepth: 50 }).ok).toBe(
      true,
    );
  });

  it('refuses an alias bomb quickly and allows ordinary aliases', () => {
    const lines = ['l0: &l0 [a, a, a, a, a, a, a, a, a, a]'];
    for (let i = 1; i <= 9; i++)
      lines.push(
        `l${i}: &l${i} [${Array(10)
          .fill(`*l${i - 1}`)
          .join(', ')}]`,
      );
    const started = Date.now();
    const r = parseYamlDocuments('bomb.yaml', lines.join('\n'));
    expect(Date.now() - started).toBeLessThan(5000);
    expect(r).toEqual({
      ok: false,
      errors: [
        {
          file: 'bomb.yaml',
          line: 1,
          message: 'too many alias expansions (limit 100); refusing a possible alias bomb',
        },
      ],
    });
    const ok = parseYamlDocuments('f.yaml', 'base: &b {app: web}\nuse: *b\n');
    expect(ok.ok && ok.documents[0]?.value).toEqual({ base: { app: 'web' }, use: { app: 'web' } });
    expect(parseYamlDocuments('f.yaml', 'a: *nope\n').ok).toBe(false);
  });

  it('reports a << merge key whose value is not a mapping on its own line (SPEC 8.11)', () => {
    // The counterexample the round-trip property once drew: `[{" ":{"<<":false}}]`.
    expect(parseYamlDocuments('p.yaml', '" ":\n  <<: false\n')).toEqual({
      ok: false,
      errors: [
        {
          file: 'p.yaml',
          line: 2,
          message:
            '`<<` is a YAML merge key (as kubectl reads it): its value must be a mapping or an alias of one; write "<<" in quotes for a key named <<',
        },
      ],
    });
    // Quoted, it is a plain key.
    const quoted = parseYamlDocuments('p.yaml', 'a: 1\nsel:\n  "<<": false\n');
    expect(quoted.ok && quoted.documents[0]?.value).toEqual({ a: 1, sel: { '<<': false } });
  });

  it('supports << merge keys as kubectl does', () => {
    const r = parseYamlDocuments('f.yaml', 'base: &b {app: web, tier: x}\nsel:\n  <<: *b\n  app: api\n');
    expect(r).toEqual({
      ok: true,
      documents: [
        {
          value: { base: { app: 'web', tier: 'x' }, sel: { app: 'api', tier: 'x' } },
          line: 1,
          lines: { '': 1, '/base': 1, '/base/app': 1, '/base/tier': 1, '/sel': 2, '/sel/app': 4 },
        },
      ],
    });
  });

  it('gives every caller its own copy of a memoised result, from the fast and from the full path', () => {
    for (const text of ['a:\n  b: [1]\n', 'x: &x {b: [1]}\na: *x\n']) {
      const first = parseYamlDocuments('copy.yaml', text);
      const expected = structuredClone(first);
      if (!first.ok) throw new Error('expected ok');
      const doc = first.documents[0]!;
      (doc.value as { a: { b: number[] } }).a.b.push(2);
      doc.lines['/a'] = 99;
      expect(parseYamlDocuments('copy.yaml', text)).toEqual(expected);
    }
  });

  it('skips empty documents', () => {
    expect(parseYamlDocuments('f.yaml', '---\n# nothing\n---\n')).toEqual({ ok: true, documents: [] });
  });
});

describe('lineForPointer', () => {
  it('falls back to the nearest ancestor with a line', () => {
    const lines = { '': 1, '/spec': 4, '/spec/egress/0': 6 };
    expect(lineForPointer(lines, '/spec/egress/0/ports/3')).toBe(6);
    expect(lineForPointer(lines, '/metadata/name')).toBe(1);
    expect(lineForPointer({}, '/x', 9)).toBe(9);
  });
});

describe('utf8ByteLength', () => {
  it('counts UTF-8 bytes', () => {
    expect(utf8ByteLength('aé€😀')).toBe(1 + 2 + 3 + 4);
  });
});

describe('parseYamlDocuments properties', () => {
  // `<<` is a merge key (SPEC 8.11) and `yaml.stringify` writes it unquoted: a key the format
  // reserves is not one a round trip can carry, so the generator leaves it out.
  const key = fc.string({ minLength: 1 }).filter((k) => k !== '<<');
  const json = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null)),
      fc.array(tie('value'), { maxLength: 4 }),
      fc.dictionary(key, tie('value'), { maxKeys: 4 }),
    ),
  })).value;

  function pointers(value: unknown, pointer: string, out: string[]): string[] {
    out.push(pointer);
    if (Array.isArray(value))
      value.forEach((v, i) => {
        pointers(v, `${pointer}/${i}`, out);
      });
    else if (value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) pointers(v, `${pointer}/${escapePointer(k)}`, out);
    }
    return out;
  }

  it('round-trips any mapping and gives every node a line within the file', () => {
    // fc.assert reports the seed and path of a failure, so a counterexample can be replayed.
    fc.assert(
      fc.property(fc.dictionary(key, json, { minKeys: 1, maxKeys: 5 }), (value) => {
        const text = stringify(value);
        const r = parseYamlDocuments('p.yaml', text);
        expect(r.ok).toBe(true);
        if (!r.ok) return;
        expect(r.documents).toHaveLength(1);
        const doc = r.documents[0]!;
        expect(doc.value).toEqual(value);
        const lineCount = text.split('\n').length;
        for (const p of pointers(value, '', [])) {
          const line = doc.lines[p];
          expect(line, p).toBeGreaterThanOrEqual(1);
          expect(line, p).toBeLessThanOrEqual(lineCount);
        }
      }),
      { numRuns: 200 },
    );
  });
});
