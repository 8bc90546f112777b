import { builtinName, matchesModule, packageOfPath, packageOfSpecifier } from './module-names.js';
import type { BundleBudget } from './size-budget.js';
import { ImportRule, normalizeViolations, type ImportViolation } from './import-violation.js';

/** One import record of a bundled file, as esbuild's metafile reports it. */
export interface MetafileImport {
  readonly path: string;
  readonly kind: string;
  readonly external?: boolean;
}

/** The part of an esbuild metafile the gate reads: every bundled file and what it imports. */
export interface Metafile {
  readonly inputs: Readonly<Record<string, { readonly imports: readonly MetafileImport[] }>>;
}

/** esbuild's own helper module; it is part of every bundle and is not a dependency. */
const esbuildRuntime = '<runtime>';

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Validates parsed metafile JSON; throws a one-line error when it is not an esbuild metafile. */
export function parseMetafile(raw: unknown, source: string): Metafile {
  if (!isRecord(raw) || !isRecord(raw['inputs'])) {
    throw new Error(`${source}: not an esbuild metafile (no "inputs" object); rebuild with \`npm run build\`.`);
  }
  for (const [input, entry] of Object.entries(raw['inputs'])) {
    const imports = isRecord(entry) ? entry['imports'] : undefined;
    const valid =
      Array.isArray(imports) &&
      imports.every(
        (record) => isRecord(record) && typeof record['path'] === 'string' && typeof record['kind'] === 'string',
      );
    if (!valid)
      throw new Error(`${source}: input ${input} has no valid "imports" list; rebuild with \`npm run build\`.`);
  }
  return raw as unknown as Metafile;
}

/**
 * Checks every file esbuild bundled and every import it left external against the bundle's budget.
 * Bundled files must sit under a first-party root or belong to an allowed package; external
 * imports must be allowed built-ins. Forbidden modules are reported as such wherever they appear.
 */
export function checkBundleInputs(metafile: Metafile, budget: BundleBudget): ImportViolation[] {
  const violations: ImportViolation[] = [];
  const isForbidden = (name: string): boolean =>
    budget.modulesForbidden.some((pattern) => matchesModule(name, pattern));

  for (const [input, { imports }] of Object.entries(metafile.inputs)) {
    const packageName = packageOfPath(input);
    if (packageName !== undefined) {
      if (isForbidden(packageName))
        violations.push({ rule: ImportRule.forbiddenModule, where: input, module: packageName });
      else if (!budget.packagesAllowed.includes(packageName)) {
        violations.push({ rule: ImportRule.packageNotAllowed, where: input, module: packageName });
      }
    } else if (!budget.inputRoots.some((root) => input.startsWith(root))) {
      violations.push({ rule: ImportRule.inputOutsideRoots, where: input, module: input });
    }

    for (const record of imports) {
      // Bundled imports are inputs themselves and were checked above.
      if (record.external !== true || record.path === esbuildRuntime) continue;
      const builtin = builtinName(record.path);
      if (builtin !== undefined) {
        if (isForbidden(builtin)) violations.push({ rule: ImportRule.forbiddenModule, where: input, module: builtin });
        else if (!budget.builtinsAllowed.includes(builtin)) {
          violations.push({ rule: ImportRule.builtinNotAllowed, where: input, module: builtin });
        }
      } else {
        const name = packageOfSpecifier(record.path);
        const rule = isForbidden(name) ? ImportRule.forbiddenModule : ImportRule.externalModule;
        violations.push({ rule, where: input, module: isForbidden(name) ? name : record.path });
      }
    }
  }
  return normalizeViolations(violations);
}

/** Checks the kernel manifest's text: the kernel ships with no runtime dependencies of any kind. */
export function checkKernelManifest(text: string, where = 'kernel/package.json'): ImportViolation[] {
  let manifest: unknown;
  try {
    manifest = JSON.parse(text);
  } catch (error) {
    throw new Error(`${where}: not valid JSON (${(error as Error).message}); fix the file.`, { cause: error });
  }
  if (!isRecord(manifest)) throw new Error(`${where}: expected a JSON object; fix the file.`);
  const violations: ImportViolation[] = [];
  for (const field of ['dependencies', 'optionalDependencies', 'peerDependencies']) {
    const declared = manifest[field];
    if (declared === undefined) continue;
    if (!isRecord(declared)) {
      violations.push({ rule: ImportRule.kernelDependency, where, module: `${field} (not an object)` });
      continue;
    }
    for (const name of Object.keys(declared)) {
      violations.push({ rule: ImportRule.kernelDependency, where, module: `${field}.${name}` });
    }
  }
  for (const field of ['bundleDependencies', 'bundledDependencies']) {
    const declared = manifest[field];
    if (declared === undefined || (Array.isArray(declared) && declared.length === 0)) continue;
    const names = Array.isArray(declared) ? declared.map(String) : [JSON.stringify(declared)];
    for (const name of names) violations.push({ rule: ImportRule.kernelDependency, where, module: `${field}.${name}` });
  }
  return normalizeViolations(violations);
}
