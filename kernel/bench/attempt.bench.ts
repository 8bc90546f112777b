/**
 * Attempt-tree setup time for repositories of 200, 2,000 and 20,000 files: the one-time pristine
 * materialisation per base commit, the per-attempt setup after it in both layouts (a copy of the
 * pristine; an empty upper layer over it), and `git worktree add` for comparison. Repositories are generated once in a temp dir and removed afterwards.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { BenchFigure } from '../../xtask/src/bench/figure.js';
import { createAttemptTree } from '../src/attempt/index.js';

const identity = {
  GIT_AUTHOR_NAME: 'Bench',
  GIT_AUTHOR_EMAIL: 'bench@example.invalid',
  GIT_COMMITTER_NAME: 'Bench',
  GIT_COMMITTER_EMAIL: 'bench@example.invalid',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  PATH: '/usr/bin:/bin',
};

function git(cwd: string, args: readonly string[]): string {
  return execFileSync('git', args, { cwd, env: { ...identity, HOME: cwd }, encoding: 'utf8' });
}

function makeRepo(root: string, fileCount: number): { dir: string; commit: string } {
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
  return { dir, commit: git(dir, ['rev-parse', 'HEAD']).trim() };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((left, right) => left - right);
  return Math.round((sorted[Math.floor(sorted.length / 2)] ?? 0) * 10) / 10;
}

/** Runs the benchmark and returns its figures. */
export default async function bench(): Promise<readonly BenchFigure[]> {
  const root = mkdtempSync(join(tmpdir(), 'crustcore-bench-attempt-'));
  const figures: BenchFigure[] = [];
  try {
    for (const fileCount of [200, 2_000, 20_000]) {
      const repo = makeRepo(root, fileCount);
      const stateDir = join(root, `state-${fileCount}`);
      let started = performance.now();
      const first = await createAttemptTree({ repoDir: repo.dir, baseCommit: repo.commit, stateDir });
      if (!first.ok) throw new Error(first.error.detail);
      figures.push({
        name: `pristine materialisation, ${fileCount} files`,
        value: Math.round(performance.now() - started),
        unit: 'ms',
      });
      first.attempt.remove();

      const samples: number[] = [];
      const runs = fileCount >= 20_000 ? 2 : 5;
      for (let run = 0; run < runs; run += 1) {
        started = performance.now();
        const created = await createAttemptTree({ repoDir: repo.dir, baseCommit: repo.commit, stateDir });
        samples.push(performance.now() - started);
        if (!created.ok) throw new Error(created.error.detail);
        created.attempt.remove();
      }
      figures.push({
        name: `attempt setup (copy of pristine), ${fileCount} files`,
        value: median(samples),
        unit: 'ms',
      });

      const overlays: number[] = [];
      for (let run = 0; run < 5; run += 1) {
        started = performance.now();
        const created = await createAttemptTree({
          repoDir: repo.dir,
          baseCommit: repo.commit,
          stateDir,
          layout: 'overlay',
        });
        overlays.push(performance.now() - started);
        if (!created.ok) throw new Error(created.error.detail);
        if (created.attempt.layout !== 'overlay') throw new Error('the overlay layout is not available here');
        created.attempt.remove();
      }
      figures.push({
        name: `attempt setup (overlay over pristine), ${fileCount} files`,
        value: median(overlays),
        unit: 'ms',
        ...(fileCount === 20_000 ? { target: { op: '<=', value: 30 } as const } : {}),
      });

      const worktrees: number[] = [];
      for (let run = 0; run < (fileCount >= 20_000 ? 1 : 2); run += 1) {
        const path = join(root, `worktree-${fileCount}-${run}`);
        started = performance.now();
        git(repo.dir, ['worktree', 'add', '-q', '--detach', path, repo.commit]);
        worktrees.push(performance.now() - started);
      }
      figures.push({ name: `git worktree add (comparison), ${fileCount} files`, value: median(worktrees), unit: 'ms' });
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return figures;
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  for (const figure of await bench()) console.log(`${figure.name}: ${figure.value} ${figure.unit}`);
}
