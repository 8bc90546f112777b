/**
 * Protected paths: changes that can make a verify run pass without fixing anything (tests, test
 * setup, the files that define the verify command, CI, git metadata, package-manager and env
 * configuration, lockfiles, the repo's own kernel config). A patch touching one is refused unless
 * the user allowed that path explicitly (`--allow-protected <glob>`) or approves it.
 */
import { assertNever } from '../core/index.js';
import { compileGlob, type Glob } from '../policy/index.js';

/** One rule: a name and the globs it covers. A `condition` narrows it to changes that matter. */
export interface ProtectedRule {
  readonly rule: string;
  readonly globs: readonly string[];
  /** `packageScripts`: only when `scripts` or test-runner keys changed; `cargoTest`: only test/build sections. */
  readonly condition?: 'packageScripts' | 'cargoTest';
}

/** A protected change. */
export interface ProtectedViolation {
  readonly path: string;
  readonly rule: string;
}

/** A changed file as the classifier needs it. */
export interface ProtectedCandidate {
  readonly path: string;
  readonly status: 'added' | 'modified' | 'deleted' | 'modeChanged';
}

/** Reads a file's text before (`base`) or after (`patched`) the patch; undefined when absent. */
export type ContentReader = (path: string, side: 'base' | 'patched') => string | undefined;

/** The default rules, Node first, then Python, Rust, Go, generic. */
export const DefaultProtectedRules: readonly ProtectedRule[] = Object.freeze([
  { rule: 'snapshot', globs: ['**/__snapshots__/**', '**/*.snap', '**/snapshots/**'] },
  {
    rule: 'testFile',
    globs: [
      '**/*.{test,spec}.*',
      '**/{test,tests,__tests__,spec,__mocks__,testdata,fixtures}/**',
      '**/test_*.py',
      '**/*_test.{py,go,rs,rb,js,ts}',
      '**/conftest.py',
    ],
  },
  {
    rule: 'testConfig',
    globs: [
      '**/{vitest,jest,ava,karma,playwright,cypress,wdio}.{config,conf,setup,workspace}.*',
      '**/vitest.workspace.*',
      '**/.mocharc*',
      '**/.c8rc*',
      '**/.nycrc*',
      '**/setupTests.*',
      '**/{test-setup,setup-tests,testSetup,jest-setup,vitest-setup}.*',
      '**/{pytest.ini,tox.ini,noxfile.py,.coveragerc,setup.cfg}',
      '**/.config/nextest.toml',
    ],
  },
  { rule: 'verifyDefinition', globs: ['**/package.json'], condition: 'packageScripts' },
  { rule: 'verifyDefinition', globs: ['**/Cargo.toml'], condition: 'cargoTest' },
  {
    rule: 'verifyDefinition',
    globs: [
      '**/{Makefile,makefile,GNUmakefile,*.mk}',
      '**/{justfile,Justfile,.justfile}',
      '**/Taskfile.{yml,yaml}',
      '**/pyproject.toml',
      '**/build.rs',
      '**/.cargo/{config,config.toml}',
      '**/{Rakefile,magefile.go,Earthfile}',
      '**/.pre-commit-config.yaml',
    ],
  },
  {
    rule: 'ci',
    globs: [
      '.github/**',
      '.gitlab-ci.yml',
      '.gitlab/**',
      '.circleci/**',
      '.buildkite/**',
      '.travis.yml',
      'azure-pipelines.yml',
      'Jenkinsfile',
      '.drone.yml',
    ],
  },
  { rule: 'gitMetadata', globs: ['**/.gitattributes', '**/.gitmodules', '**/.git/**'] },
  {
    rule: 'packageConfig',
    globs: [
      '**/.npmrc',
      '**/.yarnrc',
      '**/.yarnrc.yml',
      '**/.yarn/**',
      '**/.pnpmfile.cjs',
      '**/{pip.conf,.pypirc}',
      '**/{.nvmrc,.node-version,.python-version,.tool-versions}',
      '**/{rust-toolchain,rust-toolchain.toml}',
    ],
  },
  { rule: 'environment', globs: ['**/.env', '**/.env.*', '**/.envrc'] },
  {
    rule: 'lockfile',
    globs: [
      '**/{package-lock.json,npm-shrinkwrap.json,yarn.lock,pnpm-lock.yaml,bun.lockb,bun.lock}',
      '**/{Cargo.lock,poetry.lock,uv.lock,Pipfile.lock,go.sum,Gemfile.lock,composer.lock}',
    ],
  },
  { rule: 'kernelConfig', globs: ['**/crustcore.json'] },
]);

