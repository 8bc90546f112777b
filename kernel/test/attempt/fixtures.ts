/** Real git repositories in temp dirs for the attempt tests. */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** The identity the test repositories commit with; nothing global is touched. */
export const gitIdentity = {
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.invalid',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.invalid',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
};

/** Runs the test's own (unhardened) git in `cwd`. */
export function git(cwd: string, args: readonly string[], env: Record<string, string> = {}): string {
  return execFileSync('git', args, {
    cwd,
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: cwd, ...gitIdentity, ...env },
    encoding: 'utf8',
  });
}

/** A temp dir removed by `cleanup`. */
export function tempDir(prefix: string): { readonly path: string; cleanup(): void } {
  const path = mkdtempSync(join(tmpdir(), `crustcore-${prefix}-`));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/** Writes `files` (path → content) under `root`. */
export function writeFiles(root: string, files: Readonly<Record<string, string | Uint8Array>>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
}

/** Creates a repository with one commit of `files`; returns its directory and commit id. */
export function makeRepo(
  root: string,
  files: Readonly<Record<string, string | Uint8Array>>,
): { dir: string; commit: string } {
  const dir = join(root, 'repo');
  mkdirSync(dir, { recursive: true });
  git(dir, ['init', '-q', '-b', 'main']);
  writeFiles(dir, files);
  git(dir, ['add', '-A']);
  git(dir, ['commit', '-q', '-m', 'base']);
  return { dir, commit: git(dir, ['rev-parse', 'HEAD']).trim() };
}

/** sha256 of every entry under `root` (files by content, symlinks by target, dirs by name). */
export function snapshot(root: string, skipTopGit = false): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (relative: string): void => {
    for (const name of readdirSync(join(root, relative)).sort()) {
      const path = relative === '' ? name : `${relative}/${name}`;
      if (skipTopGit && path === '.git') continue;
      const full = join(root, path);
      const stat = lstatSync(full);
      if (stat.isSymbolicLink()) out[path] = `link:${readlinkSync(full)}`;
      else if (stat.isDirectory()) {
        out[`${path}/`] = 'dir';
        walk(path);
      } else if (stat.isFile()) {
        const mode = (stat.mode & 0o100) !== 0 ? 'x' : '-';
        out[path] = `${mode}${createHash('sha256').update(readFileSync(full)).digest('hex')}`;
      } else out[path] = 'special';
    }
  };
  walk('');
  return out;
}
