/**
 * The one way the kernel runs git.
 *
 * Every call is an `execFile` (never a shell) with an environment built from nothing: no GIT_*
 * variable of the caller leaks in, system and global config are off, `HOME` is an empty private
 * directory, and `-c` overrides switch off every repo-configurable program git could start
 * (hooks, fsmonitor, pagers, external diff, askpass, ssh, remote helpers, submodules). Filter
 * drivers cannot be switched off by name, so the kernel never runs a command that would apply a
 * clean or smudge filter to repo-controlled paths: objects are read with `cat-file` and written by
 * the kernel itself, patches are applied to the index only (`apply --cached`).
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Limits } from './limits.js';

/** An expected failure of a git call. */
export type GitError = {
  readonly code: 'notAGitRepo' | 'unknownRevision' | 'gitFailed';
  readonly detail: string;
};

/** The outcome of a git call: its raw stdout, or a typed error. */
export type GitResult =
  { readonly ok: true; readonly stdout: Buffer } | { readonly ok: false; readonly error: GitError };

/** One git invocation. Paths are absolute. */
export interface GitCall {
  /** The repository's git directory (`--git-dir`). */
  readonly gitDir?: string;
  /** The work tree (`--work-tree`); absent means the call needs none. */
  readonly workTree?: string;
  /** A private index file (`GIT_INDEX_FILE`); the user's own index is never written. */
  readonly indexFile?: string;
  /** Extra `-c key=value` overrides, applied after the hardening ones (e.g. `protocol.file.allow=always`). */
  readonly config?: readonly string[];
  readonly args: readonly string[];
  readonly stdin?: Uint8Array;
  readonly timeoutMs?: number;
  readonly outputBytesMax?: number;
  /** Working directory for repository discovery; defaults to the work tree, the git dir or an empty dir. */
  readonly cwd?: string;
  /** Override the git binary (tests, unusual installs). */
  readonly gitPath?: string;
  /**
   * Non-zero exit statuses that still mean success for this command (`check-ignore` exits 1 when
   * no path is ignored). A call killed for time or output is a failure whatever its status.
   */
  readonly exitCodesOk?: readonly number[];
}

/**
 * Overrides that neutralise every program a repository's own config could make git start.
 * `diff.external=` is deliberately empty: should anything still ask for it, git fails instead of
 * running a program.
 */
export const HardeningConfig: readonly string[] = Object.freeze([
  'core.hooksPath=/dev/null',
  'core.fsmonitor=false',
  'core.untrackedCache=false',
  'core.pager=cat',
  'core.sshCommand=false',
  'core.askPass=',
  'core.attributesFile=/dev/null',
  'core.excludesFile=/dev/null',
  'core.autocrlf=false',
  'core.safecrlf=false',
  'core.quotePath=true',
  'core.gitProxy=false',
  'credential.helper=',
  'diff.external=',
  'diff.noprefix=false',
  'diff.mnemonicPrefix=false',
  'diff.renames=false',
  'diff.relative=false',
  'color.ui=never',
  'protocol.allow=never',
  'submodule.recurse=false',
  'gc.auto=0',
  'maintenance.auto=false',
  'fetch.recurseSubmodules=false',
  'uploadpack.packObjectsHook=',
  'commit.gpgSign=false',
  'tag.gpgSign=false',
]);

const gitCandidates = ['/usr/bin/git', '/bin/git', '/usr/local/bin/git', '/opt/homebrew/bin/git'] as const;

let resolvedGitPath: string | undefined;
let emptyHome: string | undefined;

/** The git binary: a fixed system location, never looked up through the caller's `PATH`. */
export function gitBinary(): string {
  if (resolvedGitPath !== undefined) return resolvedGitPath;
  for (const candidate of gitCandidates) {
    try {
      accessSync(candidate, constants.X_OK);
      resolvedGitPath = candidate;
      return candidate;
    } catch {
      // Try the next location.
    }
  }
  throw new Error(`git not found: looked in ${gitCandidates.join(', ')}; install git in a system location`);
}

function homeDir(): string {
  if (emptyHome === undefined) {
    const home = mkdtempSync(join(tmpdir(), 'crustcore-git-home-'));
    emptyHome = home;
    process.once('exit', () => {
      try {
        rmdirSync(home);
      } catch {
        // Best effort; the directory is empty.
      }
    });
  }
  return emptyHome;
}

