import { performance } from 'node:perf_hooks';
import { build } from './build.js';
import { runImportCheck, runSizeCheck } from './gates/run-gates.js';
import { runLint } from './lint.js';
import type { Outcome } from './outcome.js';
import { runTool } from './run-tool.js';
import { runTypecheck } from './typecheck.js';

/** The vitest arguments shared by `npm test` and `verify`: the default output plus the closing count line. */
export const vitestArgs = ['run', '--reporter=default', '--reporter=./xtask/src/summary-reporter.ts'] as const;

/** One verify step: a name and a run that captures its output. */
export interface VerifyStep {
  readonly name: string;
  readonly run: () => Promise<Outcome>;
}

/** The steps of `verify`, in order. The build comes first because the tests and both gates read the bundles. */
export function verifySteps(root: string): VerifyStep[] {
  return [
    {
      name: 'build',
      run: async () => {
        await build(root, { quiet: true });
        return { ok: true, lines: [] };
      },
    },
    { name: 'typecheck', run: () => runTypecheck(root, true) },
    { name: 'lint', run: () => runLint(root, true) },
    {
      name: 'tests',
      run: async () => {
        const run = await runTool(root, 'vitest', vitestArgs, { capture: true });
        return { ok: run.exitCode === 0, lines: [run.output.trimEnd()] };
      },
    },
    { name: 'size-check', run: async () => runSizeCheck(root) },
    { name: 'import-check', run: async () => runImportCheck(root) },
  ];
}

/** The last `N passed, N failed` line of a test run's output, if any. */
function testCounts(lines: readonly string[]): string | undefined {
  const matches = lines.join('\n').match(/^\d+ passed, \d+ failed$/gm);
  return matches?.at(-1);
}

/**
 * Runs every step (a failure does not stop the later ones), prints one line per step and the
 * output of failed steps, then a final verdict. Resolves to whether all steps passed.
 */
export async function runVerify(
  steps: readonly VerifyStep[],
  print: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): Promise<boolean> {
  const failed: string[] = [];
  for (const step of steps) {
    const startMs = performance.now();
    let outcome: Outcome;
    try {
      outcome = await step.run();
    } catch (error) {
      outcome = { ok: false, lines: [`${step.name}: ${(error as Error).message}`] };
    }
    const seconds = ((performance.now() - startMs) / 1000).toFixed(1);
    const counts = step.name === 'tests' ? testCounts(outcome.lines) : undefined;
    const detail = counts === undefined ? '' : `  ${counts}`;
    print(`verify: ${outcome.ok ? 'ok  ' : 'FAIL'} ${step.name} (${seconds} s)${detail}`);
    if (!outcome.ok) {
      failed.push(step.name);
      for (const line of outcome.lines) print(line.replace(/^/gm, '    '));
    }
  }
  print(
    failed.length === 0
      ? `verify: passed (${steps.length} steps)`
      : `verify: FAILED (${failed.length} of ${steps.length} steps: ${failed.join(', ')})`,
  );
  return failed.length === 0;
}
