/**
 * The reducer: `step(state, event) → { state, actions }`. Pure and synchronous: no clock, no
 * randomness, no I/O. All control flow is the one `switch` in `dispatch`; handlers compute.
 *
 * The invariant guarded above all: a task reaches `verified` (and so `integrated`) only in
 * `onVerifyFinished`, for a clean exit-0 run that did not time out, of its current attempt, its
 * running job and its current patch digest; or in `onApprovalResolved`, through a user approval
 * of exactly that protected patch.
 */
import type { Action } from './action.js';
import { assert, assertNever } from './assert.js';
import type { Budgets, Event, EventOf } from './event.js';
import { Limits } from './limits.js';
import type { Approval, State, Step, Task } from './state.js';
import { approvalOf, isInFlight, isTerminal, taskOf } from './state.js';
import {
  addTask,
  backToVerified,
  clip,
  currentAttempt,
  endTask,
  exhaustWall,
  failAttempt,
  newAttempt,
  noActions,
  putTask,
  refuse,
  withCurrent,
  withJob,
  withoutJob,
} from './transition.js';
import { reviseAttempt, reviseState, reviseTask } from './revise.js';
import { eventProblem } from './validate.js';

/**
 * Applies one event. An event whose `seq` is not above `state.lastSeq` was already applied and
 * returns the same state object with no actions. An `atMs` behind the clock is clamped.
 */
export function step(state: State, event: Event): Step {
  assert(Number.isSafeInteger(event.seq) && event.seq >= 1, 'event.seq is a positive integer stamped by the shell');
  assert(Number.isFinite(event.atMs), 'event.atMs is a finite number stamped by the shell');
  if (event.seq <= state.lastSeq) return { state, actions: noActions };
  const nowMs = event.atMs > state.nowMs ? event.atMs : state.nowMs;
  const stamped = reviseState(state, { lastSeq: event.seq, nowMs });
  const problem = eventProblem(event);
  const result =
    problem === null ? dispatch(stamped, event) : refuse(stamped, 'malformedEvent', `${event.kind}: ${problem}`);
  assert(result.actions.length <= Limits.actionsPerEventMax, 'actions per event are bounded');
  assert(result.state.lastSeq === event.seq && result.state.nowMs === nowMs, 'the stamp is applied exactly once');
  assert(result.state.tasks.length <= Limits.tasksMax, 'tasks are bounded');
  return result;
}

type TaskEvent = Extract<Event, { readonly taskId: string }>;

function dispatch(state: State, event: Event): Step {
  switch (event.kind) {
    case 'taskCreated':
      return onTaskCreated(state, event);
    case 'attemptStarted':
      return withTask(state, event, onAttemptStarted);
    case 'patchDerived':
      return withTask(state, event, onPatchDerived);
    case 'patchRefused':
      return withTask(state, event, onPatchRefused);
    case 'attemptFailed':
      return withTask(state, event, onAttemptFailed);
    case 'verifyStarted':
      return withTask(state, event, onVerifyStarted);
    case 'jobHeartbeat':
      return onJobHeartbeat(state, event);
    case 'verifyFinished':
      return withTask(state, event, onVerifyFinished);
    case 'approvalRequested':
      return withTask(state, event, onApprovalRequested);
    case 'approvalResolved':
      return onApprovalResolved(state, event);
    case 'integrationRequested':
      return withTask(state, event, onIntegrationRequested);
    case 'integrationFinished':
      return withTask(state, event, onIntegrationFinished);
    case 'integrationFailed':
      return withTask(state, event, onIntegrationFailed);
    case 'usageCharged':
      return withTask(state, event, onUsageCharged);
    case 'modelClaimedDone':
      return withTask(state, event, onModelClaimedDone);
    case 'taskCancelled':
      return withTask(state, event, onTaskCancelled);
    case 'sandboxUnavailable':
      return withTask(state, event, onSandboxUnavailable);
    case 'clockTicked':
      return onClockTicked(state);
    case 'kernelRecovered':
      return onKernelRecovered(state);
    case 'secretExposed':
      // The log is the audit record of the exposure; the kernel's state and actions do not change.
      return { state, actions: noActions };
    default:
      return assertNever(event);
  }
}

