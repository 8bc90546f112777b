/**
 * What the native agent pays for its net sidecar: spawning the bundled net sidecar and finishing
 * the handshake through the supervisor (median of fresh starts), and the kernel ↔ sidecar round
 * trip of one mock `net/complete` (p50 and p99 over warm calls). Needs `npm run build` first.
 */
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { BenchFigure } from '../../xtask/src/bench/figure.js';
import { bundledNetSidecarPath, SidecarSupervisor } from '../src/host/sidecar-supervisor.js';

const Plan = { starts: 10, warmupCalls: 50, calls: 1_000, spawnTargetMs: 300 } as const;

function percentile(sorted: readonly number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? Number.NaN;
}

/** Spawn + handshake time and mock completion round trips through the supervisor. */
export default async function bench(): Promise<readonly BenchFigure[]> {
  const path = bundledNetSidecarPath();
  if (!existsSync(path)) throw new Error(`${path} is missing; run npm run build first.`);
  const command = { name: 'net', command: process.execPath, args: [path] };
  const startsMs: number[] = [];
  for (let run = 0; run < Plan.starts; run++) {
    const supervisor = new SidecarSupervisor({ command });
    const started = performance.now();
    await supervisor.start();
    startsMs.push(performance.now() - started);
    await supervisor.close();
  }
  startsMs.sort((a, b) => a - b);

  const supervisor = new SidecarSupervisor({ command });
  const params = {
    provider: 'mock',
    model: 'bench',
    messages: [{ role: 'user' as const, content: 'Fix mean() so every value counts.' }],
  };
  try {
    for (let call = 0; call < Plan.warmupCalls; call++) await supervisor.call('net/complete', params);
    const roundTripsUs: number[] = [];
    for (let call = 0; call < Plan.calls; call++) {
      const started = performance.now();
      await supervisor.call('net/complete', params);
      roundTripsUs.push((performance.now() - started) * 1000);
    }
    roundTripsUs.sort((a, b) => a - b);
    return [
      {
        name: 'net sidecar spawn + handshake (median)',
        value: Math.round(percentile(startsMs, 0.5)),
        unit: 'ms',
        target: { op: '<=', value: Plan.spawnTargetMs },
      },
      { name: 'net/complete mock round trip p50', value: Math.round(percentile(roundTripsUs, 0.5)), unit: 'µs' },
      { name: 'net/complete mock round trip p99', value: Math.round(percentile(roundTripsUs, 0.99)), unit: 'µs' },
    ];
  } finally {
    await supervisor.close();
  }
}
