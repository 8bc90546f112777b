/**
 * What a path in a candidate change may look like. These rules hold for every change, whatever
 * produced it (a supplied patch, a worker's tree, the user's uncommitted changes).
 */
import { posix } from 'node:path';
import { Limits } from './limits.js';

/** Why a candidate change was refused. `path` is relative to the tree root, as written. */
export type ChangeRejection = {
  readonly code: 'pathEscapes' | 'symlinkOutside' | 'gitMetadata' | 'submodule' | 'specialFile' | 'tooLarge';
  readonly path: string;
};

/** True for a component git treats as its own metadata directory (also `.GIT`, `.git.`, `.git `). */
export function isGitDirName(component: string): boolean {
  return component.replace(/[. ]+$/u, '').toLowerCase() === '.git' || /^git~\d+$/iu.test(component);
}

/** Checks a tree-relative path: relative, normalised, inside the tree, nothing under `.git`. */
export function checkPath(path: string): ChangeRejection | undefined {
  if (
    path.length === 0 ||
    Buffer.byteLength(path) > Limits.pathBytesMax ||
    path.includes('\0') ||
    path.startsWith('/') ||
    path.endsWith('/')
  ) {
    return { code: 'pathEscapes', path };
  }
  const components = path.split('/');
  for (const component of components) {
    if (component === '' || component === '.' || component === '..') return { code: 'pathEscapes', path };
  }
  if (components.some(isGitDirName)) return { code: 'gitMetadata', path };
  return undefined;
}

/**
 * Checks a symlink at `path` with `target`: it must stay inside the tree once resolved lexically
 * from the link's own directory, and must not point into git metadata.
 */
export function checkSymlink(path: string, target: string): ChangeRejection | undefined {
  if (target.length === 0 || target.includes('\0') || posix.isAbsolute(target)) return { code: 'symlinkOutside', path };
  // A `..` after a named component is resolved against wherever that component leads, which may
  // itself be a link to the root: `a -> .` makes `a/..` the tree's parent. Refuse the pattern.
  const parts = target.split('/').filter((part) => part !== '' && part !== '.');
  const firstNamed = parts.findIndex((part) => part !== '..');
  if (firstNamed >= 0 && parts.slice(firstNamed).includes('..')) return { code: 'symlinkOutside', path };
  const resolved = posix.normalize(posix.join(posix.dirname(path), target));
  if (resolved === '..' || resolved.startsWith('../') || posix.isAbsolute(resolved)) {
    return { code: 'symlinkOutside', path };
  }
  if (resolved !== '.' && resolved.split('/').some(isGitDirName)) return { code: 'gitMetadata', path };
  return undefined;
}
