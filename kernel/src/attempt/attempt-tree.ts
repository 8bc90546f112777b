/**
 * Attempt trees: a fresh, disposable, writable copy of a pinned base commit per attempt.
 *
 * Layout under the per-repository state dir (never inside the repository):
 *
 *   git/                      the kernel's object view (see object-view.ts)
 *   pristine/<commit>/        the cached base checkout + its index (never mounted, never handed out)
 *   attempts/<id>/owner.json  who created the attempt (pid + process start time)
 *   attempts/<id>/tree/       the attempt's files; `tree/.git` is a small private git dir
 *                             (detached HEAD at the base, alternates to the user's objects)
 *
 * In the `overlay` layout the attempt copies nothing: `tree/` starts with only its `.git` and is
 * the upper layer of an overlayfs whose lower layer is the pristine tree, mounted by the sandbox
 * at the tree's target (`attempts/<id>/work/` is overlayfs' scratch dir). Its cost does not grow
 * with the repository. The kernel writes a patch into `tree/` itself (`applyPatchToTree`:
 * changed files, and whiteouts for deletions); the merged tree exists only inside a sandbox, so
 * this layout is for trees that only the kernel changes (the verify tree), never for a worker's.
 *
 * An id is 128 random bits and its directory is created by an atomic rename, so an attempt is
 * never reused: a leftover from a crashed run is removed at the next start, never adopted.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import type { GitError } from './hardened-git.js';
import { Limits } from './limits.js';
import { NeutralAttributes, ObjectView, configText, resolvedRepo, type RepoInfo } from './object-view.js';
import { ensurePristine, type Pristine } from './pristine-cache.js';

/** A mount the sandbox should make for an attempt (structurally the sandbox's own mount type). */
export type AttemptMount =
  | { readonly kind: 'bindReadOnly'; readonly source: string; readonly target: string }
  | { readonly kind: 'bindWritable'; readonly source: string; readonly target: string }
  | {
      readonly kind: 'overlay';
      readonly lowers: readonly string[];
      readonly upper: string;
      readonly work: string;
      readonly target: string;
      readonly lowersWrittenByKernel: boolean;
    };

/**
 * How an attempt's files are laid out: `copy`, a full writable copy of the pristine tree that a
 * worker or the host may read and change directly; `overlay`, only the changes on top of the
 * pristine tree, merged inside the sandbox (see the module comment).
 */
export type AttemptLayout = 'copy' | 'overlay';

/** Who owns an attempt directory. */
interface Owner {
  readonly pid: number;
  readonly startTicks: string;
  readonly createdAtMs: number;
}

const copyCandidates = ['/usr/bin/cp', '/bin/cp'] as const;

/** A fresh attempt tree. Remove it when the attempt ends. */
export class Attempt {
  /** 32 hex characters from `crypto.randomBytes`. */
  readonly id: string;
  readonly baseCommit: string;
  /** `attempts/<id>/`: kernel-owned, holds the tree and scratch files. */
  readonly dir: string;
  /** The attempt's writable tree (with its own `.git`). */
  readonly treeDir: string;
  /** Kernel scratch space beside the tree, never mounted. */
  readonly scratchDir: string;
  readonly view: ObjectView;
  readonly repo: RepoInfo;
  /**
   * `copy`: `treeDir` holds the whole tree. `overlay`: `treeDir` holds only what changed (and
   * `.git`), over the read-only `pristineDir`; whiteouts (character devices 0/0) mark deletions.
   */
  readonly layout: AttemptLayout;
  /** The cached pristine tree of the base (the lower layer in the `overlay` layout). Never written. */
  readonly pristineDir: string;
  #removed = false;

  /** @internal Made by `createAttemptTree` only. */
  constructor(fields: {
    id: string;
    baseCommit: string;
    dir: string;
    view: ObjectView;
    repo: RepoInfo;
    layout: AttemptLayout;
    pristineDir: string;
  }) {
    this.id = fields.id;
    this.baseCommit = fields.baseCommit;
    this.dir = fields.dir;
    this.treeDir = join(fields.dir, 'tree');
    this.scratchDir = join(fields.dir, 'scratch');
    this.view = fields.view;
    this.repo = fields.repo;
    this.layout = fields.layout;
    this.pristineDir = fields.pristineDir;
  }

