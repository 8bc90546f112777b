/**
 * The kernel derives every patch itself, from its own view of the base commit.
 *
 * Whatever produced a change (a worker in an attempt tree, a supplied patch, the user's
 * uncommitted edits), the kernel captures the resulting files into its private object view,
 * writes a tree, and diffs that tree against the base tree with hardened plumbing. Nothing a
 * worker left in a tree's `.git` is read. Every changed path is checked against the path rules.
 */
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { GitCallFailed, runGit, runGitOrThrow, type GitError } from './hardened-git.js';
import { Limits } from './limits.js';
import { ObjectView, resolvedRepo, splitZ, type RepoInfo, type TreeEntry } from './object-view.js';
import { captureEntry, captureTree, listSpecialFiles, lstatInside, type SpecialFiles } from './fs-capture.js';
import { checkPath, checkSymlink, type ChangeRejection } from './path-rules.js';

/** One changed path of a derived patch. */
export interface ChangedFile {
  readonly path: string;
  readonly status: 'added' | 'modified' | 'deleted' | 'modeChanged';
  readonly binary: boolean;
}

/** A patch the kernel derived itself, against `baseCommit`. */
export interface DerivedPatch {
  readonly baseCommit: string;
  /** `git apply`-able, binary-safe (`--binary --full-index`), no renames. */
  readonly patch: Uint8Array;
  /** sha256 hex of `patch`. */
  readonly digest: string;
  readonly files: readonly ChangedFile[];
  readonly bytes: number;
  /** The git tree id of the base with the patch applied, in the kernel's object view. */
  readonly treeId: string;
  /**
   * Nested repositories of the user's checkout (`dir/`) that a working-tree derivation left out:
   * their files belong to another repository, so they are never part of this one's change.
   */
  readonly leftOut?: readonly string[];
}

/** The outcome of a derivation: the patch, or why the change is refused, or a git failure. */
export type DeriveResult =
  | { readonly ok: true; readonly patch: DerivedPatch }
  | { readonly ok: false; readonly error: ChangeRejection | GitError };

/** Where a change lives, as the derivation needs it. */
export interface DeriveSource {
  readonly view: ObjectView;
  readonly baseCommit: string;
  /** A kernel-owned directory (outside every tree) for throwaway index files. */
  readonly scratchDir: string;
}

function gitFailure(error: unknown): DeriveResult {
  if (error instanceof GitCallFailed) return { ok: false, error: error.error };
  throw error;
}

/**
 * Derives the patch of everything changed in an attempt's tree (after a worker ran in it),
 * against the attempt's base, from the kernel's own object view. The tree's `.git` is ignored.
 * An `overlay` attempt is refused: its directory holds only an upper layer, whose opaque
 * directories are marked by xattrs the kernel cannot read, so a worker's tree is always a copy.
 */
export async function derivePatch(attempt: {
  readonly view: ObjectView;
  readonly baseCommit: string;
  readonly scratchDir: string;
  readonly treeDir: string;
  readonly layout?: 'copy' | 'overlay';
}): Promise<DeriveResult> {
  if (attempt.layout === 'overlay') {
    return {
      ok: false,
      error: {
        code: 'gitFailed',
        detail:
          'cannot derive a patch from an overlay attempt (it holds only the upper layer); create the tree a worker changes with the copy layout.',
      },
    };
  }
  return derivePatchFromTree(attempt, attempt.treeDir);
}

/** Derives the patch from a tree directory (an attempt's tree after a worker or apply step). */
export async function derivePatchFromTree(source: DeriveSource, treeDir: string): Promise<DeriveResult> {
  try {
    const baseEntries = await source.view.listTree(source.baseCommit);
    const base = new Map(baseEntries.map((entry) => [entry.path, entry]));
    const ignored = await listIgnored(source, treeDir);
    const captured = captureTree(source.view, treeDir, base, ignored);
    if (!captured.ok) return { ok: false, error: captured.error };
    return await diffAgainstBase(source, captured.entries);
  } catch (error) {
    return gitFailure(error);
  }
}

