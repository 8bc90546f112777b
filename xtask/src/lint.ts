import type { Outcome } from './outcome.js';
import { runTool } from './run-tool.js';

/** Runs `eslint .` and `prettier --check .`; both run even when the first fails. */
export async function runLint(root: string, capture: boolean): Promise<Outcome> {
  const eslint = await runTool(root, 'eslint', ['.'], { capture });
  const prettier = await runTool(root, 'prettier', ['--check', '.'], { capture });
  const lines: string[] = [];
  if (eslint.output !== '') lines.push(eslint.output.trimEnd());
  lines.push(`eslint: ${eslint.exitCode === 0 ? 'ok' : `failed (exit ${eslint.exitCode})`}`);
  if (prettier.output !== '') lines.push(prettier.output.trimEnd());
  lines.push(`prettier --check: ${prettier.exitCode === 0 ? 'ok' : `failed (exit ${prettier.exitCode})`}`);
  return { ok: eslint.exitCode === 0 && prettier.exitCode === 0, lines };
}