/** Resolves the event's task, lets a terminal task absorb the event, and enforces the wall-time budget first. */
function withTask<E extends TaskEvent>(
  state: State,
  event: E,
  handle: (state: State, task: Task, event: E) => Step,
): Step {
  const task = taskOf(state, event.taskId);
  if (task === undefined) return refuse(state, 'unknownTask', `${event.kind}: no task ${event.taskId}`, event.taskId);
  if (isTerminal(task.status)) {
    return refuse(state, 'taskTerminal', `${event.kind}: task is ${task.status}`, task.taskId);
  }
  return exhaustWall(state, task) ?? handle(state, task, event);
}

function wrongStatus(state: State, task: Task, event: TaskEvent): Step {
  return refuse(state, 'wrongStatus', `${event.kind}: task is ${task.status}`, task.taskId);
}

function staleAttempt(state: State, task: Task, event: TaskEvent & { readonly attempt: number }): Step {
  return refuse(
    state,
    'staleAttempt',
    `${event.kind}: attempt ${event.attempt} is not the current attempt ${task.attempt}`,
    task.taskId,
  );
}

function onTaskCreated(state: State, event: EventOf<'taskCreated'>): Step {
  if (Object.hasOwn(state.taskIndex, event.taskId)) {
    return refuse(state, 'duplicateTask', `taskCreated: task ${event.taskId} exists`, event.taskId);
  }
  if (state.tasks.length >= Limits.tasksMax) {
    return refuse(state, 'tasksFull', `taskCreated: the log holds ${Limits.tasksMax} tasks`, event.taskId);
  }
  const task: Task = {
    taskId: event.taskId,
    goal: event.goal,
    baseCommit: event.baseCommit,
    verifyCommand: event.verifyCommand,
    candidate: event.candidate,
    status: 'created',
    budgets: budgetsOf(event.budgets),
    usage: { tokens: 0, costMicros: 0, outputBytes: 0 },
    createdAtMs: state.nowMs,
    updatedAtMs: state.nowMs,
    attempt: 1,
    attempts: [newAttempt(1)],
    patchDigest: null,
    job: null,
    awaiting: null,
    approvalIds: [],
    verifiedBy: null,
    integration: null,
    integrationError: null,
    reason: null,
    advisoryClaims: 0,
  };
  return {
    state: addTask(state, task),
    actions: [{ kind: 'startAttempt', taskId: task.taskId, attempt: 1 }],
  };
}

function budgetsOf(overrides: Partial<Budgets> | undefined): Budgets {
  const defaults = Limits.defaultBudgets;
  const pick = (key: keyof Budgets): number =>
    overrides !== undefined && Object.hasOwn(overrides, key) ? (overrides[key] ?? defaults[key]) : defaults[key];
  return {
    attempts: pick('attempts'),
    wallMs: pick('wallMs'),
    tokens: pick('tokens'),
    costMicros: pick('costMicros'),
    outputBytes: pick('outputBytes'),
  };
}

function onAttemptStarted(state: State, task: Task, event: EventOf<'attemptStarted'>): Step {
  if (task.status !== 'created' && task.status !== 'attempting') return wrongStatus(state, task, event);
  if (event.attempt !== task.attempt) return staleAttempt(state, task, event);
  const record = currentAttempt(task);
  if (record.attemptId !== null) {
    return refuse(state, 'staleAttempt', `attemptStarted: attempt ${task.attempt} already started`, task.taskId);
  }
  const next: Task = reviseTask(task, {
    status: 'attempting',
    attempts: withCurrent(task, reviseAttempt(record, { attemptId: event.attemptId, startedAtMs: state.nowMs })),
    updatedAtMs: state.nowMs,
  });
  return { state: putTask(state, next), actions: noActions };
}

function onPatchDerived(state: State, task: Task, event: EventOf<'patchDerived'>): Step {
  if (task.status !== 'attempting') return wrongStatus(state, task, event);
  if (event.attempt !== task.attempt) return staleAttempt(state, task, event);
  const record = currentAttempt(task);
  if (record.attemptId === null) {
    return refuse(state, 'wrongStatus', `patchDerived: attempt ${task.attempt} has not started`, task.taskId);
  }
  if (record.patchDigest !== null) {
    return refuse(state, 'staleAttempt', `patchDerived: attempt ${task.attempt} already has a patch`, task.taskId);
  }
  const next: Task = reviseTask(task, {
    patchDigest: event.patchDigest,
    attempts: withCurrent(
      task,
      reviseAttempt(record, {
        patchDigest: event.patchDigest,
        patchBytes: event.patchBytes,
        fileCount: event.files.length,
      }),
    ),
    updatedAtMs: state.nowMs,
  });
  return {
    state: putTask(state, next),
    actions: [{ kind: 'runVerify', taskId: task.taskId, attempt: task.attempt, patchDigest: event.patchDigest }],
  };
}

