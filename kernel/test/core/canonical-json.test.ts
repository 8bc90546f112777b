/**
 * canonicalJson: equal JSON values give byte-identical strings (keys sorted by UTF-16 code
 * units, no whitespace), the output parses back to an equal value, and anything JSON cannot
 * carry exactly is an error rather than a silent change.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { CanonicalJsonError, canonicalJson, canonicalJsonDepthMax } from '../../src/core/index.js';

/** `[1, <hole>, 3]`, built without a sparse literal. */
function holey(): unknown[] {
  const array: unknown[] = [1];
  array[2] = 3;
  return array;
}

describe('canonicalJson', () => {
  test('sorts keys, drops whitespace and writes numbers in their shortest form', () => {
    expect(canonicalJson({ b: [1, 2.5, -0, 1e21, 1e-7], a: { d: null, c: true }, '': 'x' })).toBe(
      '{"":"x","a":{"c":true,"d":null},"b":[1,2.5,0,1e+21,1e-7]}',
    );
  });

  test('orders keys by UTF-16 code units, not by code points or locale', () => {
    // U+FF61 sorts after U+1F600's high surrogate (0xD83D) in UTF-16, before it in code points.
    expect(canonicalJson({ '\uff61': 1, '\u{1f600}': 2, Z: 3, a: 4, é: 5 })).toBe('{"Z":3,"a":4,"é":5,"😀":2,"｡":1}');
  });

  test('escapes strings as JSON does, including control characters and lone surrogates', () => {
    expect(canonicalJson(['a"b\\c\n\u0001', '\ud800'])).toBe('["a\\"b\\\\c\\n\\u0001","\\ud800"]');
  });

  test('keeps prototype-named keys as ordinary keys', () => {
    const value: unknown = JSON.parse('{"__proto__":{"x":1},"constructor":2}');
    expect(canonicalJson(value)).toBe('{"__proto__":{"x":1},"constructor":2}');
  });

  test.each([
    ['NaN', { a: Number.NaN }, 'canonicalJson: value at $.a is NaN; only finite numbers are JSON'],
    ['Infinity', [Number.POSITIVE_INFINITY], 'canonicalJson: value at $[0] is Infinity; only finite numbers are JSON'],
    ['undefined', { a: { b: undefined } }, 'canonicalJson: value at $.a.b is undefined; JSON has no such value'],
    ['a function', { f: () => 1 }, 'canonicalJson: value at $.f is a function; JSON has no such value'],
    ['a symbol', [Symbol('s')], 'canonicalJson: value at $[0] is a symbol; JSON has no such value'],
    ['a bigint', { n: 1n }, 'canonicalJson: value at $.n is a bigint; JSON has no such value'],
    ['a Map', { m: new Map() }, 'canonicalJson: value at $.m is not a plain object or array'],
    ['a hole', holey(), 'canonicalJson: value at $[1] is a hole in a sparse array'],
  ])('rejects %s', (_name, value, message) => {
    expect(() => canonicalJson(value)).toThrow(new CanonicalJsonError(message));
  });

  test('rejects cycles but accepts shared, acyclic references', () => {
    const shared = { x: 1 };
    expect(canonicalJson({ a: shared, b: shared })).toBe('{"a":{"x":1},"b":{"x":1}}');
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = { back: cyclic };
    expect(() => canonicalJson(cyclic)).toThrow(
      'canonicalJson: value at $.self.back is a cycle back to an enclosing value',
    );
  });

  test(`refuses nesting deeper than ${canonicalJsonDepthMax}`, () => {
    let deep: unknown = 0;
    for (let i = 0; i < canonicalJsonDepthMax; i++) deep = [deep];
    expect(() => canonicalJson(deep)).not.toThrow();
    expect(() => canonicalJson([deep])).toThrow(CanonicalJsonError);
  });

  test('property: the order keys were inserted in does not matter', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), fc.nat(), (record, rotation) => {
        const entries = Object.entries(record);
        const shift = entries.length === 0 ? 0 : rotation % entries.length;
        const reordered = Object.fromEntries([...entries.slice(shift), ...entries.slice(0, shift)].reverse());
        expect(canonicalJson(reordered)).toBe(canonicalJson(record));
      }),
    );
  });

  test('property: output parses back to an equal value and is a fixed point', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = canonicalJson(value);
        const parsed: unknown = JSON.parse(text);
        expect(parsed).toEqual(JSON.parse(JSON.stringify(value)));
        expect(canonicalJson(parsed)).toBe(text);
      }),
    );
  });

  test('property: a value holding NaN or undefined anywhere is rejected', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom(Number.NaN, undefined), (value, poison) => {
        expect(() => canonicalJson({ value, nested: [{ poison }] })).toThrow(CanonicalJsonError);
      }),
    );
  });
});