/** Ignored paths of a tree (directories end in `/`), judged against an index holding the base. */
async function listIgnored(source: DeriveSource, treeDir: string): Promise<Set<string>> {
  const indexFile = join(source.scratchDir, `index-${randomBytes(6).toString('hex')}`);
  try {
    await runGitOrThrow({ gitDir: source.view.gitDir, indexFile, args: ['read-tree', source.baseCommit] });
    const out = await runGitOrThrow({
      gitDir: source.view.gitDir,
      workTree: treeDir,
      indexFile,
      args: ['ls-files', '-z', '--others', '--ignored', '--exclude-standard', '--directory'],
    });
    return new Set(splitZ(out));
  } finally {
    rmSync(indexFile, { force: true });
  }
}

/**
 * Derives the patch of the user's uncommitted changes (tracked and untracked, not ignored)
 * against `baseCommit`, reading the checkout without modifying it: the index is read from a
 * private copy, and files are read by the kernel, never through git's filters.
 */
export async function deriveWorkingTreePatch(options: {
  /** The repository: its directory, or its `RepoInfo` when already resolved. */
  readonly repoDir: string | RepoInfo;
  readonly baseCommit: string;
  readonly stateDir: string;
}): Promise<DeriveResult> {
  const repo = await resolvedRepo(options.repoDir);
  if (!repo.ok) return repo;
  const view = ObjectView.open(repo.repo, options.stateDir);
  const scratchDir = join(options.stateDir, `scratch-${randomBytes(8).toString('hex')}`);
  mkdirSync(scratchDir, { recursive: true, mode: 0o700 });
  try {
    const source: DeriveSource = { view, baseCommit: options.baseCommit, scratchDir };
    const baseEntries = await view.listTree(options.baseCommit);
    const base = new Map(baseEntries.map((entry) => [entry.path, entry]));
    const indexFile = join(scratchDir, 'index');
    try {
      copyFileSync(join(repo.repo.gitDir, 'index'), indexFile);
    } catch {
      // A repository without an index has nothing staged; `ls-files` then lists untracked files only.
    }
    const userCall = { gitDir: repo.repo.gitDir, workTree: repo.repo.topLevel, indexFile } as const;
    const tracked = await runGitOrThrow({ ...userCall, args: ['ls-files', '-z', '--stage'] });
    const untracked = splitZ(
      await runGitOrThrow({ ...userCall, args: ['ls-files', '-z', '--others', '--exclude-standard'] }),
    );
    const indexModes = new Map<string, string>();
    for (const record of splitZ(tracked)) {
      const tab = record.indexOf('\t');
      indexModes.set(record.slice(tab + 1), record.slice(0, record.indexOf(' ')));
    }
    const special = await untrackedSpecialFiles(userCall, base, indexModes, untracked);
    if (!special.ok) return { ok: false, error: special.error };
    const paths = new Set<string>([...base.keys(), ...indexModes.keys(), ...untracked, ...special.paths]);
    const entries: TreeEntry[] = [];
    for (const path of [...paths].sort()) {
      const baseEntry = base.get(path);
      if (baseEntry?.mode === '160000' || indexModes.get(path) === '160000') {
        if (baseEntry?.mode !== '160000' || indexModes.get(path) !== '160000') {
          return { ok: false, error: { code: 'submodule', path } };
        }
        entries.push(baseEntry);
        continue;
      }
      const stat = lstatInside(repo.repo.topLevel, path);
      if (stat === undefined) continue;
      if (stat.isDirectory()) continue;
      const captured = captureEntry(view, join(repo.repo.topLevel, path), path, stat, baseEntry);
      if (!captured.ok) return { ok: false, error: captured.error };
      entries.push(captured.entry);
    }
    const derived = await diffAgainstBase(source, entries);
    // `ls-files --others` names an untracked nested repository as `dir/` and never descends into it.
    const nested = untracked.filter((path) => path.endsWith('/'));
    return derived.ok && nested.length > 0 ? { ok: true, patch: { ...derived.patch, leftOut: nested } } : derived;
  } catch (error) {
    return gitFailure(error);
  } finally {
    rmSync(scratchDir, { recursive: true, force: true });
  }
}

