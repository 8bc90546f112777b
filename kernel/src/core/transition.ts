/**
 * Transitions shared by the handlers in `step.ts`. Each returns a whole `Step` and spreads only
 * what changes; every task written goes through `putTask`, which asserts the task's invariants.
 */
import type { Action, RefusalCode } from './action.js';
import { assert } from './assert.js';
import { taskProblem } from './invariants.js';
import { Limits } from './limits.js';
import { reviseAttempt, reviseState, reviseTask } from './revise.js';
import type { AttemptRecord, Reason, State, Step, Task, TerminalStatus } from './state.js';
import { isInFlight, isTerminal } from './state.js';

/** The empty action list, shared. */
export const noActions: readonly Action[] = Object.freeze([]);

/** Clips free text so state stays bounded, without splitting a surrogate pair. */
export function clip(text: string, charsMax: number = Limits.detailCharsMax): string {
  if (text.length <= charsMax) return text;
  const last = text.charCodeAt(charsMax - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? charsMax - 1 : charsMax);
}

/** A fresh record for an attempt the kernel just asked for. */
export function newAttempt(attempt: number): AttemptRecord {
  return {
    attempt,
    attemptId: null,
    startedAtMs: null,
    patchDigest: null,
    patchBytes: null,
    fileCount: null,
    jobId: null,
    verify: null,
    outcome: { verdict: 'pending' },
  };
}

/** The record of the task's current attempt. */
export function currentAttempt(task: Task): AttemptRecord {
  const record = task.attempts[task.attempt - 1];
  assert(record !== undefined, 'the current attempt has a record');
  return record;
}

/** The task's attempts with the current one replaced. */
export function withCurrent(task: Task, record: AttemptRecord): readonly AttemptRecord[] {
  return task.attempts.with(task.attempt - 1, record);
}

/** Writes one existing task into the state after asserting its invariants. */
export function putTask(state: State, task: Task): State {
  const problem = taskProblem(task);
  assert(problem === null, `task ${task.taskId}: ${problem ?? ''}`);
  const index = Object.hasOwn(state.taskIndex, task.taskId) ? state.taskIndex[task.taskId] : undefined;
  assert(index !== undefined && state.tasks[index]?.taskId === task.taskId, 'a task is written where it is indexed');
  return reviseState(state, { tasks: state.tasks.with(index, task) });
}

/** Appends a new task and indexes it. */
export function addTask(state: State, task: Task): State {
  const problem = taskProblem(task);
  assert(problem === null, `task ${task.taskId}: ${problem ?? ''}`);
  assert(!Object.hasOwn(state.taskIndex, task.taskId), 'task ids are unique');
  return reviseState(state, {
    tasks: [...state.tasks, task],
    taskIndex: { ...state.taskIndex, [task.taskId]: state.tasks.length },
  });
}

/** The running jobs with one more. */
export function withJob(jobs: State['jobs'], jobId: string, taskId: string): State['jobs'] {
  return { ...jobs, [jobId]: taskId };
}

/** The running jobs without one job. */
export function withoutJob(jobs: State['jobs'], jobId: string): State['jobs'] {
  const { [jobId]: _removed, ...rest } = jobs;
  return rest;
}

/** A refused event: the tasks stay as they are; the refusal is reported. */
export function refuse(state: State, reason: RefusalCode, detail: string, taskId?: string): Step {
  const action: Action =
    taskId === undefined
      ? { kind: 'reportRefusal', reason, detail: clip(detail) }
      : { kind: 'reportRefusal', taskId, reason, detail: clip(detail) };
  return { state, actions: [action] };
}

/** True when an in-flight task has used its wall-time budget. */
export function wallExceeded(task: Task, nowMs: number): boolean {
  return isInFlight(task.status) && nowMs - task.createdAtMs >= task.budgets.wallMs;
}

