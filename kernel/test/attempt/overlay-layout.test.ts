/**
 * The overlay layout: an attempt that copies nothing, whose tree is the upper layer over the
 * cached pristine tree, merged only inside the sandbox. A patch the kernel applies to it (files
 * changed, added, deleted, a file turned into a directory and back, modes, symlinks) shows inside
 * a real bubblewrap sandbox exactly as the same patch applied to a copy-layout attempt does, file
 * by file and for `git status`/`git diff`; the pristine tree is never changed, not even by a
 * verify command that removes a tracked directory; and a patch is never derived from an overlay
 * attempt. A fast-check property compares the two layouts over random patches.
 *
 * Method: real repositories, real git, the real sandbox (bwrap + overlayfs in a user namespace).
 */
import { chmodSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  applyPatchToTree,
  createAttemptTree,
  derivePatch,
  overlayLayoutAvailable,
  type Attempt,
  type AttemptLayout,
} from '../../src/attempt/index.js';
import { defaultSandboxEnv, defaultSandboxLimits, runSandboxed } from '../../src/sandbox/index.js';
import { git, makeRepo, snapshot, tempDir } from './fixtures.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

const base: Readonly<Record<string, string>> = {
  'keep.txt': 'keep\n',
  'edit.txt': 'before\n',
  'gone.txt': 'gone\n',
  'mode.sh': '#!/bin/sh\n',
  'dir/stay.txt': 'stay\n',
  'dir/drop.txt': 'drop\n',
  'vanish/deep/a.txt': 'a\n',
  'vanish/b.txt': 'b\n',
  'file-to-dir': 'was a file\n',
  'dir-to-file/x.txt': 'x\n',
  'dir-to-file/sub/y.txt': 'y\n',
  'old-link': 'placeholder',
};

/** A repository at `base`, with `old-link` a symlink, and a state dir; cleaned up after the test. */
function fixture(): { readonly repoDir: string; readonly commit: string; readonly stateDir: string } {
  const dir = tempDir('overlay');
  cleanups.push(dir.cleanup);
  const repo = makeRepo(dir.path, base);
  rmSync(join(repo.dir, 'old-link'));
  symlinkSync('keep.txt', join(repo.dir, 'old-link'));
  git(repo.dir, ['add', '-A']);
  git(repo.dir, ['commit', '-q', '-m', 'link']);
  return { repoDir: repo.dir, commit: git(repo.dir, ['rev-parse', 'HEAD']).trim(), stateDir: join(dir.path, 'state') };
}

async function attemptOf(
  repo: { readonly repoDir: string; readonly commit: string; readonly stateDir: string },
  layout: AttemptLayout,
): Promise<Attempt> {
  const created = await createAttemptTree({
    repoDir: repo.repoDir,
    baseCommit: repo.commit,
    stateDir: repo.stateDir,
    layout,
  });
  if (!created.ok) throw new Error(created.error.detail);
  cleanups.push(() => created.attempt.remove());
  return created.attempt;
}

/** Every entry of the tree as seen inside the sandbox (type, mode, content hash), then git's view. */
const listing = `cd /tree
find . -path ./.git -prune -o -print | LC_ALL=C sort | while IFS= read -r p; do
  if [ -L "$p" ]; then echo "$p -> $(readlink "$p")"
  elif [ -d "$p" ]; then echo "$p/"
  elif [ -f "$p" ]; then echo "$p $(stat -c %a "$p") $(sha256sum < "$p" | cut -c1-16)"
  else echo "$p special"; fi
done
echo "-- status"; git status --porcelain
echo "-- diff"; git diff --stat HEAD | tail -n 1`;

async function inSandbox(attempt: Attempt, script: string): Promise<string> {
  const outcome = await runSandboxed({
    backend: 'bwrap',
    argv: ['/bin/sh', '-c', script],
    cwd: '/tree',
    mounts: attempt.sandboxMounts('/tree'),
    env: defaultSandboxEnv({ path: '/usr/bin:/bin' }),
    network: false,
    timeoutMs: 30_000,
    outputBytesMax: 1024 * 1024,
    limits: defaultSandboxLimits,
  });
  if (!outcome.ok) throw new Error(`sandbox refused: ${outcome.error.detail}`);
  const { output, exitCode } = outcome.result;
  if (exitCode !== 0) throw new Error(`exit ${String(exitCode)}: ${output.head}${output.tail}`);
  return output.head + output.tail;
}

/** A patch made in a copy-layout worker tree by `change`, derived by the kernel. */
async function patchOf(
  repo: { readonly repoDir: string; readonly commit: string; readonly stateDir: string },
  change: (tree: string) => void,
): Promise<Uint8Array> {
  const worker = await attemptOf(repo, 'copy');
  change(worker.treeDir);
  const derived = await derivePatch(worker);
  if (!derived.ok) throw new Error(JSON.stringify(derived.error));
  return derived.patch.patch;
}

