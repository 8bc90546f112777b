/**
 * Thrown only for programmer errors: a broken invariant inside the kernel core or a shell that
 * broke the reducer's contract. Expected failures are values or events, never this.
 */
export class KernelInvariantError extends Error {
  override readonly name = 'KernelInvariantError';
}

/** Crashes with a KernelInvariantError naming the invariant when `condition` is false. */
export function assert(condition: boolean, invariant: string): asserts condition {
  if (!condition) throw new KernelInvariantError(`kernel invariant broken: ${invariant}`);
}

/** Makes a missing variant a compile error, and malformed input that slipped past the types a crash. */
export function assertNever(value: never): never {
  throw new KernelInvariantError(`kernel invariant broken: unhandled variant ${describe(value)}`);
}

function describe(value: unknown): string {
  if (typeof value === 'object' && value !== null && 'kind' in value) {
    return `kind=${String((value as { readonly kind: unknown }).kind)}`;
  }
  return typeof value === 'string' ? `'${value}'` : typeof value;
}
