/**
 * Every verdict of `crustcore run` and its documented exit code: verified 0, rejected 1, usage 2,
 * refused 3, needs approval 4, as a person sees it and as `--json` reports it.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  Exit,
  cli,
  makeRepo,
  makeWorld,
  parseJson,
  requireBwrap,
  run,
  runJson,
  useBuiltCli,
  useWorlds,
  verdictLines,
  writeFakeBwrap,
  writeFiles,
} from './support.js';

useBuiltCli();
requireBwrap();
useWorlds();

const baseFiles = {
  'a.js': 'export const a = 1;\n',
  'test/a.test.js': "import { a } from '../a.js';\nif (a < 1) process.exit(1);\n",
};

describe('verified: exit 0', () => {
  it('prints one VERIFIED line for a passing verify', async () => {
    const world = makeWorld();
    const repo = makeRepo(world, baseFiles);
    writeFiles(repo.dir, { 'a.js': 'export const a = 2;\n' });
    const result = await run(world, repo.dir, ['--verify', 'node test/a.test.js']);
    expect(result.code).toBe(Exit.verified);
    expect(verdictLines(result.stdout)).toHaveLength(1);
    expect(result.stdout).toMatch(
      /^VERIFIED {2}task t\d{8}T\d{6}-[0-9a-f]{12} \(1 attempt\)\n {2}attempt 1: passed, verify exit 0\n/,
    );
  });
});

describe('rejected: exit 1', () => {
  it('a failing verify: REJECTED with the end of its output', async () => {
    const world = makeWorld();
    const repo = makeRepo(world, baseFiles);
    writeFiles(repo.dir, { 'a.js': 'export const a = 0;\n' });
    const result = await run(world, repo.dir, ['--verify', 'echo failing-output; exit 7']);
    expect(result.code).toBe(Exit.rejected);
    expect(verdictLines(result.stdout)).toHaveLength(1);
    expect(result.stdout).toMatch(
      /^REJECTED {2}task \S+ \(1 attempt\)\n {2}attempt 1: failed, verify exit 7 \(verifyFailed: verify exited with 7\)\n/,
    );
    expect(result.stdout).toContain('\n  | failing-output\n');
  });

  it('a failing verify in --json: the attempt, its exit status and no patch', async () => {
    const world = makeWorld();
    const repo = makeRepo(world, baseFiles);
    writeFiles(repo.dir, { 'a.js': 'export const a = 0;\n' });
    const { code, report } = await runJson(world, repo.dir, ['--verify', 'node test/a.test.js']);
    expect(code).toBe(Exit.rejected);
    expect({ verdict: report.verdict, exitCode: report.exitCode, patch: report.patch, branch: report.branch }).toEqual({
      verdict: 'rejected',
      exitCode: Exit.rejected,
      patch: null,
      branch: null,
    });
    expect(report.attempts.map((a) => [a.outcome, a.reason, a.verify?.exitCode, a.verify?.timedOut])).toEqual([
      ['failed', 'verifyFailed: verify exited with 1', 1, false],
    ]);
  });

  it('a patch that does not apply: REJECTED, verify never runs', async () => {
    const world = makeWorld();
    const repo = makeRepo(world, baseFiles);
    const patchFile = join(world.root, 'stale.patch');
    writeFileSync(
      patchFile,
      'diff --git a/a.js b/a.js\n--- a/a.js\n+++ b/a.js\n@@ -1 +1 @@\n-export const a = 41;\n+export const a = 42;\n',
    );
    const { code, report } = await runJson(world, repo.dir, ['--patch', patchFile, '--verify', 'true']);
    expect({ code, verdict: report.verdict, patch: report.patch }).toEqual({
      code: Exit.rejected,
      verdict: 'rejected',
      patch: null,
    });
    expect(report.attempts.map((a) => ({ outcome: a.outcome, verify: a.verify }))).toEqual([
      { outcome: 'failed', verify: null },
    ]);
    expect(report.attempts[0]?.reason).toMatch(/^attemptFailed: patchDoesNotApply: git apply failed: /);
    expect(report.reason).toBe(report.attempts[0]?.reason);
  });
});

describe('usage: exit 2, one line on stderr, nothing written', () => {
  const cases: readonly (readonly [string, readonly string[], RegExp | string])[] = [
    [
      'missing --verify',
      [],
      "crustcore: 'run' needs --verify '<command>' (the command that proves the change, e.g. 'npm test'). Run 'crustcore help run'.\n",
    ],
    [
      "empty --verify ''",
      ['--verify', ''],
      "crustcore: the verify command is empty; pass --verify '<command>' (e.g. --verify 'npm test')\n",
    ],
    [
      'blank --verify',
      ['--verify', '   '],
      "crustcore: the verify command is empty; pass --verify '<command>' (e.g. --verify 'npm test')\n",
    ],
    [
      'unknown --base',
      ['--verify', 'true', '--base', 'no-such-rev'],
      /^crustcore: unknown --base 'no-such-rev': [^\n]+\n$/,
    ],
    [
      '--patch with --worker',
      ['--verify', 'true', '--patch', 'x.patch', '--worker', 'true'],
      "crustcore: --patch and --worker are exclusive: give one candidate source. Run 'crustcore help run'.\n",
    ],
    [
      '--attempts 0',
      ['--verify', 'true', '--worker', 'true', '--attempts', '0'],
      "crustcore: --attempts must be a whole number from 1 to 10, got '0'. Run 'crustcore help run'.\n",
    ],
    [
      '--attempts 11',
      ['--verify', 'true', '--worker', 'true', '--attempts', '11'],
      "crustcore: --attempts must be a whole number from 1 to 10, got '11'. Run 'crustcore help run'.\n",
    ],
    [
      '--attempts two',
      ['--verify', 'true', '--worker', 'true', '--attempts', 'two'],
      "crustcore: --attempts must be a whole number from 1 to 10, got 'two'. Run 'crustcore help run'.\n",
    ],
    [
      '--attempts 1.5',
      ['--verify', 'true', '--worker', 'true', '--attempts', '1.5'],
      "crustcore: --attempts must be a whole number from 1 to 10, got '1.5'. Run 'crustcore help run'.\n",
    ],
    [
      '--attempts 2 without a worker',
      ['--verify', 'true', '--attempts', '2'],
      "crustcore: --attempts above 1 needs --worker or --model: the same patch would only be verified again. Run 'crustcore help run'.\n",
    ],
    [
      'unknown flag',
      ['--verify', 'true', '--frobnicate'],
      "crustcore: unknown option '--frobnicate' for 'run'. Run 'crustcore help run'.\n",
    ],
    [
      'existing --branch',
      ['--verify', 'true', '--branch', 'main'],
      "crustcore: --branch: branch 'main' already exists; choose a new name (an existing branch is never moved)\n",
    ],
    [
      'invalid --allow-protected glob',
      ['--verify', 'true', '--allow-protected', 'test**'],
      /^crustcore: --allow-protected 'test\*\*' is not a valid glob: [^\n]+\. Run 'crustcore help run'\.\n$/,
    ],
    [
      'invalid --branch name',
      ['--verify', 'true', '--branch', 'bad..name'],
      "crustcore: --branch: 'bad..name' is not a valid branch name\n",
    ],
  ];

  it.each(cases)('%s', async (_name, args, stderr) => {
    const world = makeWorld();
    const repo = makeRepo(world, baseFiles);
    writeFiles(repo.dir, { 'a.js': 'export const a = 2;\n' });
    const result = await run(world, repo.dir, args);
    expect({ code: result.code, stdout: result.stdout }).toEqual({ code: Exit.usage, stdout: '' });
    if (typeof stderr === 'string') expect(result.stderr).toBe(stderr);
    else expect(result.stderr).toMatch(stderr);
    expect(readdirSync(world.state)).toEqual([]);
  });

  it('not a git repository', async () => {
    const world = makeWorld();
    const plain = join(world.root, 'plain');
    mkdirSync(plain);
    const result = await run(world, plain, ['--verify', 'true']);
    expect({ code: result.code, stdout: result.stdout }).toEqual({ code: Exit.usage, stdout: '' });
    expect(result.stderr).toMatch(
      new RegExp(`^crustcore: ${plain} is not a git repository \\([^\\n]*\\); pass --dir <repo>\\n$`),
    );
    expect(readdirSync(world.state)).toEqual([]);
  });

  it.each([
    ['missing --verify', [] as string[]],
    ['empty --verify', ['--verify', '']],
    ['--patch with --worker', ['--verify', 'true', '--patch', 'x.patch', '--worker', 'true']],
    ['bad --attempts', ['--verify', 'true', '--worker', 'true', '--attempts', '0']],
    ['existing --branch', ['--verify', 'true', '--branch', 'main']],
  ])('with --json, %s prints exactly one JSON error object', async (_name, args) => {
    const world = makeWorld();
    const repo = makeRepo(world, baseFiles);
    const result = await cli(world, ['run', '--json', ...args], { cwd: repo.dir });
    expect(result.code).toBe(Exit.usage);
    const parsed = parseJson<{ error: { code: string; message: string } }>(result);
    expect(Object.keys(parsed)).toEqual(['error']);
    expect(parsed.error.code).toBe('usage');
    expect(result.stderr.startsWith(`crustcore: ${parsed.error.message}`)).toBe(true);
    expect(result.stderr.split('\n')).toHaveLength(2);
  });
});

describe('refused: exit 3, no sandbox', () => {
  it('--sandbox-binary pointing at a missing file', async () => {
    const world = makeWorld();
    const repo = makeRepo(world, baseFiles);
    writeFiles(repo.dir, { 'a.js': 'export const a = 2;\n' });
    const missing = join(world.root, 'no-such-bwrap');
    const { code, report } = await runJson(world, repo.dir, ['--verify', 'true', '--sandbox-binary', missing]);
    expect({ code, verdict: report.verdict, exitCode: report.exitCode, patch: report.patch }).toEqual({
      code: Exit.refused,
      verdict: 'refused',
      exitCode: Exit.refused,
      patch: null,
    });
    expect(report.reason).toMatch(
      new RegExp(`^noSandbox: backendMissing: sandbox backend bwrap not found at ${missing}`),
    );
    expect(report.attempts.every((a) => a.verify === null)).toBe(true);
  });

  it('--sandbox-binary pointing at a fake bwrap that enforces nothing', async () => {
    const world = makeWorld();
    const repo = makeRepo(world, baseFiles);
    writeFiles(repo.dir, { 'a.js': 'export const a = 2;\n' });
    const fake = writeFakeBwrap(world);
    const result = await run(world, repo.dir, ['--verify', 'true', '--sandbox-binary', fake]);
    expect(result.code).toBe(Exit.refused);
    expect(verdictLines(result.stdout)).toEqual([expect.stringMatching(/^REFUSED {2}task /)]);
    expect(result.stdout).toMatch(/\nreason: noSandbox: backendNotEnforcing: /);
    expect(result.stdout).not.toContain('\ndiff --git');
  });
});

describe('needs approval: exit 4, protected paths', () => {
  it('a patch touching a test file stops for approval; nothing is delivered', async () => {
    const world = makeWorld();
    const repo = makeRepo(world, baseFiles);
    writeFiles(repo.dir, { 'test/a.test.js': 'process.exit(0);\n' });
    const { code, report } = await runJson(world, repo.dir, ['--verify', 'node test/a.test.js']);
    expect(code).toBe(Exit.needsApproval);
    expect({
      verdict: report.verdict,
      exitCode: report.exitCode,
      protectedPaths: report.protectedPaths,
      acceptedProtected: report.acceptedProtected,
      storedAt: report.patch?.storedAt,
      writtenTo: report.patch?.writtenTo,
      files: report.patch?.files,
    }).toEqual({
      verdict: 'needs-approval',
      exitCode: Exit.needsApproval,
      protectedPaths: [{ path: 'test/a.test.js', rule: 'testFile' }],
      acceptedProtected: [],
      storedAt: null,
      writtenTo: null,
      files: [{ path: 'test/a.test.js', status: 'modified' }],
    });
    expect(report.approvalId).toMatch(/^[a-z2-7]{26}$/);
  });

  it('the human report names the path and how to accept it', async () => {
    const world = makeWorld();
    const repo = makeRepo(world, baseFiles);
    writeFiles(repo.dir, { 'test/a.test.js': 'process.exit(0);\n' });
    const result = await run(world, repo.dir, ['--verify', 'node test/a.test.js']);
    expect(result.code).toBe(Exit.needsApproval);
    expect(verdictLines(result.stdout)).toEqual([expect.stringMatching(/^NEEDS APPROVAL {2}task /)]);
    expect(result.stdout).toContain(
      'protected paths changed (the patch needs your approval):\n  test/a.test.js  [testFile]\n',
    );
    expect(result.stdout).toContain("re-run with --allow-protected '<glob>'");
  });

  it('--allow-protected accepts it explicitly: verified, exit 0, recorded as accepted and as a risk', async () => {
    const world = makeWorld();
    const repo = makeRepo(world, baseFiles);
    writeFiles(repo.dir, { 'test/a.test.js': 'process.exit(0);\n' });
    const { code, report } = await runJson(world, repo.dir, [
      '--verify',
      'node test/a.test.js',
      '--allow-protected',
      'test/**',
    ]);
    expect(code).toBe(Exit.verified);
    expect({
      verdict: report.verdict,
      protectedPaths: report.protectedPaths,
      accepted: report.acceptedProtected,
      risks: report.risks,
      approvalId: report.approvalId,
    }).toEqual({
      verdict: 'verified',
      protectedPaths: [],
      accepted: [{ path: 'test/a.test.js', rule: 'testFile' }],
      risks: ['allow-protected: test/**'],
      approvalId: null,
    });
    expect(report.patch?.storedAt).toEqual(expect.any(String));
  });

  it('--allow-protected with a glob that does not cover the path still needs approval', async () => {
    const world = makeWorld();
    const repo = makeRepo(world, baseFiles);
    writeFiles(repo.dir, { 'test/a.test.js': 'process.exit(0);\n' });
    const { code, report } = await runJson(world, repo.dir, [
      '--verify',
      'node test/a.test.js',
      '--allow-protected',
      'docs/**',
    ]);
    expect({ code, verdict: report.verdict, paths: report.protectedPaths.map((v) => v.path) }).toEqual({
      code: Exit.needsApproval,
      verdict: 'needs-approval',
      paths: ['test/a.test.js'],
    });
  });
});
