/**
 * `processLimitHit` (REDTEAM 21): a run whose shell exits 0 while its detached children were
 * refused forks by the process limit is reported as having hit it, read from the run's pids
 * cgroup (`pids.events`) when running as root; RLIMIT_NPROC alone keeps no such count and
 * reports false. The verify gate turns a hit into a `broken` integrity verdict.
 */
import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { defaultSandboxLimits } from '../../src/sandbox/index.js';
import { processLimitHit } from '../../src/sandbox/process-bound.js';
import { withRunIntegrity } from '../../src/verify/gate.js';
import { run, shellSpec, tempDir } from './helpers.js';

const isRoot = process.getuid?.() === 0;
const limits = { ...defaultSandboxLimits, processesMax: 32 };

describe('processLimitHit on real runs', () => {
  it('a detached fork bomb whose shell exits 0 hit the limit (pids cgroup as root)', async () => {
    // `exec sleep` needs no fork, so the shell outlives the bomb's growth even when forks fail.
    const result = await run(shellSpec('bomb() { bomb | bomb & }; bomb; exec sleep 1', { timeoutMs: 20_000, limits }));
    expect({ exitCode: result.exitCode, timedOut: result.timedOut, processLimitHit: result.processLimitHit }).toEqual({
      exitCode: 0,
      timedOut: false,
      processLimitHit: isRoot,
    });
  });

  it('a run that starts processes below the limit did not hit it', async () => {
    const result = await run(
      shellSpec('i=0; while [ $i -lt 20 ]; do sleep 0.2 & i=$((i+1)); done; wait; echo done', { limits }),
    );
    expect({ exitCode: result.exitCode, processLimitHit: result.processLimitHit }).toEqual({
      exitCode: 0,
      processLimitHit: false,
    });
  });
});

describe('processLimitHit reads pids.events', () => {
  it.each([
    ['no refused fork', 'max 0\n', false],
    ['refused forks', 'max 17\n', true],
    ['a newer kernel with more lines', 'max 2\nmax.imposed 2\n', true],
    ['an unparsable file (fails closed)', 'garbage\n', true],
  ] as const)('%s', (_name, events, expected) => {
    const dir = tempDir();
    writeFileSync(`${dir}/pids.events`, events);
    expect(processLimitHit({ kind: 'pidsCgroup', dir, procsFile: `${dir}/cgroup.procs` })).toBe(expected);
  });

  it('a missing pids.events fails closed; RLIMIT_NPROC alone never reports a hit', () => {
    const dir = tempDir();
    expect({
      missing: processLimitHit({ kind: 'pidsCgroup', dir, procsFile: `${dir}/cgroup.procs` }),
      rlimit: processLimitHit({ kind: 'rlimit' }),
    }).toEqual({ missing: true, rlimit: false });
  });
});

describe('withRunIntegrity', () => {
  const hit = { path: '', rule: 'processLimitHit' };
  const protectedPath = { path: 'package.json', rule: 'manifest' };

  it('a run without a hit keeps the patch verdict', () => {
    for (const integrity of [
      { verdict: 'clean' } as const,
      { verdict: 'protected', violations: [protectedPath] } as const,
    ]) {
      expect(withRunIntegrity(integrity, { processLimitHit: false })).toBe(integrity);
    }
  });

  it('a hit makes any verdict broken, keeping the patch violations after it', () => {
    expect([
      withRunIntegrity({ verdict: 'clean', accepted: [protectedPath] }, { processLimitHit: true }),
      withRunIntegrity({ verdict: 'protected', violations: [protectedPath] }, { processLimitHit: true }),
      withRunIntegrity({ verdict: 'broken', violations: [protectedPath] }, { processLimitHit: true }),
    ]).toEqual([
      { verdict: 'broken', violations: [hit] },
      { verdict: 'broken', violations: [hit, protectedPath] },
      { verdict: 'broken', violations: [hit, protectedPath] },
    ]);
  });
});
