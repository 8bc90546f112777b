import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { checkCoreSources, readSources } from '../src/gates/core-sources.js';
import { repoRoot } from '../src/repo-root.js';

const file = (path: string, text: string) => ({ path, text });

describe('checkCoreSources', () => {
  test('accepts imports, re-exports and type imports that stay inside the core', () => {
    const files = [
      file(
        'kernel/src/core/step.ts',
        [
          "import type { State } from './state.js';",
          "import { assertNever } from './util/assert.js';",
          "export * from './events.js';",
          "export { x } from '../core/x.js';",
          '// eslint-disable-next-line @typescript-eslint/no-unused-vars -- fixture',
          "const s = 'eslint-disable no-restricted-imports'; // a string is not a directive",
          '/// <reference path="./globals.d.ts" />',
        ].join('\n'),
      ),
    ];
    expect(checkCoreSources(files)).toEqual([]);
  });

  test('reports every way out of the core: relative escapes, built-ins, packages, import(), require()', () => {
    const files = [
      file(
        'kernel/src/core/bad.ts',
        [
          "import { append } from '../log/append.js';",
          "import type { Dirent } from 'node:fs';",
          "export { z } from 'zod';",
          "const host = await import('../host/run.js');",
          "const fs = require('fs');",
          "import os = require('node:os');",
          "const sibling = import('../core-extra/x.js');",
        ].join('\n'),
      ),
    ];
    expect(checkCoreSources(files)).toEqual([
      { rule: 'core-import-escapes', where: 'kernel/src/core/bad.ts', module: '../core-extra/x.js' },
      { rule: 'core-import-escapes', where: 'kernel/src/core/bad.ts', module: '../host/run.js' },
      { rule: 'core-import-escapes', where: 'kernel/src/core/bad.ts', module: '../log/append.js' },
      { rule: 'core-import-escapes', where: 'kernel/src/core/bad.ts', module: 'fs' },
      { rule: 'core-import-escapes', where: 'kernel/src/core/bad.ts', module: 'node:fs' },
      { rule: 'core-import-escapes', where: 'kernel/src/core/bad.ts', module: 'node:os' },
      { rule: 'core-import-escapes', where: 'kernel/src/core/bad.ts', module: 'zod' },
    ]);
  });

  test('reports computed specifiers and ambient reference directives', () => {
    const files = [
      file(
        'kernel/src/core/sneaky.ts',
        [
          '/// <reference types="node" />',
          '/// <reference lib="dom" />',
          '/// <reference path="../log/types.d.ts" />',
          "const name = '../log/append.js';",
          'const log = import(name);',
          'const other = import(`../${name}`);',
        ].join('\n'),
      ),
    ];
    expect(checkCoreSources(files)).toEqual([
      { rule: 'core-computed-specifier', where: 'kernel/src/core/sneaky.ts', module: 'import(`../${name}`)' },
      { rule: 'core-computed-specifier', where: 'kernel/src/core/sneaky.ts', module: 'import(name)' },
      { rule: 'core-reference-directive', where: 'kernel/src/core/sneaky.ts', module: 'lib=dom' },
      { rule: 'core-reference-directive', where: 'kernel/src/core/sneaky.ts', module: 'path=../log/types.d.ts' },
      { rule: 'core-reference-directive', where: 'kernel/src/core/sneaky.ts', module: 'types=node' },
    ]);
  });

  test('reports inline switch-offs of restricted rules, including a bare disable', () => {
    const files = [
      file(
        'kernel/src/core/quiet.ts',
        [
          '// eslint-disable-next-line no-restricted-imports -- needed',
          "import { x } from './x.js';",
          '/* eslint-disable no-restricted-globals */',
          'const now = Date.now(); // eslint-disable-line',
          '/* eslint no-restricted-syntax: "off" */',
          'function f() {',
          '  return 1; /* eslint-disable-line @typescript-eslint/no-unused-vars, no-restricted-properties */',
          '}',
        ].join('\n'),
      ),
    ];
    expect(checkCoreSources(files)).toEqual([
      {
        rule: 'core-lint-directive',
        where: 'kernel/src/core/quiet.ts',
        module: '/* eslint no-restricted-syntax: "off" */',
      },
      {
        rule: 'core-lint-directive',
        where: 'kernel/src/core/quiet.ts',
        module: '/* eslint-disable no-restricted-globals */',
      },
      {
        rule: 'core-lint-directive',
        where: 'kernel/src/core/quiet.ts',
        module: '/* eslint-disable-line @typescript-eslint/no-unused-vars, no-restricted-properties */',
      },
      { rule: 'core-lint-directive', where: 'kernel/src/core/quiet.ts', module: '// eslint-disable-line' },
      {
        rule: 'core-lint-directive',
        where: 'kernel/src/core/quiet.ts',
        module: '// eslint-disable-next-line no-restricted-imports -- needed',
      },
    ]);
  });
});

describe('readSources', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  test('walks nested folders, reads TypeScript and JavaScript sources and declaration files, skips the rest', () => {
    dir = mkdtempSync(join(tmpdir(), 'xtask-core-'));
    mkdirSync(join(dir, 'kernel/src/core/nested'), { recursive: true });
    writeFileSync(join(dir, 'kernel/src/core/b.ts'), "import '../log/x.js';\n");
    writeFileSync(join(dir, 'kernel/src/core/nested/a.mjs'), '');
    writeFileSync(join(dir, 'kernel/src/core/nested/g.d.ts'), '/// <reference types="node" />\n');
    writeFileSync(join(dir, 'kernel/src/core/tsconfig.json'), '{}');
    writeFileSync(join(dir, 'kernel/src/core/README.md'), '');
    const sources = readSources(dir);
    expect(sources.map((source) => source.path)).toEqual([
      'kernel/src/core/b.ts',
      'kernel/src/core/nested/a.mjs',
      'kernel/src/core/nested/g.d.ts',
    ]);
    expect(checkCoreSources(sources)).toEqual([
      { rule: 'core-import-escapes', where: 'kernel/src/core/b.ts', module: '../log/x.js' },
      { rule: 'core-reference-directive', where: 'kernel/src/core/nested/g.d.ts', module: 'types=node' },
    ]);
  });

  test('a missing folder has no sources', () => {
    expect(readSources(repoRoot, 'kernel/src/no-such-folder')).toEqual([]);
  });
});

test('the repository kernel core imports only itself', () => {
  expect(checkCoreSources(readSources(repoRoot))).toEqual([]);
});
