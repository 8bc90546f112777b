/** Why the import gate refused something. Each rule is one kind of boundary crossing. */
export const ImportRule = {
  /** A module on the bundle's forbidden list reached it, bundled or imported at run time. */
  forbiddenModule: 'forbidden-module',
  /** A built-in outside the bundle's allow-list is imported at run time. */
  builtinNotAllowed: 'builtin-not-allowed',
  /** An npm package outside the bundle's allow-list was bundled. */
  packageNotAllowed: 'package-not-allowed',
  /** A bundled file lies outside the first-party roots and outside `node_modules`. */
  inputOutsideRoots: 'input-outside-roots',
  /** A non-built-in module was left external, so the bundle would need it installed beside it. */
  externalModule: 'external-module',
  /** `kernel/package.json` declares a runtime dependency. */
  kernelDependency: 'kernel-dependency',
  /** A core file imports, re-exports or requires something outside `kernel/src/core`. */
  coreImportEscapes: 'core-import-escapes',
  /** A core file pulls in ambient types or files through a triple-slash directive. */
  coreReferenceDirective: 'core-reference-directive',
  /** A core file calls `import()` or `require()` with a computed specifier the gate cannot read. */
  coreComputedSpecifier: 'core-computed-specifier',
  /** A core file disables or reconfigures a restricted lint rule inline. */
  coreLintDirective: 'core-lint-directive',
} as const;

/** One of the import gate's rules. */
export type ImportRule = (typeof ImportRule)[keyof typeof ImportRule];

/** One refusal: which rule, where (a bundled input, a source file or a manifest), and what crossed. */
export interface ImportViolation {
  readonly rule: ImportRule;
  readonly where: string;
  readonly module: string;
}

/** Sorts violations by place, module and rule and drops exact duplicates, so results compare as wholes. */
export function normalizeViolations(violations: readonly ImportViolation[]): ImportViolation[] {
  const seen = new Set<string>();
  const unique: ImportViolation[] = [];
  for (const violation of violations) {
    const key = JSON.stringify([violation.where, violation.module, violation.rule]);
    if (!seen.has(key)) {
      seen.add(key);
      unique.push(violation);
    }
  }
  const key = (v: ImportViolation): string => `${v.where}\u0000${v.module}\u0000${v.rule}`;
  return unique.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/** A one-line description of a violation: what crossed, where, and which rule it broke. */
export function describeViolation(violation: ImportViolation): string {
  return `${violation.where}: ${violation.module} (${violation.rule})`;
}
