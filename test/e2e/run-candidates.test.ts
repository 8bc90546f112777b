/**
 * `crustcore run` with each candidate source: the user's uncommitted changes, a `--patch` file,
 * and a `--worker` that reads the kernel's JSON contract on stdin.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  Exit,
  git,
  makeRepo,
  makeWorld,
  requireBwrap,
  runJson,
  useBuiltCli,
  useWorlds,
  writeFiles,
  type RunJson,
} from './support.js';

useBuiltCli();
requireBwrap();
useWorlds();

const baseFiles = {
  'a.js': 'export const a = 1;\n',
  '.gitignore': 'ignored.txt\n',
};

/** The added file `path` of a git patch, as text (its `+` lines). */
function addedFile(patch: string, path: string): string {
  const start = patch.indexOf(`diff --git a/${path} b/${path}\n`);
  expect(start).toBeGreaterThanOrEqual(0);
  const next = patch.indexOf('\ndiff --git ', start + 1);
  const section = patch.slice(start, next === -1 ? undefined : next + 1);
  const hunk = section.slice(section.indexOf('\n@@ ') + 1);
  return hunk
    .split('\n')
    .slice(1)
    .filter((line) => line.startsWith('+'))
    .map((line) => `${line.slice(1)}\n`)
    .join('');
}

function storedPatch(report: RunJson): string {
  const storedAt = report.patch?.storedAt;
  if (storedAt === null || storedAt === undefined) throw new Error(`no stored patch: ${JSON.stringify(report)}`);
  return readFileSync(storedAt, 'utf8');
}

describe('candidate: the uncommitted changes of the checkout', () => {
  it('verifies a tracked edit plus an untracked new file; ignored files are not part of the patch', async () => {
    const world = makeWorld();
    const repo = makeRepo(world, baseFiles);
    writeFiles(repo.dir, { 'a.js': 'export const a = 2;\n', 'b.txt': 'new\n', 'ignored.txt': 'secret-ish\n' });
    const { code, report } = await runJson(world, repo.dir, [
      '--verify',
      'grep -q \'a = 2\' a.js && test "$(cat b.txt)" = new && ! test -e ignored.txt',
    ]);
    expect(code).toBe(Exit.verified);
    expect({ verdict: report.verdict, candidate: report.candidate, baseCommit: report.baseCommit }).toEqual({
      verdict: 'verified',
      candidate: 'workingTree',
      baseCommit: repo.base,
    });
    expect(report.patch?.files).toEqual([
      { path: 'a.js', status: 'modified' },
      { path: 'b.txt', status: 'added' },
    ]);
    expect(report.attempts.map((a) => ({ outcome: a.outcome, files: a.files, exit: a.verify?.exitCode }))).toEqual([
      { outcome: 'passed', files: ['a.js', 'b.txt'], exit: 0 },
    ]);
    const patch = storedPatch(report);
    expect(patch).toContain('+export const a = 2;\n');
    expect(addedFile(patch, 'b.txt')).toBe('new\n');
    expect(patch).not.toContain('ignored.txt');
    expect(patch).not.toContain('secret-ish');
  });

  it('leaves a nested repository out of the change and says so', async () => {
    const world = makeWorld();
    const repo = makeRepo(world, baseFiles);
    writeFiles(repo.dir, { 'a.js': 'export const a = 2;\n', 'vendor/lib/inner.txt': 'not ours\n' });
    git(world, join(repo.dir, 'vendor/lib'), ['init', '-q']);
    const { code, report, stderr } = await runJson(world, repo.dir, ['--verify', '! test -e vendor/lib/inner.txt']);
    expect({ code, files: report.patch?.files.map((file) => file.path) }).toEqual({
      code: Exit.verified,
      files: ['a.js'],
    });
    expect(stderr).toContain(
      "crustcore: left out 1 nested repository (not part of this repository's change): vendor/lib/\n",
    );
  });

  it('with no change at all, there is nothing to verify: rejected, exit 1', async () => {
    const world = makeWorld();
    const repo = makeRepo(world, baseFiles);
    writeFiles(repo.dir, { 'ignored.txt': 'only an ignored file changed\n' });
    const { code, report } = await runJson(world, repo.dir, ['--verify', 'true']);
    expect({ code, verdict: report.verdict, patch: report.patch }).toEqual({
      code: Exit.rejected,
      verdict: 'rejected',
      patch: null,
    });
  });
});

