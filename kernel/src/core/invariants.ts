/**
 * Invariants of tasks and of the whole state. `step` asserts `taskProblem` for every task it
 * writes (cheap, O(attempts)); tests and `crustcore replay` run `stateProblems` over everything.
 */
import { Limits } from './limits.js';
import type { State, Task } from './state.js';
import { approvalOf, isInFlight, isTerminal, taskOf } from './state.js';

/** Returns the first broken invariant of one task, or null. */
export function taskProblem(task: Task): string | null {
  const current = task.attempts[task.attempt - 1];
  if (!Number.isSafeInteger(task.attempt) || task.attempt < 1) return 'attempt is a positive integer';
  if (task.attempts.length !== task.attempt || current === undefined)
    return 'attempts holds one record per attempt so far';
  if (current.attempt !== task.attempt) return 'the last attempt record is the current attempt';
  if (task.attempt > task.budgets.attempts) return 'attempt never exceeds the attempts budget';
  if ((task.status === 'verifying') !== (task.job !== null)) return 'a job runs exactly while verifying';
  if (task.job !== null && (task.patchDigest === null || current.jobId !== task.job.jobId)) {
    return 'a verify job runs for the current attempt and its derived patch';
  }
  if ((task.status === 'awaiting-approval') !== (task.awaiting !== null))
    return 'awaiting is set exactly while awaiting approval';
  if (task.patchDigest !== null && current.patchDigest !== task.patchDigest) {
    return "the task's patch digest is its current attempt's";
  }
  const verifiedNow = task.status === 'verified' || task.status === 'integrating' || task.status === 'integrated';
  const integrateAwaited = task.awaiting !== null && task.awaiting.purpose === 'integrate';
  if ((verifiedNow || integrateAwaited) !== (task.verifiedBy !== null) && task.status !== 'cancelled') {
    return 'verifiedBy is set exactly for verified tasks';
  }
  if (
    task.verifiedBy === 'verify' &&
    (current.outcome.verdict !== 'passed' || current.patchDigest !== task.patchDigest)
  ) {
    return 'a task verified by verify has a passed current attempt for its patch';
  }
  if (
    task.verifiedBy === 'userApproval' &&
    (current.outcome.verdict !== 'protected' ||
      current.outcome.approvalId === null ||
      current.patchDigest !== task.patchDigest)
  ) {
    return 'a task verified by approval has an approved protected current attempt for its patch';
  }
  if ((task.status === 'integrating' || task.status === 'integrated') !== (task.integration !== null)) {
    return 'integration is set exactly while integrating or integrated';
  }
  if (task.status === 'integrated' && task.integration?.commit === null) return 'an integrated task names its commit';
  if (isTerminal(task.status) && task.status !== 'integrated' && task.reason === null)
    return 'a failed task has a reason';
  if (isTerminal(task.status) && (task.job !== null || task.awaiting !== null))
    return 'a terminal task holds no job or approval';
  if (isInFlight(task.status) && current.outcome.verdict !== 'pending')
    return 'the current attempt of a running task is pending';
  return null;
}

/** Every broken invariant of the whole state (empty when sound). O(state): for tests and replay. */
export function stateProblems(state: State): readonly string[] {
  const problems: string[] = [];
  if (Object.keys(state.taskIndex).length !== state.tasks.length) problems.push('taskIndex indexes every task once');
  if (state.tasks.length > Limits.tasksMax) problems.push('tasks are bounded');
  state.tasks.forEach((task, index) => {
    const taskId = task.taskId;
    if (!Object.hasOwn(state.taskIndex, taskId) || state.taskIndex[taskId] !== index) {
      problems.push(`task ${taskId}: indexed at its position`);
    }
    const problem = taskProblem(task);
    if (problem !== null) problems.push(`task ${taskId}: ${problem}`);
    if (task.job !== null && (!Object.hasOwn(state.jobs, task.job.jobId) || state.jobs[task.job.jobId] !== taskId)) {
      problems.push(`task ${taskId}: its job is registered`);
    }
    const awaitedId = task.awaiting?.approvalId ?? null;
    if (awaitedId !== null) {
      const approval = approvalOf(state, awaitedId);
      if (approval?.taskId !== taskId || approval.status !== 'pending' || approval.patchDigest !== task.patchDigest) {
        problems.push(`task ${taskId}: its awaited approval is pending for its patch`);
      }
    }
  });
  for (const jobId of Object.keys(state.jobs)) {
    const taskId = state.jobs[jobId];
    const task = taskId === undefined ? undefined : taskOf(state, taskId);
    if (task?.job?.jobId !== jobId) problems.push(`job ${jobId}: belongs to a verifying task`);
  }
  for (const approvalId of Object.keys(state.approvals)) {
    const approval = state.approvals[approvalId];
    if (approval === undefined || approval.approvalId !== approvalId) {
      problems.push(`approval ${approvalId}: keyed by its own id`);
      continue;
    }
    const task = taskOf(state, approval.taskId);
    if (task === undefined || !task.approvalIds.includes(approvalId))
      problems.push(`approval ${approvalId}: listed by its task`);
    if (approval.status === 'pending' && task?.awaiting?.approvalId !== approvalId) {
      problems.push(`approval ${approvalId}: pending only while its task awaits it`);
    }
  }
  return problems;
}
