import fc from 'fast-check';
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

  it('tells keys apart byte for byte, whatever doubles their bytes make (zeros, NaN, +0 and -0)', () => {
    // The comparison reads eight bytes at a time as doubles: +0 equals -0 and NaN equals nothing,
    // so keys built from exactly those patterns must still be found exactly.
    const negativeZero = [0x80, 0, 0, 0, 0, 0, 0, 0];
    const positiveZero = [0, 0, 0, 0, 0, 0, 0, 0];
    const nan = [0x7f, 0xf8, 0, 0, 0, 0, 0, 1];
    const otherNan = [0x7f, 0xf8, 0, 0, 0, 0, 0, 2];
    const word = fc.constantFrom(negativeZero, positiveZero, nan, otherNan);
    const key = fc
      .tuple(fc.array(word, { maxLength: 4 }), fc.uint8Array({ maxLength: 11 }))
      .map(([words, tail]) => Uint8Array.from([...words.flat(), ...tail]));
    fc.assert(
      fc.property(
        fc.uniqueArray(key, { selector: (k) => k.join(','), maxLength: 30 }),
        fc.nat(7),
        (keys, pad) => {
          const index = new ByteKeyIndex();
          for (const [i, k] of keys.entries()) expect(index.insert(k, 0, k.length)).toBe(i);
          for (const [i, k] of keys.entries()) {
            // looked up from another offset in a larger buffer
            const shifted = new Uint8Array(pad + k.length);
            shifted.set(k, pad);
            expect(index.find(shifted, pad, pad + k.length)).toBe(i);
          }
        },
      ),
    );
  });
});
