/**
 * Shared fixtures for the red-team suite: every case drives the real built CLI
 * (`node kernel/dist/crustcore.js`) as a child process, on real git repositories made in temp
 * dirs, with the real bubblewrap sandbox, and reads the event log back through `inspect` and
 * `export` with the same state dir. Nothing here mocks the kernel.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
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
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, expect } from 'vitest';
import type { Event, EventKind, EventOf } from '../../kernel/src/core/index.js';
import {
  cliPath,
  Exit,
  repoRoot,
  useBuiltCli,
  type RunJson,
  requireBwrap as requireSandbox,
  childPath,
  testGitEnv,
} from '../support/cli-harness.js';
import type { InspectReport } from '../../kernel/src/log/index.js';

export { cliPath, Exit, repoRoot, useBuiltCli, type RunJson, childPath };

/** Bounds of the suite's own waiting. */
export const SuiteLimits = {
  /** A CLI child that runs longer than this is killed and the test fails. */
  cliMs: 45_000,
  /** How long a killed run's processes may take to disappear. */
  processGoneMs: 10_000,
  pollMs: 25,
} as const;

/** The red-team cases need the real sandbox: fail (never skip) without it. */
export function requireBwrap(): void {
  requireSandbox('red-team');
}

/** One test's isolated world: a temp root with a home, a state dir and a markers dir. */
export interface World {
  readonly root: string;
  /** The CLI child's `$HOME`. */
  readonly home: string;
  /** The CLI child's `$CRUSTCORE_STATE_DIR` (mode 0700). */
  readonly state: string;
  /** Where hostile scripts leave proof that they ran. Must stay empty. */
  readonly markers: string;
  /** The environment of every CLI child. */
  readonly env: Record<string, string>;
}

const liveWorlds: World[] = [];

/** Registers cleanup of every world made in the calling test file. */
export function useWorlds(): void {
  afterEach(() => {
    for (const world of liveWorlds.splice(0)) rmSync(world.root, { recursive: true, force: true });
  });
}

/** Makes a fresh world; `extraEnv` (or its value for the world's root) is added to the CLI child's environment. */
export function makeWorld(
  extraEnv: Readonly<Record<string, string>> | ((root: string) => Readonly<Record<string, string>>) = {},
): World {
  const root = mkdtempSync(join(tmpdir(), 'crustcore-redteam-'));
  const home = join(root, 'home');
  const state = join(root, 'state');
  const markers = join(root, 'markers');
  mkdirSync(home, { mode: 0o700 });
  mkdirSync(state, { mode: 0o700 });
  chmodSync(state, 0o700);
  mkdirSync(markers);
  const env: Record<string, string> = {
    PATH: childPath(),
    HOME: home,
    LANG: 'C.UTF-8',
    CRUSTCORE_STATE_DIR: state,
    ...(typeof extraEnv === 'function' ? extraEnv(root) : extraEnv),
  };
  const world: World = { root, home, state, markers, env };
  liveWorlds.push(world);
  return world;
}

/** The environment of the test's own git commands: identity by env, no system or global config. */
export function gitEnv(world: World): Record<string, string> {
  return testGitEnv(world.home, { name: 'Red Team', email: 'redteam@example.invalid' });
}

