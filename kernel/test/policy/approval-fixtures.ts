/** Shared builders for the approval tests: keys, actions, and a granted record. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { computeActionDigest } from '../../src/policy/index.js';
import type { ActionDescriptor, ActionDigest, ApprovalRecord, MintedApproval } from '../../src/policy/index.js';

export const key = new Uint8Array(32).fill(7);
export const otherKey = new Uint8Array(32).fill(8);
export const randomId = new Uint8Array(16).map((_, index) => index * 17);
export const baseCommit = '0123456789abcdef0123456789abcdef01234567';
export const patchDigest = `sha256:${'a'.repeat(64)}`;

export const integrateMain: ActionDescriptor = {
  kind: 'integrateExistingBranch',
  patchDigest,
  target: { type: 'branch', branch: 'main' },
  baseCommit,
  taskId: 'task-1',
};

/** The digest of an action the test knows is well-formed. */
export function digestOf(action: ActionDescriptor): ActionDigest {
  const result = computeActionDigest(action);
  if (!result.ok) throw new Error(result.reason);
  return result.digest;
}

/** The record the store would hold for `minted`, in the given state. */
export function recordFor(
  minted: MintedApproval,
  action: ActionDescriptor,
  overrides: Partial<ApprovalRecord> = {},
): ApprovalRecord {
  return {
    approvalId: minted.approvalId,
    taskId: action.taskId,
    actionKind: action.kind,
    actionDigest: digestOf(action),
    purpose: 'integrate',
    createdAtMs: 1000,
    expiresAtMs: minted.expiresAtMs,
    status: 'granted',
    resolution: { decision: 'grant', actor: 'user', via: 'cli-tty', atMs: 2000 },
    usedAtMs: null,
    summary: { title: 'commit 1 file to main', files: ['src/a.ts'], protectedPaths: [], verify: null },
    ...overrides,
  };
}

/** A fresh directory under the OS temp dir and a function that removes it. */
export function temporaryDirectory(): { readonly dir: string; readonly remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'crustcore-policy-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
