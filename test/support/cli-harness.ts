/**
 * What every suite that drives the real built CLI shares: where the repository and the bundle
 * are, the documented exit codes, the shape of `run --json`, building the bundle when it is
 * missing, and failing (never skipping) when the real sandbox is absent.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll } from 'vitest';
import type { RunReport } from '../../kernel/src/host/run-task.js';

/** The repository root, computed from this file's location. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The built CLI the suites drive. */
export const cliPath = join(repoRoot, 'kernel', 'dist', 'crustcore.js');

/** Exit codes of `crustcore run` as documented. */
export const Exit = { verified: 0, rejected: 1, usage: 2, refused: 3, needsApproval: 4 } as const;

/** What `run --json` prints: the run report without the patch text. */
export type RunJson = Omit<RunReport, 'patchText'>;

/** Time given to building the CLI when it is missing. */
const buildMs = 180_000;

/** Builds the CLI once if it is missing (`npm test` builds before the tests run). */
export function useBuiltCli(): void {
  beforeAll(() => {
    if (existsSync(cliPath)) return;
    execFileSync('npx', ['tsx', 'xtask/src/main.ts', 'build', '--quiet'], { cwd: repoRoot, stdio: 'inherit' });
    if (!existsSync(cliPath)) throw new Error(`the build did not produce ${cliPath}`);
  }, buildMs);
}

/** The host's bubblewrap, if any. */
export function findBwrap(): string | null {
  const candidates = ['/usr/bin/bwrap', ...(process.env['PATH'] ?? '').split(delimiter).map((d) => join(d, 'bwrap'))];
  return candidates.find((path) => path !== 'bwrap' && existsSync(path)) ?? null;
}

/** The suite needs the real sandbox: it fails (never skips) without it, on CI and elsewhere. */
export function requireBwrap(suite: string): void {
  beforeAll(() => {
    if (findBwrap() === null) {
      throw new Error(
        `bubblewrap (bwrap) is missing${process.env['CI'] === 'true' ? ' on CI' : ''}: the ${suite} suite needs the real sandbox; install bubblewrap`,
      );
    }
  });
}

/** The PATH every child gets: this node's folder first, then the system. */
export function childPath(): string {
  return [...new Set([dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin'])].join(':');
}

/** The environment of a test's own git commands: identity by env, no system or global config. */
export function testGitEnv(
  home: string,
  identity: { readonly name: string; readonly email: string },
): Record<string, string> {
  return {
    PATH: childPath(),
    HOME: home,
    LANG: 'C',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_AUTHOR_NAME: identity.name,
    GIT_AUTHOR_EMAIL: identity.email,
    GIT_COMMITTER_NAME: identity.name,
    GIT_COMMITTER_EMAIL: identity.email,
  };
}
