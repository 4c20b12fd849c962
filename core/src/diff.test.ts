import { describe, expect, it } from 'vitest';
import { diffObjects, isEmptyChangeSet, objectText, samePolicyContent, stableJson } from './diff.js';
import type { PolicyObject } from './model.js';

describe('diffObjects', () => {
  it('sorts ids into added, removed, changed and unchanged', () => {
    const before = new Map([
      ['b', { spec: { x: 1 } }],
      ['a', { spec: { x: 1, y: 2 } }],
      ['gone', { spec: {} }],
    ]);
    const after = new Map([
      ['a', { spec: { y: 2, x: 1 } }],
      ['b', { spec: { x: 2 } }],
      ['new', { spec: {} }],
    ]);
    expect(diffObjects(before, after)).toEqual({
      added: ['new'],
      removed: ['gone'],
      changed: ['b'],
      unchanged: ['a'],
    });
  });

  it('takes a comparison for objects of different shapes', () => {
    const set = diffObjects(new Map([['a', 'h1']]), new Map([['a', { hash: 'h1' }]]), (b, a) => b === a.hash);
    expect(set.unchanged).toEqual(['a']);
    expect(isEmptyChangeSet(set)).toBe(true);
  });

  it('stableJson ignores key order only', () => {
    expect(stableJson({ b: 1, a: [2, { d: 1, c: 2 }] })).toBe('{"a":[2,{"c":2,"d":1}],"b":1}');
    expect(stableJson([1, 2])).not.toBe(stableJson([2, 1]));
  });
});

describe('policy objects', () => {
  const policy = (line: number, spec: Record<string, unknown>) =>
    ({
      apiVersion: 'nyx.dev/v1',
      kind: 'NyxNetworkPolicy',
      metadata: { name: 'web', namespace: 'shop' },
      namespace: 'shop',
      name: 'web',
      spec,
      source: { file: 'namespaces/shop/web.yaml', line },
    }) as unknown as PolicyObject;

  it('samePolicyContent ignores where an object is written and key order; objectText does not', () => {
    const a = policy(1, { priority: 200, podSelector: {} });
    const moved = policy(7, { podSelector: {}, priority: 200 });
    expect(samePolicyContent(a, moved)).toBe(true);
    expect(objectText(a)).not.toBe(objectText(moved));
    expect(samePolicyContent(a, policy(1, { priority: 300, podSelector: {} }))).toBe(false);
  });
});