/** Ends an in-flight task whose wall-time budget ran out, or returns null when time remains. */
export function exhaustWall(state: State, task: Task): Step | null {
  if (!wallExceeded(task, state.nowMs)) return null;
  const detail = `task ran ${state.nowMs - task.createdAtMs} ms of its ${task.budgets.wallMs} ms budget`;
  return endTask(state, task, 'budget-exhausted', { code: 'wallMsExceeded', detail }, true);
}

/**
 * Fails the current attempt: kills a job still attached, removes the tree, and either asks for
 * the next attempt (budget left) or rejects the task with the failure's reason.
 */
export function failAttempt(state: State, task: Task, reason: Reason): Step {
  assert(isInFlight(task.status), 'only a running attempt can fail');
  const actions: Action[] = [];
  let jobs = state.jobs;
  if (task.job !== null) {
    actions.push({ kind: 'killJob', jobId: task.job.jobId, reason: reason.code });
    jobs = withoutJob(jobs, task.job.jobId);
  }
  actions.push({ kind: 'removeAttempt', taskId: task.taskId, attempt: task.attempt });
  const attempts = withCurrent(task, reviseAttempt(currentAttempt(task), { outcome: { verdict: 'failed', reason } }));
  let next: Task;
  if (task.attempt < task.budgets.attempts) {
    const attempt = task.attempt + 1;
    next = reviseTask(task, {
      status: 'attempting',
      attempt,
      attempts: [...attempts, newAttempt(attempt)],
      patchDigest: null,
      job: null,
      updatedAtMs: state.nowMs,
    });
    actions.push({ kind: 'startAttempt', taskId: task.taskId, attempt });
  } else {
    next = reviseTask(task, { status: 'rejected', attempts, job: null, reason, updatedAtMs: state.nowMs });
  }
  return { state: putTask(reviseState(state, { jobs }), next), actions };
}

/**
 * Ends a task in a terminal status. A job still attached is killed and a running attempt's tree
 * removed (when `cleanup`), the running attempt is marked abandoned, a pending approval withdrawn.
 */
export function endTask(state: State, task: Task, status: TerminalStatus, reason: Reason, cleanup: boolean): Step {
  assert(!isTerminal(task.status), 'a terminal task never ends twice');
  assert(task.status !== 'integrating', 'an integration in progress is never abandoned');
  const actions: Action[] = [];
  let jobs = state.jobs;
  if (task.job !== null) {
    if (cleanup) actions.push({ kind: 'killJob', jobId: task.job.jobId, reason: reason.code });
    jobs = withoutJob(jobs, task.job.jobId);
  }
  let attempts = task.attempts;
  if (isInFlight(task.status)) {
    if (cleanup) actions.push({ kind: 'removeAttempt', taskId: task.taskId, attempt: task.attempt });
    attempts = withCurrent(task, reviseAttempt(currentAttempt(task), { outcome: { verdict: 'abandoned', reason } }));
  }
  let approvals = state.approvals;
  const awaitedId = task.awaiting?.approvalId ?? null;
  if (awaitedId !== null) {
    const approval = Object.hasOwn(approvals, awaitedId) ? approvals[awaitedId] : undefined;
    assert(approval !== undefined && approval.status === 'pending', 'an awaited approval is pending');
    approvals = { ...approvals, [awaitedId]: { ...approval, status: 'withdrawn', resolvedAtMs: state.nowMs } };
  }
  const next: Task = reviseTask(task, {
    status,
    attempts,
    job: null,
    awaiting: null,
    reason,
    updatedAtMs: state.nowMs,
  });
  assert(actions.length <= Limits.actionsPerTaskMax, 'actions per task transition are bounded');
  return { state: putTask(reviseState(state, { jobs, approvals }), next), actions };
}

/** Sends a task that was verified back to `verified` after its integration did not happen. */
export function backToVerified(state: State, task: Task, integrationError: string): State {
  assert(task.verifiedBy !== null, 'only a verified task returns to verified');
  const next: Task = reviseTask(task, {
    status: 'verified',
    awaiting: null,
    integration: null,
    integrationError: clip(integrationError),
    updatedAtMs: state.nowMs,
  });
  return putTask(state, next);
}
