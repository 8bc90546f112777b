/**
 * Unit tests of the reducer: one input, the exact output. Each test drives a task with the
 * harness (which stamps `seq`/`atMs` like the shell and deep-freezes events and states, so a
 * mutation throws) and compares whole actions lists and whole task objects.
 */
import { describe, expect, test } from 'vitest';
import type { AttemptRecord, Event, State, Task } from '../../src/core/index.js';
import {
  KernelInvariantError,
  Limits,
  initialState,
  stateProblems,
  step,
  taskOf,
  taskVerdict,
} from '../../src/core/index.js';
import { Harness, deepFreeze } from './support.js';

const pendingAttempt = (attempt: number): AttemptRecord => ({
  attempt,
  attemptId: null,
  startedAtMs: null,
  patchDigest: null,
  patchBytes: null,
  fileCount: null,
  jobId: null,
  verify: null,
  outcome: { verdict: 'pending' },
});

/** The record of attempt 1 after `toVerifying()` (created 1010, started 1020, derived 1030, verify 1040). */
const verifyingAttempt: AttemptRecord = {
  attempt: 1,
  attemptId: 't1-a1',
  startedAtMs: 1020,
  patchDigest: 'p1',
  patchBytes: 120,
  fileCount: 1,
  jobId: 'j1',
  verify: null,
  outcome: { verdict: 'pending' },
};

const passingReport = {
  jobId: 'j1',
  exitCode: 0,
  timedOut: false,
  outputBytes: 100,
  outputDigest: 'o1',
  durationMs: 500,
};

function createdTask(overrides: Partial<Task> = {}): Task {
  return {
    taskId: 't1',
    goal: 'make the tests pass',
    baseCommit: 'c0ffee',
    verifyCommand: 'npm test',
    candidate: 'worker',
    status: 'created',
    budgets: { ...Limits.defaultBudgets },
    usage: { tokens: 0, costMicros: 0, outputBytes: 0 },
    createdAtMs: 1010,
    updatedAtMs: 1010,
    attempt: 1,
    attempts: [pendingAttempt(1)],
    patchDigest: null,
    job: null,
    awaiting: null,
    approvalIds: [],
    verifiedBy: null,
    integration: null,
    integrationError: null,
    reason: null,
    advisoryClaims: 0,
    ...overrides,
  };
}

const verifyingTask = (overrides: Partial<Task> = {}): Task =>
  createdTask({
    status: 'verifying',
    attempts: [verifyingAttempt],
    patchDigest: 'p1',
    job: { jobId: 'j1', leaseMs: 60_000, leaseExpiresAtMs: 61_040 },
    updatedAtMs: 1040,
    ...overrides,
  });

/** Drives t1 to `verified` through a clean pass (seq 5, at 1050). */
function verifiedHarness(): Harness {
  const h = new Harness();
  h.toVerifying();
  h.finish();
  return h;
}

/** Drives t1 to `awaiting-approval` for protected changes, with approval a1 minted (seq 6, at 1060). */
function protectedHarness(expiresAtMs = 100_000): Harness {
  const h = new Harness();
  h.toVerifying();
  h.finish({ integrity: { verdict: 'protected', violations: [{ path: 'package.json', rule: 'verifyScript' }] } });
  h.apply({
    kind: 'approvalRequested',
    taskId: 't1',
    approvalId: 'a1',
    purpose: 'acceptProtected',
    actionDigest: 'x1',
    expiresAtMs,
  });
  return h;
}

describe('taskCreated', () => {
  test('creates the task and asks for attempt 1', () => {
    const h = new Harness();
    const result = h.create();
    expect(result.actions).toEqual([{ kind: 'startAttempt', taskId: 't1', attempt: 1 }]);
    expect(result.state).toEqual({
      lastSeq: 1,
      nowMs: 1010,
      tasks: [createdTask()],
      taskIndex: { t1: 0 },
      jobs: {},
      approvals: {},
    });
  });

  test('merges budget overrides over the defaults', () => {
    const h = new Harness();
    h.create('t1', { attempts: 3, tokens: 5 });
    expect(h.task().budgets).toEqual({ ...Limits.defaultBudgets, attempts: 3, tokens: 5 });
  });

  test('refuses a duplicate id and leaves the task as it was', () => {
    const h = new Harness();
    h.create();
    const before = h.task();
    const result = h.create();
    expect(result.actions).toEqual([
      { kind: 'reportRefusal', taskId: 't1', reason: 'duplicateTask', detail: 'taskCreated: task t1 exists' },
    ]);
    expect(h.task()).toBe(before);
    expect(h.state.tasks.length).toBe(1);
  });

  test('refuses malformed payloads without a crash', () => {
    const h = new Harness();
    expect(h.create('').actions).toEqual([
      {
        kind: 'reportRefusal',
        reason: 'malformedEvent',
        detail: `taskCreated: taskId must be a string of 1 to ${Limits.idCharsMax} characters`,
      },
    ]);
    expect(h.create('t1', { attempts: 17 }).actions).toEqual([
      { kind: 'reportRefusal', reason: 'malformedEvent', detail: 'taskCreated: budgets.attempts must be at most 16' },
    ]);
    expect(h.create('t1', { wallMs: 0 }).actions[0]?.kind).toBe('reportRefusal');
    expect(h.state.tasks).toEqual([]);
  });

  test('records declared risks and refuses a malformed risk list', () => {
    const h = new Harness();
    const base = {
      kind: 'taskCreated',
      goal: 'g',
      baseCommit: 'c0ffee',
      verifyCommand: 'npm test',
      candidate: 'worker',
    } as const;
    expect(
      h.apply({ ...base, taskId: 't1', risks: ['worker-network: the worker may reach the network'] }).actions,
    ).toEqual([{ kind: 'startAttempt', taskId: 't1', attempt: 1 }]);
    expect(h.apply({ ...base, taskId: 't2', risks: [7] as unknown as string[] }).actions).toEqual([
      {
        kind: 'reportRefusal',
        reason: 'malformedEvent',
        detail: `taskCreated: risks[] must be a string of at most ${Limits.detailCharsMax} characters`,
      },
    ]);
  });

  test(`refuses task number ${Limits.tasksMax + 1}`, () => {
    const h = new Harness();
    for (let i = 0; i < Limits.tasksMax; i++) h.create(`t${i}`);
    expect(h.create('one-more').actions).toEqual([
      {
        kind: 'reportRefusal',
        taskId: 'one-more',
        reason: 'tasksFull',
        detail: `taskCreated: the log holds ${Limits.tasksMax} tasks`,
      },
    ]);
    expect(h.state.tasks.length).toBe(Limits.tasksMax);
  });
});

