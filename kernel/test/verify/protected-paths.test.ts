/**
 * Invariant: a patch that could make verify pass without a fix (tests, snapshots, test setup,
 * the verify command's definition, CI, git metadata, package-manager/env config, lockfiles, the
 * repo's kernel config) is classified as protected, unless explicitly allowed; a dependency bump
 * alone in `package.json` is not. The globs are the policy module's (tested in
 * `kernel/test/policy/glob.test.ts`); a glob that cannot decide protects and allows nothing.
 *
 * Method: REDTEAM A 1, 2, 4, 6, 7 and B 14 at the classification level with whole-array equality.
 */
import { describe, expect, it } from 'vitest';
import { compileGlob, PolicyLimits } from '../../src/policy/index.js';
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

describe('classifyProtected globs', () => {
  it('compiles every default glob under the one glob syntax', () => {
    const refused = DefaultProtectedRules.flatMap((rule) => rule.globs)
      .map((glob) => ({ glob, compiled: compileGlob(glob) }))
      .filter(({ compiled }) => !compiled.ok)
      .map(({ glob }) => glob);
    expect(refused).toEqual([]);
  });

  it('reads allow globs with the shared syntax: classes and escapes', () => {
    const files = [
      modified('app/[id]/page.test.tsx'),
      modified('app/i/page.test.tsx'),
      modified('app/x/page.test.tsx'),
    ];
    expect(classifyProtected(files, { allow: ['app/\\[id\\]/*.test.tsx', 'app/[i]/*'] })).toEqual([
      { path: 'app/x/page.test.tsx', rule: 'testFile' },
    ]);
  });

  it('fails closed when a glob is refused or cannot decide', () => {
    const sized = (violations: readonly { path: string; rule: string }[]) =>
      violations.map(({ path, rule }) => ({ pathChars: path.length, rule }));
    // Over the subject limit: `**` does not allow the path and the first default rule covers it.
    const long = `${'d/'.repeat(PolicyLimits.globSubjectCharsMax / 2)}a.ts`;
    expect(sized(classifyProtected([modified(long)], { allow: ['**'] }))).toEqual([
      { pathChars: long.length, rule: 'snapshot' },
    ]);
    // Past the step limit: the same glob neither allows the path nor lets it through its rule.
    const heavy = `${'*a'.repeat(400)}*b`;
    const flooded = 'a'.repeat(4000);
    expect(
      sized(classifyProtected([modified(flooded)], { rules: [{ rule: 'heavy', globs: [heavy] }], allow: [heavy] })),
    ).toEqual([{ pathChars: 4000, rule: 'heavy' }]);
    // A refused allow glob allows nothing; a refused rule glob protects whatever reaches it.
    expect(
      classifyProtected([modified('README.md')], {
        rules: [{ rule: 'refused', globs: ['docs//x'] }],
        allow: ['{README.md'],
      }),
    ).toEqual([{ path: 'README.md', rule: 'refused' }]);
  });
});
