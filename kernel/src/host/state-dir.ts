/**
 * The kernel's state dir: event logs, head anchors, MAC keys and per-repo state, kept outside
 * every repo and every sandbox.
 *
 * Every input (environment, home directory) arrives as an argument so tests point it at a
 * temporary directory; nothing here reads `process.env`.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fstatSync,
  fsyncSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readSync,
  realpathSync,
  rmSync,
  writeSync,
  chmodSync,
  type Stats,
} from 'node:fs';
import { userInfo } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { inspect } from 'node:util';

/** Limits of the state dir. */
export const StateDirLimits = {
  /** Every MAC key is exactly this many random bytes. */
  keyBytes: 32,
  /** Hex characters of the repo-path digest that name a repo's subfolder. */
  repoDigestChars: 32,
} as const;

/** The environment variables the state dir reads, passed in explicitly. */
export type StateDirEnv = Readonly<Record<string, string | undefined>>;

/** Why the state dir or a key in it was refused. */
export type StateDirErrorCode =
  'badEnv' | 'symlink' | 'notDirectory' | 'insecureMode' | 'wrongOwner' | 'badKeyName' | 'badKeyFile' | 'io';

/** An expected failure of the state dir; `message` is one line: what failed, why, what to do. */
export class StateDirError extends Error {
  /** The machine-readable reason. */
  readonly code: StateDirErrorCode;

  constructor(code: StateDirErrorCode, message: string) {
    super(message);
    this.name = 'StateDirError';
    this.code = code;
  }
}

const keyNamePattern = /^[a-z][a-z0-9-]{0,31}$/;

/** Module-private factory: only this module turns checked key-file bytes into a `MacKey`. */
let sealKey: (name: string, bytes: Buffer) => MacKey;

/**
 * An HMAC-SHA-256 key loaded from the state dir. The key bytes live in a `#private` field: they
 * never appear in `toString`, `toJSON` or `util.inspect`, and the only operation is a MAC.
 */
export class MacKey {
  readonly #bytes: Buffer;
  /** The key's file name in `keys/` without the `.key` suffix. */
  readonly name: string;

  private constructor(name: string, bytes: Buffer) {
    this.name = name;
    this.#bytes = bytes;
  }

  static {
    sealKey = (name, bytes) => new MacKey(name, Buffer.from(bytes));
  }

  /** HMAC-SHA-256 of `data` under this key, as lowercase hex. */
  hmacHex(data: string | Uint8Array): string {
    return createHmac('sha256', this.#bytes).update(data).digest('hex');
  }

  /** Never reveals the key. */
  toString(): string {
    return `[MacKey ${this.name}]`;
  }

  /** Never reveals the key. */
  toJSON(): string {
    return this.toString();
  }

  /** Never reveals the key. */
  [inspect.custom](): string {
    return this.toString();
  }
}

/**
 * Where the state dir is: `CRUSTCORE_STATE_DIR`, else `$XDG_STATE_HOME/crustcore`, else
 * `~/.local/state/crustcore`. A relative `XDG_STATE_HOME` is ignored, as the XDG spec says.
 */
export function resolveStateDirPath(env: StateDirEnv): string {
  const explicit = env['CRUSTCORE_STATE_DIR'];
  if (explicit !== undefined && explicit !== '') {
    if (!isAbsolute(explicit)) {
      throw new StateDirError(
        'badEnv',
        `CRUSTCORE_STATE_DIR '${explicit}' is not an absolute path; set it to an absolute path.`,
      );
    }
    return explicit;
  }
  const xdg = env['XDG_STATE_HOME'];
  if (xdg !== undefined && isAbsolute(xdg)) return join(xdg, 'crustcore');
  const envHome = env['HOME'];
  const home = envHome !== undefined && isAbsolute(envHome) ? envHome : userInfo().homedir;
  return join(home, '.local', 'state', 'crustcore');
}

function currentUid(): number | null {
  return typeof process.getuid === 'function' ? process.getuid() : null;
}

/** Refuses a directory that is a symlink, not a directory, not ours, or open to group/other. */
function checkPrivateDir(path: string, stats: Stats, what: string): void {
  if (stats.isSymbolicLink()) {
    throw new StateDirError(
      'symlink',
      `${what} ${path} is a symlink; remove it or point the setting at a real directory.`,
    );
  }
  if (!stats.isDirectory()) {
    throw new StateDirError('notDirectory', `${what} ${path} is not a directory; move it away or choose another path.`);
  }
  const uid = currentUid();
  if (uid !== null && stats.uid !== uid) {
    throw new StateDirError('wrongOwner', `${what} ${path} belongs to uid ${stats.uid}, not to this user (${uid}).`);
  }
  if ((stats.mode & 0o077) !== 0) {
    const mode = (stats.mode & 0o777).toString(8).padStart(3, '0');
    throw new StateDirError(
      'insecureMode',
      `${what} ${path} has mode ${mode}, open to group or others; run 'chmod 700 ${path}'.`,
    );
  }
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return null;
    throw ioError(path, error);
  }
}

