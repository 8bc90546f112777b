/**
 * The net sidecar as the kernel sees it: spawn + `initialize` handshake time of the bundled
 * sidecar (one ESM file run by plain `node`, as shipped), and the round-trip latency of a mock
 * `net/complete` through the kernel's own codec, validated on both ends.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { build } from 'esbuild';
import type { ParamsOf } from '@crustcore/protocol';
import type { BenchFigure } from '../../../xtask/src/bench/figure.js';
import type { SidecarCommand } from '../../../kernel/src/rpc/sidecar-process.js';
import { startSidecar } from '../../../kernel/src/rpc/sidecar-process.js';

const repoRoot = join(import.meta.dirname, '..', '..', '..');
const spawns = 10;
const roundTrips = 2_000;
const warmups = 200;

function percentile(sorted: readonly number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? Number.NaN;
}

/** Spawn + handshake times, and mock completion round trips, against the bundled net sidecar. */
export default async function bench(): Promise<readonly BenchFigure[]> {
  const directory = mkdtempSync(join(tmpdir(), 'crustcore-net-bench-'));
  try {
    const outfile = join(directory, 'net.js');
    await build({
      entryPoints: [join(repoRoot, 'sidecars', 'net', 'src', 'main.ts')],
      outfile,
      bundle: true,
      minify: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      logLevel: 'silent',
    });
    const command: SidecarCommand = { name: 'net', command: process.execPath, args: [outfile, '--offline'] };

    const handshakes: number[] = [];
    for (let index = 0; index < spawns; index++) {
      const started = performance.now();
      const session = await startSidecar(command);
      handshakes.push(performance.now() - started);
      await session.shutdown();
    }
    handshakes.sort((left, right) => left - right);

    const session = await startSidecar(command);
    const params: ParamsOf<'net/complete'> = {
      provider: 'mock',
      model: 'bench',
      messages: [
        { role: 'system', content: 'You are a careful coding agent.' },
        { role: 'user', content: 'Fix the failing test in src/sum.ts.' },
      ],
    };
    for (let index = 0; index < warmups; index++) await session.call('net/complete', params);
    const samples: number[] = [];
    for (let index = 0; index < roundTrips; index++) {
      const started = performance.now();
      await session.call('net/complete', params);
      samples.push((performance.now() - started) * 1000);
    }
    await session.shutdown();
    samples.sort((left, right) => left - right);

    return [
      {
        name: 'spawn + handshake (median)',
        value: percentile(handshakes, 0.5),
        unit: 'ms',
        target: { op: '<=', value: 300 },
      },
      { name: 'spawn + handshake (max)', value: handshakes.at(-1) ?? Number.NaN, unit: 'ms' },
      { name: 'mock net/complete round trip p50', value: percentile(samples, 0.5), unit: 'µs' },
      { name: 'mock net/complete round trip p99', value: percentile(samples, 0.99), unit: 'µs' },
    ];
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}
