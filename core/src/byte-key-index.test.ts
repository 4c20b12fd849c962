import { describe, expect, it } from 'vitest';
import { ByteKeyIndex } from './byte-key-index.js';

const encoder = new TextEncoder();

describe('ByteKeyIndex', () => {
  it('gives dense ids in insertion order and finds keys inside larger buffers', () => {
    const index = new ByteKeyIndex();
    const keys = ['', 'a', 'ab', 'abc', 'b', 'ba'];
    for (const [i, k] of keys.entries()) {
      const bytes = encoder.encode(`--${k}--`);
      expect(index.find(bytes, 2, 2 + bytes.length - 4)).toBe(-1);
      expect(index.insert(bytes, 2, bytes.length - 2)).toBe(i);
    }
    expect(index.size).toBe(keys.length);
    for (const [i, k] of keys.entries()) {
      const bytes = encoder.encode(`|${k}`);
      expect(index.find(bytes, 1, bytes.length)).toBe(i);
    }
    const other = encoder.encode('abcd');
    expect(index.find(other, 0, 4)).toBe(-1);
  });

  it('keeps every key through growth', () => {
    const index = new ByteKeyIndex();
    const key = (i: number) => encoder.encode(`{"src":"ns-${i % 97}/pod-${i}","port":${i % 5}`);
    for (let i = 0; i < 20_000; i++) {
      const bytes = key(i);
      expect(index.insert(bytes, 0, bytes.length)).toBe(i);
    }
    for (let i = 0; i < 20_000; i += 7) {
      const bytes = key(i);
      expect(index.find(bytes, 0, bytes.length)).toBe(i);
    }
    const absent = encoder.encode('{"src":"ns-1/pod-20001","port":1');
    expect(index.find(absent, 0, absent.length)).toBe(-1);
  });
});
