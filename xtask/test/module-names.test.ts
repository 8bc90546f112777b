import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { builtinName, matchesModule, packageOfPath, packageOfSpecifier } from '../src/gates/module-names.js';

describe('module names', () => {
  test('built-ins normalise to the node: spelling; packages and paths are not built-ins', () => {
    expect(
      ['fs', 'node:fs', 'fs/promises', 'node:test', 'net', 'zod', './fs', 'node_modules/fs/x.js'].map(builtinName),
    ).toEqual(['node:fs', 'node:fs', 'node:fs/promises', 'node:test', 'node:net', undefined, undefined, undefined]);
  });

  test('package names come from the last node_modules segment', () => {
    expect(
      [
        'node_modules/zod/v4/index.js',
        'node_modules/@scope/pkg/dist/x.js',
        'node_modules/a/node_modules/b/index.js',
        'protocol/src/index.ts',
        'node_modules/',
      ].map(packageOfPath),
    ).toEqual(['zod', '@scope/pkg', 'b', undefined, undefined]);
    expect(['zod/mini', '@anthropic-ai/sdk/resources', 'undici'].map(packageOfSpecifier)).toEqual([
      'zod',
      '@anthropic-ai/sdk',
      'undici',
    ]);
  });

  test('forbidden patterns match exact names, built-in subpaths and whole scopes only', () => {
    expect(matchesModule('node:dns/promises', 'node:dns')).toBe(true);
    expect(matchesModule('node:dnsx', 'node:dns')).toBe(false);
    expect(matchesModule('@aws-sdk/client-s3', '@aws-sdk/*')).toBe(true);
    expect(matchesModule('@aws-sdkx/client', '@aws-sdk/*')).toBe(false);
    expect(matchesModule('pg-x', 'pg')).toBe(false);
  });

  test('any file under a package folder belongs to that package', () => {
    const segment = fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/);
    fc.assert(
      fc.property(
        fc.option(segment, { nil: undefined }),
        segment,
        fc.array(segment, { maxLength: 4 }),
        (scope, name, rest) => {
          const packageName = scope === undefined ? name : `@${scope}/${name}`;
          const path = ['kernel', 'node_modules', packageName, ...rest, 'index.js'].join('/');
          expect(packageOfPath(path)).toBe(packageName);
          expect(packageOfSpecifier([packageName, ...rest].join('/'))).toBe(packageName);
        },
      ),
    );
  });
});
