/**
 * The kernel core's state: readonly plain JSON (records and arrays, no Map or Set, no undefined),
 * so `canonicalJson(state)` is the replay digest input and snapshots need no custom codec.
 */
import type { Action } from './action.js';
import type { ApprovalPurpose, Budgets, Candidate, IntegrationMode, Violation } from './event.js';

/** Where a task is in its lifecycle. */
export type TaskStatus =
  | 'created'
  | 'attempting'
  | 'verifying'
  | 'verified'
  | 'awaiting-approval'
  | 'integrating'
  | 'integrated'
  | 'rejected'
  | 'failed'
  | 'cancelled'
  | 'budget-exhausted';

/** Statuses that absorb every later event for their task. */
export type TerminalStatus = Extract<
  TaskStatus,
  'integrated' | 'rejected' | 'failed' | 'cancelled' | 'budget-exhausted'
>;

/** Why an attempt failed. */
export type AttemptFailureCode =
  | 'verifyFailed'
  | 'timedOut'
  | 'integrityBroken'
  | 'digestMismatch'
  | 'leaseExpired'
  | 'patchRefused'
  | 'attemptFailed';

/** Why a task ended (or an attempt failed). */
export type ReasonCode =
  | AttemptFailureCode
  | 'approvalDenied'
  | 'approvalExpired'
  | 'noSandbox'
  | 'crashRecovery'
  | 'cancelled'
  | 'wallMsExceeded'
  | 'tokensExceeded'
  | 'costMicrosExceeded'
  | 'outputBytesExceeded';

/** A reason code plus clipped free text from the event that caused it. */
export interface Reason {
  readonly code: ReasonCode;
  readonly detail: string;
}

/** What the kernel concluded about one attempt. */
export type AttemptOutcome =
  | { readonly verdict: 'pending' }
  | { readonly verdict: 'passed' }
  | {
      readonly verdict: 'protected';
      readonly violations: readonly Violation[];
      /** The user approval that accepted exactly this patch, once granted. */
      readonly approvalId: string | null;
    }
  | { readonly verdict: 'failed'; readonly reason: Reason }
  | { readonly verdict: 'abandoned'; readonly reason: Reason };

/** The evidence the verify job reported for an attempt. */
export interface VerifyReport {
  readonly jobId: string;
  readonly exitCode: number | null;
  readonly timedOut: boolean;
  readonly outputBytes: number;
  readonly outputDigest: string;
  readonly durationMs: number;
}

/** One attempt of a task. */
export interface AttemptRecord {
  readonly attempt: number;
  readonly attemptId: string | null;
  readonly startedAtMs: number | null;
  readonly patchDigest: string | null;
  readonly patchBytes: number | null;
  readonly fileCount: number | null;
  readonly jobId: string | null;
  readonly verify: VerifyReport | null;
  readonly outcome: AttemptOutcome;
}

/** An approval the task asked for; `approvalId` is null until the shell minted it. */
export interface AwaitedApproval {
  readonly purpose: ApprovalPurpose;
  readonly patchDigest: string;
  readonly branch: string | null;
  readonly approvalId: string | null;
}

/** An approval minted by the shell, bound to one task, one patch and one action digest. */
export interface Approval {
  readonly approvalId: string;
  readonly taskId: string;
  readonly purpose: ApprovalPurpose;
  readonly actionDigest: string;
  readonly patchDigest: string;
  readonly branch: string | null;
  readonly requestedAtMs: number;
  readonly expiresAtMs: number;
  readonly status: 'pending' | 'granted' | 'denied' | 'expired' | 'withdrawn';
  readonly resolvedAtMs: number | null;
}

/** The running verify job of a task and its lease; a heartbeat moves the expiry. */
export interface Lease {
  readonly jobId: string;
  readonly leaseMs: number;
  readonly leaseExpiresAtMs: number;
}

/** Model and tool spend charged to a task. */
export interface Usage {
  readonly tokens: number;
  readonly costMicros: number;
  readonly outputBytes: number;
}

