/**
 * Finds the programs a verify command runs on the kernel's own PATH, including installs under
 * `$HOME` (nvm, rustup, pyenv, volta, bun, deno, asdf, go), and says what to bind read-only at
 * the same path so they run inside the sandbox. It never binds `$HOME` itself, an ancestor of
 * it, or anything holding credentials or the kernel's state.
 */
import {
  accessSync,
  closeSync,
  constants,
  lstatSync,
  openSync,
  readSync,
  readlinkSync,
  realpathSync,
  statSync,
} from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { systemPathEntries } from './default-env.js';
import { Limits } from './limits.js';

/** What a command needs from the host to run inside the sandbox. */
export interface Toolchain {
  /** Host paths (dirs or files) bound read-only at the same path, outermost first, no duplicates. */
  readonly binds: readonly string[];
  /** PATH for inside: the dirs the programs were found in, then the system dirs. */
  readonly pathEntries: readonly string[];
  /** Host files inside `binds` that hold credentials: the sandbox shows them as empty files. */
  readonly masks: readonly string[];
  /** Variables the toolchain needs because `$HOME` differs inside (e.g. RUSTUP_HOME, CARGO_HOME). */
  readonly env: Readonly<Record<string, string>>;
  /** Each program looked up and where it was found on the host (null when it was not). */
  readonly programs: readonly { readonly name: string; readonly hostPath: string | null }[];
}

/** Options of `resolveToolchain`; every host fact arrives here so tests can point it anywhere. */
export interface ToolchainOptions {
  /** The kernel's home directory (installs under it are recognised). */
  readonly home: string;
  /** Host paths that must never be bound, nor any ancestor of them (e.g. the kernel's state dir). */
  readonly denyPaths?: readonly string[];
}

/** Dirs every sandbox already shows read-only; programs found here need no extra bind. */
const systemPrefixes: readonly string[] = [
  '/usr',
  '/bin',
  '/sbin',
  '/lib',
  '/lib32',
  '/lib64',
  '/libx32',
  '/etc/alternatives',
];

const shells: ReadonlySet<string> = new Set(['sh', 'bash', 'dash', 'zsh', 'ksh']);

/** Words that run the next word as the program. */
const prefixWords: ReadonlySet<string> = new Set([
  'exec',
  'env',
  'time',
  'nice',
  'command',
  'nohup',
  '!',
  'then',
  'do',
  'else',
]);

const programName = /^[A-Za-z0-9._+/@-]+$/;

/** Credentials and state under `$HOME` that no toolchain bind may cover. */
export function sensitiveHomePaths(home: string): readonly string[] {
  return [
    '.ssh',
    '.aws',
    '.npmrc',
    '.yarnrc',
    '.config',
    '.gnupg',
    '.docker',
    '.kube',
    '.netrc',
    '.git-credentials',
    '.gitconfig',
    '.pypirc',
    '.local/state',
    '.local/share/keyrings',
  ].map((entry) => join(home, entry));
}

/** Credential files inside a bound toolchain root; they are masked (an empty file shows instead). */
function maskedHomePaths(home: string): readonly string[] {
  return ['.cargo/credentials', '.cargo/credentials.toml', '.volta/.npmrc', '.bun/install/cache/.npmrc'].map((entry) =>
    join(home, entry),
  );
}

/**
 * Resolves the programs of `command` (an argv, or a shell command string whose simple commands
 * are scanned for their first word) on `hostPath`, plus `git`, and returns what to bind.
 */
