/** The action digest: stable for one action, different when any bound field changes, refusing malformed input. */
import { describe, expect, it } from 'vitest';
import { canonicalJson, computeActionDigest } from '../../src/policy/index.js';
import type { ActionDescriptor } from '../../src/policy/index.js';

const base: ActionDescriptor = {
  kind: 'integrateExistingBranch',
  patchDigest: `sha256:${'a'.repeat(64)}`,
  target: { type: 'branch', branch: 'main' },
  baseCommit: '0123456789abcdef0123456789abcdef01234567',
  taskId: 'task-1',
};

function digestOf(action: ActionDescriptor): string {
  const result = computeActionDigest(action);
  if (!result.ok) throw new Error(result.reason);
  return result.digest;
}

describe('canonicalJson', () => {
  it('sorts keys and drops whitespace', () => {
    expect(canonicalJson({ b: [1, { d: null, c: 'x' }], a: true })).toBe('{"a":true,"b":[1,{"c":"x","d":null}]}');
  });

  it('throws on values that are not JSON', () => {
    expect(() => canonicalJson({ a: Number.NaN })).toThrow('only finite numbers are JSON');
    expect(() => canonicalJson({ a: undefined } as never)).toThrow('is undefined');
    expect(() => canonicalJson(new Date(0) as never)).toThrow('is not a plain object or array');
  });
});

describe('computeActionDigest', () => {
  it('is a stable sha256 over the canonical action', () => {
    expect(digestOf(base)).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(digestOf({ ...base })).toBe(digestOf(base));
  });

  it('changes when any bound field changes', () => {
    const variants: readonly ActionDescriptor[] = [
      base,
      { ...base, patchDigest: `sha256:${'b'.repeat(64)}` },
      { ...base, target: { type: 'branch', branch: 'release' } },
      { ...base, baseCommit: '1123456789abcdef0123456789abcdef01234567' },
      { ...base, taskId: 'task-2' },
      { ...base, kind: 'writeNewBranch' },
      { ...base, kind: 'push', target: { type: 'remote', remote: 'origin', branch: 'main' } },
      { ...base, kind: 'push', target: { type: 'remote', remote: 'fork', branch: 'main' } },
    ];
    expect(new Set(variants.map(digestOf)).size).toBe(variants.length);
  });

  it('refuses malformed actions with a reason naming the field', () => {
    const results = [
      computeActionDigest({ ...base, baseCommit: 'HEAD' }),
      computeActionDigest({ ...base, patchDigest: null }),
      computeActionDigest({ ...base, target: { type: 'remote', remote: 'origin', branch: 'main' } }),
      computeActionDigest({ ...base, target: { type: 'branch', branch: 'a\nb' } }),
      computeActionDigest({ ...base, taskId: '' }),
      computeActionDigest({ ...base, kind: 'format' as never }),
      computeActionDigest({ ...base, target: { type: 'branch' } as never }),
    ];
    expect(results).toEqual([
      {
        ok: false,
        code: 'invalidAction',
        reason: 'action baseCommit: expected 40 or 64 lowercase hex digits, got "HEAD"',
      },
      {
        ok: false,
        code: 'invalidAction',
        reason: 'action patchDigest: integrateExistingBranch must name the verified patch it carries',
      },
      {
        ok: false,
        code: 'invalidAction',
        reason: 'action target.type: integrateExistingBranch needs a branch target, got "remote"',
      },
      { ok: false, code: 'invalidAction', reason: 'action target.branch: control characters are not allowed' },
      { ok: false, code: 'invalidAction', reason: 'action taskId: expected a non-empty string' },
      { ok: false, code: 'invalidAction', reason: 'action kind: expected an action kind, got "format"' },
      { ok: false, code: 'invalidAction', reason: 'action target.branch: expected a string, got nothing' },
    ]);
  });
});
