/**
 * The kernel core: a pure reducer over the task lifecycle. It imports nothing outside this
 * folder, has no clock, no randomness and no I/O; time and ids arrive inside events.
 */
export type { Action, ActionKind, ActionOf, RefusalCode } from './action.js';
export { KernelInvariantError, assert, assertNever } from './assert.js';
export { CanonicalJsonError, canonicalJson, canonicalJsonDepthMax } from './canonical-json.js';
export type {
  Actor,
  ApprovalPurpose,
  Budgets,
  Candidate,
  Event,
  EventKind,
  EventOf,
  Integrity,
  IntegrationMode,
  Violation,
} from './event.js';
export { stateProblems, taskProblem } from './invariants.js';
export { Limits } from './limits.js';
export type {
  Approval,
  AttemptFailureCode,
  AttemptOutcome,
  AttemptRecord,
  AwaitedApproval,
  Integration,
  Lease,
  Reason,
  ReasonCode,
  State,
  Step,
  Task,
  TaskStatus,
  TerminalStatus,
  Usage,
  VerifyReport,
} from './state.js';
export { approvalOf, initialState, isInFlight, isTerminal, taskOf } from './state.js';
export { step } from './step.js';
export { eventProblem } from './validate.js';
export type { TaskVerdict } from './verdict.js';
export { taskVerdict } from './verdict.js';