export function resolveToolchain(
  command: string | readonly string[],
  hostPath: string,
  options: ToolchainOptions,
): Toolchain {
  const home = resolve(options.home);
  const deny = [...sensitiveHomePaths(home), ...(options.denyPaths ?? []).map((path) => resolve(path))];
  const names = [...programsOf(command), 'git'].filter((name, index, all) => all.indexOf(name) === index);
  const pathDirs = hostPath.split(':').filter((dir) => dir !== '' && isAbsolute(dir));
  const state: ResolveState = { home, deny, pathDirs, binds: [], env: {}, foundDirs: [] };
  const programs = names.slice(0, Limits.toolchainProgramsMax).map((name) => {
    const hostProgram = findOnPath(name, pathDirs);
    if (hostProgram !== null) addProgram(state, hostProgram, 0);
    return { name, hostPath: hostProgram };
  });
  const binds = outermostOnly(state.binds);
  const visible = (dir: string): boolean =>
    underAny(dir, systemPrefixes) || binds.some((bind) => isSameOrInside(dir, bind));
  const found = pathDirs.filter((dir) => state.foundDirs.includes(dir) && visible(dir));
  const pathEntries = [...found, ...systemPathEntries.filter((dir) => !found.includes(dir))];
  const masks = maskedHomePaths(home).filter(
    (file) => exists(file) && binds.some((bind) => isSameOrInside(file, bind)),
  );
  return { binds, masks, pathEntries, env: Object.freeze({ ...state.env }), programs };
}

interface ResolveState {
  readonly home: string;
  readonly deny: readonly string[];
  readonly pathDirs: readonly string[];
  readonly binds: string[];
  readonly env: Record<string, string>;
  readonly foundDirs: string[];
}

/** The program names a command runs: argv[0], or the first word of each simple command of `sh -c`. */
function programsOf(command: string | readonly string[]): readonly string[] {
  if (typeof command === 'string') return wordsOfShellCommand(command);
  const [first, flag, script] = command;
  if (first === undefined) return [];
  if (shells.has(basename(first)) && flag === '-c' && script !== undefined) {
    return [first, ...wordsOfShellCommand(script)];
  }
  return [first];
}