/** `package.json` keys that configure how tests run. */
const packageTestKeys = [
  'scripts',
  'jest',
  'mocha',
  'ava',
  'vitest',
  'c8',
  'nyc',
  'tap',
  'workspaces',
  'type',
  'imports',
];

/**
 * Lists the protected changes among `files`. `allow` globs exempt paths explicitly; `rules`
 * replaces the defaults (pass `[...DefaultProtectedRules, ...extra]` to extend them). Conditional
 * rules read content through `read`; without it, or when content cannot be parsed, they apply.
 * A glob that is refused or cannot be decided within the glob limits allows nothing and protects.
 */
export function classifyProtected(
  files: readonly ProtectedCandidate[],
  options: {
    readonly rules?: readonly ProtectedRule[];
    readonly allow?: readonly string[];
    readonly read?: ContentReader;
  } = {},
): ProtectedViolation[] {
  const rules = (options.rules ?? DefaultProtectedRules).map((rule) => ({ rule, globs: rule.globs.map(compiled) }));
  const allow = (options.allow ?? []).map(compiled);
  const violations: ProtectedViolation[] = [];
  for (const file of files) {
    if (allow.some((glob) => globSays(glob, file.path) === 'yes')) continue;
    for (const { rule, globs } of rules) {
      if (!globs.some((glob) => globSays(glob, file.path) !== 'no')) continue;
      if (rule.condition !== undefined && !conditionHolds(rule.condition, file, options.read)) continue;
      violations.push({ path: file.path, rule: rule.rule });
      break;
    }
  }
  return violations;
}

/** The compiled glob, or null for a pattern the glob syntax refuses. */
function compiled(pattern: string): Glob | null {
  const result = compileGlob(pattern);
  return result.ok ? result.glob : null;
}

/**
 * Whether a glob covers `path`; `unsure` for a refused pattern or a match past the glob limits,
 * which an allow glob treats as no and a protected rule as yes, so both fail closed.
 */
function globSays(glob: Glob | null, path: string): 'yes' | 'no' | 'unsure' {
  if (glob === null) return 'unsure';
  const { outcome } = glob.match(path);
  switch (outcome) {
    case 'matched':
      return 'yes';
    case 'unmatched':
      return 'no';
    case 'stepLimitExceeded':
    case 'subjectTooLong':
      return 'unsure';
    default:
      return assertNever(outcome);
  }
}

function conditionHolds(
  condition: NonNullable<ProtectedRule['condition']>,
  file: ProtectedCandidate,
  read: ContentReader | undefined,
): boolean {
  if (file.status === 'added' || file.status === 'deleted' || read === undefined) return true;
  const before = read(file.path, 'base');
  const after = read(file.path, 'patched');
  if (before === undefined || after === undefined) return true;
  switch (condition) {
    case 'packageScripts':
      return packageTestConfigChanged(before, after);
    case 'cargoTest':
      return cargoTestSectionsChanged(before, after);
    default:
      return condition satisfies never;
  }
}

function packageTestConfigChanged(before: string, after: string): boolean {
  let parsedBefore: unknown;
  let parsedAfter: unknown;
  try {
    parsedBefore = JSON.parse(before);
    parsedAfter = JSON.parse(after);
  } catch {
    return true;
  }
  if (!isRecord(parsedBefore) || !isRecord(parsedAfter)) return true;
  return packageTestKeys.some((key) => canonical(parsedBefore[key]) !== canonical(parsedAfter[key]));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** JSON with sorted keys, so reordering alone is not a change. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (isRecord(value)) {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonical(value[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'undefined';
}

/** Cargo.toml sections and keys that change what `cargo test` builds or runs. */
function cargoTestSectionsChanged(before: string, after: string): boolean {
  return cargoTestLines(before) !== cargoTestLines(after);
}

function cargoTestLines(text: string): string {
  let section = '';
  const kept: string[] = [];
  for (const rawLine of text.split('\n')) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('[')) {
      section = line;
      continue;
    }
    const relevantSection =
      /^\[\[(test|bench|bin|example)\]\]$|^\[(lib|profile\..*|workspace|target\..*|patch\..*)\]$/u.test(section);
    const relevantKey = section === '[package]' && /^(build|links|autotests|autobenches|workspace)\s*=/u.test(line);
    if (relevantSection || relevantKey) kept.push(`${section}${line}`);
  }
  return kept.join('\n');
}
