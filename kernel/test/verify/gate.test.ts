/** The gate's integrity judgement: protected changes need approval unless accepted, and acceptance is kept. */
import { describe, expect, test } from 'vitest';
import type { DerivedPatch } from '../../src/attempt/index.js';
import { judgeIntegrity } from '../../src/verify/gate.js';

const patch = (paths: readonly string[]): DerivedPatch => ({
  baseCommit: 'a'.repeat(40),
  patch: new Uint8Array(),
  digest: 'd'.repeat(64),
  files: paths.map((path) => ({ path, status: 'modified', binary: false })),
  bytes: 0,
  treeId: 'e'.repeat(40),
});
const read = (): undefined => undefined;

describe('judgeIntegrity', () => {
  test('an unprotected change is clean with nothing accepted', () => {
    expect(judgeIntegrity(patch(['src/x.js']), { allow: [], read })).toEqual({
      integrity: { verdict: 'clean' },
      acceptedProtected: [],
    });
  });

  test('a protected change needs approval', () => {
    const judged = judgeIntegrity(patch(['src/x.js', 'test/x.test.js']), { allow: [], read });
    expect(judged.integrity.verdict).toBe('protected');
    expect(judged.acceptedProtected).toEqual([]);
  });

  test('an allowed protected change is clean and the acceptance is carried for the log', () => {
    const judged = judgeIntegrity(patch(['src/x.js', 'test/x.test.js']), { allow: ['test/**'], read });
    expect(judged.acceptedProtected).toHaveLength(1);
    expect(judged.integrity).toEqual({ verdict: 'clean', accepted: judged.acceptedProtected });
    expect(judged.acceptedProtected[0]?.path).toBe('test/x.test.js');
  });
});
