/** Why a log operation was refused. */
export type LogErrorCode =
  'locked' | 'exists' | 'notFound' | 'notIntact' | 'recordTooLarge' | 'invalidEvent' | 'closed' | 'io';

/**
 * An expected failure of a log operation. `message` is one line: what failed, why, what to do.
 * Nothing was written when this is thrown, except for `io` during an append, after which the
 * writer is closed and `inspect` reports the state of the file.
 */
export class LogError extends Error {
  /** The machine-readable reason. */
  readonly code: LogErrorCode;

  constructor(code: LogErrorCode, message: string) {
    super(message);
    this.name = 'LogError';
    this.code = code;
  }
}
