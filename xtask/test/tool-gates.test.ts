import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { runLint } from '../src/lint.js';
import { repoRoot } from '../src/repo-root.js';
import { listTsProjects, runTypecheck } from '../src/typecheck.js';

let dir: string | undefined;
afterEach(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** A throwaway repository root that borrows this workspace's installed tools. */
function fixtureRoot(files: Readonly<Record<string, string>>): string {
  dir = mkdtempSync(join(tmpdir(), 'xtask-tools-'));
  symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'), 'dir');
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

const project = (include: string): string =>
  JSON.stringify({ compilerOptions: { strict: true, noEmit: true, types: [], lib: ['ES2023'] }, include: [include] });

describe('typecheck', () => {
  test('finds the root project and nested ones, skipping fixtures, node_modules and dist', () => {
    const root = fixtureRoot({
      'tsconfig.json': project('*.ts'),
      'kernel/src/core/tsconfig.json': project('*.ts'),
      'sidecars/net/tsconfig.json': project('*.ts'),
      'kernel/test/fixtures/repo/tsconfig.json': '{',
      'kernel/dist/tsconfig.json': '{',
    });
    expect(listTsProjects(root)).toEqual([
      'tsconfig.json',
      'kernel/src/core/tsconfig.json',
      'sidecars/net/tsconfig.json',
    ]);
    expect(listTsProjects(repoRoot)).toEqual(
      expect.arrayContaining(['tsconfig.json', 'kernel/src/core/tsconfig.json']),
    );
  });

  test('fails on a type error in any project and still checks the others', async () => {
    const root = fixtureRoot({
      'tsconfig.json': project('*.ts'),
      'bad.ts': "export const count: number = 'three';\n",
      'kernel/src/core/tsconfig.json': project('*.ts'),
      'kernel/src/core/good.ts': 'export const count: number = 3;\n',
    });
    const outcome = await runTypecheck(root, true);
    expect(outcome.ok).toBe(false);
    expect(outcome.lines.filter((line) => line.startsWith('tsc -p'))).toEqual([
      'tsc -p tsconfig.json: failed (exit 2)',
      'tsc -p kernel/src/core/tsconfig.json: ok',
    ]);
    expect(outcome.lines.join('\n')).toContain(
      "bad.ts(1,14): error TS2322: Type 'string' is not assignable to type 'number'.",
    );
  });
});

describe('lint', () => {
  // Prettier's defaults (double quotes) apply in the fixture root, so the config is written in them.
  const config = 'export default [{ rules: { "no-unused-vars": "error" } }];\n';

  test('fails on an eslint error and on unformatted code, and runs both tools', async () => {
    const root = fixtureRoot({ 'eslint.config.mjs': config, 'bad.mjs': 'const  unused = {a:1}\n' });
    const outcome = await runLint(root, true);
    expect(outcome.ok).toBe(false);
    expect(outcome.lines.filter((line) => /^(eslint|prettier --check):/.test(line))).toEqual([
      'eslint: failed (exit 1)',
      'prettier --check: failed (exit 1)',
    ]);
    expect(outcome.lines.join('\n')).toContain("'unused' is assigned a value but never used");
  });

  test('passes clean, formatted code', async () => {
    const root = fixtureRoot({ 'eslint.config.mjs': config, 'good.mjs': 'export const used = { a: 1 };\n' });
    const outcome = await runLint(root, true);
    expect(outcome.lines.filter((line) => /^(eslint|prettier --check):/.test(line))).toEqual([
      'eslint: ok',
      'prettier --check: ok',
    ]);
    expect(outcome.ok).toBe(true);
  });
});