/** Creates `path` as a private directory, or checks the one that is there. */
function ensurePrivateDir(path: string, what: string): void {
  const existing = lstatOrNull(path);
  if (existing !== null) {
    checkPrivateDir(path, existing, what);
    return;
  }
  try {
    mkdirSync(path, { recursive: true, mode: 0o700 });
    // The umask may have narrowed or (if odd) widened the mode; set exactly 0700.
    chmodSync(path, 0o700);
  } catch (error) {
    throw ioError(path, error);
  }
  checkPrivateDir(path, lstatSync(path), what);
}

function isErrno(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}

function ioError(path: string, error: unknown): StateDirError {
  const detail = error instanceof Error ? ((error as NodeJS.ErrnoException).code ?? error.message) : String(error);
  return new StateDirError('io', `cannot use ${path}: ${detail}.`);
}

/**
 * The opened, checked state dir. `open` creates it with mode 0700 or refuses an existing one that
 * is a symlink or open to group/other.
 */
export class StateDir {
  /** Absolute path of the state dir. */
  readonly path: string;

  private constructor(path: string) {
    this.path = path;
  }

  /** Resolves the state dir from `env` and checks it, without creating it; null if it does not exist. */
  static find(env: StateDirEnv): StateDir | null {
    const path = resolveStateDirPath(env);
    const existing = lstatOrNull(path);
    if (existing === null) return null;
    checkPrivateDir(path, existing, 'state dir');
    return new StateDir(path);
  }

  /** Resolves the state dir from `env`, creates it if needed and checks its permissions. */
  static open(env: StateDirEnv): StateDir {
    const path = resolveStateDirPath(env);
    ensurePrivateDir(path, 'state dir');
    return new StateDir(path);
  }

  /**
   * The private subfolder for one repo, named by a digest of the repo's real path (so two
   * spellings of one repo share it), created on first use.
   */
  repoDir(repoPath: string): string {
    let real: string;
    try {
      real = realpathSync(repoPath);
    } catch (error) {
      throw ioError(repoPath, error);
    }
    const digest = createHash('sha256').update(real).digest('hex').slice(0, StateDirLimits.repoDigestChars);
    ensurePrivateDir(join(this.path, 'repos'), 'state dir folder');
    const dir = join(this.path, 'repos', digest);
    ensurePrivateDir(dir, 'repo state folder');
    return dir;
  }

  /** Path of the key file for `name` (the file may not exist). */
  keyPath(name: string): string {
    if (!keyNamePattern.test(name)) {
      throw new StateDirError(
        'badKeyName',
        `key name '${name}' is not allowed; use lowercase letters, digits and '-'.`,
      );
    }
    return join(this.path, 'keys', `${name}.key`);
  }

