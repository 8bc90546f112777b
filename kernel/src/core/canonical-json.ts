/**
 * Canonical JSON in the style of RFC 8785 (JCS): object keys sorted by UTF-16 code units, no
 * whitespace, strings and numbers as `JSON.stringify` writes them (shortest round-trip form for
 * numbers, `-0` as `0`). Anything JSON cannot carry exactly is an error, never silently dropped
 * or changed: non-finite numbers, `undefined`, functions, symbols, bigints, cycles, and objects
 * other than plain objects and arrays.
 */

/** Thrown for a value that has no canonical JSON form; the message names the path. */
export class CanonicalJsonError extends Error {
  override readonly name = 'CanonicalJsonError';
}

/** Nesting deeper than this is refused rather than risking the call stack. */
export const canonicalJsonDepthMax = 256;

/** Serialises a JSON value canonically: equal values give identical strings. */
export function canonicalJson(value: unknown): string {
  const parts: string[] = [];
  write(value, '$', parts, [], 0);
  return parts.join('');
}

function write(value: unknown, path: string, parts: string[], ancestors: object[], depth: number): void {
  switch (typeof value) {
    case 'string':
      parts.push(JSON.stringify(value));
      return;
    case 'number':
      if (!Number.isFinite(value)) fail(path, `is ${String(value)}; only finite numbers are JSON`);
      parts.push(JSON.stringify(value));
      return;
    case 'boolean':
      parts.push(value ? 'true' : 'false');
      return;
    case 'object':
      if (value === null) {
        parts.push('null');
        return;
      }
      writeObject(value, path, parts, ancestors, depth);
      return;
    case 'undefined':
      return fail(path, 'is undefined; JSON has no such value');
    case 'function':
    case 'symbol':
    case 'bigint':
      return fail(path, `is a ${typeof value}; JSON has no such value`);
  }
}

function writeObject(value: object, path: string, parts: string[], ancestors: object[], depth: number): void {
  if (depth >= canonicalJsonDepthMax) fail(path, `nests deeper than ${canonicalJsonDepthMax} levels`);
  if (ancestors.includes(value)) fail(path, 'is a cycle back to an enclosing value');
  ancestors.push(value);
  if (Array.isArray(value)) {
    parts.push('[');
    for (let index = 0; index < value.length; index++) {
      if (index > 0) parts.push(',');
      if (!Object.hasOwn(value, index)) fail(`${path}[${index}]`, 'is a hole in a sparse array');
      write((value as readonly unknown[])[index], `${path}[${index}]`, parts, ancestors, depth + 1);
    }
    parts.push(']');
  } else {
    const prototype: unknown = Object.getPrototypeOf(value);
    if (prototype !== Object.prototype && prototype !== null) fail(path, 'is not a plain object or array');
    // The default sort compares UTF-16 code units, which is the order RFC 8785 asks for.
    const keys = Object.keys(value).sort();
    parts.push('{');
    for (let index = 0; index < keys.length; index++) {
      const key = keys[index] as string;
      if (index > 0) parts.push(',');
      parts.push(JSON.stringify(key), ':');
      write((value as Readonly<Record<string, unknown>>)[key], `${path}.${key}`, parts, ancestors, depth + 1);
    }
    parts.push('}');
  }
  ancestors.pop();
}

function fail(path: string, problem: string): never {
  throw new CanonicalJsonError(`canonicalJson: value at ${path} ${problem}`);
}
