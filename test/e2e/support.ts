/**
 * Shared fixtures of the end-to-end suite: every case drives the real built CLI
 * (`node kernel/dist/crustcore.js`) as a child process with a controlled environment (PATH, a
 * temp HOME, a temp CRUSTCORE_STATE_DIR), on real git repositories in temp dirs, with the real
 * bubblewrap sandbox. After every `run`, the suite checks what every run must leave behind: no
 * attempt tree, and logs that `inspect` calls intact and `replay` re-derives.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
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
import { afterEach, expect } from 'vitest';
import type { Event } from '../../kernel/src/core/index.js';
import {
  cliPath,
  Exit,
  findBwrap,
  repoRoot,
  useBuiltCli,
  type RunJson,
  requireBwrap as requireSandbox,
  childPath,
  testGitEnv,
} from '../support/cli-harness.js';

export { cliPath, Exit, findBwrap, repoRoot, useBuiltCli, type RunJson, childPath };

/** Bounds of the suite's own waiting. */
export const SuiteLimits = {
  /** A CLI child that runs longer than this is killed and the test fails. */
  cliMs: 50_000,
} as const;

/** The suite needs the real sandbox: it fails (never skips) without it, on CI and elsewhere. */
export function requireBwrap(): void {
  requireSandbox('e2e');
}

/** One test's isolated world: a temp root with a home and a state dir. */
export interface World {
  readonly root: string;
  /** The CLI child's `$HOME`. */
  readonly home: string;
  /** The CLI child's `$CRUSTCORE_STATE_DIR` (mode 0700). */
  readonly state: string;
  /** The environment of every CLI child. */
  readonly env: Record<string, string>;
  /** Logs already proven intact and replayable. */
  readonly checkedLogs: Set<string>;
}

const liveWorlds: World[] = [];

/** Registers cleanup of every world made in the calling test file. */
export function useWorlds(): void {
  afterEach(() => {
    for (const world of liveWorlds.splice(0)) rmSync(world.root, { recursive: true, force: true });
  });
}

/** Makes a fresh world; `extraEnv` is added to (or overrides) the CLI child's environment. */
export function makeWorld(extraEnv: Readonly<Record<string, string>> = {}): World {
  const root = mkdtempSync(join(tmpdir(), 'crustcore-e2e-'));
  const home = join(root, 'home');
  const state = join(root, 'state');
  mkdirSync(home, { mode: 0o700 });
  mkdirSync(state, { mode: 0o700 });
  chmodSync(state, 0o700);
  const env: Record<string, string> = {
    PATH: childPath(),
    HOME: home,
    LANG: 'C.UTF-8',
    TMPDIR: root,
    CRUSTCORE_STATE_DIR: state,
    ...extraEnv,
  };
  const world: World = { root, home, state, env, checkedLogs: new Set() };
  liveWorlds.push(world);
  return world;
}

/** The environment of the test's own git commands: identity by env, no system or global config. */
export function gitEnv(world: World): Record<string, string> {
  return testGitEnv(world.home, { name: 'E2E Test', email: 'e2e@example.invalid' });
}

/** Runs the test's own git in `cwd`; returns stdout. */
export function git(world: World, cwd: string, args: readonly string[], input?: string | Buffer): string {
  return execFileSync('git', args, {
    cwd,
    env: gitEnv(world),
    encoding: 'utf8',
    ...(input === undefined ? { stdio: ['ignore', 'pipe', 'pipe'] } : { input, stdio: ['pipe', 'pipe', 'pipe'] }),
  });
}

/** Writes `files` (paths relative to `dir`), creating folders. */
export function writeFiles(dir: string, files: Readonly<Record<string, string>>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
}

/** A git repository with one commit on `main`. */
export interface Repo {
  readonly dir: string;
  /** The base commit id. */
  readonly base: string;
}

/** Makes a git repository at `<world.root>/<name>` holding `files` in one commit on `main`. */
export function makeRepo(world: World, files: Readonly<Record<string, string>>, name = 'repo'): Repo {
  const dir = join(world.root, name);
  mkdirSync(dir);
  git(world, dir, ['init', '-q', '-b', 'main']);
  writeFiles(dir, files);
  git(world, dir, ['add', '-A']);
  git(world, dir, ['commit', '-q', '-m', 'base']);
  return { dir, base: git(world, dir, ['rev-parse', 'HEAD']).trim() };
}

