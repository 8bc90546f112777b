import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** What one bundle may weigh and may contain. Read from `size-budget.json`. */
export interface BundleBudget {
  /** Ceiling for the bundle file, in KiB (1024 bytes). */
  readonly kibMax: number;
  /** Repo folders (ending in `/`) whose files may be bundled: first-party code. */
  readonly inputRoots: readonly string[];
  /** npm packages that may be bundled (matched exactly against the package name). */
  readonly packagesAllowed: readonly string[];
  /** Built-ins the bundle may import at run time, `node:`-prefixed (matched exactly). */
  readonly builtinsAllowed: readonly string[];
  /** Modules that must never reach the bundle, as built-ins or packages; `@scope/*` covers a scope. */
  readonly modulesForbidden: readonly string[];
}

/** The parsed `size-budget.json`: one budget per bundle name. */
export interface SizeBudget {
  readonly bundles: Readonly<Record<string, BundleBudget>>;
}

/** The budget file's name at the repository root. */
export const sizeBudgetFile = 'size-budget.json';

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringList(value: unknown, where: string): readonly string[] {
  if (!Array.isArray(value) || !value.every((item): item is string => typeof item === 'string')) {
    throw new Error(`${sizeBudgetFile}: ${where} must be an array of strings; fix the file.`);
  }
  return value;
}

/** Parses and validates the budget file's text; throws a one-line error naming the bad field. */
export function parseSizeBudget(text: string): SizeBudget {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new Error(`${sizeBudgetFile}: not valid JSON (${(error as Error).message}); fix the file.`, { cause: error });
  }
  if (!isRecord(raw) || !isRecord(raw['bundles'])) {
    throw new Error(`${sizeBudgetFile}: expected an object with a "bundles" object; fix the file.`);
  }
  const bundles: Record<string, BundleBudget> = {};
  for (const [name, entry] of Object.entries(raw['bundles'])) {
    if (!isRecord(entry)) throw new Error(`${sizeBudgetFile}: bundles.${name} must be an object; fix the file.`);
    const kibMax = entry['kibMax'];
    if (typeof kibMax !== 'number' || !Number.isFinite(kibMax) || kibMax <= 0) {
      throw new Error(`${sizeBudgetFile}: bundles.${name}.kibMax must be a positive number; fix the file.`);
    }
    const inputRoots = stringList(entry['inputRoots'], `bundles.${name}.inputRoots`);
    // A root without its trailing slash would also admit a sibling folder (`kernel` vs `kernel-x/`).
    if (!inputRoots.every((root) => root.endsWith('/'))) {
      throw new Error(`${sizeBudgetFile}: bundles.${name}.inputRoots entries must end with "/"; fix the file.`);
    }
    const builtinsAllowed = stringList(entry['builtinsAllowed'], `bundles.${name}.builtinsAllowed`);
    if (!builtinsAllowed.every((builtin) => builtin.startsWith('node:'))) {
      throw new Error(
        `${sizeBudgetFile}: bundles.${name}.builtinsAllowed entries must start with "node:"; fix the file.`,
      );
    }
    bundles[name] = {
      kibMax,
      inputRoots,
      packagesAllowed: stringList(entry['packagesAllowed'], `bundles.${name}.packagesAllowed`),
      builtinsAllowed,
      modulesForbidden: stringList(entry['modulesForbidden'], `bundles.${name}.modulesForbidden`),
    };
  }
  return { bundles };
}

/** Reads `size-budget.json` from the repository root. */
export function loadSizeBudget(root: string): SizeBudget {
  return parseSizeBudget(readFileSync(join(root, sizeBudgetFile), 'utf8'));
}