describe('attempts and patches', () => {
  test('attemptStarted, patchDerived and verifyStarted move the task to verifying', () => {
    const h = new Harness();
    h.create();
    expect(h.apply({ kind: 'attemptStarted', taskId: 't1', attempt: 1, attemptId: 't1-a1' }).actions).toEqual([]);
    expect(h.task()).toEqual(
      createdTask({
        status: 'attempting',
        attempts: [{ ...pendingAttempt(1), attemptId: 't1-a1', startedAtMs: 1020 }],
        updatedAtMs: 1020,
      }),
    );
    const derived = h.apply({
      kind: 'patchDerived',
      taskId: 't1',
      attempt: 1,
      patchDigest: 'p1',
      files: ['src/a.ts'],
      patchBytes: 120,
    });
    expect(derived.actions).toEqual([{ kind: 'runVerify', taskId: 't1', attempt: 1, patchDigest: 'p1' }]);
    const started = h.apply({ kind: 'verifyStarted', taskId: 't1', attempt: 1, jobId: 'j1', leaseMs: 60_000 });
    expect(started.actions).toEqual([]);
    expect(started.state.tasks).toEqual([verifyingTask()]);
    expect(started.state.jobs).toEqual({ j1: 't1' });
  });

  test('refuses a stale or repeated attemptStarted', () => {
    const h = new Harness();
    h.create();
    expect(h.apply({ kind: 'attemptStarted', taskId: 't1', attempt: 2, attemptId: 'x' }).actions).toEqual([
      {
        kind: 'reportRefusal',
        taskId: 't1',
        reason: 'staleAttempt',
        detail: 'attemptStarted: attempt 2 is not the current attempt 1',
      },
    ]);
    h.apply({ kind: 'attemptStarted', taskId: 't1', attempt: 1, attemptId: 'a' });
    const before = h.task();
    expect(h.apply({ kind: 'attemptStarted', taskId: 't1', attempt: 1, attemptId: 'b' }).actions).toEqual([
      {
        kind: 'reportRefusal',
        taskId: 't1',
        reason: 'staleAttempt',
        detail: 'attemptStarted: attempt 1 already started',
      },
    ]);
    expect(h.task()).toBe(before);
  });

  test('refuses a patch before the attempt started and a second patch for one attempt', () => {
    const h = new Harness();
    h.create();
    const derive = {
      kind: 'patchDerived',
      taskId: 't1',
      attempt: 1,
      patchDigest: 'p1',
      files: [],
      patchBytes: 1,
    } as const;
    expect(h.apply(derive).actions).toEqual([
      { kind: 'reportRefusal', taskId: 't1', reason: 'wrongStatus', detail: 'patchDerived: task is created' },
    ]);
    h.apply({ kind: 'attemptStarted', taskId: 't1', attempt: 1, attemptId: 'a' });
    h.apply(derive);
    expect(h.apply({ ...derive, patchDigest: 'p2' }).actions).toEqual([
      {
        kind: 'reportRefusal',
        taskId: 't1',
        reason: 'staleAttempt',
        detail: 'patchDerived: attempt 1 already has a patch',
      },
    ]);
    expect(h.task().patchDigest).toBe('p1');
  });

  test('patchRefused fails the attempt and asks for the next one', () => {
    const h = new Harness();
    h.create();
    h.apply({ kind: 'attemptStarted', taskId: 't1', attempt: 1, attemptId: 'a' });
    const result = h.apply({ kind: 'patchRefused', taskId: 't1', attempt: 1, code: 'symlink', detail: 'x -> /etc' });
    expect(result.actions).toEqual([
      { kind: 'removeAttempt', taskId: 't1', attempt: 1 },
      { kind: 'startAttempt', taskId: 't1', attempt: 2 },
    ]);
    expect(h.task()).toEqual(
      createdTask({
        status: 'attempting',
        attempt: 2,
        attempts: [
          {
            ...pendingAttempt(1),
            attemptId: 'a',
            startedAtMs: 1020,
            outcome: { verdict: 'failed', reason: { code: 'patchRefused', detail: 'symlink: x -> /etc' } },
          },
          pendingAttempt(2),
        ],
        updatedAtMs: 1030,
      }),
    );
  });

  test('attemptFailed on the last attempt rejects the task', () => {
    const h = new Harness();
    h.create('t1', { attempts: 1 });
    h.toVerifying();
    const result = h.apply({
      kind: 'attemptFailed',
      taskId: 't1',
      attempt: 1,
      code: 'workerCrashed',
      detail: 'signal 9',
    });
    expect(result.actions).toEqual([
      { kind: 'killJob', jobId: 'j1', reason: 'attemptFailed' },
      { kind: 'removeAttempt', taskId: 't1', attempt: 1 },
    ]);
    const reason = { code: 'attemptFailed', detail: 'workerCrashed: signal 9' } as const;
    expect(h.task()).toEqual(
      verifyingTask({
        status: 'rejected',
        budgets: { ...Limits.defaultBudgets, attempts: 1 },
        job: null,
        attempts: [{ ...verifyingAttempt, outcome: { verdict: 'failed', reason } }],
        reason,
        updatedAtMs: 1050,
      }),
    );
    expect(h.state.jobs).toEqual({});
  });
});

