/**
 * Turns files on disk into tree entries without ever following a symlink or opening anything
 * but a regular file. Content goes into the kernel's object view, never through a git filter.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, readdirSync, readlinkSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { join } from 'node:path';
import { Limits } from './limits.js';
import type { ObjectView, TreeEntry } from './object-view.js';
import { checkPath, checkSymlink, type ChangeRejection } from './path-rules.js';

/** A captured entry, or why it cannot be part of a change. */
export type Captured =
  { readonly ok: true; readonly entry: TreeEntry } | { readonly ok: false; readonly error: ChangeRejection };

/** Reads a regular file with O_NOFOLLOW, refusing anything that is not (or stopped being) one. */
function readRegular(absolutePath: string, path: string): Buffer | ChangeRejection {
  let fd: number;
  try {
    fd = openSync(absolutePath, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return { code: 'specialFile', path };
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) return { code: 'specialFile', path };
    if (stat.size > Limits.fileBytesMax) return { code: 'tooLarge', path };
    const buffer = Buffer.allocUnsafe(stat.size);
    let filled = 0;
    while (filled < stat.size) {
      const read = readSync(fd, buffer, filled, stat.size - filled, filled);
      if (read === 0) break;
      filled += read;
    }
    return buffer.subarray(0, filled);
  } finally {
    closeSync(fd);
  }
}

/**
 * Captures the entry at `path` (already lstat'ed as `stat`). `base` is the entry at the same path
 * in the base tree. Only a change is judged: an entry identical to its base entry (same mode, same
 * content or link target) is kept as it is, even where the base itself would not pass the path
 * rules (a committed link pointing outside the tree), because the change does not touch it. New
 * content is written into the view.
 */
export function captureEntry(
  view: ObjectView,
  absolutePath: string,
  path: string,
  stat: Stats,
  base: TreeEntry | undefined,
): Captured {
  if (base === undefined) {
    // A new path is a change whatever it holds: judge its name before reading anything.
    const pathError = checkPath(path);
    if (pathError !== undefined) return { ok: false, error: pathError };
  }
  if (base?.mode === '160000') return { ok: false, error: { code: 'submodule', path } };
  if (stat.isSymbolicLink()) {
    const target = readlinkSync(absolutePath, { encoding: 'buffer' });
    const oid = view.blobId(target);
    if (base?.mode === '120000' && base.oid === oid) return { ok: true, entry: base };
    const changeError = checkPath(path) ?? checkSymlink(path, target.toString('utf8'));
    if (changeError !== undefined) return { ok: false, error: changeError };
    return { ok: true, entry: { path, mode: '120000', oid: view.writeBlob(target) } };
  }
  if (stat.isFile()) {
    const content = readRegular(absolutePath, path);
    if (!Buffer.isBuffer(content)) return { ok: false, error: content };
    const mode = (stat.mode & 0o100) !== 0 ? '100755' : '100644';
    const oid = view.blobId(content);
    if (base?.mode === mode && base.oid === oid) return { ok: true, entry: base };
    const pathError = checkPath(path);
    if (pathError !== undefined) return { ok: false, error: pathError };
    return { ok: true, entry: { path, mode, oid: base?.oid === oid ? oid : view.writeBlob(content) } };
  }
  // A FIFO, socket or device node: never opened, never part of a change.
  return { ok: false, error: { code: 'specialFile', path } };
}

/**
 * Walks `root` (never following symlinks), skipping the top-level `.git` and the ignored paths,
 * and captures every file and symlink. A directory standing where the base has a gitlink is the
 * unchanged submodule only while it is empty.
 */
