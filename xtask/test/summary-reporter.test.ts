import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { repoRoot } from '../src/repo-root.js';
import { toolScript } from '../src/run-tool.js';
import { countResults, formatCounts } from '../src/summary-reporter.js';

describe('countResults', () => {
  test('counts passed and failed tests and ignores skipped ones', () => {
    const modules = [
      { testStates: ['passed', 'passed', 'skipped'], moduleFailed: false },
      { testStates: ['passed', 'failed'], moduleFailed: true },
    ];
    expect(countResults(modules, 0)).toEqual({ passed: 3, failed: 1 });
  });

  test('a module that failed without a failing test, and each unhandled error, count as one failure', () => {
    expect(countResults([{ testStates: [], moduleFailed: true }], 2)).toEqual({ passed: 0, failed: 3 });
    expect(formatCounts({ passed: 0, failed: 3 })).toBe('0 passed, 3 failed');
  });
});

describe('the summary reporter in a real vitest run', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  function runVitest(files: Readonly<Record<string, string>>): { status: number | null; lastLine: string } {
    dir = mkdtempSync(join(tmpdir(), 'xtask-reporter-'));
    writeFileSync(
      join(dir, 'vitest.config.mjs'),
      "export default { test: { include: ['*.check.mjs'], globals: true } };\n",
    );
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    const run = spawnSync(
      process.execPath,
      [
        toolScript(repoRoot, 'vitest'),
        'run',
        '--root',
        dir,
        '--reporter=default',
        `--reporter=${join(repoRoot, 'xtask/src/summary-reporter.ts')}`,
      ],
      { cwd: dir, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', CI: 'true' } },
    );
    const lines = run.stdout.trimEnd().split('\n');
    return { status: run.status, lastLine: lines.at(-1) ?? '' };
  }

  test('ends a failing run with the real counts and keeps vitest’s exit code', () => {
    const result = runVitest({
      'a.check.mjs': "test('one', () => expect(1).toBe(1));\ntest('two', () => expect(1).toBe(2));\n",
      'b.check.mjs': "test('three', () => {});\ntest.skip('four', () => {});\n",
      'c.check.mjs': "import './missing.mjs';\ntest('never runs', () => {});\n",
    });
    expect(result).toEqual({ status: 1, lastLine: '2 passed, 2 failed' });
  });

  test('ends a passing run with zero failures and exit code 0', () => {
    const result = runVitest({ 'a.check.mjs': "test('one', () => expect(1).toBe(1));\n" });
    expect(result).toEqual({ status: 0, lastLine: '1 passed, 0 failed' });
  });
});
