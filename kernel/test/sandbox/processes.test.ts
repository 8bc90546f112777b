/**
 * Processes and resources (REDTEAM 21, 22 and the rlimits): the sandbox bounds the number of
 * processes, file size, address space and CPU time, and on timeout kills every process of the
 * run — including a child that ignores SIGTERM and a grandchild that left with setsid — before
 * `runSandboxed` resolves. Host pids are found by scanning the host's /proc for a random token
 * each sandboxed process carries in its command line.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { defaultSandboxLimits, runSandboxed } from '../../src/sandbox/index.js';
import { hostPidsWith, isAlive, requireBwrap, run, shellSpec, tempDir, text } from './helpers.js';

describe('timeout kills the whole tree (REDTEAM 22)', () => {
  it('leaves no process alive: sleep, a SIGTERM-ignoring child, a setsid grandchild', async () => {
    requireBwrap();
    const shared = tempDir();
    const token = `tok${randomBytes(6).toString('hex')}`;
    const script = [
      `sleep 1000000 &`,
      `sh -c 'trap "" TERM; while :; do sleep 1; done' ${token}-trap &`,
      `setsid sh -c 'sleep 1000000' ${token}-setsid > /dev/null 2>&1 < /dev/null &`,
      `touch /shared/ready`,
      `exec sh -c 'trap "" TERM INT HUP; while :; do sleep 1; done' ${token}-main`,
    ].join('\n');
    const pending = runSandboxed(
      shellSpec(script, {
        timeoutMs: 3000,
        mounts: [{ kind: 'bindWritable', source: shared, target: '/shared' }],
      }),
    );
    while (!existsSync(join(shared, 'ready'))) await sleep(10);
    await sleep(100);
    const pids = hostPidsWith(token);
    expect(pids.length).toBeGreaterThanOrEqual(3);
    const outcome = await pending;
    expect(outcome.ok && outcome.result.timedOut).toBe(true);
    expect(outcome.ok && outcome.result.signal).toBe('SIGKILL');
    expect(pids.filter(isAlive)).toEqual([]);
    expect(hostPidsWith(token)).toEqual([]);
  });

  it('a normal exit is not marked timed out and leaves no background process', async () => {
    const token = `tok${randomBytes(6).toString('hex')}`;
    const result = await run(shellSpec(`sh -c 'sleep 1000000' ${token} & echo started; exit 7`));
    expect({ exitCode: result.exitCode, timedOut: result.timedOut, output: text(result) }).toEqual({
      exitCode: 7,
      timedOut: false,
      output: 'started\n',
    });
    expect(hostPidsWith(token)).toEqual([]);
  });
});

describe('process limit (REDTEAM 21)', () => {
  it('stops a loop of background processes at the limit and ends cleanly', async () => {
    const result = await run(
      shellSpec('i=0; while [ $i -lt 200 ]; do sleep 30 & i=$((i+1)); echo "started $i"; done; echo all-started', {
        limits: { ...defaultSandboxLimits, processesMax: 32 },
      }),
    );
    const output = text(result);
    const started = output.split('\n').filter((line) => line.startsWith('started ')).length;
    expect(output).not.toContain('all-started');
    expect(output).toMatch(/fork/i);
    expect(started).toBeGreaterThan(10);
    expect(started).toBeLessThanOrEqual(32);
    expect(result.timedOut).toBe(false);
  });

  it('contains a fork bomb: never more processes than the limit, all gone after, the host fine', async () => {
    requireBwrap();
    const token = `tok${randomBytes(6).toString('hex')}`;
    const processesMax = 64;
    const pending = runSandboxed(
      shellSpec(`exec sh -c 'bomb() { bomb | bomb & }; bomb; sleep 3' ${token}`, {
        timeoutMs: 3000,
        limits: { ...defaultSandboxLimits, processesMax },
      }),
    );
    let settled = false;
    void pending.then(() => (settled = true));
    let most = 0;
    while (!settled) {
      most = Math.max(most, hostPidsWith(token).length);
      await sleep(20);
    }
    const outcome = await pending;
    expect(outcome.ok).toBe(true);
    // Proof the bomb hit the limit: the shell reports failed forks (sampling the host's process
    // table can miss the peak on a loaded machine, so the count is only checked from above).
    const output = outcome.ok ? outcome.result.output.head + outcome.result.output.tail : '';
    expect(output).toMatch(/fork|resource temporarily unavailable|cannot allocate/i);
    expect(most).toBeLessThanOrEqual(processesMax);
    expect(hostPidsWith(token)).toEqual([]);
    expect(spawnSync('/bin/true').status).toBe(0);
  });
});

describe('rlimits hold inside', () => {
  it('file size: a large write fails at fileBytesMax', async () => {
    const result = await run(
      shellSpec('head -c 5000000 /dev/zero > /tmp/big; echo "status $?"; wc -c < /tmp/big', {
        limits: { ...defaultSandboxLimits, fileBytesMax: 1_000_000 },
      }),
    );
    const output = text(result);
    expect(output).toMatch(/status [1-9]/);
    expect(output.trim().split('\n').at(-1)).toBe('1000000');
  });

  it('address space: an allocation beyond addressSpaceBytesMax fails', async () => {
    const result = await run(
      shellSpec('x=$(head -c 400000000 /dev/zero | tr "\\0" a); echo "length ${#x}"', {
        limits: { ...defaultSandboxLimits, addressSpaceBytesMax: 128 * 1024 * 1024 },
      }),
    );
    expect(text(result)).not.toContain('length 400000000');
  });

  it('CPU seconds: a busy loop is killed by RLIMIT_CPU', async () => {
    const result = await run(
      shellSpec('exec sh -c "while :; do :; done"', { limits: { ...defaultSandboxLimits, cpuSeconds: 1 } }),
    );
    expect(result.timedOut).toBe(false);
    expect(result.exitCode).toBe(128 + 9);
  });

  it('shows the limits in /proc/self/limits', async () => {
    const result = await run(
      shellSpec(
        "grep -E '^Max (processes|file size|address space|cpu time)' /proc/self/limits | tr -s ' ' | sed 's/ *$//'",
      ),
    );
    expect(text(result)).toBe(
      [
        `Max cpu time ${defaultSandboxLimits.cpuSeconds} ${defaultSandboxLimits.cpuSeconds} seconds`,
        `Max file size ${defaultSandboxLimits.fileBytesMax} ${defaultSandboxLimits.fileBytesMax} bytes`,
        `Max processes ${defaultSandboxLimits.processesMax} ${defaultSandboxLimits.processesMax} processes`,
        `Max address space ${defaultSandboxLimits.addressSpaceBytesMax} ${defaultSandboxLimits.addressSpaceBytesMax} bytes`,
        '',
      ].join('\n'),
    );
  });
});