function wordsOfShellCommand(script: string): readonly string[] {
  const words: string[] = [];
  for (const segment of script.split(/\|\||&&|[;&|\n()`{}]|\$\(/)) {
    const tokens = segment
      .trim()
      .split(/\s+/)
      .filter((token) => token !== '');
    let index = 0;
    while (index < tokens.length) {
      const token = tokens[index] ?? '';
      const isAssignment = /^[A-Za-z_][A-Za-z0-9_]*=/.test(token);
      const isPrefix =
        prefixWords.has(token) || (index > 0 && token.startsWith('-') && prefixWords.has(tokens[0] ?? ''));
      if (!isAssignment && !isPrefix) break;
      index += 1;
    }
    const word = unquote(tokens[index] ?? '');
    if (word !== '' && programName.test(word) && !word.startsWith('./') && !word.startsWith('../')) words.push(word);
  }
  return words;
}

function unquote(word: string): string {
  const quoted = /^(['"])(.*)\1$/.exec(word);
  return quoted === null ? word : (quoted[2] ?? '');
}

function findOnPath(name: string, pathDirs: readonly string[]): string | null {
  if (name.includes('/')) return isAbsolute(name) && isExecutableFile(name) ? resolve(name) : null;
  for (const dir of pathDirs) {
    const candidate = join(dir, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return null;
}

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Binds every hop of the symlink chain from `hostProgram` to its real file, then its interpreter. */
function addProgram(state: ResolveState, hostProgram: string, depth: number): void {
  if (depth > Limits.toolchainHopsMax) return;
  state.foundDirs.push(dirname(hostProgram));
  let current = hostProgram;
  for (let hop = 0; hop <= Limits.toolchainHopsMax; hop += 1) {
    addBindFor(state, current);
    let target: string;
    try {
      if (!lstatSync(current).isSymbolicLink()) break;
      target = resolve(dirname(current), readlinkSync(current));
    } catch {
      break;
    }
    current = target;
  }
  let real: string;
  try {
    real = realpathSync(hostProgram);
  } catch {
    return;
  }
  addBindFor(state, real);
  const interpreter = shebangInterpreter(real);
  if (interpreter === null) return;
  const interpreterPath = interpreter.includes('/') ? interpreter : findOnPath(interpreter, state.pathDirs);
  if (interpreterPath !== null && isAbsolute(interpreterPath)) addProgram(state, interpreterPath, depth + 1);
}

/** `#!/usr/bin/env node` → `node`; `#!/opt/py/bin/python3 -u` → `/opt/py/bin/python3`. */
function shebangInterpreter(file: string): string | null {
  const buffer = Buffer.alloc(256);
  let length: number;
  try {
    const fd = openSync(file, 'r');
    try {
      length = readSync(fd, buffer, 0, buffer.length, 0);
    } finally {
      closeSync(fd);
    }
  } catch {
    return null;
  }
  const text = buffer.subarray(0, length).toString('latin1');
  if (!text.startsWith('#!')) return null;
  const words = (text.slice(2).split('\n')[0] ?? '').trim().split(/\s+/);
  const [interpreter, ...rest] = words;
  if (interpreter === undefined || interpreter === '') return null;
  if (basename(interpreter) !== 'env') return interpreter;
  const program = rest.find((word) => !word.startsWith('-') && !word.includes('='));
  return program !== undefined && programName.test(program) ? program : null;
}

/** Adds the bind that makes `path` visible inside, or nothing when it already is. */
function addBindFor(state: ResolveState, path: string): void {
  if (underAny(path, systemPrefixes)) return;
  const { home } = state;
  const candidates: string[] = [];
  if (isSameOrInside(path, home) && path !== home) {
    const parts = relative(home, path).split(sep);
    const [top, second, third, fourth] = parts;
    if (top === '.nvm' && second === 'versions' && third !== undefined && fourth !== undefined) {
      candidates.push(join(home, top, second, third, fourth));
    } else if (top === '.cargo' || top === '.rustup') {
      candidates.push(join(home, '.cargo'), join(home, '.rustup'));
      state.env['CARGO_HOME'] = join(home, '.cargo');
      state.env['RUSTUP_HOME'] = join(home, '.rustup');
    } else if (top === '.pyenv') {
      candidates.push(join(home, top));
      state.env['PYENV_ROOT'] = join(home, top);
    } else if (top === '.volta') {
      candidates.push(join(home, top));
      state.env['VOLTA_HOME'] = join(home, top);
    } else if (top === '.asdf') {
      candidates.push(join(home, top));
      state.env['ASDF_DIR'] = join(home, top);
      state.env['ASDF_DATA_DIR'] = join(home, top);
    } else if (top === '.bun' || top === '.deno' || top === 'go' || top === '.sdkman') {
      candidates.push(join(home, top));
    } else {
      candidates.push(genericRoot(path, home));
    }
  } else {
    candidates.push(genericRoot(path, '/'));
  }
  for (const candidate of candidates) {
    const safe = isSafeBind(candidate, state) ? candidate : isSafeBind(path, state) ? path : null;
    if (safe !== null && exists(safe) && !state.binds.includes(safe)) state.binds.push(safe);
  }
}

/** `<root>/bin/<program>` binds `<root>` when it is at least two levels below `base`; else the file. */
function genericRoot(path: string, base: string): string {
  const parent = dirname(path);
  const root = dirname(parent);
  const depth = relative(base, root)
    .split(sep)
    .filter((part) => part !== '').length;
  return basename(parent) === 'bin' && depth >= 2 ? root : path;
}

function isSafeBind(candidate: string, state: ResolveState): boolean {
  if (candidate === '/' || isSameOrInside(state.home, candidate)) return false;
  if (underAny(candidate, ['/proc', '/sys', '/dev', '/run', '/var/run', '/etc'])) return false;
  return !state.deny.some((denied) => isSameOrInside(denied, candidate) || isSameOrInside(candidate, denied));
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** True when `path` is `ancestor` or lies below it. */
export function isSameOrInside(path: string, ancestor: string): boolean {
  if (path === ancestor) return true;
  const rel = relative(ancestor, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

function underAny(path: string, prefixes: readonly string[]): boolean {
  return prefixes.some((prefix) => isSameOrInside(path, prefix));
}

/** Drops binds already covered by another bind, keeping the order. */
function outermostOnly(binds: readonly string[]): readonly string[] {
  return binds.filter(
    (bind, index) =>
      !binds.some((other, otherIndex) => otherIndex !== index && other !== bind && isSameOrInside(bind, other)),
  );
}