/** The complete environment of a kernel git call. Nothing from the caller's environment enters. */
export function gitEnvironment(indexFile?: string): Record<string, string> {
  const home = homeDir();
  const env: Record<string, string> = {
    PATH: '/usr/bin:/bin',
    HOME: home,
    XDG_CONFIG_HOME: home,
    LC_ALL: 'C',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: '',
    SSH_ASKPASS: '',
    GIT_PAGER: 'cat',
    GIT_ATTR_NOSYSTEM: '1',
    GIT_OPTIONAL_LOCKS: '0',
    GIT_NO_REPLACE_OBJECTS: '1',
    GIT_PROTOCOL_FROM_USER: '0',
  };
  if (indexFile !== undefined) env['GIT_INDEX_FILE'] = indexFile;
  return env;
}

/** The argv of a call, hardening first. Exposed so tests can assert the exact command line. */
export function gitArguments(call: GitCall): string[] {
  const argv: string[] = ['--no-pager', '--no-replace-objects'];
  for (const entry of HardeningConfig) argv.push('-c', entry);
  for (const entry of call.config ?? []) argv.push('-c', entry);
  if (call.gitDir !== undefined) argv.push(`--git-dir=${call.gitDir}`);
  if (call.workTree !== undefined) argv.push(`--work-tree=${call.workTree}`);
  argv.push(...call.args);
  return argv;
}

function classify(stderr: string): GitError['code'] {
  if (/not a git repository/i.test(stderr)) return 'notAGitRepo';
  if (/unknown revision|bad revision|needed a single revision|not a valid object name|bad object/i.test(stderr)) {
    return 'unknownRevision';
  }
  return 'gitFailed';
}

/** Runs one hardened git call. Never rejects: an operating failure is a `GitError` value. */
export function runGit(call: GitCall): Promise<GitResult> {
  const argv = gitArguments(call);
  const command = call.args.slice(0, 1).join('');
  return new Promise((resolve) => {
    let binary: string;
    try {
      binary = call.gitPath ?? gitBinary();
    } catch (error) {
      resolve({ ok: false, error: { code: 'gitFailed', detail: String((error as Error).message) } });
      return;
    }
    const child = execFile(
      binary,
      argv,
      {
        env: gitEnvironment(call.indexFile),
        cwd: call.cwd ?? call.workTree ?? call.gitDir ?? homeDir(),
        encoding: 'buffer',
        shell: false,
        windowsHide: true,
        timeout: call.timeoutMs ?? Limits.gitTimeoutMs,
        killSignal: 'SIGKILL',
        maxBuffer: call.outputBytesMax ?? Limits.gitOutputBytesMax,
      },
      (error, stdout, stderr) => {
        if (error === null) {
          resolve({ ok: true, stdout });
          return;
        }
        const failure = error as Omit<NodeJS.ErrnoException, 'code'> & { code?: unknown; killed?: boolean };
        if (typeof failure.code === 'number' && failure.killed !== true && call.exitCodesOk?.includes(failure.code)) {
          resolve({ ok: true, stdout });
          return;
        }
        const text = stderr.subarray(0, Limits.gitErrorBytesMax).toString('utf8').trim();
        const reason =
          failure.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER'
            ? 'output exceeded its limit'
            : failure.killed === true
              ? 'timed out'
              : text.length > 0
                ? text.split('\n')[0]
                : failure.message;
        resolve({
          ok: false,
          error: { code: classify(text), detail: `git ${command} failed: ${reason ?? 'no detail'}` },
        });
      },
    );
    child.stdin?.on('error', () => {
      // A git process that exits before reading all of stdin is reported through its exit status.
    });
    child.stdin?.end(call.stdin ?? new Uint8Array(0));
  });
}

/** Runs a hardened git call and returns stdout, or throws with the typed error attached. */
export async function runGitOrThrow(call: GitCall): Promise<Buffer> {
  const result = await runGit(call);
  if (!result.ok) throw new GitCallFailed(result.error);
  return result.stdout;
}

/** Carries a `GitError` through internal code that propagates failures by throwing. */
export class GitCallFailed extends Error {
  readonly error: GitError;
  constructor(error: GitError) {
    super(error.detail);
    this.error = error;
  }
}
