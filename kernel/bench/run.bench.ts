/**
 * What `crustcore run` costs on top of the verify command itself: the built CLI verifies the
 * working tree (one changed file) with `--verify true`, against running `true` bare, for generated
 * repositories of 200, 2,000 and 20,000 files. The first run per repository (which fills the
 * pristine cache for the base commit) is reported apart from the median of the warm runs. Last,
 * 10 runs at once on the 200-file repository: total wall time and the median of each run's time.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { BenchFigure } from '../../xtask/src/bench/figure.js';

const cliPath = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'crustcore.js');

/** Repetitions per repository size, chosen to keep the whole bench near two minutes at most. */
const Plan = {
  sizes: [
    { files: 200, warmRuns: 7 },
    { files: 2_000, warmRuns: 5 },
    { files: 20_000, warmRuns: 3 },
  ],
  bareRuns: 15,
  concurrentRuns: 10,
  /** The 200-file target: 1.5 times the 53 ms the run path took when it was last tuned. */
  overheadTargetMs: 80,
} as const;

const gitEnv = {
  GIT_AUTHOR_NAME: 'Bench',
  GIT_AUTHOR_EMAIL: 'bench@example.invalid',
  GIT_COMMITTER_NAME: 'Bench',
  GIT_COMMITTER_EMAIL: 'bench@example.invalid',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  PATH: '/usr/bin:/bin',
};

function git(cwd: string, args: readonly string[]): void {
  execFileSync('git', args, { cwd, env: { ...gitEnv, HOME: cwd }, stdio: 'ignore' });
}

/** A committed repository of `fileCount` small files, 100 per folder, with one file then edited. */
function makeRepo(root: string, fileCount: number): string {
  const dir = join(root, `repo-${fileCount}`);
  const perDirectory = 100;
  for (let index = 0; index < fileCount; index += 1) {
    const sub = join(dir, `pkg${Math.floor(index / perDirectory)}`);
    if (index % perDirectory === 0) mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, `file${index}.ts`), `export const value${index} = ${index};\n`);
  }
  git(dir, ['init', '-q', '-b', 'main']);
  git(dir, ['add', '-A']);
  git(dir, ['commit', '-q', '-m', 'base']);
  writeFileSync(join(dir, 'pkg0', 'file0.ts'), 'export const value0 = -1;\n');
  return dir;
}

/** Spawns `command` and resolves with its wall time in ms; a non-zero exit is an error. */
function timed(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolveTime, reject) => {
    const startedAtMs = performance.now();
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
    const stderr: Buffer[] = [];
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const elapsedMs = performance.now() - startedAtMs;
      if (code === 0) resolveTime(elapsedMs);
      else
        reject(new Error(`${command} exited with ${String(code)}: ${Buffer.concat(stderr).toString('utf8').trim()}`));
    });
  });
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((left, right) => left - right);
  return Math.round((sorted[Math.floor(sorted.length / 2)] ?? 0) * 10) / 10;
}

/** Runs the benchmark and returns its figures. */
export default async function bench(): Promise<readonly BenchFigure[]> {
  if (!existsSync(cliPath)) throw new Error(`${cliPath} is missing; build it first with 'npm run build'.`);
  const root = mkdtempSync(join(tmpdir(), 'crustcore-bench-run-'));
  const home = join(root, 'home');
  mkdirSync(home, { mode: 0o700 });
  const figures: BenchFigure[] = [];
  try {
    const bare: number[] = [];
    for (let run = 0; run < Plan.bareRuns; run += 1)
      bare.push(await timed('true', [], root, { PATH: '/usr/bin:/bin' }));
    const bareMs = median(bare);
    figures.push({ name: 'run: bare `true` (median)', value: bareMs, unit: 'ms' });

    let smallRepo: { dir: string; env: NodeJS.ProcessEnv } | null = null;
    for (const { files, warmRuns } of Plan.sizes) {
      const dir = makeRepo(root, files);
      const state = join(root, `state-${files}`);
      mkdirSync(state, { mode: 0o700 });
      const env = { PATH: '/usr/bin:/bin', HOME: home, LANG: 'C.UTF-8', CRUSTCORE_STATE_DIR: state };
      const runOnce = (): Promise<number> => timed(process.execPath, [cliPath, 'run', '--verify', 'true'], dir, env);
      const cold = await runOnce();
      const warm: number[] = [];
      for (let run = 0; run < warmRuns; run += 1) warm.push(await runOnce());
      const label = files.toLocaleString('en-US');
      figures.push({
        name: `run: first run (pristine cache cold), ${label} files`,
        value: Math.round(cold),
        unit: 'ms',
      });
      figures.push({
        name: `run: overhead over bare \`true\`, ${label} files (median of ${warmRuns})`,
        value: Math.round((median(warm) - bareMs) * 10) / 10,
        unit: 'ms',
        ...(files === 200 ? { target: { op: '<=', value: Plan.overheadTargetMs } as const } : {}),
      });
      if (files === 200) smallRepo = { dir, env };
    }

    if (smallRepo !== null) {
      const { dir, env } = smallRepo;
      const startedAtMs = performance.now();
      const each = await Promise.all(
        Array.from({ length: Plan.concurrentRuns }, () =>
          timed(process.execPath, [cliPath, 'run', '--verify', 'true'], dir, env),
        ),
      );
      figures.push({
        name: `run: ${Plan.concurrentRuns} concurrent, 200 files, total wall`,
        value: Math.round(performance.now() - startedAtMs),
        unit: 'ms',
      });
      figures.push({
        name: `run: ${Plan.concurrentRuns} concurrent, 200 files, per-run median`,
        value: median(each),
        unit: 'ms',
      });
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return figures;
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  for (const figure of await bench()) console.log(`${figure.name}: ${figure.value} ${figure.unit}`);
}
