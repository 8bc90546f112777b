/**
 * Invariant: a patch that could make verify pass without a fix (tests, snapshots, test setup,
 * the verify command's definition, CI, git metadata, package-manager/env config, lockfiles, the
 * repo's kernel config) is classified as protected, unless explicitly allowed; a dependency bump
 * alone in `package.json` is not. The glob matcher is bounded: no input exceeds its step limit.
 *
 * Method: REDTEAM A 1, 2, 4, 6, 7 and B 14 at the classification level with whole-array
 * equality; fast-check for the matcher's bound and simple equivalences.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GlobLimits, expandBraces, matchGlob, matchGlobCounted } from '../../src/verify/protected-glob.js';
import { DefaultProtectedRules, classifyProtected, type ContentReader } from '../../src/verify/protected-paths.js';

const modified = (path: string) => ({ path, status: 'modified' as const });

describe('classifyProtected', () => {
  it('flags the red-team tampering cases', () => {
    const files = [
      modified('src/math.test.ts'), // A 1: tautology in a test
      { path: 'tests/test_math.py', status: 'deleted' as const }, // A 2: deleted test file
      modified('src/__snapshots__/view.test.ts.snap'), // A 6: regenerated snapshot
      { path: 'vitest.setup.ts', status: 'added' as const }, // A 7: setup monkeypatch
      modified('src/setupTests.js'),
      modified('conftest.py'),
      modified('.github/workflows/ci.yml'), // B 14
      modified('.gitattributes'),
      modified('.gitmodules'),
      modified('vitest.config.ts'),
      modified('.env.local'),
      modified('.npmrc'),
      modified('package-lock.json'),
      modified('crustcore.json'),
      modified('Makefile'),
      modified('src/index.ts'),
      modified('README.md'),
      modified('pkg/server_test.go'),
    ];
    expect(classifyProtected(files)).toEqual([
      { path: 'src/math.test.ts', rule: 'testFile' },
      { path: 'tests/test_math.py', rule: 'testFile' },
      { path: 'src/__snapshots__/view.test.ts.snap', rule: 'snapshot' },
      { path: 'vitest.setup.ts', rule: 'testConfig' },
      { path: 'src/setupTests.js', rule: 'testConfig' },
      { path: 'conftest.py', rule: 'testFile' },
      { path: '.github/workflows/ci.yml', rule: 'ci' },
      { path: '.gitattributes', rule: 'gitMetadata' },
      { path: '.gitmodules', rule: 'gitMetadata' },
      { path: 'vitest.config.ts', rule: 'testConfig' },
      { path: '.env.local', rule: 'environment' },
      { path: '.npmrc', rule: 'packageConfig' },
      { path: 'package-lock.json', rule: 'lockfile' },
      { path: 'crustcore.json', rule: 'kernelConfig' },
      { path: 'Makefile', rule: 'verifyDefinition' },
      { path: 'pkg/server_test.go', rule: 'testFile' },
    ]);
  });

  it('protects package.json only when scripts or test config change (A 4)', () => {
    const contents: Record<string, [string, string]> = {
      'package.json': [
        '{"scripts":{"test":"vitest run"},"dependencies":{"a":"1"}}',
        '{"scripts":{"test":"exit 0"},"dependencies":{"a":"1"}}',
      ],
      'packages/x/package.json': [
        '{"scripts":{"test":"jest"},"dependencies":{"a":"1"}}',
        '{"dependencies":{"a":"2"},"scripts":{"test":"jest"}}',
      ],
      'packages/y/package.json': ['{"jest":{"testMatch":["**/*.test.js"]}}', '{"jest":{"testMatch":[]}}'],
      'packages/z/package.json': ['{"scripts":{}}', 'not json'],
    };
    const read: ContentReader = (path, side) => contents[path]?.[side === 'base' ? 0 : 1];
    const files = Object.keys(contents).map(modified);
    expect(classifyProtected(files, { read })).toEqual([
      { path: 'package.json', rule: 'verifyDefinition' },
      { path: 'packages/y/package.json', rule: 'verifyDefinition' },
      { path: 'packages/z/package.json', rule: 'verifyDefinition' },
    ]);
    // Without a way to read content, a package.json change is protected (fail closed).
    expect(classifyProtected([modified('packages/x/package.json')])).toEqual([
      { path: 'packages/x/package.json', rule: 'verifyDefinition' },
    ]);
  });

  it('protects Cargo.toml only when test or build sections change', () => {
    const base = '[package]\nname = "x"\n\n[dependencies]\nserde = "1"\n';
    const read =
      (after: string): ContentReader =>
      (_path, side) =>
        side === 'base' ? base : after;
    expect(classifyProtected([modified('Cargo.toml')], { read: read(base.replace('"1"', '"2"')) })).toEqual([]);
    expect(
      classifyProtected([modified('Cargo.toml')], { read: read(`${base}[[test]]\nname = "t"\nharness = false\n`) }),
    ).toEqual([{ path: 'Cargo.toml', rule: 'verifyDefinition' }]);
    expect(
      classifyProtected([modified('Cargo.toml')], {
        read: read(base.replace('name = "x"', 'name = "x"\nbuild = "b.rs"')),
      }),
    ).toEqual([{ path: 'Cargo.toml', rule: 'verifyDefinition' }]);
  });

  it('honours allow globs and extra rules', () => {
    const files = [modified('src/a.test.ts'), modified('tests/b.py'), modified('deploy/prod.yaml')];
    expect(
      classifyProtected(files, {
        allow: ['src/**/*.test.ts'],
        rules: [...DefaultProtectedRules, { rule: 'deploy', globs: ['deploy/**'] }],
      }),
    ).toEqual([
      { path: 'tests/b.py', rule: 'testFile' },
      { path: 'deploy/prod.yaml', rule: 'deploy' },
    ]);
  });
});

