/**
 * Property: no single-byte change, reorder of two records, splice from another log, or removal of
 * a tail leaves a log that `inspectLog` calls intact. Method: fast-check picks the damage; a real
 * log written by the real writer (and its real anchor, MAC'd with the real key) is damaged in a
 * copy and inspected.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anchorPathOf } from '../../src/log/head-anchor.js';
import { inspectLog } from '../../src/log/inspect.js';
import { sampleLog, scratch, type Scratch } from './log-fixture.js';

let at: Scratch;
let original: Buffer;
let records: string[];
let foreign: string[];
let target: string;

beforeAll(() => {
  at = scratch();
  const path = sampleLog(at, 'original.jsonl', 2);
  original = readFileSync(path);
  records = original.toString('utf8').split('\n').slice(0, -1);
  foreign = readFileSync(sampleLog(at, 'foreign.jsonl', 2), 'utf8')
    .split('\n')
    .slice(0, -1);
  target = join(at.dir, 'target.jsonl');
  writeFileSync(anchorPathOf(target), readFileSync(anchorPathOf(path)));
});
afterAll(() => at.cleanup());

function statusOf(bytes: Buffer | string): string {
  writeFileSync(target, bytes);
  return inspectLog(target, { anchorKey: at.anchorKey }).status;
}

describe('tamper evidence', () => {
  it('the undamaged copy is intact (the properties below can fail)', () => {
    expect(statusOf(original)).toBe('intact');
  });

  it('any single-byte change is detected', () => {
    fc.assert(
      fc.property(fc.nat({ max: original.length - 1 }), fc.integer({ min: 1, max: 255 }), (position, xor) => {
        const bytes = Buffer.from(original);
        bytes[position] = (bytes[position] ?? 0) ^ xor;
        expect(statusOf(bytes)).not.toBe('intact');
      }),
      { numRuns: 300 },
    );
  });

  it('reordering two records or splicing records from another log is detected', () => {
    const count = records.length;
    const reorder = fc
      .tuple(fc.nat({ max: count - 1 }), fc.nat({ max: count - 1 }))
      .filter(([i, j]) => i !== j)
      .map(([i, j]) => {
        const copy = [...records];
        [copy[i], copy[j]] = [copy[j] ?? '', copy[i] ?? ''];
        return copy;
      });
    const splice = fc
      .tuple(fc.nat({ max: count - 1 }), fc.nat({ max: foreign.length - 1 }), fc.boolean())
      .map(([i, j, insert]) => {
        const copy = [...records];
        copy.splice(i, insert ? 0 : 1, foreign[j] ?? '');
        return copy;
      });
    fc.assert(
      fc.property(fc.oneof(reorder, splice), (damaged) => {
        expect(statusOf(`${damaged.join('\n')}\n`)).not.toBe('intact');
      }),
      { numRuns: 300 },
    );
  });

  it('removing any tail (whole records or a cut anywhere) is detected', () => {
    fc.assert(
      fc.property(fc.nat({ max: original.length - 1 }), (keepBytes) => {
        expect(statusOf(original.subarray(0, keepBytes))).not.toBe('intact');
      }),
      { numRuns: 300 },
    );
  });
});
