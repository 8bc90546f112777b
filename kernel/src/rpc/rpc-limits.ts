import { Limits } from '@crustcore/protocol';

/** The kernel side's bounds on one sidecar connection, with the unit last in each name. */
export interface RpcLimits {
  /** Largest message body accepted or sent. */
  readonly messageBytesMax: number;
  /** Largest header section accepted. */
  readonly headerBytesMax: number;
  /** Timeout of a call that does not give its own. */
  readonly callTimeoutMs: number;
  /** Calls that may wait for a response at once. */
  readonly pendingCallsMax: number;
  /** Requests from the peer that may run at once. */
  readonly incomingRequestsMax: number;
  /** Cancelled or timed-out calls whose late response is still expected and dropped quietly. */
  readonly abandonedCallsMax: number;
  /** Bytes of the sidecar's stderr kept (the most recent ones). */
  readonly stderrBytesMax: number;
  /** Time allowed for `initialize` to answer. */
  readonly handshakeTimeoutMs: number;
  /** Time allowed between `shutdown` and the process exiting before it is killed. */
  readonly shutdownTimeoutMs: number;
  /** Time allowed between the process exiting and its stdout closing (or the reverse). */
  readonly exitGraceMs: number;
}

/** Defaults for {@link RpcLimits}. */
export const defaultRpcLimits: RpcLimits = {
  messageBytesMax: Limits.messageBytesMax,
  headerBytesMax: Limits.headerBytesMax,
  callTimeoutMs: 120_000,
  pendingCallsMax: 1_024,
  incomingRequestsMax: 64,
  abandonedCallsMax: 1_024,
  stderrBytesMax: 64 * 1024,
  handshakeTimeoutMs: 10_000,
  shutdownTimeoutMs: 2_000,
  exitGraceMs: 200,
};
