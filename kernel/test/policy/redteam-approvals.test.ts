/**
 * Red-team cases 41 and 42 against a real approvals file: the model or a sidecar cannot approve,
 * and an approval token cannot be reused for another patch, another branch or remote, a second
 * time, or after it expired. Each refusal carries the code that names the broken binding.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ApprovalStore, checkApproval, mintApproval } from '../../src/policy/index.js';
import type { ActionDescriptor, ApprovalActor, ApprovalChannel, MintedApproval } from '../../src/policy/index.js';
import { digestOf, integrateMain, key, randomId, temporaryDirectory } from './approval-fixtures.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function filedApproval(action: ActionDescriptor): { readonly store: ApprovalStore; readonly minted: MintedApproval } {
  const { dir, remove } = temporaryDirectory();
  cleanups.push(remove);
  const store = new ApprovalStore(join(dir, 'state'));
  const minted = mintApproval({
    key,
    actionDigest: digestOf(action),
    taskId: action.taskId,
    purpose: 'integrate',
    nowMs: 1000,
    ttlMs: 60_000,
    randomId,
  });
  store.add({
    approvalId: minted.approvalId,
    taskId: action.taskId,
    actionKind: action.kind,
    actionDigest: digestOf(action),
    purpose: 'integrate',
    createdAtMs: 1000,
    expiresAtMs: minted.expiresAtMs,
    summary: { title: 'commit 1 file to main', files: ['src/a.ts'], protectedPaths: [], verify: null },
  });
  return { store, minted };
}

describe('REDTEAM 41: only the user actor resolves approvals', () => {
  const impostors: readonly (readonly [ApprovalActor, ApprovalChannel])[] = [
    ['model', 'cli-tty'],
    ['sidecar', 'cli-yes'],
    ['kernel', 'cli-tty'],
  ];
  for (const [actor, via] of impostors) {
    it(`refuses ${actor} and leaves the approval pending`, () => {
      const { store, minted } = filedApproval(integrateMain);
      expect(store.resolve(minted.approvalId, 'grant', { actor, via, nowMs: 2000 })).toEqual({
        ok: false,
        code: 'wrongActor',
        reason: `only the user can resolve approvals, not ${actor}`,
      });
      expect(store.get(minted.approvalId)?.status).toBe('pending');
      const check = store.consume({
        key,
        token: minted.token,
        actionDigest: digestOf(integrateMain),
        nowMs: 3000,
        used: () => false,
      });
      expect(check.ok ? 'ok' : check.code).toBe('notGranted');
    });
  }

  it('refuses the user through a channel that is not authenticated', () => {
    const { store, minted } = filedApproval(integrateMain);
    const via = 'telegram-unpaired' as ApprovalChannel;
    expect(store.resolve(minted.approvalId, 'grant', { actor: 'user', via, nowMs: 2000 })).toEqual({
      ok: false,
      code: 'wrongActor',
      reason: 'approvals are resolved only through the CLI, not telegram-unpaired',
    });
  });

  it('refuses a grant that a non-user actor wrote into the record', () => {
    const { store, minted } = filedApproval(integrateMain);
    const record = store.get(minted.approvalId);
    if (record === undefined) throw new Error('approval was not filed');
    const forged = {
      ...record,
      status: 'granted' as const,
      resolution: { decision: 'grant' as const, actor: 'model' as const, via: 'cli-tty' as const, atMs: 2000 },
    };
    expect(
      checkApproval({
        key,
        token: minted.token,
        approval: forged,
        actionDigest: digestOf(integrateMain),
        nowMs: 3000,
        used: () => false,
      }),
    ).toEqual({
      ok: false,
      code: 'wrongActor',
      reason: `approval ${minted.approvalId} was resolved by model; only the user can approve`,
    });
  });
});

describe('REDTEAM 42: an approval token is single-use, bound to the action digest, and expiring', () => {
  function granted(): { readonly store: ApprovalStore; readonly minted: MintedApproval } {
    const filed = filedApproval(integrateMain);
    const result = filed.store.resolve(filed.minted.approvalId, 'grant', {
      actor: 'user',
      via: 'cli-tty',
      nowMs: 2000,
    });
    expect(result.ok).toBe(true);
    return filed;
  }

  const refusalFor = (action: ActionDescriptor, nowMs = 3000): string => {
    const { store, minted } = granted();
    const check = store.consume({ key, token: minted.token, actionDigest: digestOf(action), nowMs, used: () => false });
    return check.ok ? 'ok' : check.code;
  };

  it('authorises the approved action', () => {
    expect(refusalFor(integrateMain)).toBe('ok');
  });

  it('refuses another patch', () => {
    expect(refusalFor({ ...integrateMain, patchDigest: `sha256:${'f'.repeat(64)}` })).toBe('digestMismatch');
  });

  it('refuses another branch', () => {
    expect(refusalFor({ ...integrateMain, target: { type: 'branch', branch: 'release' } })).toBe('digestMismatch');
  });

  it('refuses another remote', () => {
    expect(
      refusalFor({ ...integrateMain, kind: 'push', target: { type: 'remote', remote: 'origin', branch: 'main' } }),
    ).toBe('digestMismatch');
  });

  it('refuses another base commit', () => {
    expect(refusalFor({ ...integrateMain, baseCommit: 'f'.repeat(40) })).toBe('digestMismatch');
  });

  it('refuses after expiry', () => {
    expect(refusalFor(integrateMain, 61_000)).toBe('expired');
  });

  it('refuses a second use, from the store and from the kernel log alike', () => {
    const { store, minted } = granted();
    const input = { key, token: minted.token, actionDigest: digestOf(integrateMain), nowMs: 3000, used: () => false };
    expect(store.consume(input)).toEqual({ ok: true });
    expect(store.consume(input)).toEqual({
      ok: false,
      code: 'alreadyUsed',
      reason: `approval ${minted.approvalId} was already used; an approval authorises one action once`,
    });
    const fresh = granted();
    const loggedAsUsed = fresh.store.consume({ ...input, token: fresh.minted.token, used: () => true });
    expect(loggedAsUsed.ok ? 'ok' : loggedAsUsed.code).toBe('alreadyUsed');
  });

  it('refuses a token for an approval the store does not hold', () => {
    const { store } = granted();
    const stranger = mintApproval({
      key,
      actionDigest: digestOf(integrateMain),
      taskId: 'task-1',
      purpose: 'integrate',
      nowMs: 1000,
      ttlMs: 60_000,
      randomId: new Uint8Array(16).fill(1),
    });
    const check = store.consume({
      key,
      token: stranger.token,
      actionDigest: digestOf(integrateMain),
      nowMs: 3000,
      used: () => false,
    });
    expect(check.ok ? 'ok' : check.code).toBe('unknownApproval');
  });
});