function onPatchRefused(state: State, task: Task, event: EventOf<'patchRefused'>): Step {
  if (task.status !== 'created' && task.status !== 'attempting') return wrongStatus(state, task, event);
  if (event.attempt !== task.attempt) return staleAttempt(state, task, event);
  return failAttempt(state, task, { code: 'patchRefused', detail: clip(`${event.code}: ${event.detail}`) });
}

function onAttemptFailed(state: State, task: Task, event: EventOf<'attemptFailed'>): Step {
  if (!isInFlight(task.status)) return wrongStatus(state, task, event);
  if (event.attempt !== task.attempt) return staleAttempt(state, task, event);
  return failAttempt(state, task, { code: 'attemptFailed', detail: clip(`${event.code}: ${event.detail}`) });
}

function onVerifyStarted(state: State, task: Task, event: EventOf<'verifyStarted'>): Step {
  if (task.status !== 'attempting') return wrongStatus(state, task, event);
  if (event.attempt !== task.attempt) return staleAttempt(state, task, event);
  const record = currentAttempt(task);
  if (task.patchDigest === null || record.patchDigest !== task.patchDigest) {
    return refuse(state, 'wrongStatus', `verifyStarted: attempt ${task.attempt} has no derived patch`, task.taskId);
  }
  if (Object.hasOwn(state.jobs, event.jobId)) {
    return refuse(state, 'duplicateJob', `verifyStarted: job ${event.jobId} is already running`, task.taskId);
  }
  const next: Task = reviseTask(task, {
    status: 'verifying',
    job: { jobId: event.jobId, leaseMs: event.leaseMs, leaseExpiresAtMs: state.nowMs + event.leaseMs },
    attempts: withCurrent(task, reviseAttempt(record, { jobId: event.jobId })),
    updatedAtMs: state.nowMs,
  });
  const jobs = withJob(state.jobs, event.jobId, task.taskId);
  return { state: putTask(reviseState(state, { jobs }), next), actions: noActions };
}

function onJobHeartbeat(state: State, event: EventOf<'jobHeartbeat'>): Step {
  const taskId = Object.hasOwn(state.jobs, event.jobId) ? state.jobs[event.jobId] : undefined;
  // A heartbeat racing the end of its job is expected; the event stays in the log.
  if (taskId === undefined) return { state, actions: noActions };
  const task = taskOf(state, taskId);
  const job = task?.job;
  assert(task !== undefined && job?.jobId === event.jobId, 'a running job belongs to a verifying task');
  const wall = exhaustWall(state, task);
  if (wall !== null) return wall;
  // A lease past its expiry is dead whether or not a tick noticed it: a late heartbeat never revives it.
  if (state.nowMs >= job.leaseExpiresAtMs) {
    return failAttempt(state, task, { code: 'leaseExpired', detail: `job ${job.jobId} missed its lease` });
  }
  const next: Task = reviseTask(task, {
    job: { jobId: job.jobId, leaseMs: job.leaseMs, leaseExpiresAtMs: state.nowMs + job.leaseMs },
  });
  return { state: putTask(state, next), actions: noActions };
}

