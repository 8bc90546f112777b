/**
 * The process-limit mechanism. RLIMIT_NPROC does not hold for real root (the kernel exempts uid 0
 * even inside a user namespace), so as root each run gets a pids cgroup, and with no writable
 * pids cgroup the run is refused. As an ordinary user RLIMIT_NPROC, set inside the sandbox's
 * user namespace, holds. Both facts are shown on real processes here, as is the clean-up of the
 * cgroups: a busy one is removed once its last process is gone, and an old empty one a killed
 * kernel left behind is removed by the next run.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  cgroupPrefix,
  createProcessBound,
  releaseProcessBound,
  sweepStaleCgroups,
} from '../../src/sandbox/process-bound.js';
import { minimalBwrapArgs, requireBwrap, tempDir } from './helpers.js';

const isRoot = process.getuid?.() === 0;
const loop = 'i=0; while [ $i -lt 30 ]; do sleep 5 & i=$((i+1)); echo started; done';

function bwrapLoop(prefix: readonly string[]): number {
  requireBwrap();
  const result = spawnSync(
    prefix[0] ?? '/usr/bin/bwrap',
    [
      ...prefix.slice(1),
      '/usr/bin/bwrap',
      ...minimalBwrapArgs,
      '--',
      '/usr/bin/prlimit',
      '--nproc=10:10',
      '--',
      '/bin/sh',
      '-c',
      loop,
    ],
    { encoding: 'utf8', timeout: 20_000 },
  );
  return result.stdout.split('\n').filter((line) => line === 'started').length;
}

describe('process bound', () => {
  it('an ordinary user gets RLIMIT_NPROC only', () => {
    expect(createProcessBound(10, 'unit', { uid: 1000 })).toEqual({ ok: true, bound: { kind: 'rlimit' } });
  });

  it('root with no writable pids cgroup is refused', () => {
    const empty = tempDir();
    const outcome = createProcessBound(10, 'unit', { uid: 0, roots: { v1Pids: `${empty}/pids`, v2: [empty] } });
    expect(outcome.ok).toBe(false);
    expect(!outcome.ok && outcome.detail).toMatch(/^running as root, where RLIMIT_NPROC does not hold/);
  });

  it('root gets a pids cgroup with pids.max = processesMax + the sandbox own processes', async () => {
    if (!isRoot) {
      expect(createProcessBound(10, 'unit', { uid: 1000 }).ok).toBe(true);
      return;
    }
    const outcome = createProcessBound(10, `unit-${process.pid}`, { uid: 0 });
    if (!outcome.ok) throw new Error(outcome.detail);
    if (outcome.bound.kind !== 'pidsCgroup') throw new Error('expected a pids cgroup as root');
    expect(readFileSync(`${outcome.bound.dir}/pids.max`, 'utf8')).toBe('12\n');
    await releaseProcessBound(outcome.bound);
    expect(existsSync(outcome.bound.dir)).toBe(false);
  });

  it('a cgroup still busy when the run ends is removed once its last process is gone', async () => {
    if (!isRoot) {
      expect(await releaseProcessBound({ kind: 'rlimit' })).toBeUndefined();
      return;
    }
    const outcome = createProcessBound(10, `busy-${process.pid}`, { uid: 0 });
    if (!outcome.ok) throw new Error(outcome.detail);
    if (outcome.bound.kind !== 'pidsCgroup') throw new Error('expected a pids cgroup as root');
    const holder = spawn('/bin/sleep', ['30'], { stdio: 'ignore' });
    await new Promise((resolve) => holder.once('spawn', resolve));
    writeFileSync(outcome.bound.procsFile, `${String(holder.pid)}\n`);
    // While the holder lives, rmdir says EBUSY; the release keeps trying until it is gone.
    const released = releaseProcessBound(outcome.bound);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(existsSync(outcome.bound.dir)).toBe(true);
    holder.kill('SIGKILL');
    await released;
    expect(existsSync(outcome.bound.dir)).toBe(false);
  });

  it("the next run removes empty cgroups a killed kernel left, never a live owner's, a fresh or a busy one", async () => {
    const root = '/sys/fs/cgroup/pids';
    if (!isRoot || !existsSync(`${root}/cgroup.procs`)) {
      expect(sweepStaleCgroups(tempDir(), Date.now())).toEqual([]);
      return;
    }
    const deadPid = spawnSync('/bin/true').pid;
    const suffix = randomBytes(4).toString('hex');
    const minutesAgo = (minutes: number): Date => new Date(Date.now() - minutes * 60_000);
    // name → [its age, whether the sweep removes it]
    const cases: Readonly<Record<string, readonly [Date, boolean]>> = {
      [`${cgroupPrefix}${deadPid}-${suffix}a`]: [minutesAgo(2), true], // an orphan past a minute
      [`${cgroupPrefix}${deadPid}-${suffix}b`]: [minutesAgo(0), false], // an orphan made a moment ago
      [`${cgroupPrefix}${process.pid}-${suffix}c`]: [minutesAgo(60), false], // its owner is alive
      [`${cgroupPrefix}${deadPid}-${suffix}d`]: [minutesAgo(60), false], // holds a process
      [`${cgroupPrefix}old${suffix}`]: [minutesAgo(60), true], // no owner named, past ten minutes
      [`${cgroupPrefix}recent${suffix}`]: [minutesAgo(2), false], // no owner named, not ten minutes old
    };
    for (const [name, [age]] of Object.entries(cases)) {
      mkdirSync(`${root}/${name}`);
      utimesSync(`${root}/${name}`, age, age);
    }
    const busy = `${root}/${cgroupPrefix}${deadPid}-${suffix}d`;
    const holder = spawn('/bin/sleep', ['30'], { stdio: 'ignore' });
    await new Promise((resolve) => holder.once('spawn', resolve));
    writeFileSync(`${busy}/cgroup.procs`, `${String(holder.pid)}\n`);
    try {
      const removed = new Set(sweepStaleCgroups(root, Date.now()));
      const outcome = Object.keys(cases).map((name) => [name, removed.has(name), existsSync(`${root}/${name}`)]);
      expect(outcome).toEqual(Object.entries(cases).map(([name, [, gone]]) => [name, gone, !gone]));
    } finally {
      holder.kill('SIGKILL');
      for (const name of Object.keys(cases)) {
        await releaseProcessBound({ kind: 'pidsCgroup', dir: `${root}/${name}`, procsFile: '' });
      }
    }
    expect(Object.keys(cases).filter((name) => existsSync(`${root}/${name}`))).toEqual([]);
  });

  it('RLIMIT_NPROC alone does not bound real root (why the cgroup exists)', () => {
    const started = bwrapLoop(['/usr/bin/env']);
    if (isRoot) expect(started).toBe(30);
    else expect(started).toBeLessThan(30);
  });

  it('RLIMIT_NPROC inside the user namespace bounds an ordinary user', () => {
    const prefix = isRoot
      ? ['/usr/bin/setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--']
      : ['/usr/bin/env'];
    const started = bwrapLoop(prefix);
    expect(started).toBeGreaterThan(0);
    expect(started).toBeLessThan(10);
  });
});