describe('overlay attempt layout', () => {
  it('is available here (Linux with overlayfs, user namespaces, util-linux)', () => {
    expect(overlayLayoutAvailable()).toBe(true);
  });

  it('copies nothing: the tree holds only its .git, and git sees a clean base inside the sandbox', async () => {
    const repo = fixture();
    const attempt = await attemptOf(repo, 'overlay');
    expect(attempt.layout).toBe('overlay');
    expect(readdirSync(attempt.treeDir)).toEqual(['.git']);
    const copy = await attemptOf(repo, 'copy');
    expect(copy.layout).toBe('copy');
    const inside = await inSandbox(attempt, listing);
    expect(inside).toBe(await inSandbox(copy, listing));
    expect(inside).toContain('./vanish/deep/a.txt ');
    expect(inside.endsWith('-- status\n-- diff\n')).toBe(true);
  });

  it('a patch with every kind of change shows inside exactly as in a copy', async () => {
    const repo = fixture();
    const patch = await patchOf(repo, (tree) => {
      writeFileSync(join(tree, 'edit.txt'), 'after\n');
      rmSync(join(tree, 'gone.txt'));
      chmodSync(join(tree, 'mode.sh'), 0o755);
      rmSync(join(tree, 'dir', 'drop.txt'));
      writeFileSync(join(tree, 'dir', 'new.txt'), 'new\n');
      rmSync(join(tree, 'vanish'), { recursive: true });
      rmSync(join(tree, 'file-to-dir'));
      mkdirSync(join(tree, 'file-to-dir'));
      writeFileSync(join(tree, 'file-to-dir', 'inner.txt'), 'inner\n');
      rmSync(join(tree, 'dir-to-file'), { recursive: true });
      writeFileSync(join(tree, 'dir-to-file'), 'now a file\n');
      rmSync(join(tree, 'old-link'));
      symlinkSync('dir/stay.txt', join(tree, 'new-link'));
      mkdirSync(join(tree, 'brand', 'new'), { recursive: true });
      writeFileSync(join(tree, 'brand', 'new', 'file.txt'), 'brand new\n');
    });
    const overlay = await attemptOf(repo, 'overlay');
    const copy = await attemptOf(repo, 'copy');
    const pristineBefore = snapshot(overlay.pristineDir);
    const appliedOverlay = await applyPatchToTree(overlay, patch);
    const appliedCopy = await applyPatchToTree(copy, patch);
    expect(appliedOverlay).toEqual(appliedCopy);
    const inside = await inSandbox(overlay, listing);
    expect(inside).toBe(await inSandbox(copy, listing));
    const files = inside.slice(0, inside.indexOf('-- status'));
    expect(files).not.toMatch(/vanish|gone\.txt|drop\.txt|old-link|dir-to-file\/|special/u);
    expect(inside).toContain('./file-to-dir/inner.txt ');
    expect(inside).toContain('./dir/stay.txt ');
    expect(snapshot(overlay.pristineDir)).toEqual(pristineBefore);
  });

  it('a verify command may remove, recreate and rename tracked directories; the pristine stays as it was', async () => {
    const repo = fixture();
    const attempt = await attemptOf(repo, 'overlay');
    const pristineBefore = snapshot(attempt.pristineDir);
    const output = await inSandbox(
      attempt,
      'rm -rf vanish dir-to-file && mkdir vanish && echo v > vanish/v.txt && mv dir renamed && chmod 000 keep.txt && ls',
    );
    expect(output).toBe('edit.txt\nfile-to-dir\ngone.txt\nkeep.txt\nmode.sh\nold-link\nrenamed\nvanish\n');
    expect(snapshot(attempt.pristineDir)).toEqual(pristineBefore);
    attempt.remove();
  });

  it('never derives a patch from an overlay attempt', async () => {
    const repo = fixture();
    const attempt = await attemptOf(repo, 'overlay');
    expect(await derivePatch(attempt)).toEqual({
      ok: false,
      error: {
        code: 'gitFailed',
        detail:
          'cannot derive a patch from an overlay attempt (it holds only the upper layer); create the tree a worker changes with the copy layout.',
      },
    });
  });

  it('random patches show inside an overlay exactly as in a copy (property)', async () => {
    const repo = fixture();
    const name = fc.constantFrom('a', 'b', 'dir', 'vanish', 'deep', 'x.txt', 'file-to-dir', 'dir-to-file');
    const path = fc.array(name, { minLength: 1, maxLength: 3 }).map((parts) => parts.join('/'));
    const change = fc.record({
      writes: fc.dictionary(path, fc.string({ maxLength: 12 }), { maxKeys: 4 }),
      deletes: fc.subarray(Object.keys(base)),
    });
    await fc.assert(
      fc.asyncProperty(change, async ({ writes, deletes }) => {
        const patch = await patchOf(repo, (tree) => {
          for (const deleted of deletes) rmSync(join(tree, deleted), { force: true });
          for (const [file, text] of Object.entries(writes)) {
            try {
              rmSync(join(tree, file), { recursive: true, force: true });
              mkdirSync(join(tree, file, '..'), { recursive: true });
              writeFileSync(join(tree, file), text);
            } catch {
              // A file standing where a parent directory goes: leave this write out.
            }
          }
        });
        const overlay = await attemptOf(repo, 'overlay');
        const copy = await attemptOf(repo, 'copy');
        const appliedOverlay = await applyPatchToTree(overlay, patch);
        expect(appliedOverlay).toEqual(await applyPatchToTree(copy, patch));
        expect(await inSandbox(overlay, listing)).toBe(await inSandbox(copy, listing));
        for (const cleanup of cleanups.splice(1)) cleanup();
      }),
      { numRuns: 12 },
    );
  });
});
