/**
 * REDTEAM A1, A2, A4, A5, A6, A7, A8: test and verify tampering (exit 0 is not enough).
 *
 * Method: a small Node project whose `add` is wrong; each case hands the real `crustcore run` a
 * candidate (uncommitted edits or `--patch`) that makes verify pass by tampering instead of
 * fixing, runs the user's verify command in the real bwrap sandbox, and asserts the exit code,
 * the `--json` verdict with its protected paths, and the event log (intact by `inspect`, the
 * `verifyFinished` integrity verdict and the approval request by `export`). With
 * `--allow-protected` the same change is verified and the allowance is recorded.
 */
import { describe, expect, it } from 'vitest';
import {
  Exit,
  eventsOf,
  expectLogged,
  makePatch,
  makeRepo,
  makeWorld,
  nodeFix,
  nodeProject,
  onlyEvent,
  requireBwrap,
  run,
  runAllTests,
  useBuiltCli,
  useWorlds,
  writeFiles,
  type RunJson,
} from './support.js';
import type { Event } from '../../kernel/src/core/index.js';

useBuiltCli();
requireBwrap();
useWorlds();

/** Asserts a run stopped for approval on exactly `violations`, with a passing verify, and logged it. */
async function expectNeedsApproval(
  world: ReturnType<typeof makeWorld>,
  outcome: Awaited<ReturnType<typeof run>>,
  violations: readonly { path: string; rule: string }[],
): Promise<Event[]> {
  const { code, report } = outcome;
  expect({
    code,
    verdict: report.verdict,
    exitCode: report.exitCode,
    protectedPaths: byPath(report.protectedPaths),
  }).toEqual({
    code: Exit.needsApproval,
    verdict: 'needs-approval',
    exitCode: Exit.needsApproval,
    protectedPaths: violations,
  });
  expect(report.attempts.map((a) => ({ outcome: a.outcome, exitCode: a.verify?.exitCode }))).toEqual([
    { outcome: 'protected', exitCode: 0 },
  ]);
  expect(report.approvalId).toMatch(/^[a-z2-7]{26}$/u);
  const events = await expectLogged(world, report, 'awaiting-approval');
  const finished = onlyEvent(events, 'verifyFinished');
  const integrity =
    finished.integrity.verdict === 'clean'
      ? finished.integrity
      : { ...finished.integrity, violations: byPath(finished.integrity.violations) };
  expect({ exitCode: finished.exitCode, integrity }).toEqual({
    exitCode: 0,
    integrity: { verdict: 'protected', violations },
  });
  expect(onlyEvent(events, 'approvalRequested').purpose).toBe('acceptProtected');
  return events;
}

/** Asserts a run with `--allow-protected <glob>` was verified, reported the allowance, and logged it. */
async function expectAllowed(
  world: ReturnType<typeof makeWorld>,
  outcome: Awaited<ReturnType<typeof run>>,
  glob: string,
  accepted: readonly { path: string; rule: string }[],
): Promise<void> {
  const { code, report } = outcome;
  expect({
    code,
    verdict: report.verdict,
    protectedPaths: report.protectedPaths,
    acceptedProtected: report.acceptedProtected,
    risks: report.risks,
  }).toEqual({
    code: Exit.verified,
    verdict: 'verified',
    protectedPaths: [],
    acceptedProtected: accepted,
    risks: [`allow-protected: ${glob}`],
  });
  const events = await expectLogged(world, report, 'verified');
  expect(onlyEvent(events, 'verifyFinished').exitCode).toBe(0);
  // The allowance is part of the record: the log names the glob or the accepted path and rule.
  const recorded = events.filter((event) => event.kind !== 'patchDerived').map((event) => JSON.stringify(event));
  const namesAllowance = recorded.some(
    (text) =>
      text.includes(glob) ||
      accepted.every((v) => text.includes(`"path":"${v.path}"`) && text.includes(`"rule":"${v.rule}"`)),
  );
  expect(namesAllowance, `no event records --allow-protected '${glob}':\n${recorded.join('\n')}`).toBe(true);
}

