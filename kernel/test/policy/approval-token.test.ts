/**
 * Approval tokens in memory: minting, each refusal code, and the property that a token never
 * authorises any action other than the one it was minted for.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { actionKinds, canonicalJson, checkApproval, mintApproval, targetTypeOf } from '../../src/policy/index.js';
import type { ActionDescriptor, ActionTarget, ApprovalCheck, JsonValue } from '../../src/policy/index.js';
import { digestOf, integrateMain, key, otherKey, randomId, recordFor } from './approval-fixtures.js';

const minted = mintApproval({
  key,
  actionDigest: digestOf(integrateMain),
  taskId: 'task-1',
  purpose: 'integrate',
  nowMs: 1000,
  ttlMs: 60_000,
  randomId,
});

describe('mintApproval', () => {
  it('derives a base32 id from the random bytes and MACs the binding', () => {
    expect(minted).toEqual({
      approvalId: 'aaisem2ekvthpcezvk54zxpo74',
      token: expect.stringMatching(/^aaisem2ekvthpcezvk54zxpo74\.[A-Za-z0-9_-]{43}$/) as unknown as string,
      expiresAtMs: 61_000,
    });
  });

  it('is deterministic for the same inputs and differs for another purpose', () => {
    const again = mintApproval({
      key,
      actionDigest: digestOf(integrateMain),
      taskId: 'task-1',
      purpose: 'integrate',
      nowMs: 1000,
      ttlMs: 60_000,
      randomId,
    });
    const otherPurpose = mintApproval({
      key,
      actionDigest: digestOf(integrateMain),
      taskId: 'task-1',
      purpose: 'push',
      nowMs: 1000,
      ttlMs: 60_000,
      randomId,
    });
    expect(again).toEqual(minted);
    expect(otherPurpose.token).not.toBe(minted.token);
  });

  it('throws on a short key, short randomness or an unbounded ttl', () => {
    const input = {
      key,
      actionDigest: digestOf(integrateMain),
      taskId: 'task-1',
      purpose: 'integrate',
      nowMs: 0,
      ttlMs: 1000,
      randomId,
    } as const;
    expect(() => mintApproval({ ...input, key: new Uint8Array(16) })).toThrow('approval key is 32 bytes');
    expect(() => mintApproval({ ...input, randomId: new Uint8Array(8) })).toThrow('approval randomId is 16 bytes');
    expect(() => mintApproval({ ...input, ttlMs: 365 * 24 * 3600 * 1000 })).toThrow('approval ttlMs');
  });
});

describe('checkApproval', () => {
  const check = (overrides: Partial<Parameters<typeof checkApproval>[0]> = {}): ApprovalCheck =>
    checkApproval({
      key,
      token: minted.token,
      approval: recordFor(minted, integrateMain),
      actionDigest: digestOf(integrateMain),
      nowMs: 3000,
      used: () => false,
      ...overrides,
    });

  it('accepts the granted approval for its own action', () => {
    expect(check()).toEqual({ ok: true });
  });

  it('refuses each broken binding with its own code', () => {
    const results = {
      malformed: check({ token: 'not-a-token' }),
      unknown: check({ approval: undefined }),
      otherKey: check({ key: otherKey }),
      tamperedExpiry: check({ approval: recordFor(minted, integrateMain, { expiresAtMs: 10_000_000 }) }),
      used: check({ used: (id) => id === minted.approvalId }),
      pending: check({ approval: recordFor(minted, integrateMain, { status: 'pending', resolution: null }) }),
      denied: check({
        approval: recordFor(minted, integrateMain, {
          status: 'denied',
          resolution: { decision: 'deny', actor: 'user', via: 'cli-tty', atMs: 2000 },
        }),
      }),
      expired: check({ nowMs: minted.expiresAtMs }),
    };
    const codes = Object.fromEntries(
      Object.entries(results).map(([name, result]) => [name, result.ok ? 'ok' : result.code]),
    );
    expect(codes).toEqual({
      malformed: 'badMac',
      unknown: 'unknownApproval',
      otherKey: 'badMac',
      tamperedExpiry: 'badMac',
      used: 'alreadyUsed',
      pending: 'notGranted',
      denied: 'notGranted',
      expired: 'expired',
    });
  });

  it('explains a refusal in one line', () => {
    expect(check({ approval: undefined })).toEqual({
      ok: false,
      code: 'unknownApproval',
      reason: 'no pending approval aaisem2ekvthpcezvk54zxpo74; list them with `crustcore approvals`',
    });
  });
});

const names = ['main', 'release'] as const;

function targetArbitrary(kind: ActionDescriptor['kind']): fc.Arbitrary<ActionTarget> {
  const type = targetTypeOf(kind);
  switch (type) {
    case 'attempt':
      return fc.constantFrom(...names).map((attemptId): ActionTarget => ({ type, attemptId }));
    case 'branch':
      return fc.constantFrom(...names).map((branch): ActionTarget => ({ type, branch }));
    case 'remote':
      return fc
        .tuple(fc.constantFrom('origin', 'fork'), fc.constantFrom(...names))
        .map(([remote, branch]): ActionTarget => ({ type, remote, branch }));
    case 'sidecar':
      return fc.constantFrom('net', 'mcp').map((sidecar): ActionTarget => ({ type, sidecar, secretName: 'token' }));
  }
}

// Small value sets so that generated pairs are often equal or differ in a single field.
const actionArbitrary: fc.Arbitrary<ActionDescriptor> = fc.constantFrom(...actionKinds).chain((kind) =>
  fc.record({
    kind: fc.constant(kind),
    patchDigest: fc.constantFrom(`sha256:${'a'.repeat(64)}`, `sha256:${'b'.repeat(64)}`),
    target: targetArbitrary(kind),
    baseCommit: fc.constantFrom('0'.repeat(40), '1'.repeat(40)),
    taskId: fc.constantFrom('task-1', 'task-2'),
  }),
);

/** Field-by-field equality, independent of the digest under test. */
function sameAction(left: ActionDescriptor, right: ActionDescriptor): boolean {
  return canonicalJson(left as unknown as JsonValue) === canonicalJson(right as unknown as JsonValue);
}

describe('approval binding property', () => {
  it('a token never authorises any action other than the one it was minted for', () => {
    fc.assert(
      fc.property(
        actionArbitrary,
        actionArbitrary,
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        (approved, attempted, bytes) => {
          const approval = mintApproval({
            key,
            actionDigest: digestOf(approved),
            taskId: approved.taskId,
            purpose: 'integrate',
            nowMs: 1000,
            ttlMs: 60_000,
            randomId: bytes,
          });
          const result = checkApproval({
            key,
            token: approval.token,
            approval: recordFor(approval, approved),
            actionDigest: digestOf(attempted),
            nowMs: 3000,
            used: () => false,
          });
          expect(result.ok).toBe(sameAction(approved, attempted));
          // Rewriting the stored record to name the attempted action breaks the MAC instead.
          const rewritten = checkApproval({
            key,
            token: approval.token,
            approval: recordFor(approval, attempted),
            actionDigest: digestOf(attempted),
            nowMs: 3000,
            used: () => false,
          });
          expect(rewritten.ok ? 'ok' : rewritten.code).toBe(sameAction(approved, attempted) ? 'ok' : 'badMac');
        },
      ),
      { numRuns: 2000 },
    );
  });
});
