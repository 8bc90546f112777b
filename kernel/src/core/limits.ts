/**
 * Every bound of the kernel core, in one place. A quantity names its unit last. An event that
 * would exceed a bound becomes a refusal or a terminal task state; nothing grows without limit.
 */
export const Limits = {
  /** Actions one event may produce; `clockTicked` defers further work to the next tick. */
  actionsPerEventMax: 8,
  /** Actions one task transition may produce (killJob, removeAttempt, startAttempt). */
  actionsPerTaskMax: 3,
  /** Tasks one state (one event log) may hold; a further `taskCreated` is refused. */
  tasksMax: 256,
  /** Ceiling for a task's `attempts` budget. */
  attemptsMax: 16,
  /** Approvals one task may request over its whole life. */
  approvalsPerTaskMax: 32,
  /** Longest lease a verify job may hold without a heartbeat. */
  leaseMsMax: 10 * 60_000,
  /** Length of ids, digests, commits and branch names, in UTF-16 code units. */
  idCharsMax: 256,
  /** Length of a task goal. */
  goalCharsMax: 65_536,
  /** Length of a verify command. */
  commandCharsMax: 4_096,
  /** Free text (details, reasons) kept in state is clipped to this length. */
  detailCharsMax: 1_024,
  /** Integrity violations kept per attempt. */
  violationsMax: 64,
  /** Risk lines a task may declare when it is created. */
  risksMax: 64,
  /** Budgets of a task that `taskCreated` does not override. */
  defaultBudgets: {
    attempts: 2,
    wallMs: 30 * 60_000,
    tokens: 2_000_000,
    costMicros: 20_000_000,
    outputBytes: 64 * 1024 * 1024,
  },
} as const;
