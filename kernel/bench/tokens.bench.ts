/**
 * Token verification cost: a capability token with five caveats (verified from its serialized
 * form, and from an already-parsed token), and an approval token check.
 */
import { performance } from 'node:perf_hooks';
import {
  CapabilityVerifier,
  checkApproval,
  computeActionDigest,
  mintApproval,
  mintCapability,
  parseCapability,
  verifyCapability,
  verifyParsedCapability,
} from '../src/policy/index.js';
import type { ApprovalRecord, CapabilityRequest } from '../src/policy/index.js';

type BenchFigure = {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly target?: { readonly op: '<=' | '>='; readonly value: number };
};

const runMs = 1500;

/** Mean microseconds per call of `work`, after a warm-up, over about `runMs`. */
function microsecondsPerCall(work: () => boolean): number {
  for (let index = 0; index < 20_000; index += 1) if (!work()) throw new Error('bench work was refused');
  let calls = 0;
  const startedAtMs = performance.now();
  let elapsedMs = 0;
  while (elapsedMs < runMs) {
    for (let index = 0; index < 1000; index += 1) work();
    calls += 1000;
    elapsedMs = performance.now() - startedAtMs;
  }
  return Math.round((elapsedMs * 1000 * 100) / calls) / 100;
}

export default async function bench(): Promise<readonly BenchFigure[]> {
  const rootKey = new Uint8Array(32).fill(3);
  const token = mintCapability({
    rootKey,
    randomId: new Uint8Array(16).fill(9),
    caveats: [
      { type: 'taskId', taskId: 'task-1' },
      { type: 'actions', actions: ['writeNewBranch', 'runVerify'] },
      { type: 'pathPrefix', pathPrefix: 'src' },
      { type: 'branchPrefix', branchPrefix: 'crustcore/' },
      { type: 'expiresAtMs', expiresAtMs: 10_000 },
    ],
  });
  const parsed = parseCapability(token);
  if (!parsed.ok) throw new Error(parsed.reason);
  const request: CapabilityRequest = {
    taskId: 'task-1',
    action: 'writeNewBranch',
    path: 'src/a.ts',
    branch: 'crustcore/fix-1',
    nowMs: 5000,
    usesSoFar: 0,
  };

  const key = new Uint8Array(32).fill(7);
  const digest = computeActionDigest({
    kind: 'integrateExistingBranch',
    patchDigest: `sha256:${'a'.repeat(64)}`,
    target: { type: 'branch', branch: 'main' },
    baseCommit: '0123456789abcdef0123456789abcdef01234567',
    taskId: 'task-1',
  });
  if (!digest.ok) throw new Error(digest.reason);
  const minted = mintApproval({
    key,
    actionDigest: digest.digest,
    taskId: 'task-1',
    purpose: 'integrate',
    nowMs: 1000,
    ttlMs: 60_000,
    randomId: new Uint8Array(16).fill(5),
  });
  const approval: ApprovalRecord = {
    approvalId: minted.approvalId,
    taskId: 'task-1',
    actionKind: 'integrateExistingBranch',
    actionDigest: digest.digest,
    purpose: 'integrate',
    createdAtMs: 1000,
    expiresAtMs: minted.expiresAtMs,
    status: 'granted',
    resolution: { decision: 'grant', actor: 'user', via: 'cli-tty', atMs: 2000 },
    usedAtMs: null,
    summary: { title: 'bench', files: [], protectedPaths: [], verify: null },
  };

  const capabilityMicroseconds = microsecondsPerCall(() => verifyCapability(rootKey, token, request).ok);
  const parsedMicroseconds = microsecondsPerCall(() => verifyParsedCapability(rootKey, parsed.token, request).ok);
  const verifier = new CapabilityVerifier(rootKey);
  const rememberedMicroseconds = microsecondsPerCall(() => verifier.verify(token, request).ok);
  const approvalMicroseconds = microsecondsPerCall(
    () =>
      checkApproval({ key, token: minted.token, approval, actionDigest: digest.digest, nowMs: 3000, used: () => false })
        .ok,
  );
  return [
    {
      name: 'capability token verify, 5 caveats, signature remembered by CapabilityVerifier',
      value: rememberedMicroseconds,
      unit: 'µs/token',
      target: { op: '<=', value: 5 },
    },
    {
      name: 'capability token verify, 5 caveats, first sight (parse + 6 HMACs)',
      value: capabilityMicroseconds,
      unit: 'µs/token',
    },
    { name: 'capability token verify, 5 caveats, pre-parsed (6 HMACs)', value: parsedMicroseconds, unit: 'µs/token' },
    { name: 'approval token check', value: approvalMicroseconds, unit: 'µs/check' },
  ];
}
