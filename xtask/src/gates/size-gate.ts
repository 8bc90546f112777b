import type { SizeBudget } from './size-budget.js';

/** One built bundle as measured on disk; `bytes` is undefined when the file is missing. */
export interface BundleSize {
  readonly bundle: string;
  readonly file: string;
  readonly bytes: number | undefined;
}

/** One bundle's line in the size report. */
export interface SizeReport {
  readonly bundle: string;
  readonly file: string;
  readonly bytes: number;
  readonly kibMax: number;
  /** Share of the budget used, in percent (100 is exactly at the ceiling). */
  readonly budgetPercent: number;
}

/** Why the size gate refused: over budget, not built, or a bundle and the budget file disagree. */
export const SizeRule = {
  overBudget: 'over-budget',
  missingOutput: 'missing-output',
  missingBudget: 'missing-budget',
  unknownBundle: 'unknown-bundle',
} as const;

/** One of the size gate's rules. */
export type SizeRule = (typeof SizeRule)[keyof typeof SizeRule];

/** One refusal by the size gate. */
export interface SizeViolation {
  readonly rule: SizeRule;
  readonly bundle: string;
}

/** The size gate's verdict: a report line per measured bundle and every refusal. */
export interface SizeCheck {
  readonly reports: readonly SizeReport[];
  readonly violations: readonly SizeViolation[];
}

/** Bytes per KiB. */
const kib = 1024;

/**
 * Compares measured bundles with their budgets. Every bundle needs a budget and every budget a
 * bundle, so a new bundle cannot ship unmeasured and a stale budget cannot linger.
 */
export function checkSizes(sizes: readonly BundleSize[], budget: SizeBudget): SizeCheck {
  const reports: SizeReport[] = [];
  const violations: SizeViolation[] = [];
  for (const { bundle, file, bytes } of sizes) {
    const entry = budget.bundles[bundle];
    if (entry === undefined) {
      violations.push({ rule: SizeRule.missingBudget, bundle });
      continue;
    }
    if (bytes === undefined) {
      violations.push({ rule: SizeRule.missingOutput, bundle });
      continue;
    }
    reports.push({ bundle, file, bytes, kibMax: entry.kibMax, budgetPercent: (bytes / (entry.kibMax * kib)) * 100 });
    if (bytes > entry.kibMax * kib) violations.push({ rule: SizeRule.overBudget, bundle });
  }
  const measured = new Set(sizes.map((size) => size.bundle));
  for (const bundle of Object.keys(budget.bundles)) {
    if (!measured.has(bundle)) violations.push({ rule: SizeRule.unknownBundle, bundle });
  }
  return { reports, violations };
}

/** One report line: `nano  kernel/dist/crustcore.js  12.3 KiB of 150 KiB (8.2%)`. */
export function formatSizeReport(report: SizeReport): string {
  const size = (report.bytes / kib).toFixed(1);
  return `${report.bundle}  ${report.file}  ${size} KiB of ${report.kibMax} KiB (${report.budgetPercent.toFixed(1)}%)`;
}

/** A one-line description of a size refusal, with what to do about it. */
export function describeSizeViolation(violation: SizeViolation): string {
  switch (violation.rule) {
    case SizeRule.overBudget:
      return `${violation.bundle}: over its budget in size-budget.json; shrink it, or raise the budget in the change that causes the growth and say why.`;
    case SizeRule.missingOutput:
      return `${violation.bundle}: bundle file not found; run \`npm run build\` first.`;
    case SizeRule.missingBudget:
      return `${violation.bundle}: no budget in size-budget.json; add one under "bundles".`;
    case SizeRule.unknownBundle:
      return `${violation.bundle}: size-budget.json lists a bundle the build does not produce; remove the entry or add the bundle.`;
    default:
      return assertNever(violation.rule);
  }
}

function assertNever(value: never): never {
  throw new Error(`unexpected value ${JSON.stringify(value)}`);
}
