/**
 * Invariant: a FIFO, socket or device node among the user's uncommitted paths (untracked and not
 * ignored, or standing where a tracked file was) refuses the working-tree derivation with
 * `specialFile`, exactly as one made by a worker does (DESIGN §5, REDTEAM C 19). Git never lists
 * such a file, so the kernel finds it itself; it never opens one (a FIFO would block the read).
 * Ignored special files, and those git does not look at (`.git`, nested repositories), change
 * nothing.
 *
 * Method: real repositories in temp dirs, real FIFOs from `mkfifo` and a real listening Unix
 * socket. A derivation that opened a FIFO would hang and fail the test by its timeout.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { deriveWorkingTreePatch } from '../../src/attempt/index.js';
import { git, makeRepo, snapshot, tempDir, writeFiles } from './fixtures.js';

const baseFiles = {
  'notes.txt': 'draft\n',
  'src/index.js': 'module.exports = 1;\n',
  '.gitignore': 'build/\n*.sock\n*.log\n',
};

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function setup(): { root: string; repo: { dir: string; commit: string } } {
  const dir = tempDir('working-special');
  cleanups.push(dir.cleanup);
  return { root: dir.path, repo: makeRepo(dir.path, baseFiles) };
}

function mkfifo(path: string): void {
  mkdirSync(join(path, '..'), { recursive: true });
  execFileSync('mkfifo', [path]);
}

async function listenOn(path: string): Promise<void> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(path, resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
}

function derive(root: string, repo: { dir: string; commit: string }): ReturnType<typeof deriveWorkingTreePatch> {
  return deriveWorkingTreePatch({ repoDir: repo.dir, baseCommit: repo.commit, stateDir: join(root, 'state') });
}

describe('deriveWorkingTreePatch refuses special files in the checkout', () => {
  const refused: [string, (repoDir: string) => Promise<void> | void, string][] = [
    ['an untracked FIFO at the top level (C 19)', (repoDir) => mkfifo(join(repoDir, 'pipe')), 'pipe'],
    [
      'an untracked FIFO in an untracked directory',
      (repoDir) => {
        writeFiles(repoDir, { 'fresh/readme.md': 'x\n' });
        mkfifo(join(repoDir, 'fresh/pipe'));
      },
      'fresh/pipe',
    ],
    [
      'an untracked FIFO beside ignored files only (git calls the directory ignored)',
      (repoDir) => {
        writeFiles(repoDir, { 'logs/run.log': 'x\n' });
        mkfifo(join(repoDir, 'logs/pipe'));
      },
      'logs/pipe',
    ],
    ['an untracked FIFO in a tracked directory', (repoDir) => mkfifo(join(repoDir, 'src/pipe')), 'src/pipe'],
    [
      'a FIFO standing where a tracked file was',
      (repoDir) => {
        rmSync(join(repoDir, 'src/index.js'));
        mkfifo(join(repoDir, 'src/index.js'));
      },
      'src/index.js',
    ],
    ['a FIFO whose name looks like pathspec magic', (repoDir) => mkfifo(join(repoDir, ':(glob)pipe')), ':(glob)pipe'],
    ['a listening Unix socket', (repoDir) => listenOn(join(repoDir, 'dev.socket')), 'dev.socket'],
  ];
  for (const [name, arrange, path] of refused) {
    it(`refuses ${name}`, async () => {
      const { root, repo } = setup();
      writeFiles(repo.dir, { 'notes.txt': 'fixed\n' });
      await arrange(repo.dir);
      const before = snapshot(repo.dir);
      expect(await derive(root, repo)).toEqual({ ok: false, error: { code: 'specialFile', path } });
      expect(snapshot(repo.dir)).toEqual(before);
    });
  }

  it('derives the other changes when every special file is ignored or outside git’s view', async () => {
    const { root, repo } = setup();
    writeFiles(repo.dir, { 'notes.txt': 'fixed\n', 'build/out.js': 'x\n' });
    mkfifo(join(repo.dir, 'build/pipe'));
    mkfifo(join(repo.dir, 'build/deep/er/pipe'));
    mkfifo(join(repo.dir, 'server.sock'));
    mkfifo(join(repo.dir, 'src/debug.log'));
    await listenOn(join(repo.dir, 'src/agent.sock'));
    // The user's own git dir and a nested repository's files are not paths of this checkout.
    mkfifo(join(repo.dir, '.git', 'daemon.ipc'));
    const nested = join(repo.dir, 'vendor/lib');
    mkdirSync(nested, { recursive: true });
    git(nested, ['init', '-q']);
    mkfifo(join(nested, 'pipe'));
    const before = snapshot(repo.dir);
    const derived = await derive(root, repo);
    if (!derived.ok) throw new Error(JSON.stringify(derived.error));
    expect(derived.patch.files).toEqual([{ path: 'notes.txt', status: 'modified', binary: false }]);
    expect(derived.patch.leftOut).toEqual(['vendor/lib/']);
    expect(snapshot(repo.dir)).toEqual(before);
  });

  it('refuses a FIFO under a directory that negation patterns keep visible', async () => {
    const { root, repo } = setup();
    writeFiles(repo.dir, { '.gitignore': 'cache/*\n!cache/keep.sock\n*.sock\n!keep.sock\n' });
    mkfifo(join(repo.dir, 'cache/drop.sock'));
    mkfifo(join(repo.dir, 'cache/keep.sock'));
    expect(await derive(root, repo)).toEqual({ ok: false, error: { code: 'specialFile', path: 'cache/keep.sock' } });
  });
});