/** The result of one CLI child. */
export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI with `args` to its end in `cwd` (default: the world's root). */
export function cli(
  world: World,
  args: readonly string[],
  options: { readonly cwd?: string; readonly env?: Readonly<Record<string, string>> } = {},
): Promise<CliResult> {
  return new Promise((resolveResult, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], {
      cwd: options.cwd ?? world.root,
      env: options.env ?? world.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), SuiteLimits.cliMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolveResult({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

/** Every log the world's state dir holds. */
export function logsOf(world: World): string[] {
  const repos = join(world.state, 'repos');
  if (!existsSync(repos)) return [];
  return readdirSync(repos)
    .flatMap((digest) => {
      const logs = join(repos, digest, 'logs');
      return existsSync(logs) ? readdirSync(logs).map((name) => join(logs, name)) : [];
    })
    .filter((path) => path.endsWith('.jsonl'))
    .sort();
}

/** Every entry left in an `attempts/` folder of the world's state dir. */
export function attemptsLeft(world: World): string[] {
  const repos = join(world.state, 'repos');
  if (!existsSync(repos)) return [];
  return readdirSync(repos).flatMap((digest) => {
    const attempts = join(repos, digest, 'attempts');
    return existsSync(attempts) ? readdirSync(attempts).map((name) => join(digest, 'attempts', name)) : [];
  });
}

/** Asserts the log is INTACT for `inspect` and re-derived by `replay`, both exiting 0. */
export async function expectLogSound(world: World, logPath: string): Promise<void> {
  const inspected = await cli(world, ['inspect', logPath]);
  expect({ code: inspected.code, first: inspected.stdout.split('\n')[0], stderr: inspected.stderr }).toEqual({
    code: 0,
    first: `INTACT ${logPath}`,
    stderr: '',
  });
  expect(inspected.stdout).toContain('head anchor: MAC verified');
  const replayed = await cli(world, ['replay', logPath]);
  expect({ code: replayed.code, first: replayed.stdout.split('\n')[0], stderr: replayed.stderr }).toEqual({
    code: 0,
    first: `REPLAYED ${logPath}`,
    stderr: '',
  });
  world.checkedLogs.add(logPath);
}

/**
 * `crustcore run …` in `cwd`, then what every run must leave behind: no attempt tree in the state
 * dir, and every new log intact and replayable.
 */
export async function run(world: World, cwd: string, args: readonly string[]): Promise<CliResult> {
  const result = await cli(world, ['run', ...args], { cwd });
  expect(attemptsLeft(world)).toEqual([]);
  for (const log of logsOf(world)) if (!world.checkedLogs.has(log)) await expectLogSound(world, log);
  return result;
}

/** Parses `run --json` output; a CLI that printed no single JSON line fails the test with its output. */
export function parseJson<T>(result: CliResult): T {
  const lines = result.stdout.split('\n').filter((line) => line !== '');
  if (lines.length !== 1) {
    throw new Error(
      `expected one JSON line, got ${lines.length} (exit ${String(result.code)}): ${result.stdout}\n${result.stderr}`,
    );
  }
  return JSON.parse(lines[0] ?? '') as T;
}

/** `run --json` in the repo: the exit code, the report and stderr. */
export async function runJson(
  world: World,
  repo: string,
  args: readonly string[],
): Promise<{ readonly code: number | null; readonly report: RunJson; readonly stderr: string }> {
  const result = await run(world, repo, ['--json', ...args]);
  return { code: result.code, report: parseJson<RunJson>(result), stderr: result.stderr };
}

/** sha256 hex of bytes. */
export function sha256(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Every entry under `dir` (including `.git`), by relative path: type, mode, size and content
 * digest. Equal snapshots mean no entry appeared, vanished or changed one byte or mode bit.
 */
export function snapshotTree(dir: string, skip: (relative: string) => boolean = () => false): Record<string, string> {
  const entries: Record<string, string> = {};
  const walk = (relative: string): void => {
    const full = relative === '' ? dir : join(dir, relative);
    const stat = lstatSync(full);
    const mode = (stat.mode & 0o7777).toString(8);
    if (stat.isSymbolicLink()) entries[relative] = `link ${readlinkSync(full)}`;
    else if (stat.isFile()) entries[relative] = `file ${mode} ${stat.size} ${sha256(readFileSync(full))}`;
    else if (stat.isDirectory()) {
      entries[relative] = `dir ${mode}`;
      for (const name of readdirSync(full).sort()) {
        const child = relative === '' ? name : `${relative}/${name}`;
        if (!skip(child)) walk(child);
      }
    } else entries[relative] = `special ${stat.mode.toString(8)}`;
  };
  walk('');
  return entries;
}

/** A fake "bwrap" that enforces nothing: it skips its options and execs the command after `--`. */
export function writeFakeBwrap(world: World, name = 'fake-bwrap'): string {
  const path = join(world.root, name);
  writeFileSync(
    path,
    '#!/bin/sh\nwhile [ "$#" -gt 0 ]; do\n  if [ "$1" = "--" ]; then shift; exec "$@"; fi\n  shift\ndone\nexit 1\n',
  );
  chmodSync(path, 0o755);
  return path;
}

/** The verdict lines of a human report: the first word(s) of a `run` result. */
export function verdictLines(stdout: string): string[] {
  return stdout
    .split('\n')
    .filter((line) =>
      /^(VERIFIED|REJECTED|NEEDS APPROVAL|REFUSED|FAILED|CANCELLED|BUDGET EXHAUSTED|UNFINISHED) /.test(line),
    );
}

/** The events of the log at `logPath`, in order (the genesis record and checkpoints left out). */
export function eventsOf(logPath: string): Event[] {
  return readFileSync(logPath, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as { kind: string; body: unknown })
    .filter((record) => record.kind === 'event')
    .map((record) => record.body as Event);
}

/** The events of the log at `logPath` as `crustcore export` prints them (exit 0 required). */
export async function exportedEvents(world: World, logPath: string): Promise<Event[]> {
  const exported = await cli(world, ['export', logPath]);
  expect(exported.code).toBe(0);
  return exported.stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Event);
}

/** The state dir without lock files (which come and go with every open). */
export function stateSnapshot(world: World): Record<string, string> {
  return snapshotTree(world.state, (relative) => relative.endsWith('.lock'));
}