/**
 * The FIFOs, sockets and device nodes among the user's untracked, not ignored paths. Git never
 * lists such a file (`ls-files --others` skips it), so the kernel walks the checkout itself: it
 * skips what git would not descend into (`.git`, ignored directories, nested repositories,
 * submodules) and then asks git which of the files it found are ignored.
 */
async function untrackedSpecialFiles(
  userCall: { readonly gitDir: string; readonly workTree: string; readonly indexFile: string },
  base: ReadonlyMap<string, TreeEntry>,
  indexModes: ReadonlyMap<string, string>,
  untracked: readonly string[],
): Promise<SpecialFiles> {
  const pruned = new Set<string>();
  for (const path of untracked) if (path.endsWith('/')) pruned.add(path.slice(0, -1));
  for (const [path, entry] of base) if (entry.mode === '160000') pruned.add(path);
  for (const [path, mode] of indexModes) if (mode === '160000') pruned.add(path);
  // `--directory` also names a directory whose only visible files are ignored, although a FIFO in
  // it may not be: only a directory that is ignored itself hides everything below it.
  const ignoredListing = await runGitOrThrow({
    ...userCall,
    args: ['ls-files', '-z', '--others', '--ignored', '--exclude-standard', '--directory'],
  });
  const ignoredDirs = splitZ(ignoredListing)
    .filter((path) => path.endsWith('/'))
    .map((path) => path.slice(0, -1));
  for (const path of await ignoredAmong(userCall, ignoredDirs)) pruned.add(path);
  const found = listSpecialFiles(userCall.workTree, pruned);
  if (!found.ok) return found;
  const ignored = new Set(await ignoredAmong(userCall, found.paths));
  return { ok: true, paths: found.paths.filter((path) => !ignored.has(path)) };
}

/** The paths among `paths` that the checkout's ignore rules exclude (tracked paths never are). */
async function ignoredAmong(
  userCall: { readonly gitDir: string; readonly workTree: string; readonly indexFile: string },
  paths: readonly string[],
): Promise<string[]> {
  if (paths.length === 0) return [];
  const out = await runGitOrThrow({
    ...userCall,
    // Exit status 1 means that none of the paths is ignored.
    exitCodesOk: [1],
    args: ['check-ignore', '-z', '--stdin'],
    // `./` keeps a name that starts with `:` from being read as pathspec magic; git echoes it back.
    stdin: Buffer.from(paths.map((path) => `./${path}\0`).join('')),
  });
  return splitZ(out).map((path) => (path.startsWith('./') ? path.slice(2) : path));
}

/** Writes `entries` as a tree and diffs it against the base. */
async function diffAgainstBase(source: DeriveSource, entries: readonly TreeEntry[]): Promise<DeriveResult> {
  const treeId = await source.view.writeTree(entries, source.scratchDir);
  return diffTrees(source, treeId);
}

/**
 * Diffs the base commit's tree against `treeId` (already in the view), checking every changed
 * path. Used by every derivation and by the patch-apply step.
 */
export async function diffTrees(source: DeriveSource, treeId: string): Promise<DeriveResult> {
  return (await diffTreesWithRaw(source, treeId)).result;
}

/**
 * `diffTrees`, also returning git's `--raw -z` records of the change (status line, path, in
 * turn) for a caller that writes the change out. The three diffs run at once; the patch text is
 * returned only when every changed path passed the checks.
 */
