/**
 * Sandbox costs: the enforcement probe run afresh and taken from its on-disk cache, starting
 * `true` bare vs in the sandbox (median ms), and how long after the timeout fires the whole
 * process tree is gone (median ms; the target is 100 ms).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { defaultSandboxEnv, defaultSandboxLimits, probeBackend, runSandboxed } from '../src/sandbox/index.js';
import type { SandboxSpec } from '../src/sandbox/index.js';
import { findTool } from '../src/sandbox/backend.js';

type BenchFigure = {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly target?: { readonly op: '<=' | '>='; readonly value: number };
};

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round((sorted[Math.floor(sorted.length / 2)] ?? 0) * 10) / 10;
}

function spec(argv: readonly string[], timeoutMs: number): SandboxSpec {
  return {
    backend: 'bwrap',
    argv,
    cwd: '/tmp',
    mounts: [],
    env: defaultSandboxEnv({ path: '/usr/bin:/bin' }),
    network: false,
    timeoutMs,
    outputBytesMax: 64 * 1024,
    limits: defaultSandboxLimits,
  };
}

/** Runs the sandbox benchmarks. */
export default async function bench(): Promise<readonly BenchFigure[]> {
  const cacheDir = mkdtempSync(join(tmpdir(), 'crustcore-bench-probe-'));
  let probeMs: number;
  let cachedProbeMs: number;
  try {
    let startedAtMs = performance.now();
    const probe = await probeBackend('bwrap', undefined, { cacheDir });
    probeMs = performance.now() - startedAtMs;
    if (!probe.ok) throw new Error(`bwrap probe failed: ${probe.detail}`);
    // Another path to the same binary misses the per-process cache, as a new process would.
    const bwrap = findTool('bwrap');
    if (bwrap === null) throw new Error('bwrap not found');
    const link = join(cacheDir, 'bwrap-link');
    symlinkSync(bwrap, link);
    startedAtMs = performance.now();
    const cached = await probeBackend('bwrap', link, { cacheDir });
    cachedProbeMs = performance.now() - startedAtMs;
    if (!cached.ok) throw new Error(`cached bwrap probe failed: ${cached.detail}`);
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
  const bare: number[] = [];
  for (let index = 0; index < 20; index += 1) {
    const startedAtMs = performance.now();
    spawnSync('/bin/true');
    bare.push(performance.now() - startedAtMs);
  }
  const sandboxed: number[] = [];
  for (let index = 0; index < 20; index += 1) {
    const startedAtMs = performance.now();
    const outcome = await runSandboxed(spec(['/bin/true'], 10_000));
    if (!outcome.ok) throw new Error(outcome.error.detail);
    sandboxed.push(performance.now() - startedAtMs);
  }
  const killToDead: number[] = [];
  const timeoutMs = 400;
  for (let index = 0; index < 7; index += 1) {
    const startedAtMs = performance.now();
    const outcome = await runSandboxed(
      spec(
        ['/bin/sh', '-c', "trap '' TERM; sleep 1000000 & setsid sleep 1000000 & while :; do sleep 1; done"],
        timeoutMs,
      ),
    );
    if (!outcome.ok || !outcome.result.timedOut) throw new Error('the kill benchmark did not time out');
    killToDead.push(performance.now() - startedAtMs - timeoutMs);
  }
  return [
    { name: 'sandbox: enforcement probe, first run', value: Math.round(probeMs * 10) / 10, unit: 'ms' },
    { name: 'sandbox: enforcement probe, cached on disk', value: Math.round(cachedProbeMs * 10) / 10, unit: 'ms' },
    { name: 'sandbox: bare true (median)', value: median(bare), unit: 'ms' },
    { name: 'sandbox: sandboxed true (median)', value: median(sandboxed), unit: 'ms' },
    {
      name: 'sandbox: timeout to tree dead (median)',
      value: median(killToDead),
      unit: 'ms',
      target: { op: '<=', value: 100 },
    },
  ];
}