function onVerifyFinished(state: State, task: Task, event: EventOf<'verifyFinished'>): Step {
  const job = task.job;
  if (task.status !== 'verifying' || job === null) return wrongStatus(state, task, event);
  // A report from another attempt or job says nothing about the running one, so it is refused; it never verifies.
  if (event.attempt !== task.attempt || event.jobId !== job.jobId) {
    return refuse(
      state,
      'staleJob',
      `verifyFinished: job ${event.jobId} of attempt ${event.attempt} is not the running job ${job.jobId} of attempt ${task.attempt}`,
      task.taskId,
    );
  }
  const record = currentAttempt(task);
  const usage = {
    tokens: task.usage.tokens,
    costMicros: task.usage.costMicros,
    outputBytes: add(task.usage.outputBytes, event.outputBytes),
  };
  const finished: Task = reviseTask(task, {
    status: 'attempting',
    job: null,
    usage,
    attempts: withCurrent(
      task,
      reviseAttempt(record, {
        verify: {
          jobId: event.jobId,
          exitCode: event.exitCode,
          timedOut: event.timedOut,
          outputBytes: event.outputBytes,
          outputDigest: event.outputDigest,
          durationMs: event.durationMs,
        },
      }),
    ),
  });
  const detached: State = reviseState(state, { jobs: withoutJob(state.jobs, job.jobId) });
  const exhausted = spendExhausted(finished);
  if (exhausted !== null) return endTask(detached, finished, 'budget-exhausted', exhausted, true);
  if (state.nowMs >= job.leaseExpiresAtMs) {
    return failAttempt(detached, finished, {
      code: 'leaseExpired',
      detail: `job ${job.jobId} reported after its lease`,
    });
  }
  if (task.patchDigest === null || event.patchDigest !== task.patchDigest) {
    const detail = `verified ${event.patchDigest}, but the derived patch is ${task.patchDigest ?? 'none'}`;
    return failAttempt(detached, finished, { code: 'digestMismatch', detail });
  }
  if (event.timedOut) {
    return failAttempt(detached, finished, {
      code: 'timedOut',
      detail: `verify timed out after ${event.durationMs} ms`,
    });
  }
  if (event.exitCode !== 0) {
    const detail = event.exitCode === null ? 'verify was ended by a signal' : `verify exited with ${event.exitCode}`;
    return failAttempt(detached, finished, { code: 'verifyFailed', detail });
  }
  const patchDigest = task.patchDigest;
  const finishedRecord = currentAttempt(finished);
  const integrity = event.integrity;
  switch (integrity.verdict) {
    case 'clean': {
      const verified: Task = reviseTask(finished, {
        status: 'verified',
        verifiedBy: 'verify',
        attempts: withCurrent(finished, reviseAttempt(finishedRecord, { outcome: { verdict: 'passed' } })),
        updatedAtMs: state.nowMs,
      });
      return {
        state: putTask(detached, verified),
        actions: [
          { kind: 'deliverPatch', taskId: task.taskId, patchDigest },
          { kind: 'removeAttempt', taskId: task.taskId, attempt: task.attempt },
        ],
      };
    }
    case 'protected': {
      assert(task.approvalIds.length < Limits.approvalsPerTaskMax, 'acceptProtected approvals are bounded by attempts');
      const violations = integrity.violations
        .slice(0, Limits.violationsMax)
        .map((violation) => ({ path: clip(violation.path), rule: clip(violation.rule) }));
      const awaiting: Task = reviseTask(finished, {
        status: 'awaiting-approval',
        awaiting: { purpose: 'acceptProtected', patchDigest, branch: null, approvalId: null },
        attempts: withCurrent(
          finished,
          reviseAttempt(finishedRecord, { outcome: { verdict: 'protected', violations, approvalId: null } }),
        ),
        updatedAtMs: state.nowMs,
      });
      return {
        state: putTask(detached, awaiting),
        actions: [
          { kind: 'requestApproval', taskId: task.taskId, purpose: 'acceptProtected', patchDigest, branch: null },
          { kind: 'removeAttempt', taskId: task.taskId, attempt: task.attempt },
        ],
      };
    }
    case 'broken': {
      const rules = integrity.violations.slice(0, 4).map((violation) => `${violation.rule} ${violation.path}`);
      const detail = `integrity broken: ${rules.join('; ')}`;
      return failAttempt(detached, finished, { code: 'integrityBroken', detail: clip(detail) });
    }
    default:
      return assertNever(integrity);
  }
}

