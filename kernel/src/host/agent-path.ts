/**
 * Path confinement for the agent's tools. A path the model names is normalised lexically, refused
 * if it is absolute, climbs with `..`, or names git metadata, and then every existing component is
 * `lstat`ed from the tree root down: a symlink anywhere on the way is refused, never followed. Reads
 * and writes then open the final component with `O_NOFOLLOW`, so nothing outside the tree is ever
 * read or written through a tool.
 */
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readSync,
  unlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { join } from 'node:path';
import { isGitDirName } from '../attempt/path-rules.js';

/** Bounds of tool paths. */
export const AgentPathLimits = {
  /** Length of a tool path in UTF-16 code units. */
  pathCharsMax: 1_024,
  /** Components of a tool path. */
  componentsMax: 64,
} as const;

/** Why a tool path was refused. */
export type PathRefusalCode =
  | 'pathInvalid'
  | 'pathAbsolute'
  | 'pathParent'
  | 'pathGitMetadata'
  | 'pathSymlink'
  | 'pathNotDirectory'
  | 'pathNotFile'
  | 'pathMissing';

/** A refused tool path, with a one-line reason for the model. */
export interface PathRefusal {
  readonly code: PathRefusalCode;
  readonly detail: string;
}

/** A confined path: tree-relative (normalised) and absolute. */
export interface ConfinedPath {
  readonly relative: string;
  readonly absolute: string;
}

/** The outcome of `confinePath`. */
export type Confinement =
  { readonly ok: true; readonly path: ConfinedPath } | { readonly ok: false; readonly refusal: PathRefusal };

function refuse(code: PathRefusalCode, detail: string): Confinement {
  return { ok: false, refusal: { code, detail } };
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}

/**
 * Normalises `path` (a model's word for a file in the tree) and checks it, lstat'ing every
 * component that exists. `read` needs an existing regular file; `write` accepts a missing file or
 * a regular one, below real directories (missing ones are created later by `writeConfined`).
 */
export function confinePath(root: string, path: unknown, mode: 'read' | 'write'): Confinement {
  if (typeof path !== 'string' || path.length === 0) return refuse('pathInvalid', 'a path is a non-empty string');
  if (path.length > AgentPathLimits.pathCharsMax)
    return refuse('pathInvalid', `a path has at most ${AgentPathLimits.pathCharsMax} characters`);
  if (path.includes('\0') || path.includes('\\'))
    return refuse('pathInvalid', 'a path may not hold NUL or backslashes');
  if (path.startsWith('/') || path.startsWith('~'))
    return refuse('pathAbsolute', 'give a path relative to the repository root');
  const components = path.split('/').filter((component) => component !== '' && component !== '.');
  if (components.length === 0) return refuse('pathInvalid', 'the path names the repository root, not a file');
  if (components.length > AgentPathLimits.componentsMax)
    return refuse('pathInvalid', `a path has at most ${AgentPathLimits.componentsMax} components`);
  if (components.includes('..')) return refuse('pathParent', "'..' is not allowed: paths stay inside the repository");
  if (components.some(isGitDirName)) return refuse('pathGitMetadata', 'git metadata is not part of the tree');
  const relative = components.join('/');
  const rootStat = lstatOrNull(root);
  if (rootStat === null || !rootStat.isDirectory()) throw new Error(`the attempt tree ${root} is not a directory`);
  let current = root;
  for (const [index, component] of components.entries()) {
    current = join(current, component);
    const last = index === components.length - 1;
    const stat = lstatOrNull(current);
    if (stat === null) {
      if (mode === 'read') return refuse('pathMissing', `${relative} does not exist`);
      break;
    }
    const walked = components.slice(0, index + 1).join('/');
    if (stat.isSymbolicLink()) return refuse('pathSymlink', `${walked} is a symlink; tools never follow symlinks`);
    if (!last && !stat.isDirectory()) return refuse('pathNotDirectory', `${walked} is not a directory`);
    if (last && !stat.isFile()) return refuse('pathNotFile', `${relative} is not a regular file`);
  }
  return { ok: true, path: { relative, absolute: join(root, relative) } };
}

/** Reads up to `bytesMax` bytes of a confined regular file; `truncated` when it holds more. */
export function readConfined(
  path: ConfinedPath,
  bytesMax: number,
):
  | { readonly ok: true; readonly bytes: Buffer; readonly sizeBytes: number }
  | { readonly ok: false; readonly refusal: PathRefusal } {
  let fd: number;
  try {
    fd = openSync(path.absolute, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return {
      ok: false,
      refusal: { code: 'pathNotFile', detail: `${path.relative} cannot be opened as a regular file` },
    };
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile())
      return { ok: false, refusal: { code: 'pathNotFile', detail: `${path.relative} is not a regular file` } };
    const length = Math.min(stat.size, bytesMax);
    const buffer = Buffer.alloc(length);
    let filled = 0;
    while (filled < length) {
      const read = readSync(fd, buffer, filled, length - filled, filled);
      if (read === 0) break;
      filled += read;
    }
    return { ok: true, bytes: buffer.subarray(0, filled), sizeBytes: stat.size };
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes `content` to a confined path: missing parents are created one real directory at a time
 * (each checked again with lstat), and the file is opened with `O_NOFOLLOW`.
 */
export function writeConfined(
  root: string,
  path: ConfinedPath,
  content: Uint8Array,
  executable = false,
): PathRefusal | null {
  const components = path.relative.split('/');
  let current = root;
  for (const component of components.slice(0, -1)) {
    current = join(current, component);
    const stat = lstatOrNull(current);
    if (stat === null) mkdirSync(current, { mode: 0o755 });
    else if (stat.isSymbolicLink() || !stat.isDirectory()) {
      return { code: 'pathNotDirectory', detail: `${component} on the way to ${path.relative} is not a directory` };
    }
  }
  let fd: number;
  try {
    fd = openSync(
      path.absolute,
      constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW,
      executable ? 0o755 : 0o644,
    );
  } catch {
    return { code: 'pathNotFile', detail: `${path.relative} cannot be written as a regular file` };
  }
  try {
    if (!fstatSync(fd).isFile()) return { code: 'pathNotFile', detail: `${path.relative} is not a regular file` };
    for (let written = 0; written < content.length;) written += writeSync(fd, content, written);
    return null;
  } finally {
    closeSync(fd);
  }
}

/** Deletes a confined regular file (never a directory, never through a symlink). */
export function removeConfined(path: ConfinedPath): void {
  unlinkSync(path.absolute);
}
