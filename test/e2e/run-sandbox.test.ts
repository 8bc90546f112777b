/**
 * Verify and workers as the sandbox runs them: `git` works in the attempt, a toolchain under
 * `$HOME` resolves, `node_modules` of the checkout is there read-only, and runaway commands
 * (output floods, endless forks, a worker that never exits) end in one clear verdict with an
 * intact log, no attempt tree and no process left behind.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  Exit,
  childPath,
  makeRepo,
  makeWorld,
  requireBwrap,
  run,
  runJson,
  snapshotTree,
  useBuiltCli,
  useWorlds,
  verdictLines,
  writeFiles,
} from './support.js';

useBuiltCli();
requireBwrap();
useWorlds();

const baseFiles = {
  'a.js': 'export const a = 1;\n',
  '.gitignore': 'node_modules/\n',
};

/** Live (non-zombie) processes whose command line contains `token`, other than this one. */
function processesWith(token: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (!cmdline.includes(token)) continue;
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (state !== 'Z' && state !== 'X') found.push(`${name}: ${cmdline}`);
    } catch {
      // The process ended while being read.
    }
  }
  return found;
}

/** A token unique to one test, to find its processes afterwards. */
function uniqueToken(label: string): string {
  return `crustcore-e2e-${label}-${process.pid}-${Date.now().toString(36)}`;
}

describe('inside the attempt', () => {
  it('git works: status and log see the attempt tree at the base commit', async () => {
    const world = makeWorld();
    const repo = makeRepo(world, baseFiles);
    writeFiles(repo.dir, { 'a.js': 'export const a = 2;\n', 'b.txt': 'b\n' });
    const { code, report } = await runJson(world, repo.dir, [
      '--verify',
      'git status --porcelain && git log -1 --format=%H',
    ]);
    expect(code).toBe(Exit.verified);
    expect(report.attempts[0]?.verify?.outputTail).toBe(` M a.js\n?? b.txt\n${repo.base}\n`);
  });

  it('a verify program that lives under $HOME (an nvm-style node) resolves and runs', async () => {
    const world = makeWorld();
    const bin = join(world.home, '.nvm', 'versions', 'node', 'v20.0.0', 'bin');
    world.env['PATH'] = `${bin}:${childPath()}`;
    mkdirSync(bin, { recursive: true });
    copyFileSync(process.execPath, join(bin, 'node'));
    const repo = makeRepo(world, baseFiles);
    writeFiles(repo.dir, { 'a.js': 'export const a = 2;\n' });
    const { code, report } = await runJson(world, repo.dir, [
      '--verify',
      'node -e "process.exit(0)" && node -e "console.log(process.execPath)"',
    ]);
    expect({ code, verdict: report.verdict, output: report.attempts[0]?.verify?.outputTail }).toEqual({
      code: Exit.verified,
      verdict: 'verified',
      output: `${join(bin, 'node')}\n`,
    });
  });

  it('node_modules of the checkout (ignored, not in git) is available to verify, read-only', async () => {
    const world = makeWorld();
    const repo = makeRepo(world, {
      ...baseFiles,
      'check.cjs': "const dep = require('dep');\nif (dep.answer !== 42) process.exit(1);\nconsole.log('dep ok');\n",
    });
    writeFiles(repo.dir, {
      'node_modules/dep/index.js': 'module.exports = { answer: 42 };\n',
      'a.js': 'export const a = 2;\n',
    });
    const modulesBefore = snapshotTree(join(repo.dir, 'node_modules'));
    const { code, report } = await runJson(world, repo.dir, [
      '--verify',
      'node check.cjs && if touch node_modules/dep/written 2>/dev/null; then echo WRITABLE; exit 1; fi && if echo x >> node_modules/dep/index.js; then echo WRITABLE; exit 1; fi 2>/dev/null; echo done',
    ]);
    expect({ code, output: report.attempts[0]?.verify?.outputTail }).toEqual({
      code: Exit.verified,
      output: 'dep ok\ndone\n',
    });
    expect(report.patch?.files).toEqual([{ path: 'a.js', status: 'modified' }]);
    expect(snapshotTree(join(repo.dir, 'node_modules'))).toEqual(modulesBefore);
    expect(existsSync(join(repo.dir, 'node_modules', 'dep', 'written'))).toBe(false);
  });
});

