/**
 * How a run's process count is bounded.
 *
 * RLIMIT_NPROC (set inside the sandbox's user namespace, so it counts only the run's own
 * processes) is always applied, but the kernel ignores it for real root (uid 0 on the host,
 * even when mapped into a user namespace). So when the kernel runs as root, every run also gets
 * its own pids cgroup (`pids.max`), which holds for root too. Running as root with no writable
 * pids cgroup is refused: the bound would not hold.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertNever } from '../core/assert.js';
import { Limits } from './limits.js';

/** The name prefix of every pids cgroup the sandbox makes. */
export const cgroupPrefix = 'crustcore-sandbox-';

/** The bound chosen for one run. */
export type ProcessBound =
  { readonly kind: 'rlimit' } | { readonly kind: 'pidsCgroup'; readonly dir: string; readonly procsFile: string };

/** Where pids cgroups can be made; overridable for tests of the refusal path. */
export interface CgroupRoots {
  readonly v1Pids: string;
  readonly v2: readonly string[];
}

/** The usual mount points of the cgroup v1 pids controller and of cgroup v2. */
export const defaultCgroupRoots: CgroupRoots = {
  v1Pids: '/sys/fs/cgroup/pids',
  v2: ['/sys/fs/cgroup', '/sys/fs/cgroup/unified'],
};

/** Creates the bound for one run, or says why the process limit cannot be enforced here. */
export function createProcessBound(
  processesMax: number,
  runId: string,
  options: { readonly uid: number; readonly roots?: CgroupRoots },
): { readonly ok: true; readonly bound: ProcessBound } | { readonly ok: false; readonly detail: string } {
  if (options.uid !== 0) return { ok: true, bound: { kind: 'rlimit' } };
  const roots = options.roots ?? defaultCgroupRoots;
  const pidsMax = processesMax + Limits.sandboxOwnProcesses;
  const attempts: string[] = [];
  for (const base of [roots.v1Pids, ...roots.v2.filter((root) => hasV2Pids(root))]) {
    if (!existsSync(join(base, 'cgroup.procs'))) continue;
    sweepStaleCgroups(base, Date.now());
    // The owner's pid in the name lets a later run tell a killed kernel's leftover from a live run's.
    const dir = join(base, `${cgroupPrefix}${process.pid}-${runId}`);
    try {
      mkdirSync(dir);
      writeFileSync(join(dir, 'pids.max'), `${pidsMax}\n`);
      // Without pids.events a run that hit the limit could not be told from one that did not.
      readFileSync(join(dir, 'pids.events'), 'utf8');
      return { ok: true, bound: { kind: 'pidsCgroup', dir, procsFile: join(dir, 'cgroup.procs') } };
    } catch (error) {
      attempts.push(`${base}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
      tryRemove(dir);
    }
  }
  return {
    ok: false,
    detail:
      'running as root, where RLIMIT_NPROC does not hold, and no writable pids cgroup was found' +
      (attempts.length > 0 ? ` (${attempts.join('; ')})` : '') +
      '; run the kernel as an ordinary user or give it a writable pids cgroup.',
  };
}

/** cgroup v2 can host a child with `pids.max` only when the controller is enabled for children. */
function hasV2Pids(root: string): boolean {
  try {
    const controllers = readFileSync(join(root, 'cgroup.controllers'), 'utf8').split(/\s+/);
    if (!controllers.includes('pids')) return false;
    const enabled = readFileSync(join(root, 'cgroup.subtree_control'), 'utf8').split(/\s+/);
    if (!enabled.includes('pids')) writeFileSync(join(root, 'cgroup.subtree_control'), '+pids\n');
    return true;
  } catch {
    return false;
  }
}

/** Pids of the processes still in the cgroup (empty once the whole tree is gone). */
export function cgroupMembers(bound: ProcessBound): readonly number[] {
  if (bound.kind !== 'pidsCgroup') return [];
  try {
    return readFileSync(bound.procsFile, 'utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map(Number);
  } catch {
    return [];
  }
}

/**
 * Whether the run's pids cgroup refused a fork (`max N` in `pids.events`, N > 0). Read once the
 * tree is gone and before the cgroup is released. Fails closed: an unreadable or unparsable
 * count is a hit. RLIMIT_NPROC keeps no count of refused forks, so that bound always says false.
 */
export function processLimitHit(bound: ProcessBound): boolean {
  switch (bound.kind) {
    case 'rlimit':
      return false;
    case 'pidsCgroup': {
      let events: string;
      try {
        events = readFileSync(join(bound.dir, 'pids.events'), 'utf8');
      } catch {
        return true;
      }
      const match = /^max (\d+)$/m.exec(events);
      return match?.[1] === undefined || Number(match[1]) > 0;
    }
    default:
      return assertNever(bound);
  }
}

/** Removes the run's cgroup; it must already be empty. */
export async function releaseProcessBound(bound: ProcessBound): Promise<void> {
  if (bound.kind === 'pidsCgroup') await removeCgroup(bound.dir);
}

/** Removes `dir` if it is an empty cgroup; a busy, missing or foreign one is left alone. */
function tryRemove(dir: string): boolean {
  try {
    rmdirSync(dir);
    return true;
  } catch {
    return false;
  }
}

/**
 * Removes the cgroups of runs whose kernel died before releasing them (a SIGKILL skips every
 * `finally`): empty ones whose owner pid (in the name) is gone, once a minute old, and empty
 * ones without an owner pid once ten minutes old. A live owner's cgroup is never touched, the age
 * keeps a cgroup made a moment ago (before its sandbox joins it) safe, and rmdir refuses any
 * cgroup that still holds a process.
 */
export function sweepStaleCgroups(base: string, nowMs: number): string[] {
  let names: string[];
  try {
    names = readdirSync(base);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(cgroupPrefix)) continue;
    const owner = /^(\d{1,10})-[0-9a-f]+$/u.exec(name.slice(cgroupPrefix.length));
    const ownerPid = owner?.[1] === undefined ? null : Number(owner[1]);
    if (ownerPid !== null && isAlive(ownerPid)) continue;
    const dir = join(base, name);
    let ageMs: number;
    try {
      ageMs = nowMs - statSync(dir).mtimeMs;
    } catch {
      continue;
    }
    const staleAfterMs = ownerPid === null ? Limits.staleCgroupAgeMs : Limits.orphanCgroupAgeMs;
    if (ageMs >= staleAfterMs && tryRemove(dir)) removed.push(name);
  }
  return removed;
}

/** Whether a process with this pid exists (one of another user still counts). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function removeCgroup(dir: string): Promise<void> {
  const deadlineMs = Date.now() + Limits.cgroupRemoveWaitMs;
  for (;;) {
    try {
      rmdirSync(dir);
      return;
    } catch (error) {
      // EBUSY: the last processes are not yet released, so try again shortly. Anything else (already
      // gone, never made) ends it; an empty leftover cgroup holds no process and no data.
      if ((error as NodeJS.ErrnoException).code !== 'EBUSY' || Date.now() >= deadlineMs) return;
    }
    await new Promise((resolve) => setTimeout(resolve, Limits.cgroupRemovePollMs));
  }
}
