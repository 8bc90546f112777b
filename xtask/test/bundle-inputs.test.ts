import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { bundleNamed, metafilePath } from '../src/bundles.js';
import { checkBundleInputs, checkKernelManifest, parseMetafile, type Metafile } from '../src/gates/bundle-inputs.js';
import { loadSizeBudget, type BundleBudget } from '../src/gates/size-budget.js';
import { repoRoot } from '../src/repo-root.js';

const nanoBudget: BundleBudget = {
  kibMax: 150,
  inputRoots: ['kernel/', 'protocol/'],
  packagesAllowed: ['zod'],
  builtinsAllowed: ['node:fs', 'node:path'],
  modulesForbidden: ['node:net', 'node:dns', 'undici', 'pg', '@modelcontextprotocol/*', 'openai'],
};

const cleanMetafile: Metafile = {
  inputs: {
    'kernel/src/cli/main.ts': {
      imports: [
        { path: 'node:fs', kind: 'import-statement', external: true },
        { path: 'path', kind: 'import-statement', external: true },
        { path: 'protocol/src/index.ts', kind: 'import-statement' },
        { path: '<runtime>', kind: 'import-statement', external: true },
      ],
    },
    'protocol/src/index.ts': { imports: [{ path: 'node_modules/zod/index.js', kind: 'import-statement' }] },
    'node_modules/zod/index.js': { imports: [] },
  },
};

describe('checkBundleInputs', () => {
  test('accepts first-party inputs, allowed packages and allowed built-ins in both spellings', () => {
    expect(checkBundleInputs(cleanMetafile, nanoBudget)).toEqual([]);
  });

  test('reports forbidden built-ins in either spelling, as static or dynamic imports', () => {
    const metafile: Metafile = {
      inputs: {
        'kernel/src/host/a.ts': {
          imports: [
            { path: 'node:net', kind: 'import-statement', external: true },
            { path: 'dns', kind: 'dynamic-import', external: true },
            { path: 'node:dns/promises', kind: 'require-call', external: true },
            { path: 'node:child_process', kind: 'import-statement', external: true },
          ],
        },
      },
    };
    expect(checkBundleInputs(metafile, nanoBudget)).toEqual([
      { rule: 'builtin-not-allowed', where: 'kernel/src/host/a.ts', module: 'node:child_process' },
      { rule: 'forbidden-module', where: 'kernel/src/host/a.ts', module: 'node:dns' },
      { rule: 'forbidden-module', where: 'kernel/src/host/a.ts', module: 'node:dns/promises' },
      { rule: 'forbidden-module', where: 'kernel/src/host/a.ts', module: 'node:net' },
    ]);
  });

  test('reports bundled forbidden packages, unknown packages and files outside the roots', () => {
    const metafile: Metafile = {
      inputs: {
        'node_modules/undici/index.js': { imports: [] },
        'node_modules/@modelcontextprotocol/sdk/dist/esm/client/index.js': { imports: [] },
        'protocol/node_modules/left-pad/index.js': { imports: [] },
        'sidecars/net/src/main.ts': { imports: [] },
        'kernel-extra/x.ts': { imports: [] },
      },
    };
    expect(checkBundleInputs(metafile, nanoBudget)).toEqual([
      { rule: 'input-outside-roots', where: 'kernel-extra/x.ts', module: 'kernel-extra/x.ts' },
      {
        rule: 'forbidden-module',
        where: 'node_modules/@modelcontextprotocol/sdk/dist/esm/client/index.js',
        module: '@modelcontextprotocol/sdk',
      },
      { rule: 'forbidden-module', where: 'node_modules/undici/index.js', module: 'undici' },
      { rule: 'package-not-allowed', where: 'protocol/node_modules/left-pad/index.js', module: 'left-pad' },
      { rule: 'input-outside-roots', where: 'sidecars/net/src/main.ts', module: 'sidecars/net/src/main.ts' },
    ]);
  });

  test('reports packages left external, forbidden or not', () => {
    const metafile: Metafile = {
      inputs: {
        'kernel/src/cli/main.ts': {
          imports: [
            { path: 'undici', kind: 'import-statement', external: true },
            { path: 'pg/lib/client', kind: 'require-call', external: true },
            { path: 'openai', kind: 'dynamic-import', external: true },
            { path: 'zod', kind: 'import-statement', external: true },
          ],
        },
      },
    };
    expect(checkBundleInputs(metafile, nanoBudget)).toEqual([
      { rule: 'forbidden-module', where: 'kernel/src/cli/main.ts', module: 'openai' },
      { rule: 'forbidden-module', where: 'kernel/src/cli/main.ts', module: 'pg' },
      { rule: 'forbidden-module', where: 'kernel/src/cli/main.ts', module: 'undici' },
      { rule: 'external-module', where: 'kernel/src/cli/main.ts', module: 'zod' },
    ]);
  });

  test('parseMetafile rejects what is not a metafile', () => {
    expect(() => parseMetafile({ outputs: {} }, 'x.meta.json')).toThrow(
      'x.meta.json: not an esbuild metafile (no "inputs" object); rebuild with `npm run build`.',
    );
    expect(() => parseMetafile({ inputs: { 'a.ts': { imports: [{ kind: 'import-statement' }] } } }, 'y')).toThrow(
      'y: input a.ts has no valid "imports" list; rebuild with `npm run build`.',
    );
  });
});

describe('checkKernelManifest', () => {
  test('accepts an empty dependencies object', () => {
    expect(checkKernelManifest(JSON.stringify({ name: 'k', dependencies: {}, devDependencies: { x: '1' } }))).toEqual(
      [],
    );
  });

  test('reports every runtime dependency of any kind', () => {
    const manifest = {
      dependencies: { zod: '4.0.0' },
      optionalDependencies: { 'better-sqlite3': '1' },
      peerDependencies: { undici: '7' },
      bundleDependencies: ['zod'],
    };
    expect(checkKernelManifest(JSON.stringify(manifest))).toEqual([
      { rule: 'kernel-dependency', where: 'kernel/package.json', module: 'bundleDependencies.zod' },
      { rule: 'kernel-dependency', where: 'kernel/package.json', module: 'dependencies.zod' },
      { rule: 'kernel-dependency', where: 'kernel/package.json', module: 'optionalDependencies.better-sqlite3' },
      { rule: 'kernel-dependency', where: 'kernel/package.json', module: 'peerDependencies.undici' },
    ]);
  });
});

describe('the repository passes its own import gate', () => {
  test('the built nano bundle takes only allowed inputs', () => {
    const nano = bundleNamed('nano');
    const raw: unknown = JSON.parse(readFileSync(join(repoRoot, metafilePath(nano)), 'utf8'));
    const metafile = parseMetafile(raw, metafilePath(nano));
    expect(Object.keys(metafile.inputs)).toContain(nano.entry);
    expect(checkBundleInputs(metafile, loadSizeBudget(repoRoot).bundles['nano']!)).toEqual([]);
  });

  test('kernel/package.json declares no runtime dependency', () => {
    expect(checkKernelManifest(readFileSync(join(repoRoot, 'kernel/package.json'), 'utf8'))).toEqual([]);
  });
});
