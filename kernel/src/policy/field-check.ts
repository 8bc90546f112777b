import { PolicyLimits } from './limits.js';

const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Why `value` is not a usable identifier-like field (task id, branch, remote, purpose), or null
 * when it is: a non-empty string of at most `PolicyLimits.fieldCharsMax` characters with no
 * control characters.
 */
export function fieldProblem(value: unknown): string | null {
  if (typeof value !== 'string') return `expected a string, got ${describeValue(value)}`;
  if (value.length === 0) return 'expected a non-empty string';
  if (value.length > PolicyLimits.fieldCharsMax) {
    return `expected at most ${PolicyLimits.fieldCharsMax} characters, got ${value.length}`;
  }
  if (hasControlCharacter(value)) return 'control characters are not allowed';
  if (loneSurrogate.test(value)) return 'lone surrogates are not allowed';
  return null;
}

/** A short, safe description of an untrusted value for an error message. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'object') return 'an object';
  if (value === undefined) return 'nothing';
  return `a ${typeof value}`;
}

// C0 controls, DEL and C1 controls: never part of a name the user reads or the kernel compares.
function hasControlCharacter(value: string): boolean {
  for (let index = 0; index < value.length; index += 1) {
    const code = value.charCodeAt(index);
    if (code <= 0x1f || (code >= 0x7f && code <= 0x9f)) return true;
  }
  return false;
}

/** True for a non-null, non-array object. */
export function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
