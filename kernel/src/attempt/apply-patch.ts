/**
 * Applies a supplied patch to a fresh attempt tree.
 *
 * The headers are checked before git sees the patch. Git then applies it to a private index
 * holding the base (`apply --cached`: the work tree is never read and no filter or attribute
 * conversion runs), the kernel writes the resulting tree, checks every changed path, and only then
 * writes the changed files into the attempt tree itself, refusing to pass through any symlink.
 * In the `overlay` layout the tree is the upper layer over the pristine base: changed files are
 * written into it and each deletion becomes a whiteout (a character device 0/0, which Linux lets
 * an unprivileged process create) at the topmost path that vanishes.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  rmSync,
  rmdirSync,
  symlinkSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import type { Attempt } from './attempt-tree.js';
import { diffTreesWithRaw, type DeriveResult } from './derive-patch.js';
import { GitCallFailed, runGit, runGitOrThrow } from './hardened-git.js';
import { Limits } from './limits.js';
import { splitZ } from './object-view.js';
import { checkPath, type ChangeRejection } from './path-rules.js';

/** Decodes a C-quoted git path (`"a/b\\tc"`), or returns the text unquoted. */
function unquote(text: string): string {
  if (!text.startsWith('"')) return text;
  const bytes: number[] = [];
  const escapes: Record<string, number> = { n: 10, t: 9, r: 13, a: 7, b: 8, f: 12, v: 11, '"': 34, '\\': 92 };
  for (let index = 1; index < text.length; index += 1) {
    const char = text[index] ?? '';
    if (char === '"') break;
    if (char !== '\\') {
      bytes.push(...Buffer.from(char));
      continue;
    }
    const next = text[index + 1] ?? '';
    if (/[0-7]/u.test(next)) {
      bytes.push(Number.parseInt(text.slice(index + 1, index + 4), 8));
      index += 3;
    } else {
      bytes.push(escapes[next] ?? next.charCodeAt(0));
      index += 1;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/**
 * Checks one header path as written (before git strips its `a/`/`b/` prefix) and reports it
 * without that prefix, as the tree-relative path the header names.
 */
function checkHeaderPath(raw: string): ChangeRejection | undefined {
  const path = unquote(raw.split('\t')[0] ?? '').trimEnd();
  if (path === '/dev/null') return undefined;
  if (path.startsWith('/')) return { code: 'pathEscapes', path };
  // Checked whole, prefix included: `../x` and `.git/x` are refused even where `-p1` would strip them.
  const error = checkPath(path);
  if (error === undefined) return undefined;
  const unprefixed = /^[ab]\/./u.test(path) ? path.slice(2) : path;
  return { code: error.code, path: unprefixed };
}

/**
 * Rejects a patch whose headers name a path outside the tree (`..`, absolute) or under `.git`,
 * before anything applies it. Covers git and traditional unified headers, renames and copies.
 */
export function checkPatchHeaders(patch: Uint8Array): ChangeRejection | undefined {
  if (patch.length > Limits.patchBytesMax) return { code: 'tooLarge', path: '' };
  const text = Buffer.from(patch).toString('utf8');
  for (const line of text.split('\n')) {
    let error: ChangeRejection | undefined;
    if (line.startsWith('diff --git ')) {
      const rest = line.slice('diff --git '.length);
      const quoted = rest.match(/^("(?:[^"\\]|\\.)*"|\S+) ("(?:[^"\\]|\\.)*"|\S+)$/u);
      const parts = quoted === null ? rest.split(' ') : [quoted[1] ?? '', quoted[2] ?? ''];
      for (const part of parts) error ??= checkHeaderPath(part);
    } else if (line.startsWith('--- ') || line.startsWith('+++ ')) {
      error = checkHeaderPath(line.slice(4));
    } else {
      const match = line.match(/^(?:rename|copy) (?:from|to) (.*)$/u);
      if (match !== null) {
        const path = unquote(match[1] ?? '');
        error = path.startsWith('/') ? { code: 'pathEscapes', path } : checkPath(path);
      }
    }
    if (error !== undefined) return error;
  }
  return undefined;
}

/**
 * Applies `patch` to the fresh `attempt` and returns the kernel's own derivation of the result
 * (the canonical patch to verify and deliver). The attempt must not have been changed yet.
 */
export async function applyPatchToTree(attempt: Attempt, patch: Uint8Array): Promise<DeriveResult> {
  const headerError = checkPatchHeaders(patch);
  if (headerError !== undefined) return { ok: false, error: headerError };
  const source = { view: attempt.view, baseCommit: attempt.baseCommit, scratchDir: attempt.scratchDir };
  const indexFile = join(attempt.scratchDir, `apply-${randomBytes(6).toString('hex')}`);
  try {
    const gitDir = attempt.view.gitDir;
    await runGitOrThrow({ gitDir, indexFile, args: ['read-tree', attempt.baseCommit] });
    const applied = await runGit({
      gitDir,
      indexFile,
      args: ['apply', '--cached', '--allow-empty', '-p1', '--whitespace=nowarn', '-'],
      stdin: patch,
    });
    if (!applied.ok) return { ok: false, error: { code: 'gitFailed', detail: applied.error.detail } };
    const treeId = (await runGitOrThrow({ gitDir, indexFile, args: ['write-tree'] })).toString('utf8').trim();
    const { result: derived, raw } = await diffTreesWithRaw(source, treeId);
    if (!derived.ok) return derived;
    const changes = treeChanges(raw);
    if (attempt.layout === 'overlay') await writeOverlayChanges(attempt, treeId, changes);
    else await writeChanges(attempt, changes);
    return derived;
  } catch (error) {
    if (error instanceof GitCallFailed) return { ok: false, error: error.error };
    throw error;
  } finally {
    rmSync(indexFile, { force: true });
  }
}

/** One changed path between the base and a tree, as `diff-tree --raw` reports it. */
interface TreeChange {
  readonly path: string;
  readonly mode: string;
  readonly oid: string;
  readonly deleted: boolean;
}

/** The changes of `diff-tree --raw -z` records (status line, path, in turn). */
function treeChanges(raw: readonly string[]): TreeChange[] {
  const changes: TreeChange[] = [];
  for (let index = 0; index + 1 < raw.length; index += 2) {
    const [, newMode, , newOid, status] = (raw[index] ?? '').slice(1).split(' ');
    changes.push({ path: raw[index + 1] ?? '', mode: newMode ?? '', oid: newOid ?? '', deleted: status === 'D' });
  }
  return changes;
}

/** Writes `changes` (the difference between the base and the patched tree) into the attempt's tree. */
async function writeChanges(attempt: Attempt, changes: readonly TreeChange[]): Promise<void> {
  const root = attempt.treeDir;
  // Remove first: a deleted file may stand where a new directory goes, and the reverse.
  for (const change of changes) removeInside(root, change.path);
  await writeNewEntries(attempt, root, changes);
}

/** Writes every added or modified file and symlink of `changes` under `root`, creating parents. */
async function writeNewEntries(attempt: Attempt, root: string, changes: readonly TreeChange[]): Promise<void> {
  const blobs = await attempt.view.readBlobs(changes.filter((change) => !change.deleted).map((change) => change.oid));
  for (const change of changes) {
    if (change.deleted) continue;
    const content = blobs.get(change.oid) ?? Buffer.alloc(0);
    const target = join(root, makeParents(root, change.path));
    if (change.mode === '120000') {
      symlinkSync(content, target);
    } else {
      const fd = openSync(
        target,
        constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
        change.mode === '100755' ? 0o755 : 0o644,
      );
      try {
        for (let written = 0; written < content.length;) written += writeSync(fd, content, written);
      } finally {
        closeSync(fd);
      }
    }
  }
}

/**
 * Writes the difference between the base and `treeId` into an overlay attempt's upper layer,
 * which holds nothing but `.git` yet. A new file or symlink hides whatever the base has at its
 * path; a directory made for it merges with the base's directory of the same name, if any. Each
 * deleted path is covered by a whiteout at its topmost ancestor that is no directory in the new
 * tree, unless a new entry already stands there; so a directory whose last file goes is hidden
 * whole, as the copy layout removes an emptied directory. No directory is ever made opaque.
 */
async function writeOverlayChanges(attempt: Attempt, treeId: string, changes: readonly TreeChange[]): Promise<void> {
  const deleted = changes.filter((change) => change.deleted);
  const written = new Set(changes.filter((change) => !change.deleted).map((change) => change.path));
  const root = attempt.treeDir;
  await writeNewEntries(attempt, root, changes);
  if (deleted.length === 0) return;
  const newDirs = new Set(await treeDirectories(attempt, treeId));
  const whiteouts = new Set<string>();
  for (const change of deleted) {
    const components = change.path.split('/');
    for (let length = 1; length <= components.length; length += 1) {
      const prefix = components.slice(0, length).join('/');
      if (newDirs.has(prefix)) continue;
      if (!written.has(prefix)) whiteouts.add(prefix);
      break;
    }
  }
  const targets = [...whiteouts].sort().map((path) => join(root, makeParents(root, path)));
  for (const target of targets) {
    if (lstatOrUndefined(target) !== undefined) throw new Error(`refusing to cover ${target}: it already exists`);
  }
  await makeWhiteouts(targets);
}

/** Every directory of `treeId` (tree-relative, no trailing slash). */
async function treeDirectories(attempt: Attempt, treeId: string): Promise<string[]> {
  const out = await runGitOrThrow({
    gitDir: attempt.view.gitDir,
    args: ['ls-tree', '-r', '-d', '-z', '--name-only', '--full-tree', treeId],
  });
  return splitZ(out);
}

const mknodCandidates = ['/usr/bin/mknod', '/bin/mknod'] as const;

/** Whiteouts per mknod batch, well below the argument-size limit. */
const whiteoutsPerCall = 256;

/** Creates an overlayfs whiteout (character device 0/0) at each absolute path, in batches. */
async function makeWhiteouts(targets: readonly string[]): Promise<void> {
  const mknod = mknodCandidates.find((candidate) => lstatOrUndefined(candidate)?.isFile() === true);
  if (mknod === undefined) throw new Error('mknod not found in /usr/bin or /bin; install coreutils');
  for (let start = 0; start < targets.length; start += whiteoutsPerCall) {
    const batch = targets.slice(start, start + whiteoutsPerCall);
    await new Promise<void>((resolve, reject) => {
      execFile(
        '/bin/sh',
        [
          '-c',
          'mknod=$1; shift; for p do "$mknod" -- "$p" c 0 0 || exit 1; done',
          'crustcore-whiteout',
          mknod,
          ...batch,
        ],
        { env: { PATH: '/usr/bin:/bin', LC_ALL: 'C' }, shell: false, timeout: Limits.gitTimeoutMs },
        (error) => (error === null ? resolve() : reject(new Error(`cannot create a whiteout: ${error.message}`))),
      );
    });
  }
  for (const target of targets) {
    const stat = lstatOrUndefined(target);
    if (stat === undefined || !stat.isCharacterDevice() || stat.rdev !== 0) {
      throw new Error(`the whiteout ${target} is not a character device 0/0`);
    }
  }
}

/** Removes the entry at `path` (never following a symlink) and then its emptied parents. */
function removeInside(root: string, path: string): void {
  const components = path.split('/');
  let current = root;
  for (const component of components.slice(0, -1)) {
    current = join(current, component);
    const stat = lstatOrUndefined(current);
    if (stat === undefined || !stat.isDirectory()) return;
  }
  const target = join(root, path);
  const stat = lstatOrUndefined(target);
  if (stat === undefined) return;
  if (stat.isDirectory()) rmSync(target, { recursive: true, force: true });
  else unlinkSync(target);
  let parent = dirname(path);
  while (parent !== '.' && readdirSync(join(root, parent)).length === 0) {
    rmdirSync(join(root, parent));
    parent = dirname(parent);
  }
}

/** Creates the real directories above `path`; throws if any component is not a directory. */
function makeParents(root: string, path: string): string {
  let current = root;
  for (const component of path.split('/').slice(0, -1)) {
    current = join(current, component);
    const stat = lstatOrUndefined(current);
    if (stat === undefined) mkdirSync(current, { mode: 0o755 });
    else if (!stat.isDirectory()) throw new Error(`refusing to write ${path}: ${component} is not a directory`);
  }
  return path;
}

function lstatOrUndefined(path: string): ReturnType<typeof lstatSync> | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}
