/**
 * Copies of the state's hot records with some fields changed. Each is written as one object
 * literal naming every field, not as a spread: V8 copies a spread of an object that was itself
 * made by a spread through a slow path, an order of magnitude slower, and this is the reducer's
 * hot path. State fields never hold `undefined` (state is JSON), so a field that is `undefined`
 * or absent in `changes` keeps its value. A field added to a type without being added here is a
 * compile error.
 */
import type { AttemptRecord, State, Task } from './state.js';

/** The fields of a task that change over its life; the rest are fixed at creation. */
export type TaskChanges = Partial<
  Omit<Task, 'taskId' | 'goal' | 'baseCommit' | 'verifyCommand' | 'candidate' | 'budgets' | 'createdAtMs'>
>;

/** The task with `changes` applied. */
export function reviseTask(task: Task, changes: TaskChanges): Task {
  return {
    taskId: task.taskId,
    goal: task.goal,
    baseCommit: task.baseCommit,
    verifyCommand: task.verifyCommand,
    candidate: task.candidate,
    status: changes.status ?? task.status,
    budgets: task.budgets,
    usage: changes.usage ?? task.usage,
    createdAtMs: task.createdAtMs,
    updatedAtMs: changes.updatedAtMs ?? task.updatedAtMs,
    attempt: changes.attempt ?? task.attempt,
    attempts: changes.attempts ?? task.attempts,
    patchDigest: changes.patchDigest === undefined ? task.patchDigest : changes.patchDigest,
    job: changes.job === undefined ? task.job : changes.job,
    awaiting: changes.awaiting === undefined ? task.awaiting : changes.awaiting,
    approvalIds: changes.approvalIds ?? task.approvalIds,
    verifiedBy: changes.verifiedBy === undefined ? task.verifiedBy : changes.verifiedBy,
    integration: changes.integration === undefined ? task.integration : changes.integration,
    integrationError: changes.integrationError === undefined ? task.integrationError : changes.integrationError,
    reason: changes.reason === undefined ? task.reason : changes.reason,
    advisoryClaims: changes.advisoryClaims ?? task.advisoryClaims,
  };
}

/** The attempt record with `changes` applied. */
export function reviseAttempt(record: AttemptRecord, changes: Partial<Omit<AttemptRecord, 'attempt'>>): AttemptRecord {
  return {
    attempt: record.attempt,
    attemptId: changes.attemptId === undefined ? record.attemptId : changes.attemptId,
    startedAtMs: changes.startedAtMs === undefined ? record.startedAtMs : changes.startedAtMs,
    patchDigest: changes.patchDigest === undefined ? record.patchDigest : changes.patchDigest,
    patchBytes: changes.patchBytes === undefined ? record.patchBytes : changes.patchBytes,
    fileCount: changes.fileCount === undefined ? record.fileCount : changes.fileCount,
    jobId: changes.jobId === undefined ? record.jobId : changes.jobId,
    verify: changes.verify === undefined ? record.verify : changes.verify,
    outcome: changes.outcome ?? record.outcome,
  };
}

/** The state with `changes` applied. */
export function reviseState(state: State, changes: Partial<State>): State {
  return {
    lastSeq: changes.lastSeq ?? state.lastSeq,
    nowMs: changes.nowMs ?? state.nowMs,
    tasks: changes.tasks ?? state.tasks,
    taskIndex: changes.taskIndex ?? state.taskIndex,
    jobs: changes.jobs ?? state.jobs,
    approvals: changes.approvals ?? state.approvals,
  };
}