describe('verifyFinished', () => {
  test('a clean exit-0 run of the current job and patch verifies and delivers the patch', () => {
    const h = new Harness();
    h.toVerifying();
    const result = h.finish();
    expect(result.actions).toEqual([
      { kind: 'deliverPatch', taskId: 't1', patchDigest: 'p1' },
      { kind: 'removeAttempt', taskId: 't1', attempt: 1 },
    ]);
    expect(result.state).toEqual({
      lastSeq: 5,
      nowMs: 1050,
      tasks: [
        verifyingTask({
          status: 'verified',
          job: null,
          verifiedBy: 'verify',
          usage: { tokens: 0, costMicros: 0, outputBytes: 100 },
          attempts: [{ ...verifyingAttempt, verify: passingReport, outcome: { verdict: 'passed' } }],
          updatedAtMs: 1050,
        }),
      ],
      taskIndex: { t1: 0 },
      jobs: {},
      approvals: {},
    });
    expect(taskVerdict(h.task())).toBe('verified');
  });

  test.each([
    ['a non-zero exit', { exitCode: 1 }, { code: 'verifyFailed', detail: 'verify exited with 1' }],
    ['a signal', { exitCode: null }, { code: 'verifyFailed', detail: 'verify was ended by a signal' }],
    ['a timeout with exit 0', { timedOut: true }, { code: 'timedOut', detail: 'verify timed out after 500 ms' }],
    [
      'broken integrity with exit 0',
      { integrity: { verdict: 'broken', violations: [{ path: '.git/config', rule: 'gitMetadata' }] } },
      { code: 'integrityBroken', detail: 'integrity broken: gitMetadata .git/config' },
    ],
    [
      'another patch digest with exit 0 and clean integrity',
      { patchDigest: 'p-other' },
      { code: 'digestMismatch', detail: 'verified p-other, but the derived patch is p1' },
    ],
  ] as const)('%s fails the attempt and starts the next', (_name, overrides, reason) => {
    const h = new Harness();
    h.toVerifying();
    const result = h.finish(overrides);
    expect(result.actions).toEqual([
      { kind: 'removeAttempt', taskId: 't1', attempt: 1 },
      { kind: 'startAttempt', taskId: 't1', attempt: 2 },
    ]);
    const report = {
      ...passingReport,
      ...('exitCode' in overrides ? { exitCode: overrides.exitCode } : {}),
      ...('timedOut' in overrides ? { timedOut: overrides.timedOut } : {}),
    };
    expect(h.task()).toEqual(
      verifyingTask({
        status: 'attempting',
        attempt: 2,
        job: null,
        patchDigest: null,
        usage: { tokens: 0, costMicros: 0, outputBytes: 100 },
        attempts: [{ ...verifyingAttempt, verify: report, outcome: { verdict: 'failed', reason } }, pendingAttempt(2)],
        updatedAtMs: 1050,
      }),
    );
    expect(h.state.jobs).toEqual({});
  });

  test('a failure on the last attempt rejects the task with the reason', () => {
    const h = new Harness();
    h.toVerifying();
    h.finish({ exitCode: 1 });
    h.toVerifying('t1', 2, 'p2', 'j2');
    const result = h.finish({ exitCode: 2 });
    expect(result.actions).toEqual([{ kind: 'removeAttempt', taskId: 't1', attempt: 2 }]);
    expect(h.task().status).toBe('rejected');
    expect(h.task().reason).toEqual({ code: 'verifyFailed', detail: 'verify exited with 2' });
    expect(taskVerdict(h.task())).toBe('rejected');
  });

  test.each([
    [
      'another job',
      { jobId: 'j-other' },
      'verifyFinished: job j-other of attempt 1 is not the running job j1 of attempt 1',
    ],
    ['another attempt', { attempt: 2 }, 'verifyFinished: job j1 of attempt 2 is not the running job j1 of attempt 1'],
  ] as const)('a passing report from %s is refused and never verifies', (_name, overrides, detail) => {
    const h = new Harness();
    h.toVerifying();
    const before = h.task();
    const result = h.finish(overrides);
    expect(result.actions).toEqual([{ kind: 'reportRefusal', taskId: 't1', reason: 'staleJob', detail }]);
    expect(h.task()).toBe(before);
  });

  test('a passing report inside the lease verifies; the same report at its expiry fails the attempt', () => {
    // verifyStarted at 1040 with a 60 s lease: the lease ends at 61040, and each report comes 10 ms after atMs.
    const inside = new Harness();
    inside.toVerifying();
    inside.atMs = 61_029;
    inside.finish();
    expect(inside.task().status).toBe('verified');
    const late = new Harness();
    late.toVerifying();
    late.atMs = 61_030;
    expect(late.finish().actions).toEqual([
      { kind: 'removeAttempt', taskId: 't1', attempt: 1 },
      { kind: 'startAttempt', taskId: 't1', attempt: 2 },
    ]);
    expect(late.task().attempts[0]?.outcome).toEqual({
      verdict: 'failed',
      reason: { code: 'leaseExpired', detail: 'job j1 reported after its lease' },
    });
  });

  test('a report before verifyStarted is refused', () => {
    const h = new Harness();
    h.create();
    expect(h.finish({ jobId: 'j1', patchDigest: 'p1' }).actions).toEqual([
      { kind: 'reportRefusal', taskId: 't1', reason: 'wrongStatus', detail: 'verifyFinished: task is created' },
    ]);
  });

  test('output beyond the outputBytes budget ends the task even when verify passed', () => {
    const h = new Harness();
    h.create('t1', { outputBytes: 50 });
    h.toVerifying();
    expect(h.finish().actions).toEqual([{ kind: 'removeAttempt', taskId: 't1', attempt: 1 }]);
    expect(h.task().status).toBe('budget-exhausted');
    expect(h.task().reason).toEqual({ code: 'outputBytesExceeded', detail: '100 of 50 output bytes' });
  });
});