  /** The key `keys/<name>.key` if it exists and is sound; `null` if there is no such file. */
  loadKey(name: string): MacKey | null {
    const path = this.keyPath(name);
    const keysDir = join(this.path, 'keys');
    const dirStats = lstatOrNull(keysDir);
    if (dirStats === null) return null;
    checkPrivateDir(keysDir, dirStats, 'key folder');
    let fd: number;
    try {
      fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return null;
      if (isErrno(error, 'ELOOP')) {
        throw new StateDirError('badKeyFile', `key file ${path} is a symlink; remove it (a new key is created).`);
      }
      throw ioError(path, error);
    }
    try {
      return sealKey(name, readCheckedKey(fd, path));
    } finally {
      closeSync(fd);
    }
  }

  /**
   * The key `keys/<name>.key`, created on first use from `randomBytes` with mode 0600. The key is
   * written and synced under a private temporary name first and then hard-linked into place,
   * which fails if the name exists: a concurrent reader never sees a half-written key, and of two
   * processes creating it at once, one wins and the other uses the winner's key. A key file with
   * the wrong mode, owner or size is refused, never repaired.
   */
  loadOrCreateKey(name: string): MacKey {
    const path = this.keyPath(name);
    const keysDir = join(this.path, 'keys');
    ensurePrivateDir(keysDir, 'key folder');
    const existing = this.loadKey(name);
    if (existing !== null) return existing;
    const bytes = randomBytes(StateDirLimits.keyBytes);
    const staging = join(keysDir, `.${name}.${randomBytes(8).toString('hex')}.tmp`);
    try {
      let fd: number;
      try {
        fd = openSync(staging, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
      } catch (error) {
        throw ioError(staging, error);
      }
      try {
        writeSync(fd, bytes);
        fsyncSync(fd);
      } catch (error) {
        throw ioError(staging, error);
      } finally {
        closeSync(fd);
      }
      try {
        linkSync(staging, path);
      } catch (error) {
        // Another process put its key in place between our check and our link: use theirs.
        if (isErrno(error, 'EEXIST')) return this.#loadExisting(name, path);
        throw ioError(path, error);
      }
    } finally {
      rmSync(staging, { force: true });
    }
    fsyncDir(keysDir);
    return sealKey(name, bytes);
  }

  #loadExisting(name: string, path: string): MacKey {
    const key = this.loadKey(name);
    if (key === null) throw new StateDirError('io', `key file ${path} vanished while being created; run again.`);
    return key;
  }
}

function readCheckedKey(fd: number, path: string): Buffer {
  const stats = fstatSync(fd);
  if (!stats.isFile()) {
    throw new StateDirError('badKeyFile', `key file ${path} is not a regular file; remove it (a new key is created).`);
  }
  const uid = currentUid();
  if (uid !== null && stats.uid !== uid) {
    throw new StateDirError('badKeyFile', `key file ${path} belongs to uid ${stats.uid}, not to this user (${uid}).`);
  }
  if ((stats.mode & 0o077) !== 0) {
    const mode = (stats.mode & 0o777).toString(8).padStart(3, '0');
    throw new StateDirError(
      'badKeyFile',
      `key file ${path} has mode ${mode}, readable by group or others; treat the key as leaked: remove it (a new key is created).`,
    );
  }
  if (stats.size !== StateDirLimits.keyBytes) {
    throw new StateDirError(
      'badKeyFile',
      `key file ${path} has ${stats.size} bytes, expected ${StateDirLimits.keyBytes}; it is damaged or not a crustcore key.`,
    );
  }
  const bytes = Buffer.alloc(StateDirLimits.keyBytes);
  const read = readSync(fd, bytes, 0, bytes.length, 0);
  if (read !== StateDirLimits.keyBytes) {
    throw new StateDirError('badKeyFile', `key file ${path} could not be read whole; run again.`);
  }
  return bytes;
}

/** Makes a directory entry (create or rename) durable. */
export function fsyncDir(path: string): void {
  const fd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