  /**
   * The mounts a sandbox needs so the tree is writable at `target` and `git` works inside it:
   * the tree (with its `.git`) writable — bound, or in the `overlay` layout as the upper layer
   * over the pristine tree — and the user's object stores read-only at their own paths (the
   * attempt's `.git/objects/info/alternates` names them).
   */
  sandboxMounts(target: string): AttemptMount[] {
    const tree: AttemptMount =
      this.layout === 'overlay'
        ? {
            kind: 'overlay',
            lowers: [this.pristineDir],
            upper: this.treeDir,
            work: join(this.dir, 'work'),
            target,
            lowersWrittenByKernel: true,
          }
        : { kind: 'bindWritable', source: this.treeDir, target };
    return [
      tree,
      ...this.repo.objectDirs.map((dir): AttemptMount => ({ kind: 'bindReadOnly', source: dir, target: dir })),
    ];
  }

  /** Deletes the attempt directory. Idempotent. */
  remove(): void {
    if (this.#removed) return;
    this.#removed = true;
    removeDirectory(this.dir);
  }
}

/** The outcome of creating an attempt. */
export type CreateAttemptResult =
  { readonly ok: true; readonly attempt: Attempt } | { readonly ok: false; readonly error: GitError };

/**
 * Creates a fresh attempt tree at `baseCommit` (a full commit id from `resolveBase`).
 * `stateDir` is the per-repository kernel state dir. `layout` defaults to `copy`; `overlay` is
 * taken only where `overlayLayoutAvailable` holds, else the attempt is a copy (`attempt.layout`
 * says which).
 */
export async function createAttemptTree(options: {
  /** The repository: its directory, or its `RepoInfo` when already resolved. */
  readonly repoDir: string | RepoInfo;
  readonly baseCommit: string;
  readonly stateDir: string;
  readonly layout?: AttemptLayout;
}): Promise<CreateAttemptResult> {
  const repo = await resolvedRepo(options.repoDir);
  if (!repo.ok) return repo;
  mkdirSync(options.stateDir, { recursive: true, mode: 0o700 });
  const view = ObjectView.open(repo.repo, options.stateDir);
  let pristine: Pristine;
  try {
    pristine = await ensurePristine(view, options.stateDir, options.baseCommit);
  } catch (error) {
    return { ok: false, error: { code: 'gitFailed', detail: `pristine tree: ${(error as Error).message}` } };
  }

  const attempts = join(options.stateDir, 'attempts');
  mkdirSync(attempts, { recursive: true, mode: 0o700 });
  const id = randomBytes(Limits.attemptIdBytes).toString('hex');
  const staging = join(attempts, `.creating-${id}`);
  mkdirSync(staging, { mode: 0o700 });
  const owner: Owner = { pid: process.pid, startTicks: processStartTicks(process.pid) ?? '', createdAtMs: Date.now() };
  writeFileSync(join(staging, 'owner.json'), JSON.stringify(owner));
  mkdirSync(join(staging, 'scratch'), { mode: 0o700 });
  const dir = join(attempts, id);
  const layout: AttemptLayout =
    options.layout === 'overlay' && overlayLayoutAvailable() && overlayPathsUsable(pristine.tree, dir)
      ? 'overlay'
      : 'copy';
  try {
    if (layout === 'overlay') {
      // The upper layer starts empty but for `.git`; the pristine shows through it.
      mkdirSync(join(staging, 'tree'), { mode: 0o755 });
      mkdirSync(join(staging, 'work'), { mode: 0o700 });
    } else {
      await copyTree(pristine.tree, join(staging, 'tree'));
    }
    writeAttemptGitDir(join(staging, 'tree', '.git'), repo.repo, options.baseCommit, pristine.index);
  } catch (error) {
    removeDirectory(staging);
    return { ok: false, error: { code: 'gitFailed', detail: `attempt tree: ${(error as Error).message}` } };
  }
  // mkdir-free rename onto a fresh random name: fails rather than merge into anything existing.
  renameSync(staging, dir);
  return {
    ok: true,
    attempt: new Attempt({
      id,
      baseCommit: options.baseCommit,
      dir,
      view,
      repo: repo.repo,
      layout,
      pristineDir: pristine.tree,
    }),
  };
}

/**
 * Whether this host can merge an overlay attempt inside the sandbox: overlayfs present, a kernel
 * that mounts it in a user namespace with `userxattr` (Linux 5.11 or later), user namespaces
 * enabled, and util-linux `unshare` and `mount` under /usr or /bin.
 */
export function overlayLayoutAvailable(): boolean {
  const [major, minor] = release()
    .split(/[.-]/u)
    .map((part) => Number.parseInt(part, 10));
  if (major === undefined || minor === undefined || !(major > 5 || (major === 5 && minor >= 11))) return false;
  const read = (path: string): string | null => {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return null;
    }
  };
  if (!/\toverlay\n/u.test(read('/proc/filesystems') ?? '')) return false;
  if (read('/proc/sys/user/max_user_namespaces')?.trim() === '0') return false;
  if (read('/proc/sys/kernel/unprivileged_userns_clone')?.trim() === '0') return false;
  const present = (name: string): boolean => [`/usr/bin/${name}`, `/bin/${name}`].some((path) => existsSync(path));
  return present('unshare') && present('mount') && present('mknod');
}

