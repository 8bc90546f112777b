import { KernelInvariantError } from '../core/assert.js';

/** A JSON value as the policy module hashes and MACs it. */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

const depthMax = 64;

/**
 * Canonical JSON in the style of RFC 8785: object keys sorted by UTF-16 code units, no
 * whitespace, numbers and strings as ECMAScript's JSON serializer writes them. Two equal values
 * always give the same text, so the text can be hashed or MAC'd. A value that is not JSON
 * (undefined, a function, a non-finite number, a class instance, a cycle) is a bug in the caller
 * and throws.
 */
export function canonicalJson(value: JsonValue): string {
  return encode(value, 0);
}

function encode(value: unknown, depth: number): string {
  if (depth > depthMax) throw new KernelInvariantError(`canonicalJson: nesting deeper than ${depthMax}`);
  if (value === null) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new KernelInvariantError('canonicalJson: non-finite number');
    return JSON.stringify(value);
  }
  if (typeof value === 'object') return Array.isArray(value) ? encodeArray(value, depth) : encodeObject(value, depth);
  throw new KernelInvariantError(`canonicalJson: ${typeof value} is not JSON`);
}

function encodeArray(items: readonly unknown[], depth: number): string {
  const parts: string[] = [];
  for (const item of items) parts.push(encode(item, depth + 1));
  return `[${parts.join(',')}]`;
}

function encodeObject(value: object, depth: number): string {
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) {
    throw new KernelInvariantError('canonicalJson: only plain objects are JSON');
  }
  const record = value as Readonly<Record<string, unknown>>;
  // Default sort compares UTF-16 code units, which is the order RFC 8785 prescribes.
  const keys = Object.keys(record).sort();
  const parts: string[] = [];
  for (const key of keys) {
    const item = record[key];
    if (item === undefined) throw new KernelInvariantError(`canonicalJson: key ${JSON.stringify(key)} is undefined`);
    parts.push(`${JSON.stringify(key)}:${encode(item, depth + 1)}`);
  }
  return `{${parts.join(',')}}`;
}
