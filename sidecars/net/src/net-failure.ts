import { ErrorCode } from '@crustcore/protocol';

/** The wire codes a net call may fail with (names from the protocol's `ErrorCode` table). */
export type NetFailureCode =
  | 'invalidParams'
  | 'invalidState'
  | 'timeout'
  | 'sidecarFailure'
  | 'contentTooLarge'
  | 'requestCancelled'
  | 'internalError';

/**
 * An expected failure of a call, answered on the wire with `ErrorCode[code]`. The message is one
 * line that says what failed and why; the server still redacts the call's API key from it.
 */
export class NetFailure extends Error {
  /** Which wire code answers this failure. */
  readonly code: NetFailureCode;

  /** Creates a failure; keep secrets and stack traces out of `message`. */
  constructor(code: NetFailureCode, message: string) {
    super(message);
    this.name = 'NetFailure';
    this.code = code;
  }

  /** The numeric JSON-RPC code of this failure. */
  get wireCode(): number {
    return ErrorCode[this.code];
  }
}

/** Removes every occurrence of `secret` (and its common encodings) from `text`. */
export function redact(text: string, secret: string | undefined): string {
  if (secret === undefined || secret.length === 0) return text;
  const forms = new Set([
    secret,
    encodeURIComponent(secret),
    Buffer.from(secret).toString('base64'),
    Buffer.from(secret).toString('hex'),
    JSON.stringify(secret).slice(1, -1),
  ]);
  let out = text;
  for (const form of forms) {
    if (form.length > 0) out = out.split(form).join('[REDACTED:apiKey]');
  }
  return out;
}

/** Upstream text made safe for a one-line error: control characters become spaces, long text is cut. */
export function oneLine(text: string, lengthMax = 300): string {
  // eslint-disable-next-line no-control-regex
  const flat = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').trim();
  return flat.length > lengthMax ? `${flat.slice(0, lengthMax)}…` : flat;
}
