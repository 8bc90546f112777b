/**
 * The approval flow against real files: a task log written by the real driver stops for an
 * approval; `requestApproval` files it (store record, 0600 ticket with the token, logged
 * `approvalRequested`), and `resolveApproval` honours only the user, through a CLI channel, for
 * the approval the task awaits, with the token's MAC intact, before expiry, once. Every refusal is
 * checked to leave every file of the repo's state folder byte-for-byte unchanged.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { approvalOf } from '../../src/core/index.js';
import {
  ApprovalFlowLimits,
  approvalsDirOf,
  findApprovalIn,
  resolveApproval,
  type DecisionInput,
} from '../../src/host/approval-flow.js';
import { ResumedTask } from '../../src/host/resume-task.js';
import {
  ApprovalStore,
  computeActionDigest,
  type ApprovalActor,
  type ApprovalChannel,
} from '../../src/policy/index.js';
import {
  approvalWorld,
  attemptId,
  baseCommit,
  outputDigest,
  patchDigest,
  snapshotFiles,
  type ApprovalWorld,
} from './approval-fixture.js';

const worlds: ApprovalWorld[] = [];
afterEach(() => {
  for (const world of worlds.splice(0)) world.cleanup();
});

function world(): ApprovalWorld {
  const made = approvalWorld();
  worlds.push(made);
  return made;
}

const expectedDigest = (() => {
  const digest = computeActionDigest({
    kind: 'runVerify',
    patchDigest,
    target: { type: 'attempt', attemptId },
    baseCommit,
    taskId: 't1',
  });
  if (!digest.ok) throw new Error(digest.reason);
  return digest.digest;
})();

/** Opens the task, resolves, and releases the log (checkpointed only when resolved). */
function decide(
  w: ApprovalWorld,
  input: Partial<DecisionInput> & { nowMs?: number },
): ReturnType<typeof resolveApproval> {
  const located = findApprovalIn(w.repoState, w.approvalId);
  if (located === null) throw new Error('approval not found');
  const resumed = ResumedTask.open({
    stateDir: w.stateDir,
    repoState: w.repoState,
    taskId: w.taskId,
    nowMs: w.clock.nowMs,
    readClockMs: () => w.clock.nowMs,
  });
  const result = resolveApproval(w.stateDir, located, resumed, {
    actor: 'user',
    via: 'cli-yes',
    decision: 'granted',
    nowMs: w.clock.nowMs,
    ...input,
  });
  if (result.ok) resumed.close();
  else resumed.abandon();
  return result;
}

describe('requestApproval', () => {
  it('files the approval with its summary, keeps the token in a 0600 ticket, and records approvalRequested', () => {
    const w = world();
    const createdAtMs = w.clock.nowMs;
    expect(w.expiresAtMs).toBe(createdAtMs + ApprovalFlowLimits.ttlMs);
    expect(w.requestedActions).toEqual([]);
    const store = new ApprovalStore(approvalsDirOf(w.repoState));
    expect(store.list()).toEqual([
      {
        approvalId: w.approvalId,
        taskId: 't1',
        actionKind: 'runVerify',
        actionDigest: expectedDigest,
        purpose: 'acceptProtected',
        createdAtMs,
        expiresAtMs: w.expiresAtMs,
        status: 'pending',
        resolution: null,
        usedAtMs: null,
        summary: {
          title: `accept patch ${patchDigest.slice(0, 12)} of task t1: it changes 1 protected path(s) among 2 file(s); verify passed`,
          files: ['src/add.js', 'test/x.test.js'],
          protectedPaths: [{ path: 'test/x.test.js', reason: 'testFile' }],
          verify: { command: 'npm test', exitCode: 0, outputDigest },
        },
      },
    ]);
    const ticketPath = join(approvalsDirOf(w.repoState), 'tickets', `${w.approvalId}.json`);
    expect(statSync(ticketPath).mode & 0o777).toBe(0o600);
    const ticket = JSON.parse(readFileSync(ticketPath, 'utf8')) as { token: string };
    expect(ticket).toEqual({
      version: 1,
      approvalId: w.approvalId,
      token: expect.stringMatching(new RegExp(`^${w.approvalId}\\.[A-Za-z0-9_-]{43}$`)) as unknown as string,
      taskId: 't1',
      repo: w.root,
      logPath: w.logPath,
      patchPath: join(w.repoState, 'pending', `${patchDigest}.patch`),
      purpose: 'acceptProtected',
      branch: null,
      newBranch: null,
      baseCommit,
      patchDigest,
      verifyDurationMs: 1500,
    });
    // The token never appears in the approvals file, only in the kernel's ticket.
    expect(readFileSync(store.path, 'utf8')).not.toContain(ticket.token.split('.')[1] ?? 'missing');
    const resumed = ResumedTask.open({
      stateDir: w.stateDir,
      repoState: w.repoState,
      taskId: 't1',
      nowMs: w.clock.nowMs,
      readClockMs: () => w.clock.nowMs,
    });
    try {
      expect(approvalOf(resumed.driver.state, w.approvalId)).toEqual({
        approvalId: w.approvalId,
        taskId: 't1',
        purpose: 'acceptProtected',
        actionDigest: expectedDigest,
        patchDigest,
        branch: null,
        requestedAtMs: createdAtMs,
        expiresAtMs: w.expiresAtMs,
        status: 'pending',
        resolvedAtMs: null,
      });
    } finally {
      resumed.abandon();
    }
  });
});

