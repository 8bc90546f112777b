import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Bundles, metafilePath, type BundleSpec } from '../bundles.js';
import type { Outcome } from '../outcome.js';
import { checkBundleInputs, checkKernelManifest, parseMetafile } from './bundle-inputs.js';
import { checkCoreSources, readSources } from './core-sources.js';
import { describeViolation } from './import-violation.js';
import { loadSizeBudget } from './size-budget.js';
import { checkSizes, describeSizeViolation, formatSizeReport } from './size-gate.js';

/** Measures every built bundle against `size-budget.json`. */
export function runSizeCheck(root: string, bundles: readonly BundleSpec[] = Bundles): Outcome {
  const sizes = bundles.map((spec) => {
    const file = resolve(root, spec.outFile);
    return { bundle: spec.name, file: spec.outFile, bytes: existsSync(file) ? statSync(file).size : undefined };
  });
  const { reports, violations } = checkSizes(sizes, loadSizeBudget(root));
  const lines = [...reports.map(formatSizeReport), ...violations.map((v) => `size-check: ${describeSizeViolation(v)}`)];
  return { ok: violations.length === 0, lines };
}

/**
 * Runs the import gate: each bundle's metafile against its budget, the kernel manifest, and the
 * kernel-core sources.
 */
export function runImportCheck(root: string, bundles: readonly BundleSpec[] = Bundles): Outcome {
  const budget = loadSizeBudget(root);
  const lines: string[] = [];
  let ok = true;
  for (const spec of bundles) {
    const entry = budget.bundles[spec.name];
    const metafileFile = resolve(root, metafilePath(spec));
    if (entry === undefined) {
      lines.push(`import-check: ${spec.name}: no budget in size-budget.json; add one under "bundles".`);
      ok = false;
      continue;
    }
    if (!existsSync(metafileFile)) {
      lines.push(`import-check: ${spec.name}: ${metafilePath(spec)} not found; run \`npm run build\` first.`);
      ok = false;
      continue;
    }
    const metafile = parseMetafile(JSON.parse(readFileSync(metafileFile, 'utf8')), metafilePath(spec));
    const violations = checkBundleInputs(metafile, entry);
    const inputs = Object.keys(metafile.inputs).length;
    lines.push(`${spec.name}: ${inputs} bundled inputs, ${violations.length} violations`);
    for (const violation of violations) lines.push(`import-check: ${spec.name}: ${describeViolation(violation)}`);
    ok &&= violations.length === 0;
  }

  const manifest = checkKernelManifest(readFileSync(join(root, 'kernel/package.json'), 'utf8'));
  const sources = readSources(root);
  const core = checkCoreSources(sources);
  lines.push(`kernel/package.json: ${manifest.length} violations`);
  lines.push(`kernel/src/core: ${sources.length} files, ${core.length} violations`);
  for (const violation of [...manifest, ...core]) lines.push(`import-check: ${describeViolation(violation)}`);
  return { ok: ok && manifest.length === 0 && core.length === 0, lines };
}