describe('approvals', () => {
  test('protected changes wait for an approval; a user grant of that patch verifies it', () => {
    const h = new Harness();
    h.toVerifying();
    const violations = [{ path: 'package.json', rule: 'verifyScript' }];
    const finished = h.finish({ integrity: { verdict: 'protected', violations } });
    expect(finished.actions).toEqual([
      { kind: 'requestApproval', taskId: 't1', purpose: 'acceptProtected', patchDigest: 'p1', branch: null },
      { kind: 'removeAttempt', taskId: 't1', attempt: 1 },
    ]);
    expect(taskVerdict(h.task())).toBe('needs-approval');
    h.apply({
      kind: 'approvalRequested',
      taskId: 't1',
      approvalId: 'a1',
      purpose: 'acceptProtected',
      actionDigest: 'x1',
      expiresAtMs: 9_000,
    });
    expect(h.state.approvals).toEqual({
      a1: {
        approvalId: 'a1',
        taskId: 't1',
        purpose: 'acceptProtected',
        actionDigest: 'x1',
        patchDigest: 'p1',
        branch: null,
        requestedAtMs: 1060,
        expiresAtMs: 9_000,
        status: 'pending',
        resolvedAtMs: null,
      },
    });
    const granted = h.apply({
      kind: 'approvalResolved',
      approvalId: 'a1',
      actor: 'user',
      decision: 'granted',
      actionDigest: 'x1',
    });
    expect(granted.actions).toEqual([{ kind: 'deliverPatch', taskId: 't1', patchDigest: 'p1' }]);
    expect(h.task()).toEqual(
      verifyingTask({
        status: 'verified',
        job: null,
        verifiedBy: 'userApproval',
        approvalIds: ['a1'],
        usage: { tokens: 0, costMicros: 0, outputBytes: 100 },
        attempts: [
          {
            ...verifyingAttempt,
            verify: passingReport,
            outcome: { verdict: 'protected', violations, approvalId: 'a1' },
          },
        ],
        updatedAtMs: 1070,
      }),
    );
    expect(h.state.approvals['a1']?.status).toBe('granted');
  });

  test('a user denial rejects the task', () => {
    const h = protectedHarness();
    expect(
      h.apply({ kind: 'approvalResolved', approvalId: 'a1', actor: 'user', decision: 'denied', actionDigest: 'x1' })
        .actions,
    ).toEqual([]);
    expect(h.task().status).toBe('rejected');
    expect(h.task().reason).toEqual({ code: 'approvalDenied', detail: 'the user denied the protected changes' });
  });

  test.each(['model', 'sidecar', 'worker'] as const)('a grant from the %s is refused and changes nothing', (actor) => {
    const h = protectedHarness();
    const before = h.state;
    const result = h.apply({
      kind: 'approvalResolved',
      approvalId: 'a1',
      actor,
      decision: 'granted',
      actionDigest: 'x1',
    });
    expect(result.actions).toEqual([
      {
        kind: 'reportRefusal',
        taskId: 't1',
        reason: 'actorNotUser',
        detail: `approvalResolved: only the user resolves approvals, not the ${actor}`,
      },
    ]);
    expect(result.state.tasks).toBe(before.tasks);
    expect(result.state.approvals).toBe(before.approvals);
  });

  test('a grant bound to another action digest is refused', () => {
    const h = protectedHarness();
    const before = h.state;
    const result = h.apply({
      kind: 'approvalResolved',
      approvalId: 'a1',
      actor: 'user',
      decision: 'granted',
      actionDigest: 'x2',
    });
    expect(result.actions).toEqual([
      {
        kind: 'reportRefusal',
        taskId: 't1',
        reason: 'actionDigestMismatch',
        detail: 'approvalResolved: the approval is bound to another action',
      },
    ]);
    expect(result.state.tasks).toBe(before.tasks);
  });

  test('an expired approval is refused, then the tick rejects the task', () => {
    const h = protectedHarness(1_065);
    const result = h.apply({
      kind: 'approvalResolved',
      approvalId: 'a1',
      actor: 'user',
      decision: 'granted',
      actionDigest: 'x1',
    });
    expect(result.actions).toEqual([
      {
        kind: 'reportRefusal',
        taskId: 't1',
        reason: 'approvalExpired',
        detail: 'approvalResolved: approval expired at 1065',
      },
    ]);
    expect(h.task().status).toBe('awaiting-approval');
    h.apply({ kind: 'clockTicked' });
    expect(h.task().status).toBe('rejected');
    expect(h.task().reason).toEqual({ code: 'approvalExpired', detail: 'approval a1 expired unanswered' });
    expect(h.state.approvals['a1']?.status).toBe('expired');
  });

  test('an approval is honoured once; reuse is refused', () => {
    const h = protectedHarness();
    const grant = {
      kind: 'approvalResolved',
      approvalId: 'a1',
      actor: 'user',
      decision: 'granted',
      actionDigest: 'x1',
    } as const;
    h.apply(grant);
    const before = h.state;
    expect(h.apply(grant).actions).toEqual([
      {
        kind: 'reportRefusal',
        taskId: 't1',
        reason: 'approvalNotPending',
        detail: 'approvalResolved: approval is granted',
      },
    ]);
    expect(h.state.tasks).toBe(before.tasks);
  });

  test.each(['a-unknown', '__proto__', 'constructor', 'hasOwnProperty'])(
    'unknown approval id %s is refused without a task',
    (id) => {
      const h = protectedHarness();
      const result = h.apply({
        kind: 'approvalResolved',
        approvalId: id,
        actor: 'user',
        decision: 'granted',
        actionDigest: 'x1',
      });
      expect(result.actions).toEqual([
        { kind: 'reportRefusal', reason: 'unknownApproval', detail: `approvalResolved: no approval ${id}` },
      ]);
      expect(h.task().status).toBe('awaiting-approval');
    },
  );

  test('a second mint, a wrong purpose or a task that awaits nothing is refused', () => {
    const h = protectedHarness();
    const request = {
      kind: 'approvalRequested',
      taskId: 't1',
      approvalId: 'a2',
      purpose: 'acceptProtected',
      actionDigest: 'x1',
      expiresAtMs: 9e9,
    } as const;
    expect(h.apply(request).actions[0]).toMatchObject({ reason: 'duplicateApproval' });
    const v = verifiedHarness();
    expect(v.apply(request).actions[0]).toMatchObject({ reason: 'wrongStatus' });
    const p = new Harness();
    p.toVerifying();
    p.finish({ integrity: { verdict: 'protected', violations: [] } });
    expect(p.apply({ ...request, purpose: 'integrate' }).actions[0]).toMatchObject({ reason: 'purposeMismatch' });
  });
});

