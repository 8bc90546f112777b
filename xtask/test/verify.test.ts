import { describe, expect, test } from 'vitest';
import { runVerify, verifySteps } from '../src/verify.js';
import { repoRoot } from '../src/repo-root.js';

/** Wall time varies run to run; only its place in the line is checked. */
const withoutTimes = (lines: readonly string[]): string[] =>
  lines.map((line) => line.replace(/\(\d+\.\d s\)/, '(T s)'));

describe('runVerify', () => {
  test('runs the gates in order: build, typecheck, lint, tests, size-check, import-check', () => {
    expect(verifySteps(repoRoot).map((step) => step.name)).toEqual([
      'build',
      'typecheck',
      'lint',
      'tests',
      'size-check',
      'import-check',
    ]);
  });

  test('passes when every step passes, one line per step and a verdict', async () => {
    const lines: string[] = [];
    const ok = await runVerify(
      [
        { name: 'typecheck', run: async () => ({ ok: true, lines: ['noise'] }) },
        { name: 'tests', run: async () => ({ ok: true, lines: ['...', '3 passed, 0 failed'] }) },
      ],
      (line) => lines.push(line),
    );
    expect({ ok, lines: withoutTimes(lines) }).toEqual({
      ok: true,
      lines: [
        'verify: ok   typecheck (T s)',
        'verify: ok   tests (T s)  3 passed, 0 failed',
        'verify: passed (2 steps)',
      ],
    });
  });

  test('keeps going after a failure or a throw, shows their output, and fails at the end', async () => {
    const ran: string[] = [];
    const lines: string[] = [];
    const ok = await runVerify(
      [
        {
          name: 'lint',
          run: async () => {
            ran.push('lint');
            return { ok: false, lines: ['a.ts\n  1:1 error'] };
          },
        },
        {
          name: 'size-check',
          run: async () => {
            ran.push('size-check');
            throw new Error('size-budget.json: not valid JSON (x); fix the file.');
          },
        },
        {
          name: 'import-check',
          run: async () => {
            ran.push('import-check');
            return { ok: true, lines: [] };
          },
        },
      ],
      (line) => lines.push(line),
    );
    expect({ ok, ran, lines: withoutTimes(lines) }).toEqual({
      ok: false,
      ran: ['lint', 'size-check', 'import-check'],
      lines: [
        'verify: FAIL lint (T s)',
        '    a.ts\n      1:1 error',
        'verify: FAIL size-check (T s)',
        '    size-check: size-budget.json: not valid JSON (x); fix the file.',
        'verify: ok   import-check (T s)',
        'verify: FAILED (2 of 3 steps: lint, size-check)',
      ],
    });
  });
});
