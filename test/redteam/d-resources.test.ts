/**
 * REDTEAM D20–D23: resources and processes.
 *
 * Method: real `crustcore run` with a one-line change and a hostile verify command in the real
 * bwrap sandbox. D20 prints 256 MiB, is stopped at the task's 64 MiB output budget and checks the
 * report (`truncated`, `outputBytes` just past the budget, the tail kept, not timed out) and the
 * log, while sampling the CLI's resident memory from `/proc`; an endless `yes` with a ten-minute
 * timeout must end the same way, by the budget, with nothing left. D21 runs a fork
 * bomb, D22 a `sleep`, a child that ignores SIGTERM and a `setsid` grandchild with `--timeout 2`;
 * each command line carries a unique token, and after the CLI exits `/proc` must hold no process
 * with it. D23 fills the sandbox's `/tmp`. Every run must end with the right verdict and an
 * intact log.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  Exit,
  collect,
  eventsOf,
  expectLogged,
  hostCanSpawn,
  makeRepo,
  makeWorld,
  onlyEvent,
  parseRun,
  processesWith,
  requireBwrap,
  run,
  spawnCli,
  token,
  uniqueSleep,
  useBuiltCli,
  useWorlds,
  writeFiles,
  type World,
} from './support.js';

useBuiltCli();
requireBwrap();
useWorlds();

const baseFiles = { 'notes.txt': 'draft\n' };

function changedRepo(world: World): string {
  const repo = makeRepo(world, baseFiles);
  writeFiles(repo, { 'notes.txt': 'fixed\n' });
  return repo;
}

/** Resident memory of `pid` in bytes, or 0 once it is gone. */
function residentBytes(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/mu.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match === null ? 0 : Number(match[1]) * 1024;
  } catch {
    return 0;
  }
}

/** The task's default output budget (`defaultBudgets.outputBytes`). */
const outputBudgetBytes = 64 * 1024 * 1024;
/** The sandbox stops reading at its kill: only the read that passed the budget (one 64 KiB pipe read) counts past it. */
const pastStopBytesMax = 64 * 1024;

describe('D20 verify prints far more than the output cap', () => {
  it('is stopped at the output budget, truncated with head and tail kept, counted exactly, and the kernel stays small', async () => {
    const world = makeWorld();
    const repo = changedRepo(world);
    const bytes = 256 * 1024 * 1024;
    const verify = `yes 0123456789abcdef | head -c ${bytes}; echo END-OF-OUTPUT`;
    const child = spawnCli(world, ['run', '--dir', repo, '--json', '--verify', verify, '--timeout', '60']);
    let peakBytes = 0;
    const sampler = setInterval(() => {
      if (child.pid !== undefined) peakBytes = Math.max(peakBytes, residentBytes(child.pid));
    }, 20);
    const result = await collect(child);
    clearInterval(sampler);
    const report = parseRun(result);
    const verifyRun = report.attempts[0]?.verify;
    const outputBytes = verifyRun?.outputBytes ?? 0;
    console.log(
      `D20: peak resident memory of the CLI while ${(outputBytes / 2 ** 20).toFixed(1)} MiB passed through: ${(peakBytes / 2 ** 20).toFixed(1)} MiB`,
    );
    // The output passes the task's output budget: the run is killed there (never reaching its
    // end marker), charged what was read, and the task ends, never verified.
    expect({
      code: result.code,
      verdict: report.verdict,
      reason: report.reason?.split(':')[0],
      exitCode: verifyRun?.exitCode,
      timedOut: verifyRun?.timedOut,
      truncated: verifyRun?.truncated,
    }).toEqual({
      code: Exit.rejected,
      verdict: 'budget-exhausted',
      reason: 'outputBytesExceeded',
      exitCode: null,
      timedOut: false,
      truncated: true,
    });
    expect(outputBytes).toBeGreaterThan(outputBudgetBytes);
    expect(outputBytes).toBeLessThanOrEqual(outputBudgetBytes + pastStopBytesMax);
    expect(verifyRun?.outputTail).toMatch(/^[0-9a-f\n]+$/u);
    expect(result.stderr).toContain(`verify stopped at the output budget after ${outputBytes} bytes`);
    const events = await expectLogged(world, report, 'budget-exhausted');
    expect(onlyEvent(events, 'verifyFinished').outputBytes).toBe(outputBytes);
    expect(peakBytes).toBeGreaterThan(0);
    expect(peakBytes).toBeLessThan(128 * 1024 * 1024);
  });

  it('an endless printer with a ten-minute timeout is stopped at the budget, not the timeout, and nothing is left', async () => {
    const world = makeWorld();
    const repo = changedRepo(world);
    const mark = `flood-${token()}`;
    const { code, report, stderr } = await run(world, repo, ['--verify', `yes ${mark}`, '--timeout', '600']);
    const verifyRun = report.attempts[0]?.verify;
    expect(processesWith(mark)).toEqual([]);
    expect({
      code,
      verdict: report.verdict,
      reason: report.reason?.split(':')[0],
      exitCode: verifyRun?.exitCode,
      timedOut: verifyRun?.timedOut,
      truncated: verifyRun?.truncated,
      stoppedLine: stderr.includes(`verify stopped at the output budget after ${verifyRun?.outputBytes} bytes`),
    }).toEqual({
      code: Exit.rejected,
      verdict: 'budget-exhausted',
      reason: 'outputBytesExceeded',
      exitCode: null,
      timedOut: false,
      truncated: true,
      stoppedLine: true,
    });
    expect(verifyRun?.outputBytes).toBeGreaterThan(outputBudgetBytes);
    expect(verifyRun?.outputBytes).toBeLessThanOrEqual(outputBudgetBytes + pastStopBytesMax);
    const events = await expectLogged(world, report, 'budget-exhausted');
    expect(onlyEvent(events, 'verifyFinished')).toMatchObject({
      timedOut: false,
      exitCode: null,
      outputBytes: verifyRun?.outputBytes,
    });
  });
});

