import { describe, expect, it } from 'vitest';
import { diffObjects, isEmptyChangeSet, stableJson } from './diff.js';

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