function onApprovalRequested(state: State, task: Task, event: EventOf<'approvalRequested'>): Step {
  if (task.status !== 'awaiting-approval' || task.awaiting === null) return wrongStatus(state, task, event);
  if (task.awaiting.approvalId !== null) {
    return refuse(
      state,
      'duplicateApproval',
      `approvalRequested: task awaits approval ${task.awaiting.approvalId}`,
      task.taskId,
    );
  }
  if (task.awaiting.purpose !== event.purpose) {
    const detail = `approvalRequested: task awaits ${task.awaiting.purpose}, not ${event.purpose}`;
    return refuse(state, 'purposeMismatch', detail, task.taskId);
  }
  if (Object.hasOwn(state.approvals, event.approvalId)) {
    return refuse(state, 'duplicateApproval', `approvalRequested: approval ${event.approvalId} exists`, task.taskId);
  }
  assert(task.approvalIds.length < Limits.approvalsPerTaskMax, 'approvals were bounded when requested');
  const approval: Approval = {
    approvalId: event.approvalId,
    taskId: task.taskId,
    purpose: event.purpose,
    actionDigest: event.actionDigest,
    patchDigest: task.awaiting.patchDigest,
    branch: task.awaiting.branch,
    requestedAtMs: state.nowMs,
    expiresAtMs: event.expiresAtMs,
    status: 'pending',
    resolvedAtMs: null,
  };
  const next: Task = reviseTask(task, {
    awaiting: { ...task.awaiting, approvalId: event.approvalId },
    approvalIds: [...task.approvalIds, event.approvalId],
    updatedAtMs: state.nowMs,
  });
  const approvals = { ...state.approvals, [event.approvalId]: approval };
  return { state: putTask(reviseState(state, { approvals }), next), actions: noActions };
}

function onApprovalResolved(state: State, event: EventOf<'approvalResolved'>): Step {
  const approval = approvalOf(state, event.approvalId);
  if (approval === undefined) {
    return refuse(state, 'unknownApproval', `approvalResolved: no approval ${event.approvalId}`);
  }
  const taskId = approval.taskId;
  if (approval.status !== 'pending') {
    return refuse(state, 'approvalNotPending', `approvalResolved: approval is ${approval.status}`, taskId);
  }
  if (event.actor !== 'user') {
    return refuse(
      state,
      'actorNotUser',
      `approvalResolved: only the user resolves approvals, not the ${event.actor}`,
      taskId,
    );
  }
  if (event.actionDigest !== approval.actionDigest) {
    return refuse(state, 'actionDigestMismatch', 'approvalResolved: the approval is bound to another action', taskId);
  }
  if (state.nowMs >= approval.expiresAtMs) {
    return refuse(state, 'approvalExpired', `approvalResolved: approval expired at ${approval.expiresAtMs}`, taskId);
  }
  const task = taskOf(state, taskId);
  assert(
    task?.status === 'awaiting-approval' && task.awaiting?.approvalId === approval.approvalId,
    'a pending approval is awaited by its task',
  );
  assert(task.patchDigest === approval.patchDigest, 'an approval is bound to the patch its task holds');
  const approvals = {
    ...state.approvals,
    [approval.approvalId]: { ...approval, status: event.decision, resolvedAtMs: state.nowMs },
  };
  const resolved: State = reviseState(state, { approvals });
  const granted = event.decision === 'granted';
  switch (approval.purpose) {
    case 'acceptProtected':
      return granted ? acceptProtected(resolved, task, approval) : rejectProtected(resolved, task);
    case 'integrate':
      return granted
        ? integrate(resolved, task, approval.branch, 'existingBranch', approval.approvalId)
        : { state: backToVerified(resolved, task, 'integration approval denied'), actions: noActions };
    default:
      return assertNever(approval.purpose);
  }
}

function acceptProtected(state: State, task: Task, approval: Approval): Step {
  const record = currentAttempt(task);
  assert(
    record.outcome.verdict === 'protected' && record.patchDigest === approval.patchDigest,
    'the approved patch is the protected patch of the current attempt',
  );
  const next: Task = reviseTask(task, {
    status: 'verified',
    verifiedBy: 'userApproval',
    awaiting: null,
    attempts: withCurrent(
      task,
      reviseAttempt(record, { outcome: { ...record.outcome, approvalId: approval.approvalId } }),
    ),
    updatedAtMs: state.nowMs,
  });
  return {
    state: putTask(state, next),
    actions: [{ kind: 'deliverPatch', taskId: task.taskId, patchDigest: approval.patchDigest }],
  };
}

function rejectProtected(state: State, task: Task): Step {
  const next: Task = reviseTask(task, {
    status: 'rejected',
    awaiting: null,
    reason: { code: 'approvalDenied', detail: 'the user denied the protected changes' },
    updatedAtMs: state.nowMs,
  });
  return { state: putTask(state, next), actions: noActions };
}

