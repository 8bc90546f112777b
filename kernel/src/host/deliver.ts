/**
 * Delivery of a verified patch: it is never thrown away. It is stored in the kernel state dir by
 * digest, written where the user asked, and on request committed onto a new local branch of the
 * user's repo through a private index, so the user's current branch, index and working tree are
 * never touched.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { runGit, type RepoInfo } from '../attempt/index.js';
import { assertGenuine, type VerifiedPatch } from '../verify/verified-patch.js';

/** Writes `bytes` to `path` atomically: a private temp file beside it, fsync, rename. */
export function writeFileAtomic(path: string, bytes: Uint8Array, mode = 0o600): void {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(temp, 'wx', mode);
  try {
    writeSync(fd, bytes);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
}

/** Stores the patch in the repo's state folder by digest; returns the stored path. */
export function storePatch(repoStateDir: string, patch: VerifiedPatch): string {
  assertGenuine(patch);
  const dir = join(repoStateDir, 'patches');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, `${patch.patchDigest}.patch`);
  writeFileAtomic(path, patch.patch);
  return path;
}

/** Why a branch could not be created. */
export type BranchError = { readonly code: 'badBranchName' | 'branchExists' | 'gitFailed'; readonly detail: string };

const zeroOid = (format: RepoInfo['objectFormat']): string => '0'.repeat(format === 'sha256' ? 64 : 40);

/** Null when `branch` is a valid name that does not exist yet; otherwise why it cannot be used. */
export async function checkNewBranch(repo: RepoInfo, branch: string): Promise<BranchError | null> {
  const check = await runGit({ gitDir: repo.gitDir, args: ['check-ref-format', '--branch', branch] });
  if (!check.ok || branch.startsWith('-')) {
    return { code: 'badBranchName', detail: `'${branch}' is not a valid branch name` };
  }
  const exists = await runGit({
    gitDir: repo.gitDir,
    args: ['rev-parse', '--verify', '--quiet', `refs/heads/${branch}`],
  });
  if (exists.ok) {
    return {
      code: 'branchExists',
      detail: `branch '${branch}' already exists; choose a new name (an existing branch is never moved)`,
    };
  }
  return null;
}

/**
 * Commits the verified patch on top of its base commit as a NEW branch of the user's repo.
 * Refuses an existing branch (never moves one) and an invalid name. The commit is built with a
 * private index file; only the new objects and the new ref are added to the user's `.git`.
 */
export async function commitToNewBranch(input: {
  readonly repo: RepoInfo;
  readonly branch: string;
  readonly patch: VerifiedPatch;
  readonly message: string;
  readonly scratchDir: string;
}): Promise<{ readonly ok: true; readonly commit: string } | { readonly ok: false; readonly error: BranchError }> {
  assertGenuine(input.patch);
  const gitDir = input.repo.gitDir;
  const usable = await checkNewBranch(input.repo, input.branch);
  if (usable !== null) return { ok: false, error: usable };
  const built = await buildVerifiedCommit(input);
  if (!built.ok) return built;
  // The zero old-value makes the update fail if the branch appeared meanwhile.
  const update = await runGit({
    gitDir,
    args: ['update-ref', `refs/heads/${input.branch}`, built.commit, zeroOid(input.repo.objectFormat)],
  });
  if (!update.ok) return { ok: false, error: { code: 'branchExists', detail: update.error.detail } };
  return { ok: true, commit: built.commit };
}

/**
 * Builds (but points no ref at) the commit of a verified patch on top of its base commit, with a
 * private index file, and checks that its tree is exactly the verified tree. Only new objects are
 * added to the user's `.git`; no ref, index or working tree changes.
 */
export async function buildVerifiedCommit(input: {
  readonly repo: RepoInfo;
  readonly patch: VerifiedPatch;
  readonly message: string;
  readonly scratchDir: string;
}): Promise<{ readonly ok: true; readonly commit: string } | { readonly ok: false; readonly error: BranchError }> {
  assertGenuine(input.patch);
  const gitDir = input.repo.gitDir;
  mkdirSync(input.scratchDir, { recursive: true, mode: 0o700 });
  const indexFile = join(input.scratchDir, `branch-index-${randomBytes(6).toString('hex')}`);
  try {
    const read = await runGit({ gitDir, indexFile, args: ['read-tree', input.patch.baseCommit] });
    if (!read.ok) return { ok: false, error: { code: 'gitFailed', detail: read.error.detail } };
    const applied = await runGit({
      gitDir,
      indexFile,
      args: ['apply', '--cached', '--binary', '--allow-empty', '-'],
      stdin: input.patch.patch,
    });
    if (!applied.ok) return { ok: false, error: { code: 'gitFailed', detail: applied.error.detail } };
    const tree = await runGit({ gitDir, indexFile, args: ['write-tree'] });
    if (!tree.ok) return { ok: false, error: { code: 'gitFailed', detail: tree.error.detail } };
    const treeId = tree.stdout.toString('utf8').trim();
    if (treeId !== input.patch.treeDigest) {
      return {
        ok: false,
        error: {
          code: 'gitFailed',
          detail: `the branch tree ${treeId} differs from the verified tree ${input.patch.treeDigest}`,
        },
      };
    }
    const commit = await runGit({
      gitDir,
      args: ['commit-tree', treeId, '-p', input.patch.baseCommit, '-F', '-'],
      stdin: new TextEncoder().encode(input.message),
      config: ['user.name=crustcore', 'user.email=crustcore@localhost'],
    });
    if (!commit.ok) return { ok: false, error: { code: 'gitFailed', detail: commit.error.detail } };
    return { ok: true, commit: commit.stdout.toString('utf8').trim() };
  } finally {
    rmSync(indexFile, { force: true });
  }
}
