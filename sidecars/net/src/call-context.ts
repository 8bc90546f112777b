import type { Dispatcher } from 'undici';
import type { NetLimits } from './net-limits.js';

/** Everything one provider call needs besides its params: limits, cancellation, progress, a dispatcher. */
export interface CallContext {
  readonly limits: NetLimits;
  /** Aborted when the kernel cancels the call. */
  readonly cancelSignal: AbortSignal;
  /** Aborted when the call is cancelled or passes `callTimeoutMs`. */
  readonly signal: AbortSignal;
  /** When the call's time is up, on the `Date.now()` clock. */
  readonly deadlineAtMs: number;
  /** Receives streamed text as it arrives; absent when the caller did not ask to stream. */
  readonly onTextDelta: ((text: string) => void) | undefined;
  /** Receives human-readable status lines (retries, waits). */
  readonly onStatus: ((message: string) => void) | undefined;
  /** The HTTP dispatcher for this call's endpoint (local or remote rules). */
  readonly dispatcher: (local: boolean) => Dispatcher;
}
