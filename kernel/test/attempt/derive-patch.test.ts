/**
 * Invariant: the kernel derives every patch itself from its own view of the base, and refuses a
 * change that escapes the tree, links outside it, touches git metadata or a submodule, or holds
 * a special file (REDTEAM B 14–15, C 16–19). A derived patch applied to the base reproduces the
 * tree exactly, binary files included.
 *
 * Method: real repositories and attempt trees changed on disk the way a worker would; a
 * fast-check property over small random file sets checks the round trip through `applyPatchToTree`.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  applyPatchToTree,
  checkPatchHeaders,
  createAttemptTree,
  derivePatch,
  deriveWorkingTreePatch,
  manifestChanges,
  type Attempt,
} from '../../src/attempt/index.js';
import { git, makeRepo, snapshot, tempDir, writeFiles } from './fixtures.js';

const base = {
  'README.md': '# readme\n',
  'src/index.ts': 'export const a = 1;\n',
  'src/util/math.ts': 'export const add = (x: number, y: number) => x + y;\n',
  'assets/logo.bin': new Uint8Array([0, 1, 2, 3, 0, 255, 254]),
  'package.json': '{ "name": "x", "scripts": { "test": "vitest run" } }\n',
};

let dir: ReturnType<typeof tempDir>;
let repo: { dir: string; commit: string };
let stateDir: string;
const live: Attempt[] = [];

beforeAll(() => {
  dir = tempDir('derive');
  repo = makeRepo(dir.path, base);
  stateDir = join(dir.path, 'state');
});
afterEach(() => {
  for (const attempt of live.splice(0)) attempt.remove();
});
afterAll(() => dir.cleanup());

async function fresh(): Promise<Attempt> {
  const created = await createAttemptTree({ repoDir: repo.dir, baseCommit: repo.commit, stateDir });
  if (!created.ok) throw new Error(created.error.detail);
  live.push(created.attempt);
  return created.attempt;
}

describe('derivePatch', () => {
  it('derives a binary-safe patch with statuses, and an empty one for an untouched tree', async () => {
    const untouched = await derivePatch(await fresh());
    expect(untouched.ok && untouched.patch.files).toEqual([]);
    expect(untouched.ok && untouched.patch.bytes).toBe(0);

    const attempt = await fresh();
    writeFiles(attempt.treeDir, {
      'src/index.ts': 'export const a = 2;\n',
      'assets/logo.bin': new Uint8Array([9, 0, 9, 0, 128]),
      'docs/new.md': 'new\n',
      'package.json': '{ "name": "x", "scripts": { "test": "vitest run" }, "dependencies": { "y": "1" } }\n',
    });
    unlinkSync(join(attempt.treeDir, 'README.md'));
    execFileSync('chmod', ['+x', join(attempt.treeDir, 'src/util/math.ts')]);
    const derived = await derivePatch(attempt);
    if (!derived.ok) throw new Error(JSON.stringify(derived.error));
    expect(derived.patch.files).toEqual([
      { path: 'README.md', status: 'deleted', binary: false },
      { path: 'assets/logo.bin', status: 'modified', binary: true },
      { path: 'docs/new.md', status: 'added', binary: false },
      { path: 'package.json', status: 'modified', binary: false },
      { path: 'src/index.ts', status: 'modified', binary: false },
      { path: 'src/util/math.ts', status: 'modeChanged', binary: false },
    ]);
    expect(derived.patch.bytes).toBe(derived.patch.patch.length);
    expect(derived.patch.digest).toMatch(/^[0-9a-f]{64}$/u);
    expect(Buffer.from(derived.patch.patch).toString()).toContain('GIT binary patch');
    expect(manifestChanges(derived.patch.files)).toEqual(['package.json']);

    // The kernel's patch applies to the base and reproduces the tree exactly.
    const target = await fresh();
    const applied = await applyPatchToTree(target, derived.patch.patch);
    expect(applied.ok && applied.patch.digest).toBe(derived.patch.digest);
    expect(snapshot(target.treeDir, true)).toEqual(snapshot(attempt.treeDir, true));
  });

  it('ignores what a worker did to the tree’s .git (B 15)', async () => {
    const attempt = await fresh();
    writeFileSync(join(attempt.treeDir, 'src/index.ts'), 'export const a = 3;\n');
    const expected = await derivePatch(attempt);
    // Point HEAD and the object store elsewhere, then replace .git with a gitdir file.
    writeFileSync(join(attempt.treeDir, '.git', 'HEAD'), '0000000000000000000000000000000000000000\n');
    writeFileSync(join(attempt.treeDir, '.git', 'objects', 'info', 'alternates'), '/nonexistent\n');
    const derivedAfterTamper = await derivePatch(attempt);
    expect(derivedAfterTamper).toEqual(expected);
    rmSync(join(attempt.treeDir, '.git'), { recursive: true });
    writeFileSync(join(attempt.treeDir, '.git'), `gitdir: ${join(dir.path, 'elsewhere')}\n`);
    expect(await derivePatch(attempt)).toEqual(expected);
  });

  const rejections: [string, (tree: string) => void, { code: string; path: string }][] = [
    [
      'a symlink to ../../.. (C 16)',
      (tree) => symlinkSync('../../..', join(tree, 'src/up')),
      { code: 'symlinkOutside', path: 'src/up' },
    ],
    [
      'a symlink to $HOME/.ssh (C 16)',
      (tree) => symlinkSync(join(homedir(), '.ssh'), join(tree, 'keys')),
      { code: 'symlinkOutside', path: 'keys' },
    ],
    [
      'a symlink through a root alias',
      (tree) => {
        symlinkSync('.', join(tree, 'self'));
        symlinkSync('self/..', join(tree, 'escape'));
      },
      { code: 'symlinkOutside', path: 'escape' },
    ],
    [
      'a symlink into .git',
      (tree) => symlinkSync('.git/config', join(tree, 'cfg')),
      { code: 'gitMetadata', path: 'cfg' },
    ],
    [
      'a nested .git directory (B 14)',
      (tree) => writeFiles(tree, { 'sub/.git/config': '[core]\n' }),
      { code: 'gitMetadata', path: 'sub/.git' },
    ],
    [
      'a .GIT variant',
      (tree) => writeFiles(tree, { 'x/.GIT': 'gitdir: /tmp\n' }),
      { code: 'gitMetadata', path: 'x/.GIT' },
    ],
    [
      'a FIFO (C 19)',
      (tree) => execFileSync('mkfifo', [join(tree, 'src/pipe')]),
      { code: 'specialFile', path: 'src/pipe' },
    ],
  ];
  for (const [name, change, error] of rejections) {
    it(`rejects ${name}`, async () => {
      const attempt = await fresh();
      change(attempt.treeDir);
      expect(await derivePatch(attempt)).toEqual({ ok: false, error });
    });
  }

  it('rejects a socket in the tree (C 19)', async () => {
    const attempt = await fresh();
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(join(attempt.treeDir, 'sock'), resolve));
    try {
      expect(await derivePatch(attempt)).toEqual({ ok: false, error: { code: 'specialFile', path: 'sock' } });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('round-trips random file sets exactly (property)', async () => {
    const name = fc.stringMatching(/^[a-z][a-z0-9_.-]{0,6}$/u).filter((part) => !part.toLowerCase().startsWith('.git'));
    const path = fc.array(name, { minLength: 1, maxLength: 3 }).map((parts) => parts.join('/'));
    const content = fc.oneof(
      fc.string({ maxLength: 40 }).map((text) => Buffer.from(text)),
      fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes)),
    );
    const change = fc.record({
      writes: fc.dictionary(path, content, { maxKeys: 6 }),
      deletes: fc.subarray(Object.keys(base)),
    });
    await fc.assert(
      fc.asyncProperty(change, async ({ writes, deletes }) => {
        const attempt = await fresh();
        for (const deleted of deletes) rmSync(join(attempt.treeDir, deleted), { force: true });
        for (const [file, bytes] of Object.entries(writes)) {
          // A path prefix of another written path is a directory; skip file/dir conflicts.
          try {
            mkdirSync(join(attempt.treeDir, file, '..'), { recursive: true });
            rmSync(join(attempt.treeDir, file), { recursive: true, force: true });
            writeFileSync(join(attempt.treeDir, file), bytes);
          } catch {
            continue;
          }
        }
        const derived = await derivePatch(attempt);
        if (!derived.ok) throw new Error(JSON.stringify(derived.error));
        const target = await fresh();
        const applied = await applyPatchToTree(target, derived.patch.patch);
        if (!applied.ok) throw new Error(JSON.stringify(applied.error));
        expect(applied.patch.digest).toBe(derived.patch.digest);
        // Empty directories are not content; compare files and links only.
        const files = (tree: string): Record<string, string> =>
          Object.fromEntries(Object.entries(snapshot(tree, true)).filter(([key]) => !key.endsWith('/')));
        expect(files(target.treeDir)).toEqual(files(attempt.treeDir));
        for (const attemptDone of live.splice(0)) attemptDone.remove();
      }),
      { numRuns: 15 },
    );
  });
});

describe('applyPatchToTree', () => {
  const escaping: [string, string, { code: string; path: string }][] = [
    [
      '../escape.txt header (C 17)',
      'diff --git a/../escape.txt b/../escape.txt\nnew file mode 100644\n--- /dev/null\n+++ b/../escape.txt\n@@ -0,0 +1 @@\n+x\n',
      { code: 'pathEscapes', path: '../escape.txt' },
    ],
    [
      'a plain unified ../../escape.txt header (C 17)',
      '--- /dev/null\n+++ b/../../escape.txt\n@@ -0,0 +1 @@\n+x\n',
      { code: 'pathEscapes', path: '../../escape.txt' },
    ],
    [
      'an absolute path (C 17)',
      '--- /dev/null\n+++ /etc/evil\n@@ -0,0 +1 @@\n+x\n',
      { code: 'pathEscapes', path: '/etc/evil' },
    ],
    [
      'a .git path (B 14)',
      'diff --git a/.git/config b/.git/config\n--- a/.git/config\n+++ b/.git/config\n@@ -1 +1 @@\n-a\n+b\n',
      { code: 'gitMetadata', path: '.git/config' },
    ],
    [
      'a rename out of the tree',
      'diff --git a/x b/y\nsimilarity index 100%\nrename from x\nrename to ../../y\n',
      { code: 'pathEscapes', path: '../../y' },
    ],
  ];
  for (const [name, patch, error] of escaping) {
    it(`rejects ${name} before applying`, async () => {
      expect(checkPatchHeaders(Buffer.from(patch))).toEqual(error);
      const attempt = await fresh();
      const before = snapshot(attempt.treeDir);
      expect(await applyPatchToTree(attempt, Buffer.from(patch))).toEqual({ ok: false, error });
      expect(snapshot(attempt.treeDir)).toEqual(before);
    });
  }

  it('rejects a patch that adds a symlink pointing outside, writing nothing', async () => {
    const patch =
      'diff --git a/evil b/evil\nnew file mode 120000\n--- /dev/null\n+++ b/evil\n@@ -0,0 +1 @@\n+../../../etc\n\\ No newline at end of file\n';
    const attempt = await fresh();
    const before = snapshot(attempt.treeDir);
    expect(await applyPatchToTree(attempt, Buffer.from(patch))).toEqual({
      ok: false,
      error: { code: 'symlinkOutside', path: 'evil' },
    });
    expect(snapshot(attempt.treeDir)).toEqual(before);
  });

  it('reports a patch that does not apply as a git failure', async () => {
    const attempt = await fresh();
    const result = await applyPatchToTree(
      attempt,
      Buffer.from('--- a/README.md\n+++ b/README.md\n@@ -1 +1 @@\n-nope\n+x\n'),
    );
    expect(result.ok ? 'applied' : result.error.code).toBe('gitFailed');
  });
});

describe('deriveWorkingTreePatch', () => {
  it('captures tracked and untracked changes, not ignored ones, without touching the checkout', async () => {
    const local = tempDir('derive-working');
    try {
      const work = makeRepo(local.path, { 'a.txt': 'a\n', '.gitignore': 'build/\n*.log\n' });
      writeFiles(work.dir, { 'a.txt': 'edited\n', 'new.txt': 'new\n', 'build/out.js': 'x', 'debug.log': 'x' });
      git(work.dir, ['add', 'new.txt']);
      const before = snapshot(work.dir);
      const derived = await deriveWorkingTreePatch({
        repoDir: work.dir,
        baseCommit: work.commit,
        stateDir: join(local.path, 'state'),
      });
      if (!derived.ok) throw new Error(JSON.stringify(derived.error));
      expect(derived.patch.files).toEqual([
        { path: 'a.txt', status: 'modified', binary: false },
        { path: 'new.txt', status: 'added', binary: false },
      ]);
      expect(snapshot(work.dir)).toEqual(before);
    } finally {
      local.cleanup();
    }
  });
});
