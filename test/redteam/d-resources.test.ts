/**
 * REDTEAM D20–D23: resources and processes.
 *
 * Method: real `crustcore run` with a one-line change and a hostile verify command in the real
 * bwrap sandbox. D20 prints 256 MiB and checks the report (`truncated`, exact `outputBytes`, the
 * tail kept) and the log, while sampling the CLI's resident memory from `/proc`. D21 runs a fork
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

describe('D20 verify prints far more than the output cap', () => {
  it('is truncated with head and tail kept, counted exactly, and the kernel stays small', async () => {
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
    console.log(
      `D20: peak resident memory of the CLI while 256 MiB passed through: ${(peakBytes / 2 ** 20).toFixed(1)} MiB`,
    );
    // The output is far over the task's output budget: the run is marked and ends, never verified.
    expect({
      code: result.code,
      verdict: report.verdict,
      reason: report.reason?.split(':')[0],
      exitCode: verifyRun?.exitCode,
      truncated: verifyRun?.truncated,
      outputBytes: verifyRun?.outputBytes,
    }).toEqual({
      code: Exit.rejected,
      verdict: 'budget-exhausted',
      reason: 'outputBytesExceeded',
      exitCode: 0,
      truncated: true,
      outputBytes: bytes + 14,
    });
    expect(verifyRun?.outputTail.endsWith('END-OF-OUTPUT\n')).toBe(true);
    const events = await expectLogged(world, report, 'budget-exhausted');
    expect(onlyEvent(events, 'verifyFinished').outputBytes).toBe(bytes + 14);
    expect(peakBytes).toBeGreaterThan(0);
    expect(peakBytes).toBeLessThan(bytes / 2);
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
