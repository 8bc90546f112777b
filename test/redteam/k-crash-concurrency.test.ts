/**
 * REDTEAM K50–K51: crash and concurrency.
 *
 * Method: K50 starts a real `crustcore run` whose verify is a `sleep` with a unique duration,
 * waits until that sleep is running in the sandbox (seen in the host's `/proc`), SIGKILLs the
 * CLI, and then checks: every process of the killed run dies with it; its log is intact without
 * a checkpoint or torn, and never says the task verified; the next runs on the same repo remove
 * the leftover attempt tree and reach their own verdicts (a failing verify is rejected, a passing
 * one verified). K51 starts ten runs on one repo at once with a mix of good and bad patches and
 * passing and failing verify commands: ten task ids, ten logs, every verdict right, every log
 * intact, no attempt tree left.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  Exit,
  SuiteLimits,
  attemptDirs,
  collect,
  expectLogged,
  inspect,
  makePatch,
  makeRepo,
  makeWorld,
  processesWith,
  requireBwrap,
  run,
  spawnCli,
  uniqueSleep,
  useBuiltCli,
  useWorlds,
  waitFor,
  writeFiles,
  type World,
} from './support.js';

useBuiltCli();
requireBwrap();
useWorlds();

/** Every log file in the world's state dir. */
function logFiles(world: World): string[] {
  const repos = join(world.state, 'repos');
  return readdirSync(repos).flatMap((repo) =>
    readdirSync(join(repos, repo, 'logs'))
      .filter((name) => name.endsWith('.jsonl'))
      .map((name) => join(repos, repo, 'logs', name)),
  );
}

describe('K50 the kernel is SIGKILLed in the middle of a verify', () => {
  it('its sandbox dies with it, its log never says verified, and the next runs start clean', async () => {
    const world = makeWorld();
    const repo = makeRepo(world, { 'notes.txt': 'draft\n' });
    writeFiles(repo, { 'notes.txt': 'fixed\n' });
    const sleep = uniqueSleep(30);
    const child = spawnCli(world, ['run', '--dir', repo, '--json', '--verify', `sleep ${sleep}`, '--timeout', '60']);
    const done = collect(child);
    const sleeping = await waitFor(() => processesWith(sleep).some((p) => p.cmdline.startsWith('sleep ')), 20_000);
    expect(sleeping).toBe(true);
    expect(child.pid).toBeDefined();
    process.kill(child.pid ?? 0, 'SIGKILL');
    expect((await done).signal).toBe('SIGKILL');

    // Nothing of the killed run stays alive (bwrap dies with its parent, and its PID namespace with it).
    await waitFor(() => processesWith(sleep).length === 0, SuiteLimits.processGoneMs);
    expect(processesWith(sleep)).toEqual([]);

    const [firstLog, ...others] = logFiles(world);
    expect(others).toEqual([]);
    const first = await inspect(world, firstLog ?? '');
    const statuses = first.report.tasks.map((task) => task.status);
    expect(statuses).not.toContain('verified');
    expect(statuses).not.toContain('integrated');
    if (first.report.status === 'intact') {
      expect({ checkpoints: first.report.checkpoints, statuses, code: first.code }).toEqual({
        checkpoints: 0,
        statuses: ['verifying'],
        code: 0,
      });
    } else {
      expect({ status: first.report.status, code: first.code }).toEqual({ status: 'torn', code: 1 });
    }

    const leftovers = attemptDirs(world);
    expect(leftovers.length).toBeGreaterThan(0);

    // The next run on the same repo: a failing verify is rejected on its own merits.
    const failing = await run(world, repo, ['--verify', 'grep -q never-there notes.txt', '--timeout', '20']);
    expect({ code: failing.code, verdict: failing.report.verdict }).toEqual({
      code: Exit.rejected,
      verdict: 'rejected',
    });
    for (const dir of leftovers) expect(failing.stderr).toContain(`removed attempt ${dir.split('/').at(-1) ?? ''}`);
    expect(attemptDirs(world)).toEqual([]);
    expect(failing.report.log.path).not.toBe(firstLog);
    await expectLogged(world, failing.report, 'rejected');

    // The crashed task's log now says how it ended: failed by crash recovery, never verified.
    const recovered = await inspect(world, firstLog ?? '');
    if (first.report.status === 'intact') {
      expect(failing.stderr).toContain('was cut short by a crash; recorded as failed (crashRecovery)');
      expect({ status: recovered.report.status, statuses: recovered.report.tasks.map((task) => task.status) }).toEqual({
        status: 'intact',
        statuses: ['failed'],
      });
    } else {
      expect(failing.stderr).toContain('was cut short by a crash and its log cannot be reopened');
    }

    const passing = await run(world, repo, ['--verify', 'grep -q fixed notes.txt', '--timeout', '20']);
    expect({ code: passing.code, verdict: passing.report.verdict }).toEqual({
      code: Exit.verified,
      verdict: 'verified',
    });
    await expectLogged(world, passing.report, 'verified');
    expect(attemptDirs(world)).toEqual([]);
  });
});

describe('K51 ten runs on the same repo at once', () => {
  it('get distinct task ids and logs, the right verdicts, and intact logs', async () => {
    const world = makeWorld();
    const repo = makeRepo(world, { 'notes.txt': 'draft\n', 'src.js': 'module.exports = 1;\n' });
    const good = makePatch(world, repo, { 'notes.txt': 'fixed\n' }, 'good');
    const bad = makePatch(world, repo, { 'notes.txt': 'broken\n' }, 'bad');
    const plans = Array.from({ length: 10 }, (_, i) => {
      const patchIsGood = i % 2 === 0;
      const verifyPasses = i % 3 !== 0;
      return {
        args: [
          '--verify',
          verifyPasses ? 'grep -q fixed notes.txt' : 'grep -q fixed notes.txt && exit 1',
          '--patch',
          patchIsGood ? good : bad,
          '--timeout',
          '30',
        ],
        expected: patchIsGood && verifyPasses ? 'verified' : 'rejected',
      };
    });
    const outcomes = await Promise.all(plans.map((plan) => run(world, repo, plan.args)));
    expect(outcomes.map((o) => ({ code: o.code, verdict: o.report.verdict }))).toEqual(
      plans.map((plan) => ({
        code: plan.expected === 'verified' ? Exit.verified : Exit.rejected,
        verdict: plan.expected,
      })),
    );
    expect(new Set(outcomes.map((o) => o.report.taskId)).size).toBe(10);
    expect(new Set(outcomes.map((o) => o.report.log.path)).size).toBe(10);
    expect(new Set(outcomes.map((o) => o.report.attempts[0]?.attemptId)).size).toBe(10);
    for (const [i, outcome] of outcomes.entries()) await expectLogged(world, outcome.report, plans[i]?.expected ?? '');
    expect(attemptDirs(world)).toEqual([]);
  });
});
