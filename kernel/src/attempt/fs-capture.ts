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
 * Captures the entry at `path` (already lstat'ed as `stat`). Unchanged content keeps the base id;
 * new content is written into the view. `base` is the entry at the same path in the base tree.
 */
export function captureEntry(
  view: ObjectView,
  absolutePath: string,
  path: string,
  stat: Stats,
  base: TreeEntry | undefined,
): Captured {
  const pathError = checkPath(path);
  if (pathError !== undefined) return { ok: false, error: pathError };
  if (base?.mode === '160000') return { ok: false, error: { code: 'submodule', path } };
  if (stat.isSymbolicLink()) {
    const target = readlinkSync(absolutePath, { encoding: 'buffer' });
    const linkError = checkSymlink(path, target.toString('utf8'));
    if (linkError !== undefined) return { ok: false, error: linkError };
    const oid = base?.mode === '120000' && base.oid === view.blobId(target) ? base.oid : view.writeBlob(target);
    return { ok: true, entry: { path, mode: '120000', oid } };
  }
  if (stat.isFile()) {
    const content = readRegular(absolutePath, path);
    if (!Buffer.isBuffer(content)) return { ok: false, error: content };
    const mode = (stat.mode & 0o100) !== 0 ? '100755' : '100644';
    const id = view.blobId(content);
    const oid = base !== undefined && base.oid === id ? id : view.writeBlob(content);
    return { ok: true, entry: { path, mode, oid } };
  }
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
        const pathError = checkPath(path);
        if (pathError !== undefined) return pathError;
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