describe('candidate: --patch <file>', () => {
  it('verifies the patch on a fresh tree; the checkout’s own uncommitted changes are not included', async () => {
    const world = makeWorld();
    const repo = makeRepo(world, baseFiles);
    writeFiles(repo.dir, { 'unrelated.txt': 'an uncommitted file of the user\n' });
    const patchFile = join(world.root, 'change.patch');
    writeFileSync(
      patchFile,
      [
        'diff --git a/a.js b/a.js',
        '--- a/a.js',
        '+++ b/a.js',
        '@@ -1 +1 @@',
        '-export const a = 1;',
        '+export const a = 3;',
        '',
      ].join('\n'),
    );
    const { code, report } = await runJson(world, repo.dir, [
      '--patch',
      patchFile,
      '--verify',
      "grep -q 'a = 3' a.js && ! test -e unrelated.txt",
    ]);
    expect(code).toBe(Exit.verified);
    expect({ verdict: report.verdict, candidate: report.candidate, files: report.patch?.files }).toEqual({
      verdict: 'verified',
      candidate: 'patch',
      files: [{ path: 'a.js', status: 'modified' }],
    });
    expect(storedPatch(report)).toContain('-export const a = 1;\n+export const a = 3;\n');
  });
});

describe('candidate: --worker <cmd>', () => {
  it('hands the worker the JSON contract; attempt 2 carries attempt 1’s failure and its output', async () => {
    const world = makeWorld();
    const repo = makeRepo(world, baseFiles);
    const goal = 'record the contract';
    // The worker stores its contract in the tree; verify prints it and passes only on attempt 2.
    const verify = 'cat contract.json; echo; grep -q \'"attempt":2\' contract.json';
    const { code, report } = await runJson(world, repo.dir, [
      '--worker',
      'cat > contract.json',
      '--goal',
      goal,
      '--verify',
      verify,
    ]);
    expect(code).toBe(Exit.verified);
    expect(report.attempts.map((a) => ({ outcome: a.outcome, reason: a.reason, exit: a.verify?.exitCode }))).toEqual([
      { outcome: 'failed', reason: 'verifyFailed: verify exited with 1', exit: 1 },
      { outcome: 'passed', reason: null, exit: 0 },
    ]);
    const second: unknown = JSON.parse(addedFile(storedPatch(report), 'contract.json'));
    const firstText = report.attempts[0]?.verify?.outputTail ?? '';
    const first: unknown = JSON.parse(firstText);
    expect(first).toEqual({
      contract: 'crustcore.worker/1',
      goal,
      attempt: 1,
      attemptsMax: 2,
      baseCommit: repo.base,
      verifyCommand: verify,
      previous: null,
    });
    expect(second).toEqual({
      contract: 'crustcore.worker/1',
      goal,
      attempt: 2,
      attemptsMax: 2,
      baseCommit: repo.base,
      verifyCommand: verify,
      previous: {
        attempt: 1,
        exitCode: 1,
        timedOut: false,
        reason: 'verifyFailed: verify exited with 1',
        output: firstText,
      },
    });
    expect(firstText.endsWith('\n\n')).toBe(true);
  });

  it('bounds the previous output handed to the worker to its last 8 KiB', async () => {
    const world = makeWorld();
    const repo = makeRepo(world, baseFiles);
    const verify =
      "if grep -q '^{\"attempt\":1,' contract.json; then head -c 100000 /dev/zero | tr '\\0' x; echo; echo END-OF-FLOOD; exit 1; fi";
    const { code, report } = await runJson(world, repo.dir, ['--worker', 'cat > contract.json', '--verify', verify]);
    expect(code).toBe(Exit.verified);
    const second = JSON.parse(addedFile(storedPatch(report), 'contract.json')) as {
      previous: { output: string; exitCode: number };
    };
    expect(second.previous.exitCode).toBe(1);
    expect(second.previous.output.endsWith('x\nEND-OF-FLOOD\n')).toBe(true);
    expect(Buffer.byteLength(second.previous.output)).toBeLessThanOrEqual(8 * 1024);
    expect(Buffer.byteLength(second.previous.output)).toBeGreaterThan(1024);
  });

  it('a worker that fails both attempts is rejected with exit 1 and no patch', async () => {
    const world = makeWorld();
    const repo = makeRepo(world, baseFiles);
    const { code, report } = await runJson(world, repo.dir, [
      '--worker',
      'echo worker-broke >&2; exit 3',
      '--verify',
      'true',
    ]);
    expect({ code, verdict: report.verdict, patch: report.patch }).toEqual({
      code: Exit.rejected,
      verdict: 'rejected',
      patch: null,
    });
    expect(report.attempts.map((a) => ({ attempt: a.attempt, outcome: a.outcome, verify: a.verify }))).toEqual([
      { attempt: 1, outcome: 'failed', verify: null },
      { attempt: 2, outcome: 'failed', verify: null },
    ]);
    expect(report.attempts.map((a) => a.reason)).toEqual([
      'attemptFailed: workerFailed: the worker exited with 3: worker-broke\n',
      'attemptFailed: workerFailed: the worker exited with 3: worker-broke\n',
    ]);
  });
});
