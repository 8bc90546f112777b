import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { BenchFigure } from '../src/bench/figure.js';
import { bundleNamed } from '../src/bundles.js';
import { loadSizeBudget } from '../src/gates/size-budget.js';
import { repoRoot } from '../src/repo-root.js';

/** How many timed runs each command gets, after the warm-up runs. */
const Limits = { runs: 15, warmUpRuns: 2, ratioMax: 1.3, bundleKibTarget: 150 } as const;

function timeOnceMs(args: readonly string[]): number {
  const startMs = performance.now();
  const run = spawnSync(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  const elapsedMs = performance.now() - startMs;
  if (run.status !== 0) {
    throw new Error(
      `node ${args.join(' ')} exited ${run.status}: ${run.stderr.toString().trim()}; run \`npm run build\`.`,
    );
  }
  return elapsedMs;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/** Nano bundle size against its budget, and `crustcore version` cold start against bare `node`. */
export default async function bench(): Promise<readonly BenchFigure[]> {
  const nano = bundleNamed('nano');
  const bundle = join(repoRoot, nano.outFile);
  const kibMax = loadSizeBudget(repoRoot).bundles[nano.name]?.kibMax ?? Number.NaN;
  const crustcore = [bundle, 'version'];
  const bare = ['-e', '0'];

  for (let run = 0; run < Limits.warmUpRuns; run += 1) {
    timeOnceMs(crustcore);
    timeOnceMs(bare);
  }
  // Interleaved, so drift in machine load hits both commands alike.
  const crustcoreMs: number[] = [];
  const bareMs: number[] = [];
  for (let run = 0; run < Limits.runs; run += 1) {
    crustcoreMs.push(timeOnceMs(crustcore));
    bareMs.push(timeOnceMs(bare));
  }
  const crustcoreMedianMs = median(crustcoreMs);
  const bareMedianMs = median(bareMs);

  return [
    // The figure the kernel aims at; the size gate's budget (size-budget.json) is the hard ceiling.
    {
      name: 'nano bundle size',
      value: statSync(bundle).size / 1024,
      unit: 'KiB',
      target: { op: '<=', value: Limits.bundleKibTarget },
    },
    { name: 'nano bundle budget (size gate)', value: kibMax, unit: 'KiB' },
    { name: 'crustcore version cold start (median)', value: crustcoreMedianMs, unit: 'ms' },
    { name: 'node -e 0 cold start (median)', value: bareMedianMs, unit: 'ms' },
    {
      name: 'cold start ratio crustcore / node',
      value: crustcoreMedianMs / bareMedianMs,
      unit: 'x',
      target: { op: '<=', value: Limits.ratioMax },
    },
  ];
}
