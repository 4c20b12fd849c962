// The fast path (`yaml-simple.ts`) resolves plain scalars with the `yaml` package's own core schema
// tags, read from `Document#schema.tags` (their `test` patterns, `default` flags and `resolve`).
// Those are internals of the package, so its minor version is pinned (`~` in core/package.json) and
// this test holds the exact tag set the fast path was written against: an update that changes it
// fails here, before a scalar could mean one thing on the fast path and another on the full path.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Document, parse } from 'yaml';
import { COMPOSE_OPTIONS } from './yaml-package.js';
import { parseSimpleYaml } from './yaml-simple.js';

const CORE_SCHEMA_TAGS = [
  { tag: 'tag:yaml.org,2002:map', default: true },
  { tag: 'tag:yaml.org,2002:seq', default: true },
  { tag: 'tag:yaml.org,2002:str', default: true },
  { tag: 'tag:yaml.org,2002:null', default: true, test: '^(?:~|[Nn]ull|NULL)?$' },
  { tag: 'tag:yaml.org,2002:bool', default: true, test: '^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$' },
  { tag: 'tag:yaml.org,2002:int', default: true, format: 'OCT', test: '^0o[0-7]+$' },
  { tag: 'tag:yaml.org,2002:int', default: true, test: '^[-+]?[0-9]+$' },
  { tag: 'tag:yaml.org,2002:int', default: true, format: 'HEX', test: '^0x[0-9a-fA-F]+$' },
  {
    tag: 'tag:yaml.org,2002:float',
    default: true,
    test: '^(?:[-+]?\\.(?:inf|Inf|INF)|\\.nan|\\.NaN|\\.NAN)$',
  },
  {
    tag: 'tag:yaml.org,2002:float',
    default: true,
    format: 'EXP',
    test: '^[-+]?(?:\\.[0-9]+|[0-9]+(?:\\.[0-9]*)?)[eE][-+]?[0-9]+$',
  },
  { tag: 'tag:yaml.org,2002:float', default: true, test: '^[-+]?(?:\\.[0-9]+|[0-9]+\\.[0-9]*)$' },
  { tag: 'tag:yaml.org,2002:merge', default: 'key', test: '^<<$' },
];

describe('the yaml package tags the fast path relies on', () => {
  it('is the pinned minor version', () => {
    const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    expect(manifest.dependencies.yaml).toMatch(/^~2\.9\.\d+$/);
  });

  it('has exactly the core schema tags (with merge keys) that yaml-simple.ts was written against', () => {
    const tags = new Document(null, COMPOSE_OPTIONS).schema.tags.map((t) => ({
      tag: t.tag,
      default: t.default,
      ...('format' in t && t.format ? { format: t.format } : {}),
      ...('test' in t && t.test instanceof RegExp ? { test: t.test.source } : {}),
    }));
    expect(tags).toEqual(CORE_SCHEMA_TAGS);
  });

  it('resolves a plain scalar of every tag as the yaml package does', () => {
    const scalars = [
      '~',
      'null',
      'Null',
      'NULL',
      '',
      'true',
      'True',
      'FALSE',
      '0o17',
      '42',
      '-7',
      '+3',
      '0x1F',
      '.inf',
      '-.Inf',
      '.NaN',
      '1e3',
      '-2.5E-2',
      '.5',
      '3.',
      'yes',
      'no',
      'on',
      '0b101',
      '1_000',
      '012',
      '2026-01-01',
      'x',
    ];
    for (const scalar of scalars) {
      const text = `k: ${scalar}\nl: [${scalar === '' ? '""' : scalar}]\n`;
      const fast = parseSimpleYaml(text, 64, 16);
      expect(fast, scalar).toBeDefined();
      expect(fast![0]!.value, scalar).toEqual(parse(text, COMPOSE_OPTIONS));
    }
  });
});