describe('integration', () => {
  test('newBranch integrates without an approval', () => {
    const h = verifiedHarness();
    const requested = h.apply({ kind: 'integrationRequested', taskId: 't1', branch: 'fix/x', mode: 'newBranch' });
    expect(requested.actions).toEqual([
      { kind: 'integratePatch', taskId: 't1', patchDigest: 'p1', branch: 'fix/x', mode: 'newBranch', approvalId: null },
    ]);
    expect(h.task().status).toBe('integrating');
    expect(
      h.apply({ kind: 'integrationFinished', taskId: 't1', branch: 'other', commit: 'c1' }).actions[0],
    ).toMatchObject({
      reason: 'branchMismatch',
    });
    expect(h.apply({ kind: 'integrationFinished', taskId: 't1', branch: 'fix/x', commit: 'c1' }).actions).toEqual([]);
    expect(h.task().status).toBe('integrated');
    expect(h.task().integration).toEqual({ branch: 'fix/x', mode: 'newBranch', approvalId: null, commit: 'c1' });
    expect(taskVerdict(h.task())).toBe('integrated');
  });

  test('existingBranch needs a user approval bound to its digest', () => {
    const h = verifiedHarness();
    expect(
      h.apply({ kind: 'integrationRequested', taskId: 't1', branch: 'main', mode: 'existingBranch' }).actions,
    ).toEqual([{ kind: 'requestApproval', taskId: 't1', purpose: 'integrate', patchDigest: 'p1', branch: 'main' }]);
    h.apply({
      kind: 'approvalRequested',
      taskId: 't1',
      approvalId: 'a9',
      purpose: 'integrate',
      actionDigest: 'x9',
      expiresAtMs: 9e9,
    });
    expect(
      h.apply({ kind: 'approvalResolved', approvalId: 'a9', actor: 'model', decision: 'granted', actionDigest: 'x9' })
        .actions[0],
    ).toMatchObject({
      reason: 'actorNotUser',
    });
    const granted = h.apply({
      kind: 'approvalResolved',
      approvalId: 'a9',
      actor: 'user',
      decision: 'granted',
      actionDigest: 'x9',
    });
    expect(granted.actions).toEqual([
      {
        kind: 'integratePatch',
        taskId: 't1',
        patchDigest: 'p1',
        branch: 'main',
        mode: 'existingBranch',
        approvalId: 'a9',
      },
    ]);
    expect(h.task().integration).toEqual({ branch: 'main', mode: 'existingBranch', approvalId: 'a9', commit: null });
  });

  test('a denied integration or a failed one returns the task to verified with the reason', () => {
    const h = verifiedHarness();
    h.apply({ kind: 'integrationRequested', taskId: 't1', branch: 'main', mode: 'existingBranch' });
    h.apply({
      kind: 'approvalRequested',
      taskId: 't1',
      approvalId: 'a9',
      purpose: 'integrate',
      actionDigest: 'x9',
      expiresAtMs: 9e9,
    });
    h.apply({ kind: 'approvalResolved', approvalId: 'a9', actor: 'user', decision: 'denied', actionDigest: 'x9' });
    expect([h.task().status, h.task().integrationError]).toEqual(['verified', 'integration approval denied']);
    h.apply({ kind: 'integrationRequested', taskId: 't1', branch: 'fix', mode: 'newBranch' });
    h.apply({ kind: 'integrationFailed', taskId: 't1', reason: 'branch fix exists' });
    expect([h.task().status, h.task().integration, h.task().integrationError]).toEqual([
      'verified',
      null,
      'branch fix exists',
    ]);
  });

  test('integration of a task that is not verified is refused', () => {
    const h = new Harness();
    h.toVerifying();
    expect(h.apply({ kind: 'integrationRequested', taskId: 't1', branch: 'b', mode: 'newBranch' }).actions).toEqual([
      { kind: 'reportRefusal', taskId: 't1', reason: 'wrongStatus', detail: 'integrationRequested: task is verifying' },
    ]);
    expect(h.apply({ kind: 'integrationFinished', taskId: 't1', branch: 'b', commit: 'c' }).actions[0]).toMatchObject({
      reason: 'wrongStatus',
    });
  });
});

