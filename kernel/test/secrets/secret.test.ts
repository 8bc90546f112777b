/**
 * Invariant: a Secret's value leaves only through `expose(purpose)`, which tells every audit hook the
 * purpose (never the value); every other rendering shows `[REDACTED:name]`, and nothing but an
 * instance the class constructed passes `Secret.is`.
 * Method: try each accidental rendering and each forgery on a real instance; the `@ts-expect-error`
 * lines are checked by `tsc` (an unused directive is a compile error).
 */
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { onExpose, Secret } from '../../src/secrets/secret.js';

const value = 'hunter2-correct-horse-battery';

describe('Secret', () => {
  it('never renders its value by accident', () => {
    const secret = new Secret('db-password', value);
    const renderings = [
      String(secret),
      `${secret}`,
      'x' + secret,
      secret.toString(),
      JSON.stringify({ secret }),
      JSON.stringify([secret]),
      inspect(secret),
      inspect({ nested: { secret } }, { depth: 10, showHidden: true }),
      inspect(secret, { customInspect: false, showHidden: true }),
      new Error(`connect failed with ${secret}`).message,
      inspect(new Error('wrapped', { cause: secret })),
      Object.keys(secret).join(','),
      Object.getOwnPropertyNames(secret).join(','),
    ];
    for (const rendering of renderings) expect(rendering).not.toContain(value);
    expect(renderings.slice(0, 6)).toEqual([
      '[REDACTED:db-password]',
      '[REDACTED:db-password]',
      'x[REDACTED:db-password]',
      '[REDACTED:db-password]',
      '{"secret":"[REDACTED:db-password]"}',
      '["[REDACTED:db-password]"]',
    ]);
    expect(inspect(secret)).toBe('Secret [REDACTED:db-password]');
    expect(inspect(secret, { customInspect: false })).toBe('Secret {}');
  });

  it('structuredClone yields a plain {} that is not a Secret', () => {
    const clone: unknown = structuredClone(new Secret('token', value));
    expect(clone).toEqual({});
    expect(Object.getPrototypeOf(clone)).toBe(Object.prototype);
    expect(Secret.is(clone)).toBe(false);
  });

  it('Secret.is accepts only constructed instances', () => {
    const real = new Secret('token', value);
    const forgeries: unknown[] = [
      { name: 'token', expose: () => value },
      Object.create(Secret.prototype),
      { ...real },
      structuredClone(real),
      JSON.parse(JSON.stringify(real)),
      new Proxy(real, {}),
      new Proxy({}, { has: () => true }),
      null,
      value,
    ];
    expect(forgeries.map((forgery) => Secret.is(forgery))).toEqual(forgeries.map(() => false));
    expect(Secret.is(real)).toBe(true);
    expect(() => Secret.prototype.expose.call(Object.create(Secret.prototype), 'forged')).toThrow(TypeError);
  });

  it('expose tells the instance hook and every registered hook the purpose, then returns the value', () => {
    const seen: string[] = [];
    const stop = onExpose((name, purpose) => seen.push(`module ${name} ${purpose}`));
    try {
      const secret = new Secret('api-key', value, { onExpose: (name, purpose) => seen.push(`own ${name} ${purpose}`) });
      expect(secret.expose('provider call')).toBe(value);
    } finally {
      stop();
    }
    new Secret('other', value).expose('after unregistering');
    expect(seen).toEqual(['own api-key provider call', 'module api-key provider call']);
  });

  it('a throwing audit hook keeps the value in', () => {
    const secret = new Secret('api-key', value, {
      onExpose: () => {
        throw new Error('audit log unavailable');
      },
    });
    expect(() => secret.expose('provider call')).toThrow('audit log unavailable');
  });

  it('refuses an empty purpose, a bad name and a non-string value', () => {
    const secret = new Secret('api-key', value);
    expect(() => secret.expose('  ')).toThrow(TypeError);
    expect(() => new Secret('bad name', value)).toThrow(TypeError);
    expect(() => new Secret('[x]', value)).toThrow(TypeError);
    expect(() => new Secret('ok', 42 as unknown as string)).toThrow(TypeError);
  });

  it('is sealed for the type checker', () => {
    const secret = new Secret('api-key', value);
    // @ts-expect-error the value is not a property
    expect(secret.value).toBeUndefined();
    // @ts-expect-error an object literal is not a Secret (it lacks the #private fields)
    const forged: Secret = { name: 'api-key', marker: '[REDACTED:api-key]', expose: () => value };
    expect(Secret.is(forged)).toBe(false);
    expect(() => {
      // @ts-expect-error the name is read-only
      secret.name = 'renamed';
    }).toThrow(TypeError);
  });
});