/** overlayfs options cannot carry `,`, `:` or `\\` in a layer path. */
function overlayPathsUsable(...paths: readonly string[]): boolean {
  return paths.every((path) => !/[,:\\\n]/u.test(path));
}

function copyTree(source: string, target: string): Promise<void> {
  const binary = copyCandidates.find((candidate) => existsSync(candidate));
  if (binary === undefined) return Promise.reject(new Error('cp not found in /usr/bin or /bin'));
  return new Promise((resolve, reject) => {
    execFile(
      binary,
      ['-a', '--no-target-directory', '--', source, target],
      { env: { PATH: '/usr/bin:/bin', LC_ALL: 'C' }, shell: false, timeout: Limits.gitTimeoutMs },
      (error) => (error === null ? resolve() : reject(new Error(`copy failed: ${error.message}`))),
    );
  });
}

function writeAttemptGitDir(gitDir: string, repo: RepoInfo, baseCommit: string, pristineIndex: string): void {
  mkdirSync(join(gitDir, 'objects', 'info'), { recursive: true, mode: 0o755 });
  mkdirSync(join(gitDir, 'refs', 'heads'), { recursive: true, mode: 0o755 });
  mkdirSync(join(gitDir, 'refs', 'tags'), { mode: 0o755 });
  mkdirSync(join(gitDir, 'info'), { mode: 0o755 });
  writeFileSync(join(gitDir, 'HEAD'), `${baseCommit}\n`);
  writeFileSync(join(gitDir, 'config'), configText(repo.objectFormat, false));
  writeFileSync(join(gitDir, 'info', 'attributes'), NeutralAttributes);
  writeFileSync(join(gitDir, 'objects', 'info', 'alternates'), repo.objectDirs.join('\n') + '\n');
  copyFileSync(pristineIndex, join(gitDir, 'index'));
}

/** The start time of a process in clock ticks since boot (Linux), to tell a live owner from a reused pid. */
function processStartTicks(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function ownerAlive(owner: Owner): boolean {
  return owner.startTicks !== '' && processStartTicks(owner.pid) === owner.startTicks;
}

/**
 * Removes every attempt left behind by a run that is no longer alive (a crash, a SIGKILL):
 * such trees are deleted, never reused. Returns the removed directory names.
 */
export function removeStaleAttempts(stateDir: string): string[] {
  const attempts = join(stateDir, 'attempts');
  let names: string[];
  try {
    names = readdirSync(attempts);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const dir = join(attempts, name);
    let owner: Owner | undefined;
    try {
      owner = JSON.parse(readFileSync(join(dir, 'owner.json'), 'utf8')) as Owner;
    } catch {
      owner = undefined;
    }
    const stale =
      owner === undefined
        ? Date.now() - statSync(dir).mtimeMs > Limits.unownedAttemptStaleMs
        : typeof owner.pid !== 'number' || !ownerAlive(owner);
    if (stale) {
      removeDirectory(dir);
      removed.push(name);
    }
  }
  return removed;
}

/** Deletes a directory a sandboxed process may have made unwritable, never following symlinks. */
function removeDirectory(dir: string): void {
  const makeWritable = (path: string): void => {
    let stat;
    try {
      stat = lstatSync(path);
    } catch {
      return;
    }
    if (!stat.isDirectory()) return;
    chmodSync(path, 0o700);
    for (const name of readdirSync(path)) makeWritable(join(path, name));
  };
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch {
    makeWritable(dir);
    rmSync(dir, { recursive: true, force: true });
  }
}
