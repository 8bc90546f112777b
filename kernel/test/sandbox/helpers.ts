/** Shared setup for the sandbox tests: real bwrap, real processes, temp dirs cleaned up. */
import { chmodSync, existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { defaultSandboxEnv, defaultSandboxLimits, runSandboxed } from '../../src/sandbox/index.js';
import type { SandboxResult, SandboxSpec } from '../../src/sandbox/index.js';

/** Fails (never skips) when bubblewrap is absent: these tests exist to prove the real sandbox. */
export function requireBwrap(): void {
  if (!existsSync('/usr/bin/bwrap') && !existsSync('/bin/bwrap') && !existsSync('/usr/local/bin/bwrap')) {
    throw new Error('bubblewrap (bwrap) is not installed; the sandbox tests need it (apt-get install bubblewrap).');
  }
}

const made: string[] = [];
afterEach(() => {
  for (const dir of made.splice(0)) removeTree(dir);
});

/** Removes a temp tree; overlayfs leaves a `work/work` dir of mode 000 that a non-root owner must open up first. */
function removeTree(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch {
    const openUp = (path: string): void => {
      if (!lstatSync(path).isDirectory()) return;
      chmodSync(path, 0o700);
      for (const name of readdirSync(path)) openUp(join(path, name));
    };
    openUp(dir);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A temp dir removed after the test. */
export function tempDir(prefix = 'crustcore-sandbox-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** A spec with the defaults; `script` runs under /bin/sh -c. */
export function shellSpec(script: string, overrides: Partial<SandboxSpec> = {}): SandboxSpec {
  return {
    backend: 'bwrap',
    argv: ['/bin/sh', '-c', script],
    cwd: '/tmp',
    mounts: [],
    env: defaultSandboxEnv({ path: '/usr/local/bin:/usr/bin:/bin' }),
    network: false,
    timeoutMs: 20_000,
    outputBytesMax: 256 * 1024,
    limits: defaultSandboxLimits,
    ...overrides,
  };
}

/** Runs and unwraps; a refused run fails the test with its detail. */
export async function run(spec: SandboxSpec): Promise<SandboxResult> {
  requireBwrap();
  const outcome = await runSandboxed(spec);
  if (!outcome.ok) throw new Error(`sandbox refused: ${outcome.error.code}: ${outcome.error.detail}`);
  return outcome.result;
}

/** The whole output of a run that was not truncated. */
export function text(result: SandboxResult): string {
  if (result.output.truncated) throw new Error('output unexpectedly truncated');
  return result.output.head + result.output.tail;
}

/** True when a host pid exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** Host pids whose command line contains `token` (a run's processes, seen from outside). */
export function hostPidsWith(token: string): readonly number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(token);
      } catch {
        return false;
      }
    });
}

/**
 * bwrap arguments for a bare sandbox of the tests' own: every namespace unshared, dies with its
 * parent, `/usr` read-only with the usual merged-usr links, and its own `/proc` and `/dev`.
 */
export const minimalBwrapArgs: readonly string[] = [
  '--unshare-all',
  '--die-with-parent',
  '--ro-bind',
  '/usr',
  '/usr',
  '--symlink',
  'usr/bin',
  '/bin',
  '--symlink',
  'usr/lib',
  '/lib',
  '--symlink',
  'usr/lib64',
  '/lib64',
  '--proc',
  '/proc',
  '--dev',
  '/dev',
];