describe('D20 through a worker', () => {
  it('a worker that floods its output is stopped at the budget and its output ends the task; a quiet one is charged what it printed', async () => {
    const world = makeWorld();
    const repo = makeRepo(world, baseFiles);
    const mark = `worker-flood-${token()}`;
    const flood = await run(world, repo, ['--verify', 'true', '--worker', `yes ${mark}`, '--timeout', '600']);
    expect(processesWith(mark)).toEqual([]);
    expect({
      code: flood.code,
      verdict: flood.report.verdict,
      budget: flood.report.budget?.code,
      attempts: flood.report.attempts.length,
    }).toEqual({ code: Exit.rejected, verdict: 'budget-exhausted', budget: 'outputBytesExceeded', attempts: 1 });
    expect(flood.stderr).toContain('the worker was stopped at the output budget after');
    const flooded = eventsOf(await expectLogged(world, flood.report, 'budget-exhausted'), 'usageCharged');
    expect(flooded.length).toBe(1);
    expect(flooded[0]?.outputBytes).toBeGreaterThan(outputBudgetBytes);
    expect(flooded[0]?.outputBytes).toBeLessThanOrEqual(outputBudgetBytes + pastStopBytesMax);

    const quietRepo = makeRepo(world, baseFiles, 'quiet');
    const quiet = await run(world, quietRepo, [
      '--verify',
      'grep -q fixed notes.txt',
      '--worker',
      "printf 'working\\n'; echo fixed > notes.txt",
    ]);
    expect({ code: quiet.code, verdict: quiet.report.verdict }).toEqual({ code: Exit.verified, verdict: 'verified' });
    const charged = eventsOf(await expectLogged(world, quiet.report, 'verified'), 'usageCharged');
    expect(charged.map((event) => event.outputBytes)).toEqual([Buffer.byteLength('working\n')]);
  });
});

describe('D21 fork bomb', () => {
  it.each([
    ['a bomb that waits on its children', (mark: string) => `bomb() { bomb | bomb; }; bomb # ${mark}`],
    // The shell exits 0; the pause gives the detached bomb time to reach the limit before the run ends.
    [
      'the classic detached bomb, whose shell exits 0',
      (mark: string) => `bomb() { bomb | bomb & }; bomb; sleep 1 # ${mark}`,
    ],
  ])('%s: the run ends rejected, nothing of it is left, the host still starts processes', async (_name, command) => {
    const world = makeWorld();
    const repo = changedRepo(world);
    const mark = `bomb-${token()}`;
    const { code, report } = await run(world, repo, ['--verify', command(mark), '--timeout', '5']);
    expect(processesWith(mark)).toEqual([]);
    expect(await hostCanSpawn()).toBe(true);
    expect({ code, verdict: report.verdict }).toEqual({ code: Exit.rejected, verdict: 'rejected' });
    await expectLogged(world, report, 'rejected');
  });
});

describe('D22 verify runs past the timeout', () => {
  const cases: readonly (readonly [string, (sleep: string) => string])[] = [
    ['sleep', (s) => `sleep ${s}`],
    ['a child that ignores SIGTERM', (s) => `sh -c 'trap "" TERM; sleep ${s}; sleep ${s}'`],
    ['a setsid grandchild', (s) => `(setsid sleep ${s} &); setsid sh -c 'sleep ${s}' & sleep ${s}`],
  ];

  it('sleep, a child ignoring SIGTERM, a setsid grandchild (run at once): each timed out, rejected, nothing left', async () => {
    const results = await Promise.all(
      cases.map(async ([name, command]) => {
        const world = makeWorld();
        const repo = changedRepo(world);
        const sleep = uniqueSleep(1000);
        const { code, report } = await run(world, repo, ['--verify', command(sleep), '--timeout', '2']);
        const left = processesWith(sleep);
        const events = await expectLogged(world, report, 'rejected');
        return {
          name,
          left,
          code,
          verdict: report.verdict,
          timedOut: report.attempts[0]?.verify?.timedOut,
          outcome: report.attempts[0]?.outcome,
          reasonSaysTimedOut: /tim(ed|e) ?out/iu.test(report.reason ?? ''),
          loggedTimedOut: onlyEvent(events, 'verifyFinished').timedOut,
        };
      }),
    );
    expect(results).toEqual(
      cases.map(([name]) => ({
        name,
        left: [],
        code: Exit.rejected,
        verdict: 'rejected',
        timedOut: true,
        outcome: 'failed',
        reasonSaysTimedOut: true,
        loggedTimedOut: true,
      })),
    );
  });
});

describe('D23 verify fills /tmp', () => {
  it('fails clearly at the bound and the run ends rejected', async () => {
    const world = makeWorld();
    const repo = changedRepo(world);
    const verify =
      'for i in 1 2 3 4; do head -c 200000000 /dev/zero > /tmp/fill$i || { echo "fill $i failed"; exit 1; }; done; echo "filled"';
    const { code, report } = await run(world, repo, ['--verify', verify, '--timeout', '60']);
    expect({ code, verdict: report.verdict, exitCode: report.attempts[0]?.verify?.exitCode }).toEqual({
      code: Exit.rejected,
      verdict: 'rejected',
      exitCode: 1,
    });
    expect(report.attempts[0]?.verify?.outputTail).toMatch(/No space left on device[\s\S]*fill \d failed/u);
    await expectLogged(world, report, 'rejected');
  });
});