/** Runs the test's own git in `cwd`; returns stdout. */
export function git(world: World, cwd: string, args: readonly string[]): string {
  return execFileSync('git', args, { cwd, env: gitEnv(world), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A file to write: text, text with a mode, a symlink, or (in a change) a deletion. */
export type FileSpec = string | { readonly content: string; readonly mode: number } | { readonly symlink: string };

/** Writes `files` (paths relative to `dir`); `null` deletes. */
export function writeFiles(dir: string, files: Readonly<Record<string, FileSpec | null>>): void {
  for (const [path, spec] of Object.entries(files)) {
    const full = join(dir, path);
    rmSync(full, { force: true, recursive: true });
    if (spec === null) continue;
    mkdirSync(dirname(full), { recursive: true });
    if (typeof spec === 'string') writeFileSync(full, spec);
    else if ('symlink' in spec) symlinkSync(spec.symlink, full);
    else {
      writeFileSync(full, spec.content);
      chmodSync(full, spec.mode);
    }
  }
}

/** Makes a git repository at `<world.root>/<name>` holding `files` in one commit on `main`. */
export function makeRepo(world: World, files: Readonly<Record<string, FileSpec>>, name = 'repo'): string {
  const dir = join(world.root, name);
  mkdirSync(dir);
  git(world, dir, ['init', '-q', '-b', 'main']);
  writeFiles(dir, files);
  git(world, dir, ['add', '-A']);
  git(world, dir, ['commit', '-q', '-m', 'base']);
  return dir;
}

/**
 * The binary git diff that turns the repo's HEAD into HEAD + `change`, written to
 * `<world.root>/<name>.patch`. The repo is left exactly at HEAD again.
 */
export function makePatch(
  world: World,
  repo: string,
  change: Readonly<Record<string, FileSpec | null>>,
  name = 'candidate',
): string {
  writeFiles(repo, change);
  git(world, repo, ['add', '-A']);
  const patch = execFileSync('git', ['diff', '--cached', '--binary', 'HEAD'], { cwd: repo, env: gitEnv(world) });
  git(world, repo, ['reset', '-q', '--hard', 'HEAD']);
  git(world, repo, ['clean', '-q', '-fdx']);
  const path = join(world.root, `${name}.patch`);
  writeFileSync(path, patch);
  return path;
}

/** Writes raw patch text (for hand-made hostile headers) and returns its path. */
export function writePatch(world: World, text: string, name = 'raw'): string {
  const path = join(world.root, `${name}.patch`);
  writeFileSync(path, text);
  return path;
}

/** The result of one CLI child. */
export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Starts the CLI with `args`; the caller owns the child. */
export function spawnCli(world: World, args: readonly string[], options: { readonly cwd?: string } = {}): ChildProcess {
  return spawn(process.execPath, [cliPath, ...args], {
    cwd: options.cwd ?? world.root,
    env: world.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Collects a child's output until it exits; kills it after `SuiteLimits.cliMs`. */
export function collect(child: ChildProcess): Promise<CliResult> {
  return new Promise((resolveResult, reject) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => err.push(chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), SuiteLimits.cliMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolveResult({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
  });
}

/** Runs the CLI with `args` to its end. */
export function cli(
  world: World,
  args: readonly string[],
  options: { readonly cwd?: string } = {},
): Promise<CliResult> {
  return collect(spawnCli(world, args, options));
}

/** Parses `run --json` output; a CLI that printed no report fails the test with its stderr. */
export function parseRun(result: CliResult): RunJson {
  try {
    return JSON.parse(result.stdout) as RunJson;
  } catch {
    throw new Error(`run printed no JSON report (exit ${String(result.code)}): ${result.stdout}\n${result.stderr}`);
  }
}

/** `crustcore run --dir <repo> --json …`: the exit code, the report and stderr. */
export async function run(
  world: World,
  repo: string,
  args: readonly string[],
): Promise<{ readonly code: number | null; readonly report: RunJson; readonly stderr: string }> {
  const result = await cli(world, ['run', '--dir', repo, '--json', ...args]);
  return { code: result.code, report: parseRun(result), stderr: result.stderr };
}

/** `crustcore inspect <log> --json` with the world's state dir. */
export async function inspect(
  world: World,
  logPath: string,
): Promise<{ readonly code: number | null; readonly report: InspectReport }> {
  const result = await cli(world, ['inspect', logPath, '--json']);
  try {
    return { code: result.code, report: JSON.parse(result.stdout) as InspectReport };
  } catch {
    throw new Error(`inspect printed no JSON (exit ${String(result.code)}): ${result.stdout}\n${result.stderr}`);
  }
}

/** `crustcore export <log> --json`: the exported events. */
export async function exportEvents(
  world: World,
  logPath: string,
): Promise<{ readonly code: number | null; readonly events: Event[] }> {
  const result = await cli(world, ['export', logPath, '--json']);
  try {
    const parsed = JSON.parse(result.stdout) as { events: Event[] };
    return { code: result.code, events: parsed.events };
  } catch {
    throw new Error(`export printed no JSON (exit ${String(result.code)}): ${result.stdout}\n${result.stderr}`);
  }
}

/**
 * Asserts the run's log is intact (anchor MAC verified) and holds exactly this task with
 * `status`; returns the exported events.
 */
export async function expectLogged(world: World, report: RunJson, status: string): Promise<Event[]> {
  const inspected = await inspect(world, report.log.path);
  expect(inspected.code).toBe(0);
  expect({
    status: inspected.report.status,
    anchor: inspected.report.anchor,
    lastSeq: inspected.report.lastSeq,
    tasks: inspected.report.tasks.map((task) => ({ taskId: task.taskId, status: task.status })),
  }).toEqual({
    status: 'intact',
    anchor: 'verified',
    lastSeq: report.log.headSeq,
    tasks: [{ taskId: report.taskId, status }],
  });
  const exported = await exportEvents(world, report.log.path);
  expect(exported.code).toBe(0);
  return exported.events;
}

/** The events of one kind, in log order. */
export function eventsOf<K extends EventKind>(events: readonly Event[], kind: K): EventOf<K>[] {
  return events.filter((event): event is EventOf<K> => event.kind === kind);
}

/** The single event of one kind; fails the test when there is not exactly one. */
export function onlyEvent<K extends EventKind>(events: readonly Event[], kind: K): EventOf<K> {
  const found = eventsOf(events, kind);
  expect(found.map((event) => event.kind)).toEqual([kind]);
  return found[0] as EventOf<K>;
}

/** Every entry under `dir` (including `.git`), by relative path, as a type + mode + content digest. */
export function snapshotTree(dir: string): Map<string, string> {
  const entries = new Map<string, string>();
  const walk = (relative: string): void => {
    const full = relative === '' ? dir : join(dir, relative);
    const stat = lstatSync(full);
    const mode = (stat.mode & 0o7777).toString(8);
    if (stat.isSymbolicLink()) entries.set(relative, `link ${readlinkSync(full)}`);
    else if (stat.isFile()) {
      entries.set(relative, `file ${mode} ${createHash('sha256').update(readFileSync(full)).digest('hex')}`);
    } else if (stat.isDirectory()) {
      entries.set(relative, `dir ${mode}`);
      for (const name of readdirSync(full).sort()) walk(relative === '' ? name : `${relative}/${name}`);
    } else entries.set(relative, `special ${stat.mode.toString(8)}`);
  };
  walk('');
  return entries;
}

/** What differs between two snapshots. */
export function snapshotDiff(
  before: ReadonlyMap<string, string>,
  after: ReadonlyMap<string, string>,
): { readonly added: string[]; readonly removed: string[]; readonly changed: string[] } {
  const added = [...after.keys()].filter((path) => !before.has(path)).sort();
  const removed = [...before.keys()].filter((path) => !after.has(path)).sort();
  const changed = [...before.keys()].filter((path) => after.has(path) && after.get(path) !== before.get(path)).sort();
  return { added, removed, changed };
}

/** Files anywhere under `dir` whose name satisfies `match` (symlinks are not followed). */
export function findFiles(dir: string, match: (name: string) => boolean): string[] {
  const found: string[] = [];
  const walk = (path: string): void => {
    let names: string[];
    try {
      names = readdirSync(path);
    } catch {
      return;
    }
    for (const name of names) {
      const full = join(path, name);
      if (match(name)) found.push(full);
      try {
        if (lstatSync(full).isDirectory()) walk(full);
      } catch {
        // Removed while walking.
      }
    }
  };
  walk(dir);
  return found.sort();
}

/** Live (non-zombie) processes other than this one whose command line contains `token`. */
export function processesWith(token: string): { readonly pid: number; readonly cmdline: string }[] {
  const found: { pid: number; cmdline: string }[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/u.test(name) || Number(name) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/gu, ' ');
      if (!cmdline.includes(token)) continue;
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (state !== 'Z' && state !== 'X') found.push({ pid: Number(name), cmdline });
    } catch {
      // The process ended while being read.
    }
  }
  return found;
}

/** Polls `check` until it returns true or `timeoutMs` passes; returns its last answer. */
export async function waitFor(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((done) => setTimeout(done, SuiteLimits.pollMs));
  }
}

/** A random token for process scans and markers. */
export function token(): string {
  return randomBytes(6).toString('hex');
}

/** A unique `sleep` duration whose text identifies the process (`sleep <whole>.<digits>`). */
export function uniqueSleep(wholeSeconds: number): string {
  const digits = String(randomBytes(4).readUInt32BE(0)).padStart(10, '0').slice(0, 9);
  return `${wholeSeconds}.${digits}`;
}

/** True when the host can still start a process (used after resource attacks). */
export function hostCanSpawn(): Promise<boolean> {
  return new Promise((done) => {
    execFile('/bin/sh', ['-c', 'echo alive'], (error, stdout) => done(error === null && stdout.trim() === 'alive'));
  });
}

/** The attempt directories currently under the world's state dir. */
export function attemptDirs(world: World): string[] {
  const repos = join(world.state, 'repos');
  if (!existsSync(repos)) return [];
  const found: string[] = [];
  for (const repo of readdirSync(repos)) {
    const attempts = join(repos, repo, 'attempts');
    if (!existsSync(attempts)) continue;
    for (const id of readdirSync(attempts)) found.push(join(attempts, id));
  }
  return found.sort();
}

/** A small Node project whose `add` is wrong, with one failing and one passing test. */
export const nodeProject = {
  'package.json': `${JSON.stringify(
    {
      name: 'fixture',
      version: '1.0.0',
      private: true,
      scripts: { test: 'node test/add.test.js && node test/ok.test.js' },
    },
    null,
    2,
  )}\n`,
  'src/add.js': 'module.exports = (a, b) => a - b;\n',
  'test/add.test.js':
    "const assert = require('node:assert');\nconst add = require('../src/add.js');\nassert.strictEqual(add(2, 2), 4);\nconsole.log('add ok');\n",
  'test/ok.test.js': "const assert = require('node:assert');\nassert.strictEqual(1 + 1, 2);\nconsole.log('ok ok');\n",
  'README.md': '# fixture\n',
} as const satisfies Record<string, FileSpec>;

/** Runs every `test/*.test.js` that exists; fails on the first failure. */
export const runAllTests = 'for f in test/*.test.js; do [ -e "$f" ] || continue; node "$f" || exit 1; done';

/** The fix for `nodeProject`: the change a good patch makes. */
export const nodeFix = { 'src/add.js': 'module.exports = (a, b) => a + b;\n' } as const;

/**
 * The small ESM project the agent-loop cases work on: `mean()` skips the first value and divides
 * by zero on an empty list, and `node --test` says so.
 */
export const statsProject = (() => {
  const stats = [
    'export function mean(values) {',
    '  let total = 0;',
    '  for (let i = 1; i < values.length; i++) total += values[i];',
    '  return total / values.length;',
    '}',
    '',
  ].join('\n');
  const files: Readonly<Record<string, string>> = {
    'package.json': '{"name":"stats","private":true,"type":"module"}\n',
    'src/stats.js': stats,
    'test/stats.test.js': [
      "import { test } from 'node:test';",
      "import assert from 'node:assert/strict';",
      "import { mean } from '../src/stats.js';",
      "test('mean', () => assert.equal(mean([2, 4, 6]), 4));",
      "test('empty', () => assert.equal(mean([]), 0));",
      '',
    ].join('\n'),
  };
  return { stats, files } as const;
})();