export async function diffTreesWithRaw(
  source: DeriveSource,
  treeId: string,
): Promise<{ readonly result: DeriveResult; readonly raw: readonly string[] }> {
  const view = source.view;
  const gitDir = view.gitDir;
  const baseTree = await view.treeOf(source.baseCommit);
  const plumbing = ['-r', '-z', '--no-renames', '--full-index', '--no-textconv', '--no-ext-diff'];
  const [rawOut, numstatOut, patchResult] = await Promise.all([
    runGitOrThrow({ gitDir, args: ['diff-tree', ...plumbing, '--raw', baseTree, treeId] }),
    runGitOrThrow({ gitDir, args: ['diff-tree', ...plumbing, '--numstat', baseTree, treeId] }),
    runGit({
      gitDir,
      outputBytesMax: Limits.patchBytesMax,
      args: [
        'diff-tree',
        '-p',
        '--binary',
        '--full-index',
        '--no-renames',
        '--no-textconv',
        '--no-ext-diff',
        '--no-color',
        '--src-prefix=a/',
        '--dst-prefix=b/',
        baseTree,
        treeId,
      ],
    }),
  ]);
  const raw = splitZ(rawOut);
  const refused = (error: ChangeRejection | GitError): { result: DeriveResult; raw: readonly string[] } => ({
    result: { ok: false, error },
    raw,
  });
  const binaryPaths = new Set<string>();
  for (const record of splitZ(numstatOut)) {
    const [added, deleted, ...rest] = record.split('\t');
    if (added === '-' && deleted === '-') binaryPaths.add(rest.join('\t'));
  }
  const files: ChangedFile[] = [];
  const symlinks: { path: string; oid: string }[] = [];
  for (let index = 0; index + 1 < raw.length; index += 2) {
    const [oldMode, newMode, oldOid, newOid, status] = (raw[index] ?? '').slice(1).split(' ');
    const path = raw[index + 1] ?? '';
    const pathError = checkPath(path);
    if (pathError !== undefined) return refused(pathError);
    if (oldMode === '160000' || newMode === '160000') return refused({ code: 'submodule', path });
    if (newMode === '120000' && newOid !== undefined) symlinks.push({ path, oid: newOid });
    files.push({ path, status: changeStatus(status, oldMode, newMode, oldOid, newOid), binary: binaryPaths.has(path) });
  }
  const targets = await view.readBlobs(symlinks.map((link) => link.oid));
  for (const link of symlinks) {
    const linkError = checkSymlink(link.path, (targets.get(link.oid) ?? Buffer.alloc(0)).toString('utf8'));
    if (linkError !== undefined) return refused(linkError);
  }
  if (!patchResult.ok) {
    if (patchResult.error.detail.includes('output exceeded')) return refused({ code: 'tooLarge', path: '' });
    return refused(patchResult.error);
  }
  const patch = new Uint8Array(patchResult.stdout);
  return {
    result: {
      ok: true,
      patch: {
        baseCommit: source.baseCommit,
        patch,
        digest: createHash('sha256').update(patch).digest('hex'),
        files,
        bytes: patch.length,
        treeId,
      },
    },
    raw,
  };
}

function changeStatus(
  status: string | undefined,
  oldMode: string | undefined,
  newMode: string | undefined,
  oldOid: string | undefined,
  newOid: string | undefined,
): ChangedFile['status'] {
  if (status === 'A') return 'added';
  if (status === 'D') return 'deleted';
  return oldOid === newOid && oldMode !== newMode ? 'modeChanged' : 'modified';
}

const manifestNames = new Set([
  'package.json',
  'package-lock.json',
  'npm-shrinkwrap.json',
  'yarn.lock',
  'pnpm-lock.yaml',
  'pnpm-workspace.yaml',
  'bun.lockb',
  'bun.lock',
  'Cargo.toml',
  'Cargo.lock',
  'pyproject.toml',
  'poetry.lock',
  'uv.lock',
  'Pipfile',
  'Pipfile.lock',
  'setup.py',
  'setup.cfg',
  'go.mod',
  'go.sum',
  'go.work',
  'go.work.sum',
  'Gemfile',
  'Gemfile.lock',
  'composer.json',
  'composer.lock',
]);

/** The changed paths that are dependency manifests or lockfiles (reported by every verify run). */
export function manifestChanges(files: readonly Pick<ChangedFile, 'path'>[]): string[] {
  return files
    .map((file) => file.path)
    .filter((path) => {
      const name = basename(path);
      return manifestNames.has(name) || /^requirements.*\.(txt|in)$/u.test(name) || /^constraints.*\.txt$/u.test(name);
    });
}
