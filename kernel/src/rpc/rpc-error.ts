import type { ErrorCodeValue, ResponseErrorObject } from '@crustcore/protocol';

/**
 * Why a call or a connection failed, as seen by the kernel. These codes never cross the wire;
 * wire errors from the peer arrive as `remoteError` with the peer's numeric code.
 */
export type RpcErrorCode =
  /** The sidecar process exited (or could not keep running) while the connection was open. */
  | 'sidecarExited'
  /** The sidecar process could not be started. */
  | 'spawnFailed'
  /** The connection was closed locally, or the peer closed its stream. */
  | 'connectionClosed'
  /** The peer broke the framing or envelope rules, or answered a call that was never made. */
  | 'protocolViolation'
  /** The peer's protocol version is incompatible with ours. */
  | 'versionMismatch'
  /** The call did not finish within its timeout; a `$/cancelRequest` was sent. */
  | 'timeout'
  /** The caller aborted the call; a `$/cancelRequest` was sent. */
  | 'cancelled'
  /** The kernel's own params failed the method's schema (a bug in the caller). */
  | 'invalidParams'
  /** The peer's result failed the method's result schema. */
  | 'invalidResult'
  /** The peer answered with a JSON-RPC error response. */
  | 'remoteError'
  /** The request would be larger than `messageBytesMax` once framed. */
  | 'requestTooLarge'
  /** Too many calls are already waiting for responses. */
  | 'tooManyPendingCalls'
  /** The sidecar did not list the method in its `initialize` capabilities. */
  | 'methodNotOffered';

/** A typed RPC failure: switch on `code`; `remote` holds the peer's error object for `remoteError`. */
export class RpcError extends Error {
  /** What failed, for an exhaustive switch. */
  readonly code: RpcErrorCode;
  /** The method of the call that failed, when the failure belongs to one call. */
  readonly method: string | null;
  /** The peer's error object, for `remoteError`. */
  readonly remote: ResponseErrorObject | null;
  /** Extra facts for diagnostics (exit code, signal, stderr tail); never shown to a model unredacted. */
  readonly details: Readonly<Record<string, unknown>>;

  /** Creates an error; `message` is one line that says what failed, why, and what to do. */
  constructor(
    code: RpcErrorCode,
    message: string,
    options: {
      readonly method?: string;
      readonly remote?: ResponseErrorObject;
      readonly details?: Readonly<Record<string, unknown>>;
    } = {},
  ) {
    super(message);
    this.name = 'RpcError';
    this.code = code;
    this.method = options.method ?? null;
    this.remote = options.remote ?? null;
    this.details = options.details ?? {};
  }

  /** The same failure, attributed to one call. */
  forMethod(method: string): RpcError {
    return new RpcError(this.code, `${method}: ${this.message}`, {
      method,
      ...(this.remote === null ? {} : { remote: this.remote }),
      details: this.details,
    });
  }
}

/**
 * Thrown by a request handler to answer with a specific wire error instead of `internalError`.
 */
export class ResponseError extends Error {
  /** The numeric wire code from the protocol's `ErrorCode` table. */
  readonly code: ErrorCodeValue;
  /** Optional structured data for the peer. */
  readonly data: unknown;

  /** Creates a wire error; `message` goes to the peer verbatim, so keep secrets out of it. */
  constructor(code: ErrorCodeValue, message: string, data?: unknown) {
    super(message);
    this.name = 'ResponseError';
    this.code = code;
    this.data = data;
  }
}
