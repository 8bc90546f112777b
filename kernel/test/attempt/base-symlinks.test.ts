/**
 * Invariant: only what a change touches is judged. A base commit may already hold symlinks that
 * point outside the tree (or into `.git`); a change that leaves them as they are derives fine,
 * from a worker's tree and from the user's checkout alike, and the same base with a supplied
 * patch verifies (REDTEAM C 16, C 18). A change that adds such a link, retargets one, or turns a
 * file into one is refused with the link's path.
 *
 * Method: a real repository whose base commit holds an absolute link to a secret outside the
 * repository, a `../../..` link and a link into `.git`; each case changes a real attempt tree or
 * the real checkout and compares the whole derivation result.
 */
import { readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  applyPatchToTree,
  createAttemptTree,
  derivePatch,
  deriveWorkingTreePatch,
  type Attempt,
} from '../../src/attempt/index.js';
import { git, makeRepo, snapshot, tempDir } from './fixtures.js';

let dir: ReturnType<typeof tempDir>;
let secretPath: string;
let otherSecretPath: string;
const live: Attempt[] = [];

/** A repository whose base commit holds links outside the tree beside ordinary files. */
function repoWithOutsideLinks(root: string): { dir: string; commit: string } {
  const repo = makeRepo(root, { 'notes.txt': 'draft\n', 'src/index.js': 'module.exports = 1;\n' });
  symlinkSync(secretPath, join(repo.dir, 'leak.txt'));
  symlinkSync('../../..', join(repo.dir, 'src/up'));
  symlinkSync('.git/config', join(repo.dir, 'cfg'));
  git(repo.dir, ['add', '-A']);
  git(repo.dir, ['commit', '-q', '-m', 'links']);
  return { dir: repo.dir, commit: git(repo.dir, ['rev-parse', 'HEAD']).trim() };
}

beforeAll(() => {
  dir = tempDir('base-links');
  secretPath = join(dir.path, 'secret.txt');
  otherSecretPath = join(dir.path, 'other-secret.txt');
  writeFileSync(secretPath, 'outside-secret\n');
  writeFileSync(otherSecretPath, 'other-outside-secret\n');
});
afterEach(() => {
  for (const attempt of live.splice(0)) attempt.remove();
});
afterAll(() => dir.cleanup());

/** A checkout of the outside-links repository of its own, with a state dir beside it. */
function freshCheckout(name: string): { repo: { dir: string; commit: string }; stateDir: string } {
  const root = join(dir.path, name);
  return { repo: repoWithOutsideLinks(root), stateDir: join(root, 'state') };
}

async function freshAttempt(repo: { dir: string; commit: string }, stateDir: string): Promise<Attempt> {
  const created = await createAttemptTree({ repoDir: repo.dir, baseCommit: repo.commit, stateDir });
  if (!created.ok) throw new Error(created.error.detail);
  live.push(created.attempt);
  return created.attempt;
}

const accepted: [string, (tree: string) => void, { path: string; status: string; binary: boolean }[]][] = [
  ['no change at all', () => undefined, []],
  [
    'an unrelated edit',
    (tree) => writeFileSync(join(tree, 'notes.txt'), 'fixed\n'),
    [{ path: 'notes.txt', status: 'modified', binary: false }],
  ],
  [
    'retargeting an outside link to a file inside',
    (tree) => {
      unlinkSync(join(tree, 'leak.txt'));
      symlinkSync('notes.txt', join(tree, 'leak.txt'));
    },
    [{ path: 'leak.txt', status: 'modified', binary: false }],
  ],
  [
    'deleting an outside link',
    (tree) => unlinkSync(join(tree, 'src/up')),
    [{ path: 'src/up', status: 'deleted', binary: false }],
  ],
];