describe('budgets, leases and the clock', () => {
  test('tokens beyond the budget end a verifying task and kill its job', () => {
    const h = new Harness();
    h.create('t1', { tokens: 1_000 });
    h.toVerifying();
    const result = h.apply({ kind: 'usageCharged', taskId: 't1', tokens: 1_001, costMicros: 0, outputBytes: 0 });
    expect(result.actions).toEqual([
      { kind: 'killJob', jobId: 'j1', reason: 'tokensExceeded' },
      { kind: 'removeAttempt', taskId: 't1', attempt: 1 },
    ]);
    const reason = { code: 'tokensExceeded', detail: '1001 of 1000 tokens' } as const;
    expect(h.task()).toEqual(
      verifyingTask({
        status: 'budget-exhausted',
        budgets: { ...Limits.defaultBudgets, tokens: 1_000 },
        usage: { tokens: 1_001, costMicros: 0, outputBytes: 0 },
        job: null,
        attempts: [{ ...verifyingAttempt, outcome: { verdict: 'abandoned', reason } }],
        reason,
        updatedAtMs: 1050,
      }),
    );
    expect(h.state.jobs).toEqual({});
  });

  test('spend after verification is recorded and ends nothing', () => {
    const h = new Harness();
    h.create('t1', { costMicros: 10 });
    h.toVerifying();
    h.finish();
    h.apply({ kind: 'usageCharged', taskId: 't1', tokens: 0, costMicros: 99, outputBytes: 0 });
    expect([h.task().status, h.task().usage.costMicros]).toEqual(['verified', 99]);
  });

  test('the wall-time budget ends an in-flight task on the next tick', () => {
    const h = new Harness();
    h.create('t1', { wallMs: 5_000 });
    h.apply({ kind: 'attemptStarted', taskId: 't1', attempt: 1, attemptId: 'a' });
    const tick = h.apply({ kind: 'clockTicked' }, 5_000);
    expect(tick.actions).toEqual([{ kind: 'removeAttempt', taskId: 't1', attempt: 1 }]);
    expect(h.task().status).toBe('budget-exhausted');
    expect(h.task().reason).toEqual({ code: 'wallMsExceeded', detail: 'task ran 5010 ms of its 5000 ms budget' });
  });

  test('the wall-time budget is enforced before any other event of the task', () => {
    const h = new Harness();
    h.create('t1', { wallMs: 5_000 });
    h.toVerifying();
    h.atMs += 5_000;
    expect(h.finish().actions).toEqual([
      { kind: 'killJob', jobId: 'j1', reason: 'wallMsExceeded' },
      { kind: 'removeAttempt', taskId: 't1', attempt: 1 },
    ]);
    expect(h.task().status).toBe('budget-exhausted');
  });

  test('a heartbeat extends the lease; a missed lease fails the attempt and kills the job', () => {
    const h = new Harness();
    h.toVerifying();
    h.apply({ kind: 'jobHeartbeat', jobId: 'j1' }, 50_000);
    expect(h.task().job).toEqual({ jobId: 'j1', leaseMs: 60_000, leaseExpiresAtMs: 1_040 + 50_000 + 60_000 });
    expect(h.apply({ kind: 'clockTicked' }, 59_000).actions).toEqual([]);
    const expired = h.apply({ kind: 'clockTicked' }, 1_000);
    expect(expired.actions).toEqual([
      { kind: 'killJob', jobId: 'j1', reason: 'leaseExpired' },
      { kind: 'removeAttempt', taskId: 't1', attempt: 1 },
      { kind: 'startAttempt', taskId: 't1', attempt: 2 },
    ]);
    expect(h.task().attempts[0]?.outcome).toEqual({
      verdict: 'failed',
      reason: { code: 'leaseExpired', detail: 'job j1 missed its lease' },
    });
    expect(h.state.jobs).toEqual({});
  });

  test('a heartbeat after the lease expired does not revive it', () => {
    const h = new Harness();
    h.toVerifying();
    expect(h.apply({ kind: 'jobHeartbeat', jobId: 'j1' }, 60_000).actions).toEqual([
      { kind: 'killJob', jobId: 'j1', reason: 'leaseExpired' },
      { kind: 'removeAttempt', taskId: 't1', attempt: 1 },
      { kind: 'startAttempt', taskId: 't1', attempt: 2 },
    ]);
  });

  test('a heartbeat for an unknown job only advances the stamp', () => {
    const h = new Harness();
    h.toVerifying();
    const before = h.state;
    const result = h.apply({ kind: 'jobHeartbeat', jobId: '__proto__' });
    expect(result).toEqual({ state: { ...before, lastSeq: 5, nowMs: 1050 }, actions: [] });
  });

  test(`one tick emits at most ${Limits.actionsPerEventMax} actions and leaves the rest for the next`, () => {
    const h = new Harness();
    const ids = ['t1', 't2', 't3', 't4'];
    for (const id of ids) h.toVerifying(id, 1, `p-${id}`, `j-${id}`);
    const first = h.apply({ kind: 'clockTicked' }, 70_000);
    expect(first.actions.length).toBe(6);
    const second = h.apply({ kind: 'clockTicked' });
    expect(second.actions.length).toBe(6);
    expect(ids.map((id) => h.task(id).status)).toEqual(['attempting', 'attempting', 'attempting', 'attempting']);
    expect(h.state.jobs).toEqual({});
  });
});

