import { decodeEnvelope } from '../jsonrpc.js';
import type { MethodName } from './methods.js';
import { isRequestMethod, Methods } from './methods.js';
import { validateParams, validateResult } from './validate.js';

/** How a single wire message fares against the v1 contract. */
export type Verdict = 'valid' | 'invalidEnvelope' | 'invalidParams' | 'invalidResult';

/** A verdict with a one-line reason (empty when valid). */
export interface Judgement {
  readonly verdict: Verdict;
  readonly reason: string;
}

/**
 * Judges one parsed wire message that belongs to `method`: a request or notification is checked
 * against the method's params schema, a result response against its result schema, and an error
 * response only by its envelope (error responses are the same for every method).
 */
export function judgeMessage(method: MethodName, value: unknown): Judgement {
  const decoded = decodeEnvelope(value);
  if (!decoded.ok) return { verdict: 'invalidEnvelope', reason: decoded.error.message };
  const message = decoded.message;
  const row = Methods[method];
  switch (message.kind) {
    case 'request':
    case 'notification': {
      if (message.method !== method) {
        return { verdict: 'invalidEnvelope', reason: `message names ${message.method}, expected ${method}` };
      }
      if (row.kind !== message.kind) {
        return { verdict: 'invalidEnvelope', reason: `${method} is a ${row.kind}, not a ${message.kind}` };
      }
      const params = validateParams(method, message.params);
      return params.ok ? { verdict: 'valid', reason: '' } : { verdict: 'invalidParams', reason: params.message };
    }
    case 'result': {
      if (!isRequestMethod(method)) return { verdict: 'invalidEnvelope', reason: `${method} is a notification` };
      const result = validateResult(method, message.result);
      return result.ok ? { verdict: 'valid', reason: '' } : { verdict: 'invalidResult', reason: result.message };
    }
    case 'error':
      return { verdict: 'valid', reason: '' };
    default:
      return assertNever(message);
  }
}

function assertNever(value: never): never {
  throw new Error(`unreachable: ${JSON.stringify(value)}`);
}