const refused: [string, (tree: string) => void, { code: string; path: string }][] = [
  [
    'retargeting an outside link to another outside path',
    (tree) => {
      unlinkSync(join(tree, 'leak.txt'));
      symlinkSync(otherSecretPath, join(tree, 'leak.txt'));
    },
    { code: 'symlinkOutside', path: 'leak.txt' },
  ],
  [
    'retargeting a relative outside link',
    (tree) => {
      unlinkSync(join(tree, 'src/up'));
      symlinkSync('../..', join(tree, 'src/up'));
    },
    { code: 'symlinkOutside', path: 'src/up' },
  ],
  [
    'turning a file into an outside link',
    (tree) => {
      rmSync(join(tree, 'notes.txt'));
      symlinkSync(secretPath, join(tree, 'notes.txt'));
    },
    { code: 'symlinkOutside', path: 'notes.txt' },
  ],
  [
    'adding another outside link beside an unrelated edit',
    (tree) => {
      writeFileSync(join(tree, 'notes.txt'), 'fixed\n');
      symlinkSync(secretPath, join(tree, 'more.txt'));
    },
    { code: 'symlinkOutside', path: 'more.txt' },
  ],
  [
    'retargeting a link into .git to another .git file',
    (tree) => {
      unlinkSync(join(tree, 'cfg'));
      symlinkSync('.git/HEAD', join(tree, 'cfg'));
    },
    { code: 'gitMetadata', path: 'cfg' },
  ],
];

describe('derivePatch (worker tree) over a base with outside links', () => {
  let repo: { dir: string; commit: string };
  let stateDir: string;
  beforeAll(() => {
    ({ repo, stateDir } = freshCheckout('worker'));
  });

  for (const [name, change, files] of accepted) {
    it(`derives ${name}, and the patch reproduces the tree`, async () => {
      const attempt = await freshAttempt(repo, stateDir);
      change(attempt.treeDir);
      const derived = await derivePatch(attempt);
      if (!derived.ok) throw new Error(JSON.stringify(derived.error));
      expect(derived.patch.files).toEqual(files);
      expect(Buffer.from(derived.patch.patch).includes('outside-secret')).toBe(false);
      const target = await freshAttempt(repo, stateDir);
      const applied = await applyPatchToTree(target, derived.patch.patch);
      expect(applied.ok && applied.patch.digest).toBe(derived.patch.digest);
      expect(snapshot(target.treeDir, true)).toEqual(snapshot(attempt.treeDir, true));
    });
  }

  for (const [name, change, error] of refused) {
    it(`refuses ${name}`, async () => {
      const attempt = await freshAttempt(repo, stateDir);
      change(attempt.treeDir);
      expect(await derivePatch(attempt)).toEqual({ ok: false, error });
    });
  }
});

describe('deriveWorkingTreePatch (user checkout) over a base with outside links', () => {
  for (const [name, change, files] of accepted) {
    it(`derives ${name} and leaves the checkout as it was`, async () => {
      const { repo, stateDir } = freshCheckout(`working-ok-${accepted.findIndex(([other]) => other === name)}`);
      change(repo.dir);
      const before = snapshot(repo.dir);
      const derived = await deriveWorkingTreePatch({ repoDir: repo.dir, baseCommit: repo.commit, stateDir });
      if (!derived.ok) throw new Error(JSON.stringify(derived.error));
      expect(derived.patch.files).toEqual(files);
      expect(snapshot(repo.dir)).toEqual(before);
      expect(readFileSync(secretPath, 'utf8')).toBe('outside-secret\n');
    });
  }

  for (const [name, change, error] of refused) {
    it(`refuses ${name}`, async () => {
      const { repo, stateDir } = freshCheckout(`working-refused-${refused.findIndex(([other]) => other === name)}`);
      change(repo.dir);
      expect(await deriveWorkingTreePatch({ repoDir: repo.dir, baseCommit: repo.commit, stateDir })).toEqual({
        ok: false,
        error,
      });
    });
  }
});

describe('applyPatchToTree over a base with outside links', () => {
  it('applies a supplied patch that leaves the links alone', async () => {
    const { repo, stateDir } = freshCheckout('supplied');
    const attempt = await freshAttempt(repo, stateDir);
    const patch = '--- a/notes.txt\n+++ b/notes.txt\n@@ -1 +1 @@\n-draft\n+fixed\n';
    const applied = await applyPatchToTree(attempt, Buffer.from(patch));
    if (!applied.ok) throw new Error(JSON.stringify(applied.error));
    expect(applied.patch.files).toEqual([{ path: 'notes.txt', status: 'modified', binary: false }]);
  });
});
