/**
 * Invariant: no kernel git call runs repo-controlled code (REDTEAM B 9–13), and nothing the
 * attempt module does changes the user's checkout or its `.git` by a single byte.
 *
 * Method: a real repository armed with every vector at once (fsmonitor command, hooks and a
 * committed `core.hooksPath`, textconv, required clean/smudge filters, `diff.external`, and
 * `GIT_EXTERNAL_DIFF` in the caller's environment). Each evil program writes a marker file. The
 * test creates attempts, derives patches (from a tree and from the working tree), applies a patch,
 * then asserts no marker exists and every file under the repo hashes the same as before.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  applyPatchToTree,
  createAttemptTree,
  derivePatch,
  deriveWorkingTreePatch,
  gitArguments,
  gitEnvironment,
  HardeningConfig,
  resolveBase,
  runGit,
} from '../../src/attempt/index.js';
import { git, makeRepo, snapshot, tempDir, writeFiles } from './fixtures.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function evilScript(markers: string, name: string): string {
  return `#!/bin/sh\ntouch '${join(markers, name)}'\ncat\n`;
}

describe('hardened git', () => {
  it('builds the environment from nothing and the argv with every override', () => {
    process.env['GIT_EXTERNAL_DIFF'] = '/bin/false';
    process.env['GIT_DIR'] = '/nowhere';
    try {
      const env = gitEnvironment('/tmp/index');
      expect(Object.keys(env).sort()).toEqual(
        [
          'PATH',
          'HOME',
          'XDG_CONFIG_HOME',
          'LC_ALL',
          'GIT_CONFIG_NOSYSTEM',
          'GIT_CONFIG_GLOBAL',
          'GIT_TERMINAL_PROMPT',
          'GIT_ASKPASS',
          'SSH_ASKPASS',
          'GIT_PAGER',
          'GIT_ATTR_NOSYSTEM',
          'GIT_OPTIONAL_LOCKS',
          'GIT_NO_REPLACE_OBJECTS',
          'GIT_PROTOCOL_FROM_USER',
          'GIT_INDEX_FILE',
        ].sort(),
      );
      expect(readdirSync(env['HOME'] ?? '')).toEqual([]);
      expect(env['GIT_CONFIG_GLOBAL']).toBe('/dev/null');
      expect(env['GIT_OPTIONAL_LOCKS']).toBe('0');
    } finally {
      delete process.env['GIT_EXTERNAL_DIFF'];
      delete process.env['GIT_DIR'];
    }
    const argv = gitArguments({ gitDir: '/g', args: ['status'] });
    expect(argv.slice(0, 2)).toEqual(['--no-pager', '--no-replace-objects']);
    for (const entry of [
      'core.hooksPath=/dev/null',
      'core.fsmonitor=false',
      'diff.external=',
      'protocol.allow=never',
    ]) {
      expect(HardeningConfig).toContain(entry);
      expect(argv).toContain(entry);
    }
    expect(argv.slice(-2)).toEqual(['--git-dir=/g', 'status']);
  });

  it('reports typed errors', async () => {
    const dir = tempDir('git-errors');
    cleanups.push(dir.cleanup);
    const notRepo = await resolveBase(dir.path, 'HEAD');
    expect(notRepo).toEqual({ ok: false, error: { code: 'notAGitRepo', detail: expect.any(String) } });
    const repo = makeRepo(dir.path, { 'a.txt': 'a\n' });
    expect(await resolveBase(repo.dir, 'no-such-branch')).toEqual({
      ok: false,
      error: { code: 'unknownRevision', detail: 'base revision no-such-branch does not name a commit' },
    });
    expect(await resolveBase(repo.dir, '--output=/tmp/x')).toEqual({
      ok: false,
      error: { code: 'unknownRevision', detail: 'base revision "--output=/tmp/x" is not valid' },
    });
    expect(await resolveBase(repo.dir, 'main')).toEqual({ ok: true, commit: repo.commit });
    const failed = await runGit({ gitDir: join(repo.dir, '.git'), args: ['cat-file', '-p', 'deadbeef'] });
    expect(failed.ok).toBe(false);
  });

  it('treats only the named non-zero exit statuses as success', async () => {
    const dir = tempDir('git-exit');
    cleanups.push(dir.cleanup);
    const repo = makeRepo(dir.path, { 'a.txt': 'a\n', '.gitignore': '*.log\n' });
    const call = { gitDir: join(repo.dir, '.git'), workTree: repo.dir, args: ['check-ignore', '-z', '--stdin'] };
    const none = Buffer.from('a.txt\0');
    expect(await runGit({ ...call, stdin: none })).toEqual({
      ok: false,
      error: { code: 'gitFailed', detail: expect.stringMatching(/^git check-ignore failed: /u) },
    });
    expect(await runGit({ ...call, stdin: none, exitCodesOk: [1] })).toEqual({ ok: true, stdout: Buffer.alloc(0) });
    expect(await runGit({ ...call, stdin: Buffer.from('x.log\0a.txt\0'), exitCodesOk: [1] })).toEqual({
      ok: true,
      stdout: Buffer.from('x.log\0'),
    });
    // A fatal error (status 128) stays a failure.
    expect((await runGit({ ...call, args: ['check-ignore', '--no-such-option'], exitCodesOk: [1] })).ok).toBe(false);
  });

  it('runs no hook, fsmonitor, textconv, filter or external diff, and leaves the repo byte-identical', async () => {
    const dir = tempDir('git-evil');
    cleanups.push(dir.cleanup);
    const markers = join(dir.path, 'markers');
    mkdirSync(markers);
    const repo = makeRepo(dir.path, {
      'a.txt': 'plain text\n',
      'src/main.js': 'console.log(1);\n',
      '.gitattributes': '* diff=evil\n*.txt filter=evil\n',
      'hooks/post-checkout': evilScript(markers, 'committed-hook'),
      'evil.sh': evilScript(markers, 'evil-sh'),
    });
    chmodSync(join(repo.dir, 'hooks/post-checkout'), 0o755);
    chmodSync(join(repo.dir, 'evil.sh'), 0o755);
    const gitDir = join(repo.dir, '.git');
    for (const name of ['post-checkout', 'pre-commit', 'post-index-change', 'reference-transaction', 'pre-auto-gc']) {
      writeFileSync(join(gitDir, 'hooks', name), evilScript(markers, `hook-${name}`), { mode: 0o755 });
    }
    const program = (name: string): string => {
      const path = join(dir.path, `${name}.sh`);
      writeFileSync(path, evilScript(markers, name), { mode: 0o755 });
      return path;
    };
    git(repo.dir, ['config', 'core.fsmonitor', program('fsmonitor')]);
    git(repo.dir, ['config', 'diff.evil.textconv', program('textconv')]);
    git(repo.dir, ['config', 'filter.evil.clean', program('clean')]);
    git(repo.dir, ['config', 'filter.evil.smudge', program('smudge')]);
    git(repo.dir, ['config', 'filter.evil.process', program('process')]);
    git(repo.dir, ['config', 'filter.evil.required', 'true']);
    git(repo.dir, ['config', 'diff.external', program('external')]);
    git(repo.dir, ['config', 'core.pager', program('pager')]);
    git(repo.dir, ['config', 'core.hooksPath', 'hooks']);
    writeFileSync(join(gitDir, 'info', 'attributes'), '*.js filter=evil diff=evil\n');
    // Uncommitted changes, so the working-tree derivation has something to read.
    writeFiles(repo.dir, { 'a.txt': 'changed text\n', 'untracked.txt': 'new\n' });
    const before = snapshot(repo.dir);

    process.env['GIT_EXTERNAL_DIFF'] = program('env-external');
    process.env['GIT_CONFIG_PARAMETERS'] = `'core.fsmonitor=${program('env-fsmonitor')}'`;
    try {
      const stateDir = join(dir.path, 'state');
      const created = await createAttemptTree({ repoDir: repo.dir, baseCommit: repo.commit, stateDir });
      if (!created.ok) throw new Error(created.error.detail);
      writeFiles(created.attempt.treeDir, { 'a.txt': 'worker text\n', 'src/main.js': 'console.log(2);\n' });
      const derived = await derivePatch(created.attempt);
      if (!derived.ok) throw new Error(JSON.stringify(derived.error));
      expect(derived.patch.files).toEqual([
        { path: 'a.txt', status: 'modified', binary: false },
        { path: 'src/main.js', status: 'modified', binary: false },
      ]);
      const fresh = await createAttemptTree({ repoDir: repo.dir, baseCommit: repo.commit, stateDir });
      if (!fresh.ok) throw new Error(fresh.error.detail);
      const applied = await applyPatchToTree(fresh.attempt, derived.patch.patch);
      expect(applied.ok && applied.patch.digest).toBe(derived.patch.digest);
      const working = await deriveWorkingTreePatch({ repoDir: repo.dir, baseCommit: repo.commit, stateDir });
      if (!working.ok) throw new Error(JSON.stringify(working.error));
      expect(working.patch.files).toEqual([
        { path: 'a.txt', status: 'modified', binary: false },
        { path: 'evil.sh', status: 'modeChanged', binary: false },
        { path: 'hooks/post-checkout', status: 'modeChanged', binary: false },
        { path: 'untracked.txt', status: 'added', binary: false },
      ]);
      // The attempt's own git (as a worker or verify would use it) sees the tree as clean.
      expect(git(fresh.attempt.treeDir, ['status', '--porcelain'], { GIT_CONFIG_GLOBAL: '/dev/null' })).not.toContain(
        'smudge',
      );
      created.attempt.remove();
      fresh.attempt.remove();
    } finally {
      delete process.env['GIT_EXTERNAL_DIFF'];
      delete process.env['GIT_CONFIG_PARAMETERS'];
    }
    expect(readdirSync(markers)).toEqual([]);
    expect(snapshot(repo.dir)).toEqual(before);
    expect(existsSync(join(gitDir, 'index.lock'))).toBe(false);
  });
});