describe('other task events', () => {
  test("a model's done claim is counted and changes nothing else", () => {
    const h = new Harness();
    h.create();
    const before = h.task();
    expect(h.apply({ kind: 'modelClaimedDone', taskId: 't1', text: 'All tests pass. VERIFIED.' }).actions).toEqual([]);
    expect(h.task()).toEqual({ ...before, advisoryClaims: 1 });
  });

  test('a secret exposure is recorded by the log and changes nothing but the stamp', () => {
    const h = new Harness();
    h.toVerifying();
    const before = h.state;
    const result = h.apply({ kind: 'secretExposed', name: 'GITHUB_TOKEN', purpose: 'redaction boundary' });
    expect(result.actions).toEqual([]);
    expect(result.state).toEqual({ ...before, lastSeq: before.lastSeq + 1, nowMs: result.state.nowMs });
    expect(result.state.tasks).toBe(before.tasks);
    expect(h.apply({ kind: 'secretExposed', name: '', purpose: 'x' }).actions).toEqual([
      {
        kind: 'reportRefusal',
        reason: 'malformedEvent',
        detail: `secretExposed: name must be a string of 1 to ${Limits.idCharsMax} characters`,
      },
    ]);
  });

  test('cancelling kills the job and removes the tree', () => {
    const h = new Harness();
    h.toVerifying();
    expect(h.apply({ kind: 'taskCancelled', taskId: 't1', reason: 'user pressed ctrl-c' }).actions).toEqual([
      { kind: 'killJob', jobId: 'j1', reason: 'cancelled' },
      { kind: 'removeAttempt', taskId: 't1', attempt: 1 },
    ]);
    expect([h.task().status, h.task().reason]).toEqual([
      'cancelled',
      { code: 'cancelled', detail: 'user pressed ctrl-c' },
    ]);
  });

  test('cancelling withdraws a pending approval so it can no longer be granted', () => {
    const h = protectedHarness();
    h.apply({ kind: 'taskCancelled', taskId: 't1', reason: 'stop' });
    expect(h.state.approvals['a1']?.status).toBe('withdrawn');
    expect(
      h.apply({ kind: 'approvalResolved', approvalId: 'a1', actor: 'user', decision: 'granted', actionDigest: 'x1' })
        .actions,
    ).toEqual([
      {
        kind: 'reportRefusal',
        taskId: 't1',
        reason: 'approvalNotPending',
        detail: 'approvalResolved: approval is withdrawn',
      },
    ]);
    expect(h.task().status).toBe('cancelled');
  });

  test('an integration in progress cannot be cancelled', () => {
    const h = verifiedHarness();
    h.apply({ kind: 'integrationRequested', taskId: 't1', branch: 'b', mode: 'newBranch' });
    expect(h.apply({ kind: 'taskCancelled', taskId: 't1', reason: 'stop' }).actions[0]).toMatchObject({
      reason: 'integrationInProgress',
    });
    expect(h.task().status).toBe('integrating');
  });

  test('no sandbox fails the task with noSandbox, which the CLI reports as refused', () => {
    const h = new Harness();
    h.create();
    expect(h.apply({ kind: 'sandboxUnavailable', taskId: 't1', reason: 'bwrap missing' }).actions).toEqual([
      { kind: 'removeAttempt', taskId: 't1', attempt: 1 },
    ]);
    expect(h.task().reason).toEqual({ code: 'noSandbox', detail: 'bwrap missing' });
    expect([h.task().status, taskVerdict(h.task())]).toEqual(['failed', 'refused']);
  });
});

describe('crash recovery', () => {
  test('in-flight tasks fail with crashRecovery, never pass; verified work survives', () => {
    const h = new Harness();
    h.toVerifying('t1');
    h.create('t2');
    h.toVerifying('t3', 1, 'p3', 'j3');
    h.finish({}, 't3');
    h.toVerifying('t4', 1, 'p4', 'j4');
    h.finish({}, 't4');
    h.apply({ kind: 'integrationRequested', taskId: 't4', branch: 'b', mode: 'newBranch' });
    const result = h.apply({ kind: 'kernelRecovered' });
    expect(result.actions).toEqual([]);
    const reason = { code: 'crashRecovery', detail: 'the kernel restarted while this task was running' } as const;
    expect(h.task('t1')).toEqual(
      verifyingTask({
        status: 'failed',
        job: null,
        attempts: [{ ...verifyingAttempt, outcome: { verdict: 'abandoned', reason } }],
        reason,
        updatedAtMs: h.atMs,
      }),
    );
    expect([h.task('t2').status, h.task('t3').status, h.task('t4').status]).toEqual(['failed', 'verified', 'verified']);
    expect(h.task('t4').integrationError).toBe('the kernel restarted during integration; integrate again');
    expect(h.state.jobs).toEqual({});
    expect(stateProblems(h.state)).toEqual([]);
  });
});

