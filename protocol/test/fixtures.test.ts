/**
 * The v1 fixtures are the wire contract as data. Every valid fixture passes the schemas, every
 * invalid one is rejected with the verdict its manifest entry names, and the manifest is checked
 * in both directions: an invalid fixture without an entry fails, and an entry without a fixture fails.
 */
import { describe, expect, test } from 'vitest';
import { readFixtures } from '../src/v1/fixtures.js';
import { judgeMessage } from '../src/v1/judge.js';
import type { MethodName } from '../src/v1/methods.js';
import { Methods, methodFileStem } from '../src/v1/methods.js';

const set = readFixtures();

describe('protocol v1 fixtures', () => {
  for (const fixture of set.fixtures) {
    test(`${fixture.expected === 'valid' ? 'accepts' : 'rejects'} ${fixture.path}`, () => {
      expect(judgeMessage(fixture.method, fixture.message).verdict).toBe(fixture.expected);
    });
  }

  test('every fixture is laid out correctly and every invalid one has a manifest entry', () => {
    expect(set.problems).toEqual([]);
  });

  test('the manifest has no stale entries', () => {
    expect(set.staleManifestEntries).toEqual([]);
  });

  test('every method has a valid fixture, and every request a valid response fixture', () => {
    const missing = (Object.keys(Methods) as MethodName[]).flatMap((method) => {
      const valid = set.fixtures.filter((fixture) => fixture.method === method && fixture.expected === 'valid');
      const gaps: string[] = [];
      if (!valid.some((fixture) => !Object.hasOwn(fixture.message as object, 'result')))
        gaps.push(`${methodFileStem(method)}: call`);
      if (
        Methods[method].kind === 'request' &&
        !valid.some((fixture) => Object.hasOwn(fixture.message as object, 'result'))
      ) {
        gaps.push(`${methodFileStem(method)}: result`);
      }
      return gaps;
    });
    expect(missing).toEqual([]);
  });
});
