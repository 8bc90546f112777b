/**
 * The kernel's RPC codec against real sidecar child processes: one written with vscode-jsonrpc and
 * one served by the kernel codec itself (bundled with esbuild into a temp dir so it starts like a
 * shipped sidecar). Figures: sequential round-trip latency p50/p99 of `$/ping` and of a validated
 * `net/complete`, pipelined throughput with a window of 256 calls in flight, spawn + handshake
 * time, and the minified size of the protocol package as the kernel bundles it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { build } from 'esbuild';
import type { ParamsOf } from '@crustcore/protocol';
import type { BenchFigure } from '../../xtask/src/bench/figure.js';
import type { SidecarCommand, SidecarSession } from '../../kernel/src/rpc/sidecar-process.js';
import { startSidecar } from '../../kernel/src/rpc/sidecar-process.js';

const repoRoot = join(import.meta.dirname, '..', '..');
const fixtures = join(repoRoot, 'test', 'parity', 'fixtures');
const roundTrips = 3_000;
const pipelinedCalls = 30_000;
const window = 256;
const spawns = 10;

function percentile(sorted: readonly number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? Number.NaN;
}

async function latencies(run: () => Promise<unknown>): Promise<{ p50: number; p99: number }> {
  for (let warm = 0; warm < 300; warm++) await run();
  const samples: number[] = [];
  for (let index = 0; index < roundTrips; index++) {
    const start = performance.now();
    await run();
    samples.push((performance.now() - start) * 1000);
  }
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 0.5), p99: percentile(samples, 0.99) };
}

async function throughput(session: SidecarSession): Promise<number> {
  const start = performance.now();
  let sent = 0;
  const lane = async (): Promise<void> => {
    while (sent < pipelinedCalls) {
      sent++;
      await session.call('$/ping', undefined);
    }
  };
  await Promise.all(Array.from({ length: window }, lane));
  return pipelinedCalls / ((performance.now() - start) / 1000);
}

async function spawnAndHandshakeMs(command: SidecarCommand): Promise<number> {
  const samples: number[] = [];
  for (let index = 0; index < spawns; index++) {
    const start = performance.now();
    const session = await startSidecar(command);
    samples.push(performance.now() - start);
    await session.shutdown();
  }
  samples.sort((a, b) => a - b);
  return percentile(samples, 0.5);
}

async function measure(label: string, command: SidecarCommand): Promise<BenchFigure[]> {
  const session = await startSidecar(command);
  const complete: ParamsOf<'net/complete'> = {
    provider: 'mock',
    model: 'bench',
    messages: [{ role: 'user', content: 'echo:hello' }],
  };
  try {
    const ping = await latencies(() => session.call('$/ping', undefined));
    const call = await latencies(() => session.call('net/complete', complete));
    const rate = await throughput(session);
    return [
      { name: `${label}: $/ping round trip p50`, value: ping.p50, unit: 'µs', target: { op: '<=', value: 100 } },
      { name: `${label}: $/ping round trip p99`, value: ping.p99, unit: 'µs', target: { op: '<=', value: 1000 } },
      { name: `${label}: net/complete round trip p50`, value: call.p50, unit: 'µs' },
      { name: `${label}: net/complete round trip p99`, value: call.p99, unit: 'µs' },
      {
        name: `${label}: pipelined $/ping throughput`,
        value: rate,
        unit: 'msgs/s',
        target: { op: '>=', value: 20_000 },
      },
      {
        name: `${label}: spawn + handshake p50`,
        value: await spawnAndHandshakeMs(command),
        unit: 'ms',
        target: { op: '<=', value: 300 },
      },
    ];
  } finally {
    session.kill();
  }
}

/** Runs the figures; keeps well under 20 s on two cores. */
export default async function bench(): Promise<readonly BenchFigure[]> {
  const workDirectory = mkdtempSync(join(tmpdir(), 'crustcore-rpc-bench-'));
  try {
    const kernelSidecar = join(workDirectory, 'kernel-codec-sidecar.mjs');
    await build({
      entryPoints: [join(fixtures, 'kernel-codec-sidecar.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile: kernelSidecar,
      logLevel: 'silent',
    });
    const protocolBundle = await build({
      entryPoints: [join(repoRoot, 'protocol', 'src', 'index.ts')],
      bundle: true,
      minify: true,
      format: 'esm',
      write: false,
      logLevel: 'silent',
    });
    const protocolKiB = (protocolBundle.outputFiles[0]?.contents.length ?? Number.NaN) / 1024;
    const node = process.execPath;
    return [
      ...(await measure('vscode-jsonrpc sidecar', {
        name: 'vscode',
        command: node,
        args: [join(fixtures, 'vscode-sidecar.mjs')],
      })),
      ...(await measure('kernel-codec sidecar', { name: 'kernel-codec', command: node, args: [kernelSidecar] })),
      { name: 'protocol package, minified ESM', value: protocolKiB, unit: 'KiB', target: { op: '<=', value: 150 } },
    ];
  } finally {
    rmSync(workDirectory, { recursive: true, force: true });
  }
}