describe('terminal absorption, idempotency and hostile ids', () => {
  test('a rejected task absorbs every later task event', () => {
    const h = new Harness();
    h.create('t1', { attempts: 1 });
    h.apply({ kind: 'attemptStarted', taskId: 't1', attempt: 1, attemptId: 'a' });
    h.apply({ kind: 'patchRefused', taskId: 't1', attempt: 1, code: 'fifo', detail: 'x' });
    const rejected = h.task();
    expect(rejected.status).toBe('rejected');
    const bodies = [
      { kind: 'attemptStarted', taskId: 't1', attempt: 1, attemptId: 'b' },
      { kind: 'patchDerived', taskId: 't1', attempt: 1, patchDigest: 'p', files: [], patchBytes: 0 },
      { kind: 'verifyStarted', taskId: 't1', attempt: 1, jobId: 'j', leaseMs: 10 },
      {
        kind: 'verifyFinished',
        taskId: 't1',
        attempt: 1,
        jobId: 'j',
        patchDigest: 'p',
        exitCode: 0,
        timedOut: false,
        outputBytes: 0,
        outputDigest: 'o',
        durationMs: 0,
        integrity: { verdict: 'clean' },
      },
      { kind: 'integrationRequested', taskId: 't1', branch: 'b', mode: 'newBranch' },
      { kind: 'integrationFinished', taskId: 't1', branch: 'b', commit: 'c' },
      { kind: 'usageCharged', taskId: 't1', tokens: 1e9, costMicros: 0, outputBytes: 0 },
      { kind: 'modelClaimedDone', taskId: 't1', text: 'done' },
      { kind: 'taskCancelled', taskId: 't1', reason: 'x' },
      { kind: 'sandboxUnavailable', taskId: 't1', reason: 'x' },
      { kind: 'attemptFailed', taskId: 't1', attempt: 1, code: 'x', detail: 'x' },
    ] as const;
    for (const body of bodies) {
      expect(h.apply(body).actions).toEqual([
        { kind: 'reportRefusal', taskId: 't1', reason: 'taskTerminal', detail: `${body.kind}: task is rejected` },
      ]);
      expect(h.task()).toBe(rejected);
    }
    h.apply({ kind: 'clockTicked' }, 10_000_000);
    h.apply({ kind: 'kernelRecovered' });
    expect(h.task()).toBe(rejected);
  });

  test('an event at or below lastSeq is a no-op returning the same state', () => {
    const h = new Harness();
    h.toVerifying();
    const state = h.state;
    for (const event of h.events) {
      const result = step(state, event);
      expect(result.state).toBe(state);
      expect(result.actions).toEqual([]);
    }
  });

  test('atMs behind the clock is clamped, never a crash', () => {
    const h = new Harness();
    h.create();
    const result = h.apply({ kind: 'clockTicked' }, -900);
    expect([result.state.nowMs, result.state.lastSeq]).toEqual([1010, 2]);
  });

  test('a broken stamp is a KernelInvariantError', () => {
    const tick = (seq: number, atMs: number): Event => deepFreeze({ kind: 'clockTicked', seq, atMs });
    expect(() => step(initialState, tick(0, 1))).toThrow(KernelInvariantError);
    expect(() => step(initialState, tick(1.5, 1))).toThrow(KernelInvariantError);
    expect(() => step(initialState, tick(1, Number.NaN))).toThrow(KernelInvariantError);
  });

  test.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty'])('task id %s is an ordinary own key', (id) => {
    const h = new Harness();
    expect(h.apply({ kind: 'modelClaimedDone', taskId: id, text: 'x' }).actions).toEqual([
      { kind: 'reportRefusal', taskId: id, reason: 'unknownTask', detail: `modelClaimedDone: no task ${id}` },
    ]);
    h.toVerifying(id, 1, 'p1', id);
    h.finish({}, id);
    const state: State = h.state;
    expect(Object.getPrototypeOf(state.taskIndex)).toBe(Object.prototype);
    expect(state.taskIndex).toEqual(JSON.parse(`{"${id}":0}`));
    expect(taskOf(state, id)?.status).toBe('verified');
    expect(JSON.parse(JSON.stringify(state))).toEqual(state);
    expect(stateProblems(state)).toEqual([]);
  });
});

describe('taskVerdict', () => {
  test('maps every status', () => {
    const verdicts = (
      [
        ['created', null],
        ['attempting', null],
        ['verifying', null],
        ['verified', null],
        ['integrating', null],
        ['integrated', null],
        ['rejected', null],
        ['failed', 'crashRecovery'],
        ['failed', 'noSandbox'],
        ['cancelled', null],
        ['budget-exhausted', null],
      ] as const
    ).map(([status, code]) =>
      taskVerdict(createdTask({ status, reason: code === null ? null : { code, detail: '' } })),
    );
    expect(verdicts).toEqual([
      'running',
      'running',
      'running',
      'verified',
      'verified',
      'integrated',
      'rejected',
      'failed',
      'refused',
      'cancelled',
      'budget-exhausted',
    ]);
  });
});
