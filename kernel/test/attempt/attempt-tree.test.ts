/**
 * Invariant: every attempt is a fresh tree at its base, under the state dir, with an unguessable
 * id that is never reused; a leftover from a dead run is removed at the next start (REDTEAM K 50);
 * `git` works inside the tree, also inside a real bubblewrap sandbox with only the mounts the
 * attempt asks for.
 *
 * Method: real repositories, a real child process that creates an attempt and exits without
 * removing it (a crash), and real `bwrap`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createAttemptTree, removeStaleAttempts, type Attempt } from '../../src/attempt/index.js';
import { git, makeRepo, snapshot, tempDir } from './fixtures.js';
import { minimalBwrapArgs } from '../sandbox/helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

async function attemptOf(repoDir: string, baseCommit: string, stateDir: string): Promise<Attempt> {
  const created = await createAttemptTree({ repoDir, baseCommit, stateDir });
  if (!created.ok) throw new Error(created.error.detail);
  return created.attempt;
}

describe('attempt trees', () => {
  it('creates a fresh copy of the base outside the repo, with a working .git', async () => {
    const dir = tempDir('attempt');
    cleanups.push(dir.cleanup);
    const repo = makeRepo(dir.path, { 'a.txt': 'a\n', 'bin/run.sh': '#!/bin/sh\n', link: Buffer.from('') });
    execFileSync('chmod', ['+x', join(repo.dir, 'bin/run.sh')]);
    git(repo.dir, ['rm', '-q', 'link']);
    execFileSync('ln', ['-s', 'a.txt', join(repo.dir, 'link')]);
    git(repo.dir, ['add', '-A']);
    git(repo.dir, ['commit', '-q', '-m', 'second']);
    const head = git(repo.dir, ['rev-parse', 'HEAD']).trim();
    // The user's uncommitted edit must not leak into the attempt.
    writeFileSync(join(repo.dir, 'a.txt'), 'dirty\n');
    const stateDir = join(dir.path, 'state');
    const attempt = await attemptOf(repo.dir, head, stateDir);
    expect(attempt.id).toMatch(/^[0-9a-f]{32}$/u);
    expect(attempt.treeDir).toBe(join(stateDir, 'attempts', attempt.id, 'tree'));
    expect(snapshot(attempt.treeDir, true)).toEqual({
      'a.txt': snapshot(join(dir.path, 'state', 'pristine', head, 'tree'))['a.txt'],
      'bin/': 'dir',
      'bin/run.sh': expect.stringMatching(/^x/u),
      link: 'link:a.txt',
    });
    expect(git(attempt.treeDir, ['status', '--porcelain'])).toBe('');
    expect(git(attempt.treeDir, ['rev-parse', 'HEAD']).trim()).toBe(head);
    expect(git(attempt.treeDir, ['show', 'HEAD~1:a.txt'])).toBe('a\n');
    writeFileSync(join(attempt.treeDir, 'a.txt'), 'changed\n');
    expect(git(attempt.treeDir, ['status', '--porcelain'])).toBe(' M a.txt\n');
    expect(git(attempt.treeDir, ['diff', '--stat']).trim()).toBe(
      'a.txt | 2 +-\n 1 file changed, 1 insertion(+), 1 deletion(-)',
    );
    attempt.remove();
    expect(existsSync(attempt.dir)).toBe(false);
  });

  it('gives distinct ids and never a shared tree across 100 creations', async () => {
    const dir = tempDir('attempt-ids');
    cleanups.push(dir.cleanup);
    const repo = makeRepo(dir.path, { 'a.txt': 'a\n' });
    const stateDir = join(dir.path, 'state');
    const attempts: Attempt[] = [];
    for (let index = 0; index < 100; index += 1) attempts.push(await attemptOf(repo.dir, repo.commit, stateDir));
    expect(new Set(attempts.map((attempt) => attempt.id)).size).toBe(100);
    expect(new Set(attempts.map((attempt) => attempt.treeDir)).size).toBe(100);
    for (const attempt of attempts) attempt.remove();
    expect(readdirSync(join(stateDir, 'attempts'))).toEqual([]);
  });

  it('removes a crashed run’s attempt at the next start and never reuses it (K 50)', async () => {
    const dir = tempDir('attempt-crash');
    cleanups.push(dir.cleanup);
    const repo = makeRepo(dir.path, { 'a.txt': 'a\n' });
    const stateDir = join(dir.path, 'state');
    const script = [
      `import { createAttemptTree } from ${JSON.stringify(join(process.cwd(), 'kernel/src/attempt/index.ts'))};`,
      `import { writeFileSync } from 'node:fs';`,
      `const made = await createAttemptTree({ repoDir: ${JSON.stringify(repo.dir)}, baseCommit: ${JSON.stringify(repo.commit)}, stateDir: ${JSON.stringify(stateDir)} });`,
      `if (!made.ok) process.exit(3);`,
      `writeFileSync(made.attempt.treeDir + '/a.txt', 'half-done work\\n');`,
      `process.stdout.write(made.attempt.id);`,
      `process.exit(0);`,
    ].join('\n');
    const scriptPath = join(dir.path, 'crash.mts');
    writeFileSync(scriptPath, script);
    const leftover = execFileSync(process.execPath, ['--import', 'tsx', scriptPath], { encoding: 'utf8' });
    expect(readdirSync(join(stateDir, 'attempts'))).toEqual([leftover]);

    const live = await attemptOf(repo.dir, repo.commit, stateDir);
    expect(removeStaleAttempts(stateDir)).toEqual([leftover]);
    expect(readdirSync(join(stateDir, 'attempts'))).toEqual([live.id]);
    const next = await attemptOf(repo.dir, repo.commit, stateDir);
    expect(next.id).not.toBe(leftover);
    expect(snapshot(next.treeDir, true)['a.txt']).toBe(snapshot(live.treeDir, true)['a.txt']);
    expect(git(next.treeDir, ['status', '--porcelain'])).toBe('');
    expect(removeStaleAttempts(stateDir)).toEqual([]);
    live.remove();
    next.remove();
  });

  it('lets git work inside a real bwrap sandbox with only the attempt’s mounts', async () => {
    const bwrap = '/usr/bin/bwrap';
    expect(existsSync(bwrap)).toBe(true);
    const dir = tempDir('attempt-bwrap');
    cleanups.push(dir.cleanup);
    const repo = makeRepo(dir.path, { 'a.txt': 'a\n', 'src/b.txt': 'b\n' });
    const attempt = await attemptOf(repo.dir, repo.commit, join(dir.path, 'state'));
    const target = '/attempt';
    const mountArgs = attempt.sandboxMounts(target).flatMap((mount) => {
      switch (mount.kind) {
        case 'bindWritable':
          return ['--bind', mount.source, mount.target];
        case 'bindReadOnly':
          return ['--ro-bind', mount.source, mount.target];
        case 'overlay':
          throw new Error('a copy-layout attempt has no overlay mount');
      }
    });
    const script =
      'echo changed > a.txt && git status --porcelain && git diff --name-only && echo x > /attempt/.git/HEAD.w';
    const output = execFileSync(
      bwrap,
      [
        ...minimalBwrapArgs,
        '--tmpfs',
        '/tmp',
        ...mountArgs,
        '--chdir',
        target,
        '--clearenv',
        '--setenv',
        'PATH',
        '/usr/bin:/bin',
        '--setenv',
        'HOME',
        '/tmp',
        '/bin/sh',
        '-c',
        script,
      ],
      { encoding: 'utf8' },
    );
    expect(output).toBe(' M a.txt\na.txt\n');
    expect(readFileSync(join(repo.dir, 'a.txt'), 'utf8')).toBe('a\n');
    expect(readFileSync(join(attempt.treeDir, 'a.txt'), 'utf8')).toBe('changed\n');
    attempt.remove();
  });
});