function integrate(
  state: State,
  task: Task,
  branch: string | null,
  mode: 'newBranch' | 'existingBranch',
  approvalId: string | null,
): Step {
  assert(task.patchDigest !== null && task.verifiedBy !== null, 'only a verified patch is integrated');
  assert(branch !== null, 'an integration names its branch');
  const next: Task = reviseTask(task, {
    status: 'integrating',
    awaiting: null,
    integration: { branch, mode, approvalId, commit: null },
    integrationError: null,
    updatedAtMs: state.nowMs,
  });
  return {
    state: putTask(state, next),
    actions: [{ kind: 'integratePatch', taskId: task.taskId, patchDigest: task.patchDigest, branch, mode, approvalId }],
  };
}

function onIntegrationRequested(state: State, task: Task, event: EventOf<'integrationRequested'>): Step {
  if (task.status === 'integrating') {
    return refuse(state, 'integrationInProgress', 'integrationRequested: an integration is running', task.taskId);
  }
  if (task.status !== 'verified' || task.patchDigest === null) return wrongStatus(state, task, event);
  switch (event.mode) {
    case 'newBranch':
      return integrate(state, task, event.branch, 'newBranch', null);
    case 'existingBranch': {
      if (task.approvalIds.length >= Limits.approvalsPerTaskMax) {
        return refuse(
          state,
          'approvalsFull',
          `integrationRequested: ${Limits.approvalsPerTaskMax} approvals used`,
          task.taskId,
        );
      }
      const next: Task = reviseTask(task, {
        status: 'awaiting-approval',
        awaiting: { purpose: 'integrate', patchDigest: task.patchDigest, branch: event.branch, approvalId: null },
        integrationError: null,
        updatedAtMs: state.nowMs,
      });
      const action: Action = {
        kind: 'requestApproval',
        taskId: task.taskId,
        purpose: 'integrate',
        patchDigest: task.patchDigest,
        branch: event.branch,
      };
      return { state: putTask(state, next), actions: [action] };
    }
    default:
      return assertNever(event.mode);
  }
}

function onIntegrationFinished(state: State, task: Task, event: EventOf<'integrationFinished'>): Step {
  if (task.status !== 'integrating' || task.integration === null) return wrongStatus(state, task, event);
  if (event.branch !== task.integration.branch) {
    const detail = `integrationFinished: branch ${event.branch} is not ${task.integration.branch}`;
    return refuse(state, 'branchMismatch', detail, task.taskId);
  }
  const next: Task = reviseTask(task, {
    status: 'integrated',
    integration: { ...task.integration, commit: event.commit },
    updatedAtMs: state.nowMs,
  });
  return { state: putTask(state, next), actions: noActions };
}

function onIntegrationFailed(state: State, task: Task, event: EventOf<'integrationFailed'>): Step {
  if (task.status !== 'integrating') return wrongStatus(state, task, event);
  return { state: backToVerified(state, task, event.reason), actions: noActions };
}

function onUsageCharged(state: State, task: Task, event: EventOf<'usageCharged'>): Step {
  const next: Task = reviseTask(task, {
    usage: {
      tokens: add(task.usage.tokens, event.tokens),
      costMicros: add(task.usage.costMicros, event.costMicros),
      outputBytes: add(task.usage.outputBytes, event.outputBytes),
    },
    updatedAtMs: state.nowMs,
  });
  const exhausted = isInFlight(task.status) ? spendExhausted(next) : null;
  if (exhausted !== null) return endTask(state, next, 'budget-exhausted', exhausted, true);
  return { state: putTask(state, next), actions: noActions };
}

function onModelClaimedDone(state: State, task: Task, _event: EventOf<'modelClaimedDone'>): Step {
  // A model's "done" is a claim, never evidence: it is counted and changes nothing else.
  const next: Task = reviseTask(task, { advisoryClaims: add(task.advisoryClaims, 1) });
  return { state: putTask(state, next), actions: noActions };
}

function onTaskCancelled(state: State, task: Task, event: EventOf<'taskCancelled'>): Step {
  if (task.status === 'integrating') {
    return refuse(state, 'integrationInProgress', 'taskCancelled: an integration cannot be called back', task.taskId);
  }
  return endTask(state, task, 'cancelled', { code: 'cancelled', detail: clip(event.reason) }, true);
}

function onSandboxUnavailable(state: State, task: Task, event: EventOf<'sandboxUnavailable'>): Step {
  if (!isInFlight(task.status)) return wrongStatus(state, task, event);
  return endTask(state, task, 'failed', { code: 'noSandbox', detail: clip(event.reason) }, true);
}