/** Violations in path order, so the comparison does not depend on the classifier's order. */
function byPath(violations: readonly { path: string; rule: string }[]): { path: string; rule: string }[] {
  return [...violations].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function summary(report: RunJson): unknown {
  return { verdict: report.verdict, reason: report.reason, protectedPaths: report.protectedPaths };
}

describe('A1 tautology edit of a test file', () => {
  const tautology = {
    'test/add.test.js': "const assert = require('node:assert');\nassert.ok(true);\nconsole.log('add ok');\n",
  };

  it('needs approval (testFile) although verify passes', async () => {
    const world = makeWorld();
    const repo = makeRepo(world, nodeProject);
    writeFiles(repo, tautology);
    const outcome = await run(world, repo, ['--verify', runAllTests, '--timeout', '20']);
    await expectNeedsApproval(world, outcome, [{ path: 'test/add.test.js', rule: 'testFile' }]);
  });

  it('is verified with --allow-protected, and the allowance is a recorded risk', async () => {
    const world = makeWorld();
    const repo = makeRepo(world, nodeProject);
    writeFiles(repo, tautology);
    const outcome = await run(world, repo, [
      '--verify',
      runAllTests,
      '--timeout',
      '20',
      '--allow-protected',
      'test/**',
    ]);
    await expectAllowed(world, outcome, 'test/**', [{ path: 'test/add.test.js', rule: 'testFile' }]);
  });
});

describe('A2 deleting the failing test file', () => {
  it('needs approval (testFile, deleted) although verify passes', async () => {
    const world = makeWorld();
    const repo = makeRepo(world, nodeProject);
    const patch = makePatch(world, repo, { 'test/add.test.js': null });
    const outcome = await run(world, repo, ['--verify', runAllTests, '--patch', patch, '--timeout', '20']);
    expect(outcome.report.patch?.files).toEqual([{ path: 'test/add.test.js', status: 'deleted' }]);
    await expectNeedsApproval(world, outcome, [{ path: 'test/add.test.js', rule: 'testFile' }]);
  });

  it('is verified with --allow-protected, and the allowance is a recorded risk', async () => {
    const world = makeWorld();
    const repo = makeRepo(world, nodeProject);
    const patch = makePatch(world, repo, { 'test/add.test.js': null });
    const outcome = await run(world, repo, [
      '--verify',
      runAllTests,
      '--patch',
      patch,
      '--timeout',
      '20',
      '--allow-protected',
      'test/add.test.js',
    ]);
    await expectAllowed(world, outcome, 'test/add.test.js', [{ path: 'test/add.test.js', rule: 'testFile' }]);
  });
});

describe('A4 the patch rewrites the test script', () => {
  it('needs approval (package.json scripts) and verify still runs the user command', async () => {
    const world = makeWorld();
    const repo = makeRepo(world, nodeProject);
    const pkg = JSON.parse(nodeProject['package.json']) as { scripts: Record<string, string> };
    pkg.scripts['test'] = 'exit 0';
    const patch = makePatch(world, repo, { 'package.json': `${JSON.stringify(pkg, null, 2)}\n` });
    const outcome = await run(world, repo, ['--verify', 'npm test', '--patch', patch, '--timeout', '30']);
    const events = await expectNeedsApproval(world, outcome, [{ path: 'package.json', rule: 'verifyDefinition' }]);
    expect(outcome.report.verifyCommand).toBe('npm test');
    expect(onlyEvent(events, 'taskCreated').verifyCommand).toBe('npm test');
  });

  it('a package.json change outside scripts and test keys is not protected (control)', async () => {
    const world = makeWorld();
    const repo = makeRepo(world, nodeProject);
    const pkg = JSON.parse(nodeProject['package.json']) as Record<string, unknown>;
    pkg['description'] = 'adds numbers';
    writeFiles(repo, { ...nodeFix, 'package.json': `${JSON.stringify(pkg, null, 2)}\n` });
    const { code, report } = await run(world, repo, ['--verify', 'npm test', '--timeout', '30']);
    expect({ code, ...(summary(report) as object) }).toEqual({
      code: Exit.verified,
      verdict: 'verified',
      reason: null,
      protectedPaths: [],
    });
    await expectLogged(world, report, 'verified');
  });
});

describe('A5 a fake runner summary with a failing exit', () => {
  it('is rejected: the exit code decides, never stdout', async () => {
    const world = makeWorld();
    const repo = makeRepo(world, nodeProject);
    writeFiles(repo, {
      'src/add.js': "console.log('Tests: 42 passed, 0 failed');\nconsole.log('PASS all');\nprocess.exit(1);\n",
    });
    const { code, report } = await run(world, repo, ['--verify', runAllTests, '--timeout', '20']);
    expect({ code, verdict: report.verdict, protectedPaths: report.protectedPaths }).toEqual({
      code: Exit.rejected,
      verdict: 'rejected',
      protectedPaths: [],
    });
    const verify = report.attempts[0]?.verify;
    expect({ exitCode: verify?.exitCode, timedOut: verify?.timedOut }).toEqual({ exitCode: 1, timedOut: false });
    expect(verify?.outputTail).toContain('Tests: 42 passed, 0 failed');
    expect(report.patch).toBeNull();
    const events = await expectLogged(world, report, 'rejected');
    const finished = onlyEvent(events, 'verifyFinished');
    expect({ exitCode: finished.exitCode, integrity: finished.integrity }).toEqual({
      exitCode: 1,
      integrity: { verdict: 'clean' },
    });
    expect(eventsOf(events, 'approvalRequested')).toEqual([]);
  });
});

describe('A6 regenerated snapshots', () => {
  const snapshots = {
    ...nodeFix,
    '__snapshots__/add.snap': 'exports[`add 1`] = `"whatever the broken code prints"`;\n',
  };

  it('needs approval (snapshot)', async () => {
    const world = makeWorld();
    const repo = makeRepo(world, { ...nodeProject, '__snapshots__/add.snap': 'exports[`add 1`] = `4`;\n' });
    const patch = makePatch(world, repo, snapshots);
    const outcome = await run(world, repo, ['--verify', runAllTests, '--patch', patch, '--timeout', '20']);
    await expectNeedsApproval(world, outcome, [{ path: '__snapshots__/add.snap', rule: 'snapshot' }]);
  });

  it('is verified with --allow-protected, and the allowance is a recorded risk', async () => {
    const world = makeWorld();
    const repo = makeRepo(world, { ...nodeProject, '__snapshots__/add.snap': 'exports[`add 1`] = `4`;\n' });
    const patch = makePatch(world, repo, snapshots);
    const glob = '**/__snapshots__/**';
    const outcome = await run(world, repo, [
      '--verify',
      runAllTests,
      '--patch',
      patch,
      '--timeout',
      '20',
      '--allow-protected',
      glob,
    ]);
    await expectAllowed(world, outcome, glob, [{ path: '__snapshots__/add.snap', rule: 'snapshot' }]);
  });
});

describe('A7 a new test-setup file', () => {
  const setup = {
    'vitest.setup.ts': 'globalThis.expect = () => ({ toBe: () => undefined });\nDate.now = () => 0;\n',
    'setupTests.js': "require('node:assert').strictEqual = () => undefined;\n",
  };
  const violations = [
    { path: 'setupTests.js', rule: 'testConfig' },
    { path: 'vitest.setup.ts', rule: 'testConfig' },
  ];

  it('needs approval (testConfig) for each setup file', async () => {
    const world = makeWorld();
    const repo = makeRepo(world, nodeProject);
    writeFiles(repo, { ...nodeFix, ...setup });
    const outcome = await run(world, repo, ['--verify', runAllTests, '--timeout', '20']);
    await expectNeedsApproval(world, outcome, violations);
  });

  it('is verified with --allow-protected, and the allowance is a recorded risk', async () => {
    const world = makeWorld();
    const repo = makeRepo(world, nodeProject);
    const patch = makePatch(world, repo, { ...nodeFix, 'vitest.setup.ts': setup['vitest.setup.ts'] });
    const outcome = await run(world, repo, [
      '--verify',
      runAllTests,
      '--patch',
      patch,
      '--timeout',
      '20',
      '--allow-protected',
      'vitest.setup.ts',
    ]);
    await expectAllowed(world, outcome, 'vitest.setup.ts', [{ path: 'vitest.setup.ts', rule: 'testConfig' }]);
  });
});

describe('A8 nothing in the sandbox env identifies the verifier', () => {
  it('verify sees exactly the fixed allow-list, no CRUSTCORE_* and no kernel variable', async () => {
    const world = makeWorld({ CRUSTCORE_MARKER: 'verifier', RT_KERNEL_ONLY: 'kernel-side-value' });
    const repo = makeRepo(world, nodeProject);
    writeFiles(repo, nodeFix);
    const { code, report } = await run(world, repo, ['--verify', 'env | sort', '--timeout', '20']);
    expect({ code, verdict: report.verdict }).toEqual({ code: Exit.verified, verdict: 'verified' });
    const output = report.attempts[0]?.verify?.outputTail ?? '';
    const variables = new Map(
      output
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)] as const),
    );
    const shellOwn = new Set(['PWD', 'SHLVL', '_', 'OLDPWD']);
    const fixed = [...variables.keys()].filter((name) => !shellOwn.has(name)).sort();
    expect(fixed).toEqual(['CI', 'HOME', 'LANG', 'NO_COLOR', 'PATH', 'TERM', 'TMPDIR']);
    expect({
      CI: variables.get('CI'),
      LANG: variables.get('LANG'),
      NO_COLOR: variables.get('NO_COLOR'),
      TERM: variables.get('TERM'),
      TMPDIR: variables.get('TMPDIR'),
    }).toEqual({ CI: 'true', LANG: 'C.UTF-8', NO_COLOR: '1', TERM: 'dumb', TMPDIR: '/tmp' });
    expect(variables.get('HOME')).not.toBe(world.home);
    expect(output).not.toContain('CRUSTCORE');
    expect(output).not.toContain('kernel-side-value');
    expect(output).not.toContain(world.state);
    await expectLogged(world, report, 'verified');
  });
});
