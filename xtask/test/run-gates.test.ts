import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { Bundles } from '../src/bundles.js';
import { runImportCheck, runSizeCheck } from '../src/gates/run-gates.js';
import { repoRoot } from '../src/repo-root.js';
import { toolScript } from '../src/run-tool.js';

let dir: string | undefined;
afterEach(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** A throwaway repository with the real nano budget (the only bundle it holds) and the given files. */
function fixtureRoot(files: Readonly<Record<string, string>>): string {
  dir = mkdtempSync(join(tmpdir(), 'xtask-gates-'));
  const budget = JSON.parse(readFileSync(join(repoRoot, 'size-budget.json'), 'utf8')) as {
    bundles: Record<string, unknown>;
  };
  writeFileSync(join(dir, 'size-budget.json'), JSON.stringify({ bundles: { nano: budget.bundles['nano'] } }));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

/** The fixture repositories below hold only the nano bundle's files. */
const nanoOnly = Bundles.filter((spec) => spec.name === 'nano');

const badMetafile = JSON.stringify({
  inputs: {
    'kernel/src/cli/main.ts': {
      imports: [
        { path: 'node:net', kind: 'import-statement', external: true },
        { path: 'node_modules/undici/index.js', kind: 'import-statement' },
      ],
    },
    'node_modules/undici/index.js': { imports: [] },
    'node_modules/left-pad/index.js': { imports: [] },
  },
});

describe('import-check over a repository that breaks every boundary', () => {
  test('reports the bundle, the manifest and the core, and fails', () => {
    const root = fixtureRoot({
      'kernel/dist/crustcore.meta.json': badMetafile,
      'kernel/package.json': JSON.stringify({ name: '@crustcore/kernel', dependencies: { zod: '4.6.7' } }),
      'kernel/src/core/step.ts':
        "import { append } from '../log/append.js';\nimport { readFileSync } from 'node:fs';\n",
      'kernel/src/core/lazy.ts': "export const load = () => import('../host/run.js');\n",
    });
    expect(runImportCheck(root, nanoOnly)).toEqual({
      ok: false,
      lines: [
        'nano: 3 bundled inputs, 3 violations',
        'import-check: nano: kernel/src/cli/main.ts: node:net (forbidden-module)',
        'import-check: nano: node_modules/left-pad/index.js: left-pad (package-not-allowed)',
        'import-check: nano: node_modules/undici/index.js: undici (forbidden-module)',
        'kernel/package.json: 1 violations',
        'kernel/src/core: 2 files, 3 violations',
        'import-check: kernel/package.json: dependencies.zod (kernel-dependency)',
        'import-check: kernel/src/core/lazy.ts: ../host/run.js (core-import-escapes)',
        'import-check: kernel/src/core/step.ts: ../log/append.js (core-import-escapes)',
        'import-check: kernel/src/core/step.ts: node:fs (core-import-escapes)',
      ],
    });
  });

  test('a missing metafile fails with what to do', () => {
    const root = fixtureRoot({ 'kernel/package.json': '{"dependencies":{}}' });
    expect(runImportCheck(root, nanoOnly)).toEqual({
      ok: false,
      lines: [
        'import-check: nano: kernel/dist/crustcore.meta.json not found; run `npm run build` first.',
        'kernel/package.json: 0 violations',
        'kernel/src/core: 0 files, 0 violations',
      ],
    });
  });
});

describe('size-check over a repository with an over-budget bundle', () => {
  test('prints the size and share of budget and fails', () => {
    const root = fixtureRoot({ 'kernel/dist/crustcore.js': 'x'.repeat(385 * 1024) });
    expect(runSizeCheck(root, nanoOnly)).toEqual({
      ok: false,
      lines: [
        'nano  kernel/dist/crustcore.js  385.0 KiB of 384 KiB (100.3%)',
        'size-check: nano: over its budget in size-budget.json; shrink it, or raise the budget in the change that causes the growth and say why.',
      ],
    });
  });
});

describe('the xtask CLI', () => {
  const xtask = (...args: string[]) =>
    spawnSync(process.execPath, [toolScript(repoRoot, 'tsx'), 'xtask/src/main.ts', ...args], {
      cwd: repoRoot,
      encoding: 'utf8',
    });

  test('the repository passes its own size and import gates', () => {
    const size = xtask('size-check');
    expect({ status: size.status, stderr: size.stderr }).toEqual({ status: 0, stderr: '' });
    expect(size.stdout).toMatch(/^nano {2}kernel\/dist\/crustcore\.js {2}\d+\.\d KiB of 384 KiB \(\d+\.\d%\)$/m);
    const imports = xtask('import-check');
    expect({ status: imports.status, stderr: imports.stderr }).toEqual({ status: 0, stderr: '' });
    expect(imports.stdout).toMatch(/^nano: \d+ bundled inputs, 0 violations$/m);
  });

  test('an unknown command exits 2 with a pointer to the list', () => {
    const run = xtask('deploy');
    expect({ status: run.status, stderr: run.stderr }).toEqual({
      status: 2,
      stderr: "xtask: unknown command 'deploy'; run `npm run xtask -- help` for the list.\n",
    });
  });
});