/**
 * Expires leases, wall-time budgets and approvals. Work that does not fit the per-event action
 * bound waits for the next tick.
 */
function onClockTicked(state: State): Step {
  let current = state;
  const actions: Action[] = [];
  for (let index = 0; index < state.tasks.length; index++) {
    if (actions.length + Limits.actionsPerTaskMax > Limits.actionsPerEventMax) break;
    const task = current.tasks[index];
    if (task === undefined || isTerminal(task.status)) continue;
    const wall = exhaustWall(current, task);
    if (wall !== null) {
      current = wall.state;
      actions.push(...wall.actions);
    } else if (task.job !== null && current.nowMs >= task.job.leaseExpiresAtMs) {
      const failed = failAttempt(current, task, {
        code: 'leaseExpired',
        detail: `job ${task.job.jobId} missed its lease`,
      });
      current = failed.state;
      actions.push(...failed.actions);
    } else {
      const approvalId = task.awaiting?.approvalId ?? null;
      const approval = approvalId === null ? undefined : approvalOf(current, approvalId);
      if (approval?.status === 'pending' && current.nowMs >= approval.expiresAtMs) {
        current = expireApproval(current, task, approval);
      }
    }
  }
  return { state: current, actions };
}

function expireApproval(state: State, task: Task, approval: Approval): State {
  const approvals = {
    ...state.approvals,
    [approval.approvalId]: { ...approval, status: 'expired' as const, resolvedAtMs: state.nowMs },
  };
  const expired: State = reviseState(state, { approvals });
  switch (approval.purpose) {
    case 'acceptProtected': {
      const next: Task = reviseTask(task, {
        status: 'rejected',
        awaiting: null,
        reason: { code: 'approvalExpired', detail: `approval ${approval.approvalId} expired unanswered` },
        updatedAtMs: state.nowMs,
      });
      return putTask(expired, next);
    }
    case 'integrate':
      return backToVerified(expired, task, `approval ${approval.approvalId} expired unanswered`);
    default:
      return assertNever(approval.purpose);
  }
}

/**
 * After a kernel crash nothing that was running can be trusted to have finished: every in-flight
 * task fails with `crashRecovery` (never passes), an integration in progress returns to
 * `verified`, and an approval the shell never minted is dropped. The shell sweeps leftover attempt
 * trees and process groups itself before it records this event, so no per-task action is emitted.
 */
function onKernelRecovered(state: State): Step {
  let current = state;
  for (let index = 0; index < state.tasks.length; index++) {
    const task = current.tasks[index];
    if (task === undefined || isTerminal(task.status)) continue;
    const reason = { code: 'crashRecovery', detail: 'the kernel restarted while this task was running' } as const;
    if (isInFlight(task.status)) {
      current = endTask(current, task, 'failed', reason, false).state;
    } else if (task.status === 'integrating') {
      current = backToVerified(current, task, 'the kernel restarted during integration; integrate again');
    } else if (task.awaiting !== null && task.awaiting.approvalId === null) {
      current =
        task.awaiting.purpose === 'integrate'
          ? backToVerified(current, task, 'the kernel restarted before the approval was requested; request it again')
          : endTask(current, task, 'failed', reason, false).state;
    }
  }
  assert(Object.keys(current.jobs).length === 0, 'no job survives crash recovery');
  return { state: current, actions: noActions };
}

/** The first spend budget the task has used up, or null. */
function spendExhausted(
  task: Task,
): { readonly code: 'tokensExceeded' | 'costMicrosExceeded' | 'outputBytesExceeded'; readonly detail: string } | null {
  const { usage, budgets } = task;
  if (usage.tokens > budgets.tokens)
    return { code: 'tokensExceeded', detail: `${usage.tokens} of ${budgets.tokens} tokens` };
  if (usage.costMicros > budgets.costMicros) {
    return { code: 'costMicrosExceeded', detail: `${usage.costMicros} of ${budgets.costMicros} cost micros` };
  }
  if (usage.outputBytes > budgets.outputBytes) {
    return { code: 'outputBytesExceeded', detail: `${usage.outputBytes} of ${budgets.outputBytes} output bytes` };
  }
  return null;
}

/** Saturating addition of non-negative safe integers. */
function add(a: number, b: number): number {
  const sum = a + b;
  return sum > Number.MAX_SAFE_INTEGER ? Number.MAX_SAFE_INTEGER : sum;
}