export function captureTree(
  view: ObjectView,
  root: string,
  base: ReadonlyMap<string, TreeEntry>,
  ignored: ReadonlySet<string>,
): { readonly ok: true; readonly entries: TreeEntry[] } | { readonly ok: false; readonly error: ChangeRejection } {
  const entries: TreeEntry[] = [];
  let visited = 0;
  const walk = (relativeDir: string, depth: number): ChangeRejection | undefined => {
    if (depth > Limits.walkDepthMax) return { code: 'tooLarge', path: relativeDir };
    const names = readdirSync(join(root, relativeDir)).sort();
    for (const name of names) {
      const path = relativeDir === '' ? name : `${relativeDir}/${name}`;
      if (path === '.git') continue;
      visited += 1;
      if (visited > Limits.walkEntriesMax) return { code: 'tooLarge', path };
      const absolutePath = join(root, path);
      const stat = lstatSync(absolutePath);
      if (stat.isDirectory()) {
        if (ignored.has(`${path}/`)) continue;
        // A directory the base already holds files under is judged by what changes inside it.
        const pathError = checkPath(path);
        if (pathError !== undefined && !hasEntryUnder(base, path)) return pathError;
        const gitlink = base.get(path);
        if (gitlink?.mode === '160000') {
          if (readdirSync(absolutePath).length > 0) return { code: 'submodule', path };
          entries.push(gitlink);
          continue;
        }
        const error = walk(path, depth + 1);
        if (error !== undefined) return error;
        continue;
      }
      if (ignored.has(path) && !base.has(path)) continue;
      const captured = captureEntry(view, absolutePath, path, stat, base.get(path));
      if (!captured.ok) return captured.error;
      entries.push(captured.entry);
    }
    return undefined;
  };
  const error = walk('', 0);
  if (error !== undefined) return { ok: false, error };
  for (const entry of base.values()) {
    if (entry.mode === '160000' && !entries.some((captured) => captured.path === entry.path)) {
      return { ok: false, error: { code: 'submodule', path: entry.path } };
    }
  }
  return { ok: true, entries };
}

/** True when `base` holds an entry below the directory `path`. */
function hasEntryUnder(base: ReadonlyMap<string, TreeEntry>, path: string): boolean {
  const prefix = `${path}/`;
  for (const entryPath of base.keys()) if (entryPath.startsWith(prefix)) return true;
  return false;
}

/** FIFOs, sockets and device nodes found by `listSpecialFiles`, or why the walk gave up. */
export type SpecialFiles =
  { readonly ok: true; readonly paths: string[] } | { readonly ok: false; readonly error: ChangeRejection };

/**
 * Lists every FIFO, socket and device node under `root` by directory entry type alone (nothing
 * is opened or followed), the way git would walk the tree: no entry named `.git` at any depth,
 * and nothing below the directories in `pruned` (tree-relative, no trailing slash).
 */
export function listSpecialFiles(root: string, pruned: ReadonlySet<string>): SpecialFiles {
  const paths: string[] = [];
  let visited = 0;
  const walk = (relativeDir: string, depth: number): ChangeRejection | undefined => {
    if (depth > Limits.walkDepthMax) return { code: 'tooLarge', path: relativeDir };
    const dirents = readdirSync(join(root, relativeDir), { withFileTypes: true });
    dirents.sort((left, right) => (left.name < right.name ? -1 : left.name > right.name ? 1 : 0));
    for (const dirent of dirents) {
      if (dirent.name === '.git') continue;
      const path = relativeDir === '' ? dirent.name : `${relativeDir}/${dirent.name}`;
      visited += 1;
      if (visited > Limits.walkEntriesMax) return { code: 'tooLarge', path };
      if (dirent.isDirectory()) {
        if (pruned.has(path)) continue;
        const error = walk(path, depth + 1);
        if (error !== undefined) return error;
      } else if (dirent.isFIFO() || dirent.isSocket() || dirent.isBlockDevice() || dirent.isCharacterDevice()) {
        paths.push(path);
      }
    }
    return undefined;
  };
  const error = walk('', 0);
  return error === undefined ? { ok: true, paths } : { ok: false, error };
}

/**
 * Stats `path` under `root` without following any symlink on the way: a path below a symlinked
 * or missing directory does not exist, as git sees it.
 */
export function lstatInside(root: string, path: string): Stats | undefined {
  const components = path.split('/');
  let current = root;
  for (let index = 0; index < components.length; index += 1) {
    current = join(current, components[index] ?? '');
    let stat: Stats;
    try {
      stat = lstatSync(current);
    } catch {
      return undefined;
    }
    if (index === components.length - 1) return stat;
    if (!stat.isDirectory()) return undefined;
  }
  return undefined;
}
