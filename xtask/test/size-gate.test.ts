import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { Bundles } from '../src/bundles.js';
import { loadSizeBudget, parseSizeBudget, type BundleBudget, type SizeBudget } from '../src/gates/size-budget.js';
import { checkSizes, describeSizeViolation, formatSizeReport } from '../src/gates/size-gate.js';
import { runSizeCheck } from '../src/gates/run-gates.js';
import { repoRoot } from '../src/repo-root.js';

const gates: Omit<BundleBudget, 'kibMax'> = {
  inputRoots: ['kernel/'],
  packagesAllowed: [],
  builtinsAllowed: [],
  modulesForbidden: [],
};
const budget: SizeBudget = { bundles: { nano: { kibMax: 150, ...gates }, net: { kibMax: 2, ...gates } } };

describe('checkSizes', () => {
  test('reports size and share of budget for bundles within budget, exactly at the ceiling included', () => {
    const result = checkSizes(
      [
        { bundle: 'nano', file: 'kernel/dist/crustcore.js', bytes: 15_360 },
        { bundle: 'net', file: 'sidecars/net/dist/main.js', bytes: 2048 },
      ],
      budget,
    );
    expect(result).toEqual({
      reports: [
        { bundle: 'nano', file: 'kernel/dist/crustcore.js', bytes: 15_360, kibMax: 150, budgetPercent: 10 },
        { bundle: 'net', file: 'sidecars/net/dist/main.js', bytes: 2048, kibMax: 2, budgetPercent: 100 },
      ],
      violations: [],
    });
    expect(result.reports.map(formatSizeReport)).toEqual([
      'nano  kernel/dist/crustcore.js  15.0 KiB of 150 KiB (10.0%)',
      'net  sidecars/net/dist/main.js  2.0 KiB of 2 KiB (100.0%)',
    ]);
  });

  test('fails a bundle one byte over its budget', () => {
    const result = checkSizes(
      [
        { bundle: 'nano', file: 'kernel/dist/crustcore.js', bytes: 150 * 1024 + 1 },
        { bundle: 'net', file: 'sidecars/net/dist/main.js', bytes: 10 },
      ],
      budget,
    );
    expect(result.violations).toEqual([{ rule: 'over-budget', bundle: 'nano' }]);
    expect(describeSizeViolation({ rule: 'over-budget', bundle: 'nano' })).toBe(
      'nano: over its budget in size-budget.json; shrink it, or raise the budget in the change that causes the growth and say why.',
    );
  });

  test('fails a missing bundle file, a bundle without budget and a budget without bundle', () => {
    const result = checkSizes(
      [
        { bundle: 'nano', file: 'kernel/dist/crustcore.js', bytes: undefined },
        { bundle: 'full', file: 'dist/crustcore-full.js', bytes: 10 },
      ],
      budget,
    );
    expect(result).toEqual({
      reports: [],
      violations: [
        { rule: 'missing-output', bundle: 'nano' },
        { rule: 'missing-budget', bundle: 'full' },
        { rule: 'unknown-bundle', bundle: 'net' },
      ],
    });
  });
});

describe('parseSizeBudget', () => {
  test('reads a valid budget', () => {
    const text = JSON.stringify({ $comment: 'x', bundles: { nano: { kibMax: 150, ...gates } } });
    expect(parseSizeBudget(text)).toEqual({ bundles: { nano: { kibMax: 150, ...gates } } });
  });

  test.each([
    ['{', /^size-budget.json: not valid JSON \(.*\); fix the file\.$/],
    ['{"nano":{}}', /^size-budget.json: expected an object with a "bundles" object; fix the file\.$/],
    [
      JSON.stringify({ bundles: { nano: { ...gates, kibMax: 0 } } }),
      /^size-budget.json: bundles.nano.kibMax must be a positive number; fix the file\.$/,
    ],
    [
      JSON.stringify({ bundles: { nano: { ...gates, kibMax: 1, inputRoots: ['kernel'] } } }),
      /^size-budget.json: bundles.nano.inputRoots entries must end with "\/"; fix the file\.$/,
    ],
    [
      JSON.stringify({ bundles: { nano: { ...gates, kibMax: 1, builtinsAllowed: ['fs'] } } }),
      /^size-budget.json: bundles.nano.builtinsAllowed entries must start with "node:"; fix the file\.$/,
    ],
    [
      JSON.stringify({ bundles: { nano: { ...gates, kibMax: 1, modulesForbidden: 'undici' } } }),
      /^size-budget.json: bundles.nano.modulesForbidden must be an array of strings; fix the file\.$/,
    ],
  ])('rejects %s', (text, message) => {
    expect(() => parseSizeBudget(text)).toThrow(message);
  });
});

describe('the repository passes its own size gate', () => {
  test('size-budget.json and the bundle list name the same bundles', () => {
    expect(Object.keys(loadSizeBudget(repoRoot).bundles).sort()).toEqual(Bundles.map((spec) => spec.name).sort());
  });

  test('the nano budget forbids the network, database, MCP and provider modules', () => {
    const nano = loadSizeBudget(repoRoot).bundles['nano'];
    expect(nano?.kibMax).toBe(384);
    expect(nano?.inputRoots).toEqual(['kernel/', 'protocol/']);
    expect(nano?.packagesAllowed).toEqual(['zod']);
    for (const module of ['node:net', 'node:http', 'node:https', 'node:http2', 'node:tls', 'node:dgram', 'node:dns']) {
      expect(nano?.modulesForbidden).toContain(module);
      expect(nano?.builtinsAllowed).not.toContain(module);
    }
    for (const module of ['undici', 'pg', 'mysql', 'sqlite', 'better-sqlite3', 'redis', 'ioredis', 'mongodb']) {
      expect(nano?.modulesForbidden).toContain(module);
    }
    for (const module of ['@modelcontextprotocol/*', 'openai', '@anthropic-ai/*']) {
      expect(nano?.modulesForbidden).toContain(module);
    }
  });

  test('every built bundle is within its budget', () => {
    for (const spec of Bundles) expect(existsSync(join(repoRoot, spec.outFile))).toBe(true);
    const outcome = runSizeCheck(repoRoot);
    expect(outcome.ok).toBe(true);
    const nanoBytes = statSync(join(repoRoot, 'kernel/dist/crustcore.js')).size;
    expect(outcome.lines).toContain(
      `nano  kernel/dist/crustcore.js  ${(nanoBytes / 1024).toFixed(1)} KiB of 384 KiB (${((nanoBytes / (384 * 1024)) * 100).toFixed(1)}%)`,
    );
  });
});
