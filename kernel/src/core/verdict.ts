/** The one-word verdict of a task, as the CLI reports it. */
import { assertNever } from './assert.js';
import type { Task } from './state.js';

/** What a task amounts to for the user. */
export type TaskVerdict =
  | 'running'
  | 'needs-approval'
  | 'verified'
  | 'integrated'
  | 'rejected'
  | 'refused'
  | 'failed'
  | 'cancelled'
  | 'budget-exhausted';

/**
 * Maps a task to its verdict. `refused` means the kernel would not run the task at all (no
 * sandbox); `verified` covers a verified patch whose integration is pending or running.
 */
export function taskVerdict(task: Task): TaskVerdict {
  switch (task.status) {
    case 'created':
    case 'attempting':
    case 'verifying':
      return 'running';
    case 'awaiting-approval':
      return task.awaiting?.purpose === 'integrate' ? 'verified' : 'needs-approval';
    case 'verified':
    case 'integrating':
      return 'verified';
    case 'integrated':
      return 'integrated';
    case 'rejected':
      return 'rejected';
    case 'failed':
      return task.reason?.code === 'noSandbox' ? 'refused' : 'failed';
    case 'cancelled':
      return 'cancelled';
    case 'budget-exhausted':
      return 'budget-exhausted';
    default:
      return assertNever(task.status);
  }
}
