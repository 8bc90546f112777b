import type * as z from 'zod/mini';
import { ErrorCode } from '../jsonrpc.js';
import type { MethodName, ParamsOf, RequestMethod, ResultOf } from './methods.js';
import { Methods } from './methods.js';

/** A schema failure as one line: the path of the first bad field and what was wrong with it. */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  const first = issues[0];
  if (first === undefined) return 'invalid value';
  const path = first.path.length === 0 ? '(root)' : first.path.map(String).join('.');
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
  return `${path}: ${first.message}${more}`.slice(0, 512);
}

/** The outcome of {@link validateParams}. */
export type ParamsCheck<M extends MethodName> =
  | { readonly ok: true; readonly params: ParamsOf<M> }
  | { readonly ok: false; readonly code: typeof ErrorCode.invalidParams; readonly message: string };

/** The outcome of {@link validateResult}. */
export type ResultCheck<M extends RequestMethod> =
  { readonly ok: true; readonly result: ResultOf<M> } | { readonly ok: false; readonly message: string };

function check(schema: z.ZodMiniType, value: unknown): { ok: true; value: unknown } | { ok: false; message: string } {
  try {
    const parsed = schema.safeParse(value);
    return parsed.success
      ? { ok: true, value: parsed.data }
      : { ok: false, message: describeIssues(parsed.error.issues) };
  } catch (error) {
    return { ok: false, message: `validator failed: ${error instanceof Error ? error.message : 'unknown reason'}` };
  }
}

/** Checks a method's params against its schema; a failure carries the `invalidParams` wire code. */
export function validateParams<M extends MethodName>(method: M, params: unknown): ParamsCheck<M> {
  const outcome = check(Methods[method].params, params);
  if (outcome.ok) return { ok: true, params: outcome.value as ParamsOf<M> };
  return { ok: false, code: ErrorCode.invalidParams, message: `${method} params: ${outcome.message}` };
}

/** Checks a request's result against its schema. */
export function validateResult<M extends RequestMethod>(method: M, result: unknown): ResultCheck<M> {
  const outcome = check(Methods[method].result, result);
  if (outcome.ok) return { ok: true, result: outcome.value as ResultOf<M> };
  return { ok: false, message: `${method} result: ${outcome.message}` };
}
