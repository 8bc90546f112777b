import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { build } from '../src/build.js';
import { bundleNamed, metafilePath, type BundleSpec } from '../src/bundles.js';
import { checkBundleInputs, parseMetafile } from '../src/gates/bundle-inputs.js';
import { loadSizeBudget } from '../src/gates/size-budget.js';
import { repoRoot } from '../src/repo-root.js';

const temporary: string[] = [];
const makeTempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'xtask-build-'));
  temporary.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of temporary.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Copies a bundle alone into an empty folder, so nothing can resolve from a node_modules beside it. */
function runAlone(bundle: string, args: readonly string[]): string {
  const lonely = join(makeTempDir(), 'alone.js');
  copyFileSync(bundle, lonely);
  return execFileSync(process.execPath, [lonely, ...args], { cwd: tmpdir(), encoding: 'utf8' });
}

describe('the nano bundle', () => {
  const nano = bundleNamed('nano');
  const bundle = join(repoRoot, nano.outFile);

  test('is one executable file with one shebang line', () => {
    const text = readFileSync(bundle, 'utf8');
    expect(text.startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect(text.match(/^#!/gm)).toHaveLength(1);
    expect(statSync(bundle).mode & 0o111).toBe(0o111);
  });

  test('runs with plain node and no node_modules next to it', () => {
    const { version } = JSON.parse(readFileSync(join(repoRoot, 'kernel/package.json'), 'utf8')) as { version: string };
    expect(runAlone(bundle, ['version'])).toContain(version);
  });

  test('has its esbuild metafile beside it, with the CLI entry among the inputs', () => {
    const metafile = parseMetafile(JSON.parse(readFileSync(join(repoRoot, metafilePath(nano)), 'utf8')), 'nano');
    expect(Object.keys(metafile.inputs)).toContain('kernel/src/cli/main.ts');
  });
});

describe('build', () => {
  test('bundles packages in, keeps one shebang and function names, and writes the metafile', async () => {
    const outDir = makeTempDir();
    const spec: BundleSpec = {
      name: 'fixture',
      entry: 'xtask/test/fixtures/bundle-entry.ts',
      outFile: join(outDir, 'fixture.js'),
      minify: true,
      keepNames: true,
    };
    await build(repoRoot, { quiet: true, bundles: [spec] });

    const text = readFileSync(spec.outFile, 'utf8');
    expect(text.match(/^#!/gm)).toEqual(['#!']);
    expect(text.startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect(statSync(spec.outFile).mode & 0o777).toBe(0o755);
    expect(runAlone(spec.outFile, [])).toBe('describeRun run.txt\n');

    const metafile = parseMetafile(JSON.parse(readFileSync(join(outDir, 'fixture.meta.json'), 'utf8')), 'fixture');
    const inputs = Object.keys(metafile.inputs);
    expect(inputs).toContain('xtask/test/fixtures/bundle-entry.ts');
    expect(inputs.some((input) => input.startsWith('node_modules/zod/'))).toBe(true);
    // The nano gate refuses this fixture for one reason only: its entry lives outside kernel/ and protocol/.
    expect(checkBundleInputs(metafile, loadSizeBudget(repoRoot).bundles['nano']!)).toEqual([
      {
        rule: 'input-outside-roots',
        where: 'xtask/test/fixtures/bundle-entry.ts',
        module: 'xtask/test/fixtures/bundle-entry.ts',
      },
    ]);
  });

  test('without keepNames, minification renames functions', async () => {
    const outDir = makeTempDir();
    const spec: BundleSpec = {
      name: 'fixture',
      entry: 'xtask/test/fixtures/bundle-entry.ts',
      outFile: join(outDir, 'fixture.js'),
      minify: true,
      keepNames: false,
    };
    await build(repoRoot, { quiet: true, bundles: [spec] });
    const [name, file] = runAlone(spec.outFile, []).trim().split(' ');
    expect({ renamed: name !== 'describeRun', file }).toEqual({ renamed: true, file: 'run.txt' });
  });

  test('refuses to run from anywhere but the repository root', async () => {
    await expect(build(tmpdir(), { quiet: true, bundles: [] })).rejects.toThrow(
      `build must run from the repository root ${tmpdir()}, not ${process.cwd()}; chdir first.`,
    );
  });
});
