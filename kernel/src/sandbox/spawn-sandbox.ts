/**
 * Runs the outer sandbox command as the leader of its own process group, streams its merged
 * output into a bounded collector, enforces the timeout and the output stop with
 * `process.kill(-pgid, 'SIGKILL')`, and resolves only once every process of the run is gone.
 *
 * Why the tree is dead when this resolves: bwrap puts the command in a new PID namespace whose
 * init is bwrap's own reaper, started with `--die-with-parent`. Killing the group kills the
 * outer bwrap; its init then gets SIGKILL, and the kernel kills every process of a namespace
 * whose init died and reaps them before that init turns into a zombie. So the run is over
 * when the init (its host pid comes from `--info-fd`) is a zombie or gone, and, with a pids
 * cgroup, when the cgroup holds no process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Limits } from './limits.js';
import { OutputCollector } from './output-collector.js';
import { cgroupMembers, processLimitHit, type ProcessBound } from './process-bound.js';
import type { RunSandboxedResult } from './types.js';

/** The fully built outer command and how to hold it. */
export interface SpawnPlan {
  readonly command: string;
  readonly args: readonly string[];
  /** The outer process's environment (bwrap clears it for the inside). */
  readonly env: Readonly<Record<string, string>>;
  readonly stdin: Uint8Array | undefined;
  readonly timeoutMs: number;
  readonly outputBytesMax: number;
  /** Kill the tree once the output read passes this many bytes; undefined: never. */
  readonly outputBytesStop: number | undefined;
  readonly bound: ProcessBound;
}

/** Spawns, collects, kills on timeout or at the output stop and waits for the whole tree; never rejects. */
export async function spawnSandbox(plan: SpawnPlan): Promise<RunSandboxedResult> {
  const startedAtMs = performance.now();
  const collector = new OutputCollector(plan.outputBytesMax);
  let child: ChildProcess;
  try {
    child = spawn(plan.command, plan.args, {
      detached: true,
      stdio: ['pipe', 'pipe', 'ignore', 'pipe'],
      env: { ...plan.env },
      cwd: '/',
    });
  } catch (error) {
    return spawnFailed(`cannot start ${plan.command}: ${String(error)}`);
  }
  const spawned = await new Promise<Error | null>((resolve) => {
    child.once('spawn', () => resolve(null));
    child.once('error', (error) => resolve(error));
  });
  const pgid = child.pid;
  if (spawned !== null || pgid === undefined) {
    return spawnFailed(
      `cannot start ${plan.command}: ${spawned?.message ?? 'no pid'}; check that it exists and is executable.`,
    );
  }
  child.on('error', () => {
    // Errors after a successful spawn surface through 'exit' and the streams.
  });

  const stdout = child.stdout;
  const info = child.stdio[3] as Readable | null | undefined;
  if (stdout === null || info === null || info === undefined || child.stdin === null) {
    killGroup(pgid);
    return spawnFailed('the sandbox process has no stdio pipes; this is a bug in the sandbox module.');
  }
  child.stdin.on('error', () => {
    // The command may exit without reading its stdin; EPIPE is not a failure of the run.
  });
  child.stdin.end(plan.stdin === undefined ? undefined : Buffer.from(plan.stdin));
  // At the stop the read end is closed with the kill, so nothing the tree still writes is read:
  // the total passes the stop by at most one read of the pipe.
  let timedOut = false;
  let outputStopped = false;
  stdout.on('data', (chunk: Buffer) => {
    collector.push(chunk);
    const stop = plan.outputBytesStop;
    if (stop !== undefined && !timedOut && !outputStopped && collector.totalBytes > stop) {
      outputStopped = true;
      killGroup(pgid);
      stdout.destroy();
    }
  });
  const outputEnded = new Promise<void>((resolve) => stdout.once('close', () => resolve()));

  let initPid: { readonly pid: number; readonly startTime: string } | null = null;
  let infoText = '';
  info.on('data', (chunk: Buffer) => {
    if (infoText.length < Limits.backendInfoBytesMax) infoText += chunk.toString('utf8');
    const match = /"child-pid"\s*:\s*(\d+)/.exec(infoText);
    if (initPid === null && match?.[1] !== undefined) {
      const pid = Number(match[1]);
      const startTime = processStartTime(pid);
      if (startTime !== null) initPid = { pid, startTime };
    }
  });
  info.on('error', () => {
    // A backend that never writes its info fd only loses the init-pid check; the cgroup still counts.
  });

  const timer = setTimeout(() => {
    if (outputStopped) return;
    timedOut = true;
    killGroup(pgid);
  }, plan.timeoutMs);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const { code, signal } = await exited;
  await outputEnded;
  clearTimeout(timer);
  const killedAtMs = performance.now();
  // The group may still hold the sandbox's init; it dies with the outer bwrap, this only hurries it.
  killGroup(pgid);
  info.destroy();
  const gone = await waitTreeGone(initPid, plan.bound, killedAtMs);
  const collected = collector.finish();
  if (!gone) {
    return spawnFailed(
      `processes of the sandboxed run were still alive ${Limits.reapWaitMs} ms after the kill; refusing its result.`,
    );
  }
  return {
    ok: true,
    result: {
      exitCode: code,
      signal,
      timedOut,
      outputStopped,
      durationMs: Math.round(performance.now() - startedAtMs),
      output: collected.output,
      outputDigest: collected.digest,
      processLimitHit: processLimitHit(plan.bound),
    },
  };
}

/** Signals the run's whole process group; ESRCH means it is already gone. */
function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // The group is empty: nothing left to kill.
  }
}

async function waitTreeGone(
  initPid: { readonly pid: number; readonly startTime: string } | null,
  bound: ProcessBound,
  fromMs: number,
): Promise<boolean> {
  for (;;) {
    const initGone = initPid === null || processStartTime(initPid.pid, { zombieIsGone: true }) !== initPid.startTime;
    if (initGone && cgroupMembers(bound).length === 0) return true;
    if (performance.now() - fromMs > Limits.reapWaitMs) return false;
    await sleep(Limits.reapPollMs);
  }
}

/**
 * The start time of `pid` from /proc (stable across pid reuse), or null when it does not exist
 * (or, with `zombieIsGone`, when it is a zombie: a zombie pid-namespace init has reaped its namespace).
 */
export function processStartTime(pid: number, options: { readonly zombieIsGone?: boolean } = {}): string | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (options.zombieIsGone === true && (fields[0] === 'Z' || fields[0] === 'X')) return null;
  return fields[19] ?? null;
}

function spawnFailed(detail: string): RunSandboxedResult {
  return { ok: false, error: { code: 'spawnFailed', detail } };
}
