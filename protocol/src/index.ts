/**
 * `@crustcore/protocol`: the wire between the kernel and its sidecars. One source of truth for
 * framing, envelopes, error codes, limits, versions and the v1 method table with its schemas.
 */
export { defaultFrameLimits, encodeFrame, FrameDecoder } from './framing.js';
export type { EncodeFrameResult, FrameBatch, FramingError, FramingErrorCode } from './framing.js';
export { decodeEnvelope, ErrorCode, errorCodeName, isJsonDepthWithin, isRequestId, parseMessage } from './jsonrpc.js';
export type {
  DecodedMessage,
  DecodeResult,
  EnvelopeError,
  ErrorCodeName,
  ErrorCodeValue,
  ErrorResponseMessage,
  Message,
  NotificationMessage,
  RequestId,
  RequestMessage,
  ResponseErrorObject,
  ResultResponseMessage,
} from './jsonrpc.js';
export { Limits } from './limits.js';
export type { FrameLimits, WireLimits } from './limits.js';
export { negotiate, parseVersion, protocolVersion } from './versions.js';
export type { NegotiationResult, SemanticVersion } from './versions.js';
export { isMethodName, isRequestMethod, methodFileStem, Methods } from './v1/methods.js';
export { judgeMessage } from './v1/judge.js';
export type { Judgement, Verdict } from './v1/judge.js';
export type {
  Direction,
  MethodName,
  NotificationMethod,
  NotificationSpec,
  ParamsOf,
  RequestMethod,
  RequestSpec,
  ResultOf,
} from './v1/methods.js';
export { describeIssues, validateParams, validateResult } from './v1/validate.js';
export type { ParamsCheck, ResultCheck } from './v1/validate.js';
export * from './v1/schemas.js';