/** The integration of a verified patch into the user's repo. */
export interface Integration {
  readonly branch: string;
  readonly mode: IntegrationMode;
  readonly approvalId: string | null;
  readonly commit: string | null;
}

/** One task and its whole history. */
export interface Task {
  readonly taskId: string;
  readonly goal: string;
  readonly baseCommit: string;
  readonly verifyCommand: string;
  readonly candidate: Candidate;
  readonly status: TaskStatus;
  readonly budgets: Budgets;
  readonly usage: Usage;
  readonly createdAtMs: number;
  readonly updatedAtMs: number;
  /** The current attempt, 1-based; `attempts[attempt - 1]` is its record. */
  readonly attempt: number;
  readonly attempts: readonly AttemptRecord[];
  /** The digest of the current attempt's derived patch: the only patch that can verify. */
  readonly patchDigest: string | null;
  /** The running verify job of the current attempt. */
  readonly job: Lease | null;
  readonly awaiting: AwaitedApproval | null;
  readonly approvalIds: readonly string[];
  /** How the task reached `verified`: a clean passing verify run, or a user approval of a protected patch. */
  readonly verifiedBy: 'verify' | 'userApproval' | null;
  readonly integration: Integration | null;
  readonly integrationError: string | null;
  /** Why the task ended; set with every terminal status. */
  readonly reason: Reason | null;
  /** How often a model said it was done. Advisory: it changes nothing else. */
  readonly advisoryClaims: number;
}

/**
 * The whole kernel core state for one event log. Tasks live in an array in creation order (an
 * update copies one array, which stays cheap at `Limits.tasksMax`); `taskIndex` maps an id to its
 * position and changes only when a task is created.
 */
export interface State {
  /** Seq of the last applied event; events at or below it are no-ops. */
  readonly lastSeq: number;
  /** The kernel's clock: the largest `atMs` seen. */
  readonly nowMs: number;
  readonly tasks: readonly Task[];
  /** Task id → position in `tasks`. Look up with `taskOf`, never by plain indexing. */
  readonly taskIndex: Readonly<Record<string, number>>;
  /** Running verify job id → the id of its task. */
  readonly jobs: Readonly<Record<string, string>>;
  /** Every approval ever minted, by approval id. */
  readonly approvals: Readonly<Record<string, Approval>>;
}

/** The state before the first event. */
export const initialState: State = Object.freeze({
  lastSeq: 0,
  nowMs: 0,
  tasks: Object.freeze([]),
  taskIndex: Object.freeze({}),
  jobs: Object.freeze({}),
  approvals: Object.freeze({}),
});

/** One reducer result. */
export interface Step {
  readonly state: State;
  readonly actions: readonly Action[];
}

const terminal: Readonly<Record<TaskStatus, boolean>> = {
  created: false,
  attempting: false,
  verifying: false,
  verified: false,
  'awaiting-approval': false,
  integrating: false,
  integrated: true,
  rejected: true,
  failed: true,
  cancelled: true,
  'budget-exhausted': true,
};

/** True for statuses that absorb every later event. */
export function isTerminal(status: TaskStatus): status is TerminalStatus {
  return terminal[status];
}

/** True while an attempt may be running: wall-time and spend budgets apply, crash recovery fails the task. */
export function isInFlight(status: TaskStatus): boolean {
  return status === 'created' || status === 'attempting' || status === 'verifying';
}

/** Looks a task up by an id that came from outside; `__proto__` and `constructor` never resolve. */
export function taskOf(state: State, taskId: string): Task | undefined {
  if (!Object.hasOwn(state.taskIndex, taskId)) return undefined;
  const index = state.taskIndex[taskId];
  return index === undefined ? undefined : state.tasks[index];
}

/** Looks up an approval by an id that came from outside. */
export function approvalOf(state: State, approvalId: string): Approval | undefined {
  return Object.hasOwn(state.approvals, approvalId) ? state.approvals[approvalId] : undefined;
}
