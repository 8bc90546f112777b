import { Limits } from './limits.js';

/**
 * Numeric error codes carried in JSON-RPC error responses: the JSON-RPC 2.0 standard codes, the
 * LSP cancellation code, and this protocol's own codes in the implementation-defined range
 * (-32000 to -32099). A retired code is never reused for another meaning.
 */
export const ErrorCode = {
  /** The body was not valid JSON. */
  parseError: -32700,
  /** The body was JSON but not a valid JSON-RPC 2.0 message. */
  invalidRequest: -32600,
  /** The method is not in the method table, or the peer does not offer it. */
  methodNotFound: -32601,
  /** The params did not match the method's params schema. */
  invalidParams: -32602,
  /** The peer failed in a way that is not the caller's fault. */
  internalError: -32603,
  /** The protocol versions of the two peers are incompatible. */
  versionMismatch: -32010,
  /** A message or a field was over a limit. */
  contentTooLarge: -32011,
  /** The call ran out of time inside the peer (for example, an upstream provider timed out). */
  timeout: -32012,
  /** The sidecar could not do the work (for example, the upstream provider failed). */
  sidecarFailure: -32013,
  /** The call is not allowed in the peer's current state (before `initialize`, after `shutdown`). */
  invalidState: -32014,
  /** The request was cancelled with `$/cancelRequest` before it finished. */
  requestCancelled: -32800,
} as const;

/** One of the names in {@link ErrorCode}. */
export type ErrorCodeName = keyof typeof ErrorCode;
/** One of the numbers in {@link ErrorCode}. */
export type ErrorCodeValue = (typeof ErrorCode)[ErrorCodeName];

/** Returns the name of a known error code, or `undefined` for a code outside the table. */
export function errorCodeName(code: number): ErrorCodeName | undefined {
  for (const name of Object.keys(ErrorCode) as ErrorCodeName[]) {
    if (ErrorCode[name] === code) return name;
  }
  return undefined;
}

/** A request id: a non-negative safe integer or a short string. `null` only appears in error responses. */
export type RequestId = number | string;

/** A JSON-RPC 2.0 request: it expects exactly one response with the same id. */
export interface RequestMessage {
  readonly jsonrpc: '2.0';
  readonly id: RequestId;
  readonly method: string;
  readonly params?: unknown;
}

/** A JSON-RPC 2.0 notification: it has no id and gets no response. */
export interface NotificationMessage {
  readonly jsonrpc: '2.0';
  readonly method: string;
  readonly params?: unknown;
}

/** The error object of an error response. */
export interface ResponseErrorObject {
  readonly code: number;
  readonly message: string;
  readonly data?: unknown;
}

/** A successful response. */
export interface ResultResponseMessage {
  readonly jsonrpc: '2.0';
  readonly id: RequestId;
  readonly result: unknown;
}

/** An error response; `id` is `null` only when the request's id could not be read. */
export interface ErrorResponseMessage {
  readonly jsonrpc: '2.0';
  readonly id: RequestId | null;
  readonly error: ResponseErrorObject;
}

/** Any message that may be framed on the wire. */
export type Message = RequestMessage | NotificationMessage | ResultResponseMessage | ErrorResponseMessage;

/** A message after envelope checks, discriminated by `kind`. Params and results are not yet checked. */
export type DecodedMessage =
  | { readonly kind: 'request'; readonly id: RequestId; readonly method: string; readonly params: unknown }
  | { readonly kind: 'notification'; readonly method: string; readonly params: unknown }
  | { readonly kind: 'result'; readonly id: RequestId; readonly result: unknown }
  | { readonly kind: 'error'; readonly id: RequestId | null; readonly error: ResponseErrorObject };

/** Why a body is not an acceptable message; `id` is the request id when one could be read. */
export interface EnvelopeError {
  readonly code: typeof ErrorCode.parseError | typeof ErrorCode.invalidRequest | typeof ErrorCode.contentTooLarge;
  readonly message: string;
  readonly id: RequestId | null;
}

/** The outcome of {@link parseMessage} and {@link decodeEnvelope}. */
export type DecodeResult =
  { readonly ok: true; readonly message: DecodedMessage } | { readonly ok: false; readonly error: EnvelopeError };

const ENVELOPE_KEYS = new Set(['jsonrpc', 'id', 'method', 'params', 'result', 'error']);
const ERROR_KEYS = new Set(['code', 'message', 'data']);

