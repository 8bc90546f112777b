/**
 * The exit codes of `crustcore`, each distinct and named. `internal` (70, EX_SOFTWARE from
 * sysexits.h) means a bug: a broken kernel invariant or an unexpected exception; the CLI then
 * prints one line naming the error and no stack trace.
 */
export const ExitCode = {
  /** Verified, intact, or done. */
  ok: 0,
  /** Rejected, failed, tampered or torn. */
  failed: 1,
  /** Bad usage or configuration: unknown command or flag, missing value, unreadable path. */
  usage: 2,
  /** Refused: a precondition such as the sandbox is missing. */
  refused: 3,
  /** Stopped to wait for a user approval. */
  needsApproval: 4,
  /** A bug in crustcore. */
  internal: 70,
} as const;

/** One of `ExitCode`'s values. */
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