describe('runaway commands end in one clear verdict', () => {
  it('a verify that floods output without end: BUDGET EXHAUSTED (output budget), exit 1, quiet terminal', async () => {
    const world = makeWorld();
    const repo = makeRepo(world, baseFiles);
    writeFiles(repo.dir, { 'a.js': 'export const a = 2;\n' });
    const token = uniqueToken('flood');
    // The timeout is long: the run must end at the output budget, never at the timeout.
    const result = await run(world, repo.dir, ['--timeout', '600', '--verify', `yes ${token}`]);
    expect(result.code).toBe(Exit.rejected);
    expect(verdictLines(result.stdout)).toEqual([
      expect.stringMatching(/^BUDGET EXHAUSTED {2}task \S+ \(1 attempt\)$/),
    ]);
    expect(result.stdout).toMatch(
      /\n {2}attempt 1: abandoned, verify stopped at the output budget \(outputBytesExceeded: \d+ of \d+ output bytes\)\n/,
    );
    expect(result.stdout).toMatch(/\nreason: outputBytesExceeded: \d+ of \d+ output bytes\n/);
    expect(result.stdout).not.toContain('diff --git');
    // The flood never reaches the terminal.
    expect(result.stdout.length).toBeLessThan(16 * 1024);
    expect(result.stderr.length).toBeLessThan(16 * 1024);
    expect(processesWith(token)).toEqual([]);
  });

  it('a verify that forks without end: REJECTED, exit 1, the whole process tree is gone', async () => {
    const world = makeWorld();
    const repo = makeRepo(world, baseFiles);
    writeFiles(repo.dir, { 'a.js': 'export const a = 2;\n' });
    const token = uniqueToken('fork');
    const { code, report } = await runJson(world, repo.dir, [
      '--timeout',
      '3',
      '--verify',
      `: ${token}; f() { f | f & }; f; while :; do sleep 1; done`,
    ]);
    expect({ code, verdict: report.verdict, patch: report.patch }).toEqual({
      code: Exit.rejected,
      verdict: 'rejected',
      patch: null,
    });
    // The run ends at the timeout, or earlier when the shell's own loop cannot fork (dash exits
    // then): either way it failed, and nothing of it is left.
    expect(
      report.attempts.map((a) => ({
        outcome: a.outcome,
        endedByTimeoutOrFailure: a.verify?.timedOut === true || (a.verify?.exitCode ?? 0) !== 0,
      })),
    ).toEqual([{ outcome: 'failed', endedByTimeoutOrFailure: true }]);
    expect(processesWith(token)).toEqual([]);
  });

  it('a worker that never exits (--timeout 2): REJECTED, exit 1, both attempts timed out', async () => {
    const world = makeWorld();
    const repo = makeRepo(world, baseFiles);
    const token = uniqueToken('worker');
    const result = await run(world, repo.dir, [
      '--timeout',
      '2',
      '--worker',
      `: ${token}; sleep 1000`,
      '--verify',
      'true',
    ]);
    expect(result.code).toBe(Exit.rejected);
    expect(verdictLines(result.stdout)).toEqual([expect.stringMatching(/^REJECTED {2}task \S+ \(2 attempts\)$/)]);
    expect(result.stdout).toMatch(
      /\n {2}attempt 1: failed \(attemptFailed: workerFailed: the worker timed out after 2000 ms[^\n]*\)\n {2}attempt 2: failed \(attemptFailed: workerFailed: the worker timed out after 2000 ms/,
    );
    expect(processesWith(token)).toEqual([]);
  });
});