describe('matchGlob', () => {
  it('matches the documented syntax', () => {
    const cases: [string, string, boolean][] = [
      ['**/*.test.*', 'a.test.ts', true],
      ['**/*.test.*', 'src/deep/a.test.ts', true],
      ['*.ts', 'src/a.ts', false],
      ['src/*.ts', 'src/a.ts', true],
      ['src/*.ts', 'src/x/a.ts', false],
      ['src/**', 'src/x/a.ts', true],
      ['src/**', 'src', false],
      ['a?c', 'abc', true],
      ['a?c', 'a/c', false],
      ['{a,b/{c,d}}.txt', 'b/d.txt', true],
      ['{a,b/{c,d}}.txt', 'b/e.txt', false],
      ['**/tests/**', 'tests/x.py', true],
      ['**', '', true],
      ['{unbalanced', '{unbalanced', false],
    ];
    for (const [pattern, path, expected] of cases)
      expect([pattern, path, matchGlob(pattern, path)]).toEqual([pattern, path, expected]);
  });

  const segment = fc.stringMatching(/^[a-c*?]{0,4}$/u);
  const pattern = fc
    .array(fc.oneof(segment, fc.constant('**')), { minLength: 1, maxLength: 6 })
    .map((parts) => parts.join('/'));
  const path = fc
    .array(fc.stringMatching(/^[a-c]{0,4}$/u), { minLength: 1, maxLength: 8 })
    .map((parts) => parts.join('/'));

  it('never exceeds the step limit, even on adversarial input', () => {
    fc.assert(
      fc.property(pattern, path, (glob, candidate) => {
        expect(matchGlobCounted(glob, candidate).steps).toBeLessThanOrEqual(GlobLimits.stepsMax);
      }),
    );
    const heavy = `${'*a'.repeat(400)}{${'x,'.repeat(40)}y}`;
    expect(matchGlobCounted(heavy, 'a'.repeat(4000)).steps).toBeLessThanOrEqual(GlobLimits.stepsMax);
  });

  it('agrees with simple equivalences', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-c/]{0,12}$/u), (literal) => {
        expect(matchGlob(literal, literal)).toBe(true);
        expect(matchGlob('**', literal)).toBe(true);
        expect(matchGlob('*', literal)).toBe(!literal.includes('/'));
        expect(matchGlob(`{${literal},zzz}`, literal)).toBe(!/[{},]/u.test(literal));
      }),
    );
    fc.assert(
      fc.property(pattern, path, (glob, candidate) => {
        expect(matchGlob(`**/${glob}`, candidate)).toBe(
          candidate.split('/').some((_, index, parts) => matchGlob(glob, parts.slice(index).join('/'))),
        );
      }),
    );
  });

  it('expands nested braces and refuses too many alternatives', () => {
    expect(expandBraces('a{b,c{d,e}}f')).toEqual(['abf', 'acdf', 'acef']);
    expect(expandBraces('{a,b}{c,d}{e,f}{g,h}{i,j}{k,l}{m,n}')).toBeUndefined();
  });
});
