/**
 * A VerifiedPatch cannot be forged: at compile time (`@ts-expect-error` lines fail the typecheck
 * if they ever start compiling) and at runtime (every copy or imitation fails `VerifiedPatch.is`).
 */
import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import {
  assertGenuine,
  mintVerifiedPatch,
  VerifiedPatch,
  type VerifyEvidence,
} from '../../src/verify/verified-patch.js';

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const patch = new TextEncoder().encode('diff --git a/x b/x\n');
const evidence: VerifyEvidence = {
  taskId: 't1',
  baseCommit: 'a'.repeat(40),
  patch,
  patchDigest: sha256(patch),
  treeDigest: 'b'.repeat(64),
  files: ['x'],
  verifyCommand: 'npm test',
  exitCode: 0,
  timedOut: false,
  outputDigest: 'c'.repeat(64),
  receipt: 'r1',
  startedAtMs: 1,
  finishedAtMs: 2,
};

function mint(): VerifiedPatch {
  const result = mintVerifiedPatch(evidence, sha256);
  if (!result.ok) throw new Error(result.refusal.detail);
  return result.patch;
}

describe('minting', () => {
  test('a clean pass mints a genuine patch carrying the evidence', () => {
    const vp = mint();
    expect(VerifiedPatch.is(vp)).toBe(true);
    expect(vp.toJSON()).toEqual({
      taskId: 't1',
      baseCommit: 'a'.repeat(40),
      patchDigest: sha256(patch),
      treeDigest: 'b'.repeat(64),
      files: ['x'],
      verifyCommand: 'npm test',
      exitCode: 0,
      timedOut: false,
      outputDigest: 'c'.repeat(64),
      receipt: 'r1',
      startedAtMs: 1,
      finishedAtMs: 2,
      patchBytes: patch.byteLength,
      genuine: true,
    });
  });

  test.each([
    [{ exitCode: 1 }, 'notPassing'],
    [{ exitCode: null }, 'notPassing'],
    [{ timedOut: true }, 'notPassing'],
    [{ patchDigest: 'd'.repeat(64) }, 'digestMismatch'],
    [{ outputDigest: '' }, 'incomplete'],
  ] as const)('evidence %o is refused with %s', (change, code) => {
    const result = mintVerifiedPatch({ ...evidence, ...change }, sha256);
    expect(result.ok).toBe(false);
    expect(result.ok ? null : result.refusal.code).toBe(code);
  });

  test('the sealed bytes cannot be changed through the getter or the input buffer', () => {
    const input = patch.slice();
    const result = mintVerifiedPatch({ ...evidence, patch: input }, sha256);
    if (!result.ok) throw new Error('mint failed');
    input[0] = 0;
    result.patch.patch[0] = 0;
    expect(sha256(result.patch.patch)).toBe(evidence.patchDigest);
  });
});

describe('forgeries are never genuine', () => {
  const vp = mint();
  const forgeries: Record<string, unknown> = {
    'object literal': { ...evidence },
    'JSON round trip': JSON.parse(JSON.stringify(vp)) as unknown,
    structuredClone: (() => {
      try {
        return structuredClone(vp);
      } catch {
        return {};
      }
    })(),
    'Object.create': Object.create(VerifiedPatch.prototype) as unknown,
    spread: { ...vp },
    proxy: new Proxy(vp, {}),
    'Object.assign': Object.assign(Object.create(VerifiedPatch.prototype) as object, vp),
  };
  test.each(Object.entries(forgeries))('%s', (_name, forged) => {
    expect(VerifiedPatch.is(forged)).toBe(false);
    expect(() => assertGenuine(forged)).toThrow(/not a genuine VerifiedPatch/);
  });

  test('the constructor refuses a foreign mint symbol', () => {
    const Ctor = VerifiedPatch as unknown as new (token: symbol, e: VerifyEvidence) => VerifiedPatch;
    expect(() => new Ctor(Symbol('VerifiedPatch.mint'), evidence)).toThrow(/minted by the verify gate only/);
  });

  test('the types refuse imitations', () => {
    // @ts-expect-error an object literal is not a VerifiedPatch (the #private field is missing)
    const literal: VerifiedPatch = { ...evidence, patchDigest: evidence.patchDigest };
    // @ts-expect-error the constructor is private
    const construct = (): VerifiedPatch => new VerifiedPatch(Symbol('x'), evidence);
    expect(VerifiedPatch.is(literal)).toBe(false);
    expect(construct).toThrow(/minted by the verify gate only/);
  });
});
