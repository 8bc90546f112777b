import { inspect } from 'node:util';
import { isSecretName } from './limits.js';

/** Records that a secret left its wrapper and why; it receives the name and purpose, never the value. */
export type ExposeAudit = (name: string, purpose: string) => void;

const moduleAudits: ExposeAudit[] = [];

/**
 * Registers a process-wide audit hook called on every `Secret.expose`, after the secret's own hook.
 * Returns a function that removes the registration.
 */
export function onExpose(audit: ExposeAudit): () => void {
  moduleAudits.push(audit);
  return () => {
    const index = moduleAudits.indexOf(audit);
    if (index !== -1) moduleAudits.splice(index, 1);
  };
}

/** Options for one secret. */
export type SecretOptions = {
  /** Called before the value leaves through `expose`; if it throws, the value does not leave. */
  readonly onExpose?: ExposeAudit;
};

/**
 * A credential that cannot be printed, logged, serialized or cloned by accident.
 *
 * The value lives in a `#private` field: `String()`, template literals, `JSON.stringify`,
 * `util.inspect` and error messages show `[REDACTED:name]`; `structuredClone` yields `{}` (the
 * instance has no own enumerable properties), which fails `Secret.is`. The seal protects against
 * bugs and untrusted data, not against hostile code in this process (a debugger sees the field).
 */
export class Secret {
  readonly #name: string;
  readonly #value: string;
  readonly #audit: ExposeAudit | undefined;

  /** Wraps `value` under `name`; the name must match `secretNamePattern`. */
  constructor(name: string, value: string, options: SecretOptions = {}) {
    if (!isSecretName(name)) throw new TypeError(`invalid secret name ${JSON.stringify(name.slice(0, 80))}`);
    if (typeof value !== 'string') throw new TypeError(`secret ${name}: value must be a string`);
    this.#name = name;
    this.#value = value;
    this.#audit = options.onExpose;
    Object.freeze(this);
  }

  /** True only for instances this class constructed: literals, prototype tricks, copies and proxies fail. */
  static is(value: unknown): value is Secret {
    return typeof value === 'object' && value !== null && #value in value;
  }

  /** The secret's name (not secret). */
  get name(): string {
    return this.#name;
  }

  /** What every accidental rendering shows. */
  get marker(): string {
    return `[REDACTED:${this.#name}]`;
  }

  /**
   * The one deliberate exit. Grep for `.expose(` to audit every place a secret leaves. The audit hooks
   * run first and receive the purpose; when one throws, the value is not returned.
   */
  expose(purpose: string): string {
    if (typeof purpose !== 'string' || purpose.trim() === '') {
      throw new TypeError(`secret ${this.#name}: expose() needs a purpose`);
    }
    this.#audit?.(this.#name, purpose);
    for (const audit of [...moduleAudits]) audit(this.#name, purpose);
    return this.#value;
  }

  /** Renders the marker, never the value. */
  toString(): string {
    return this.marker;
  }

  /** Serializes as the marker, never the value. */
  toJSON(): string {
    return this.marker;
  }

  /** Coerces to the marker for `+`, template literals and `String()`. */
  [Symbol.toPrimitive](): string {
    return this.marker;
  }

  /** What `util.inspect` and `console.log` show. */
  [inspect.custom](): string {
    return `Secret ${this.marker}`;
  }
}