describe('resolveApproval', () => {
  it('a grant is spent once: approvalResolved by the user, deliverPatch, and a second grant is refused', () => {
    const w = world();
    w.clock.nowMs += 10_000;
    expect(decide(w, { via: 'cli-tty' })).toEqual({
      ok: true,
      actions: [{ kind: 'deliverPatch', taskId: 't1', patchDigest }],
    });
    const record = new ApprovalStore(approvalsDirOf(w.repoState)).get(w.approvalId);
    expect({ status: record?.status, resolution: record?.resolution, usedAtMs: record?.usedAtMs }).toEqual({
      status: 'used',
      resolution: { decision: 'grant', actor: 'user', via: 'cli-tty', atMs: w.clock.nowMs },
      usedAtMs: w.clock.nowMs,
    });
    const resumed = ResumedTask.open({
      stateDir: w.stateDir,
      repoState: w.repoState,
      taskId: 't1',
      nowMs: w.clock.nowMs,
      readClockMs: () => w.clock.nowMs,
    });
    const task = resumed.task();
    resumed.abandon();
    expect({ status: task.status, verifiedBy: task.verifiedBy }).toEqual({
      status: 'verified',
      verifiedBy: 'userApproval',
    });
    const before = snapshotFiles(w.repoState);
    expect(decide(w, {})).toEqual({
      ok: false,
      code: 'alreadyUsed',
      reason: `approval ${w.approvalId} was already granted and used; an approval authorises one action once`,
    });
    expect(snapshotFiles(w.repoState)).toEqual(before);
  });

  it('a denial is recorded and rejects the protected patch', () => {
    const w = world();
    expect(decide(w, { decision: 'denied' })).toEqual({ ok: true, actions: [] });
    const resumed = ResumedTask.open({
      stateDir: w.stateDir,
      repoState: w.repoState,
      taskId: 't1',
      nowMs: w.clock.nowMs,
      readClockMs: () => w.clock.nowMs,
    });
    const task = resumed.task();
    resumed.abandon();
    expect({ status: task.status, reason: task.reason }).toEqual({
      status: 'rejected',
      reason: { code: 'approvalDenied', detail: 'the user denied the protected changes' },
    });
    expect(new ApprovalStore(approvalsDirOf(w.repoState)).get(w.approvalId)?.status).toBe('denied');
  });

  const refusals: readonly [string, (w: ApprovalWorld) => Partial<DecisionInput>, (w: ApprovalWorld) => object][] = [
    [
      'the model',
      () => ({ actor: 'model' }),
      (w) => ({
        code: 'wrongActor',
        reason: `only the user resolves approvals, not the model; approval ${w.approvalId} is unchanged`,
      }),
    ],
    [
      'a sidecar',
      () => ({ actor: 'sidecar' }),
      (w) => ({
        code: 'wrongActor',
        reason: `only the user resolves approvals, not the sidecar; approval ${w.approvalId} is unchanged`,
      }),
    ],
    [
      'the kernel itself',
      () => ({ actor: 'kernel' as ApprovalActor }),
      (w) => ({
        code: 'wrongActor',
        reason: `only the user resolves approvals, not the kernel; approval ${w.approvalId} is unchanged`,
      }),
    ],
    [
      'a channel that is not the CLI',
      () => ({ via: 'telegram' as ApprovalChannel }),
      () => ({ code: 'wrongActor', reason: "approvals are resolved only through the crustcore CLI, not 'telegram'" }),
    ],
    [
      'at its expiry',
      (w) => ({ nowMs: w.expiresAtMs }),
      (w) => ({ code: 'expired', reason: `approval ${w.approvalId} expired; the kernel must request a new one` }),
    ],
  ];
  for (const [name, input, expected] of refusals) {
    it(`refuses ${name} and changes nothing`, () => {
      const w = world();
      const before = snapshotFiles(w.repoState);
      expect(decide(w, input(w))).toEqual({ ok: false, ...expected(w) });
      expect(snapshotFiles(w.repoState)).toEqual(before);
    });
  }

  it('refuses an approval whose stored expiry was extended (the MAC covers it) and changes nothing', () => {
    const w = world();
    const path = new ApprovalStore(approvalsDirOf(w.repoState)).path;
    const text = readFileSync(path, 'utf8');
    writeFileSync(path, text.replace(`"expiresAtMs": ${w.expiresAtMs}`, `"expiresAtMs": ${w.expiresAtMs + 1_000_000}`));
    const before = snapshotFiles(w.repoState);
    w.clock.nowMs = w.expiresAtMs + 10;
    expect(decide(w, {})).toEqual({
      ok: false,
      code: 'badMac',
      reason: `approval ${w.approvalId} does not match its token: the record or the token was altered`,
    });
    expect(snapshotFiles(w.repoState)).toEqual(before);
  });

  it("refuses another approval's token and changes nothing", () => {
    const w = world();
    const other = approvalWorld('t2', { root: w.root, stateDir: w.stateDir });
    const ticketOf = (id: string): string => join(approvalsDirOf(w.repoState), 'tickets', `${id}.json`);
    const mine = JSON.parse(readFileSync(ticketOf(w.approvalId), 'utf8')) as { token: string };
    const theirs = JSON.parse(readFileSync(ticketOf(other.approvalId), 'utf8')) as { token: string };
    writeFileSync(ticketOf(w.approvalId), JSON.stringify({ ...mine, token: theirs.token }));
    const before = snapshotFiles(w.repoState);
    expect(decide(w, {})).toEqual({
      ok: false,
      code: 'unknownApproval',
      reason: `no pending approval ${other.approvalId}; list them with \`crustcore approvals\``,
    });
    expect(snapshotFiles(w.repoState)).toEqual(before);
  });
});
