/** An expected failure is a value: either the result or a typed error. */
export type Result<T, E> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: E };

/** Wraps a success. */
export function ok<T>(value: T): { readonly ok: true; readonly value: T } {
  return { ok: true, value };
}

/** Wraps an expected failure. */
export function fail<E>(error: E): { readonly ok: false; readonly error: E } {
  return { ok: false, error };
}

/** Marks a branch the type system proves unreachable; reaching it at runtime is a bug. */
export function assertNever(value: never): never {
  throw new Error(`unreachable: unexpected value ${JSON.stringify(value)}`);
}