/** True for a value that may be used as a request id. */
export function isRequestId(value: unknown): value is RequestId {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0;
  return typeof value === 'string' && value.length <= Limits.requestIdLengthMax;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Returns true when no array or object in `value` is nested deeper than `depthMax`. Iterative, so
 * a hostile nesting cannot overflow the stack here or in a validator that runs afterwards.
 */
export function isJsonDepthWithin(value: unknown, depthMax: number): boolean {
  const stack: { readonly value: unknown; readonly depth: number }[] = [{ value, depth: 0 }];
  for (let entry = stack.pop(); entry !== undefined; entry = stack.pop()) {
    if (typeof entry.value !== 'object' || entry.value === null) continue;
    const depth = entry.depth + 1;
    if (depth > depthMax) return false;
    const children = Array.isArray(entry.value) ? entry.value : Object.values(entry.value);
    for (const child of children) {
      if (typeof child === 'object' && child !== null) stack.push({ value: child, depth });
    }
  }
  return true;
}

function invalid(message: string, id: RequestId | null): DecodeResult {
  return { ok: false, error: { code: ErrorCode.invalidRequest, message, id } };
}

/**
 * Checks the JSON-RPC 2.0 envelope of an already parsed body and classifies it. Strict: unknown
 * envelope keys, batches, `null` request ids, primitive params and responses with both or neither
 * of `result` and `error` are refused.
 */
export function decodeEnvelope(value: unknown): DecodeResult {
  if (Array.isArray(value)) return invalid('batches are not supported; send one message per frame', null);
  if (!isPlainObject(value)) return invalid('a message must be a JSON object', null);
  const id = isRequestId(value['id']) ? value['id'] : null;
  for (const key of Object.keys(value)) {
    if (!ENVELOPE_KEYS.has(key)) return invalid(`unknown envelope key '${key.slice(0, 64)}'`, id);
  }
  if (value['jsonrpc'] !== '2.0') return invalid('\'jsonrpc\' must be the string "2.0"', id);
  if (Object.hasOwn(value, 'id') && value['id'] !== null && !isRequestId(value['id'])) {
    return invalid(
      `'id' must be a non-negative safe integer or a string of at most ${Limits.requestIdLengthMax} characters`,
      null,
    );
  }
  if (Object.hasOwn(value, 'method')) return decodeCall(value, id);
  return decodeResponse(value, id);
}

function decodeCall(value: Record<string, unknown>, id: RequestId | null): DecodeResult {
  const method = value['method'];
  if (typeof method !== 'string' || method.length === 0 || method.length > Limits.methodNameLengthMax) {
    return invalid(`'method' must be a string of 1 to ${Limits.methodNameLengthMax} characters`, id);
  }
  if (Object.hasOwn(value, 'result') || Object.hasOwn(value, 'error')) {
    return invalid("a request or notification must not carry 'result' or 'error'", id);
  }
  const params = value['params'];
  if (params !== undefined && (typeof params !== 'object' || params === null)) {
    return invalid("'params' must be an object or an array when present", id);
  }
  if (!Object.hasOwn(value, 'id')) return { ok: true, message: { kind: 'notification', method, params } };
  if (id === null) return invalid("a request 'id' must not be null", null);
  return { ok: true, message: { kind: 'request', id, method, params } };
}

function decodeResponse(value: Record<string, unknown>, id: RequestId | null): DecodeResult {
  if (!Object.hasOwn(value, 'id'))
    return invalid("a message needs 'method' (request, notification) or 'id' (response)", null);
  const hasResult = Object.hasOwn(value, 'result');
  const hasError = Object.hasOwn(value, 'error');
  if (hasResult === hasError) return invalid("a response carries exactly one of 'result' and 'error'", id);
  if (Object.hasOwn(value, 'params')) return invalid("a response must not carry 'params'", id);
  if (hasResult) {
    if (id === null) return invalid("a result response needs a non-null 'id'", null);
    return { ok: true, message: { kind: 'result', id, result: value['result'] } };
  }
  const error = value['error'];
  if (!isPlainObject(error)) return invalid("'error' must be an object", id);
  for (const key of Object.keys(error)) {
    if (!ERROR_KEYS.has(key)) return invalid(`unknown error key '${key.slice(0, 64)}'`, id);
  }
  const code = error['code'];
  const message = error['message'];
  if (typeof code !== 'number' || !Number.isSafeInteger(code)) return invalid("'error.code' must be an integer", id);
  if (typeof message !== 'string' || message.length > Limits.errorMessageLengthMax) {
    return invalid(`'error.message' must be a string of at most ${Limits.errorMessageLengthMax} characters`, id);
  }
  const decoded: ResponseErrorObject = Object.hasOwn(error, 'data')
    ? { code, message, data: error['data'] }
    : { code, message };
  return { ok: true, message: { kind: 'error', id, error: decoded } };
}

/**
 * Parses one frame body (already UTF-8 decoded) into a classified message: JSON syntax, nesting
 * depth, then the envelope. Never throws.
 */
export function parseMessage(body: string): DecodeResult {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (error) {
    const reason = error instanceof Error ? error.message : 'unknown reason';
    return { ok: false, error: { code: ErrorCode.parseError, message: `body is not JSON: ${reason}`, id: null } };
  }
  if (!isJsonDepthWithin(value, Limits.jsonDepthMax)) {
    return {
      ok: false,
      error: {
        code: ErrorCode.contentTooLarge,
        message: `JSON nesting is deeper than ${Limits.jsonDepthMax}`,
        id: null,
      },
    };
  }
  return decodeEnvelope(value);
}
