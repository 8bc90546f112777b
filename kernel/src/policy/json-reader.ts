import { describeValue, fieldProblem, isRecord } from './field-check.js';

/**
 * Hand-written validation of parsed JSON that collects every problem as one line naming its
 * JSON path (`rules[2].effect: expected "allow" | "deny" | "ask", got "maybe"`). Readers return
 * undefined for a bad value so the caller keeps going and reports the rest; they never throw.
 */
export class JsonProblems {
  readonly #lines: string[] = [];
  readonly #linesMax: number;
  #dropped = 0;

  constructor(linesMax: number) {
    this.#linesMax = linesMax;
  }

  /** Records one problem at `path`. */
  add(path: string, message: string): void {
    if (this.#lines.length < this.#linesMax) this.#lines.push(`${path === '' ? '(root)' : path}: ${message}`);
    else this.#dropped += 1;
  }

  /** True when no problem was recorded. */
  get empty(): boolean {
    return this.#lines.length === 0;
  }

  /** Every recorded problem, plus one line counting those beyond the limit. */
  lines(): readonly string[] {
    return this.#dropped === 0 ? [...this.#lines] : [...this.#lines, `…: ${this.#dropped} more not shown`];
  }
}

const identifier = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** The JSON path of `key` inside `path`. */
export function childPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  if (identifier.test(key)) return path === '' ? key : `${path}.${key}`;
  return `${path}[${JSON.stringify(key)}]`;
}

/**
 * Reads an object with exactly the given keys: a missing required key or any unknown key is a
 * problem. Unknown keys do not stop the caller from reading (and reporting on) the known ones;
 * a missing required key does. Only own properties count, so `__proto__` or `constructor` never
 * resolve through the prototype.
 */
export function readObject(
  value: unknown,
  path: string,
  problems: JsonProblems,
  keys: { readonly required: readonly string[]; readonly optional: readonly string[] },
): Readonly<Record<string, unknown>> | undefined {
  if (!isRecord(value)) {
    problems.add(path, `expected an object, got ${describeValue(value)}`);
    return undefined;
  }
  let ok = true;
  for (const key of Object.keys(value)) {
    if (!keys.required.includes(key) && !keys.optional.includes(key)) problems.add(childPath(path, key), 'unknown key');
  }
  for (const key of keys.required) {
    if (!Object.hasOwn(value, key)) {
      problems.add(childPath(path, key), 'required key is missing');
      ok = false;
    }
  }
  return ok ? value : undefined;
}

/** The own property `key` of a record read by {@link readObject}, or undefined when absent. */
export function own(record: Readonly<Record<string, unknown>>, key: string): unknown {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/** Reads an identifier-like string (see `fieldProblem`). */
export function readField(value: unknown, path: string, problems: JsonProblems): string | undefined {
  const problem = fieldProblem(value);
  if (problem !== null) {
    problems.add(path, problem);
    return undefined;
  }
  return value as string;
}

/** Reads a string of at most `charsMax` characters (empty allowed). */
export function readText(value: unknown, path: string, problems: JsonProblems, charsMax: number): string | undefined {
  if (typeof value !== 'string') {
    problems.add(path, `expected a string, got ${describeValue(value)}`);
    return undefined;
  }
  if (value.length > charsMax) {
    problems.add(path, `expected at most ${charsMax} characters, got ${value.length}`);
    return undefined;
  }
  return value;
}

/** Reads a safe integer in `[min, max]`. */
export function readInteger(
  value: unknown,
  path: string,
  problems: JsonProblems,
  min: number,
  max: number,
): number | undefined {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    problems.add(path, `expected an integer from ${min} to ${max}, got ${describeValue(value)}`);
    return undefined;
  }
  return value;
}

/** Reads one of a fixed set of strings. */
export function readChoice<T extends string>(
  value: unknown,
  path: string,
  problems: JsonProblems,
  choices: readonly T[],
): T | undefined {
  if (typeof value === 'string' && (choices as readonly string[]).includes(value)) return value as T;
  problems.add(
    path,
    `expected ${choices.map((choice) => JSON.stringify(choice)).join(' | ')}, got ${describeValue(value)}`,
  );
  return undefined;
}

/** Reads an array of at most `itemsMax` items (and at least `itemsMin`). */
export function readArray(
  value: unknown,
  path: string,
  problems: JsonProblems,
  itemsMin: number,
  itemsMax: number,
): readonly unknown[] | undefined {
  if (!Array.isArray(value)) {
    problems.add(path, `expected an array, got ${describeValue(value)}`);
    return undefined;
  }
  if (value.length < itemsMin || value.length > itemsMax) {
    problems.add(path, `expected ${itemsMin} to ${itemsMax} items, got ${value.length}`);
    return undefined;
  }
  return value;
}
