/**
 * The enforcement probe's result kept on disk between processes. Only a success is stored, in a
 * directory the caller names (the kernel's state dir, never mounted into a sandbox), and only
 * for exactly the binaries and host kernel it was proved on: the backend binary's real path,
 * device, inode, size, mode, mtime and ctime, the same facts for util-linux `prlimit` (which
 * applies the process limit the probe checks), the host kernel release and the kernel's own uid.
 * Anything different, an entry older than `Limits.probeCacheAgeMsMax`, or a file that is
 * unreadable or malformed means the backend is probed again.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import type { SandboxBackend } from './backend.js';
import { Limits } from './limits.js';

/** What identifies one file on the host, as far as a replaced or modified binary goes. */
export interface FileIdentity {
  readonly path: string;
  readonly device: number;
  readonly inode: number;
  readonly sizeBytes: number;
  readonly mode: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
}

/** Everything a cached probe result is valid for. */
export interface ProbeIdentity {
  readonly backend: SandboxBackend;
  readonly binary: FileIdentity;
  readonly prlimit: FileIdentity | null;
  readonly kernelRelease: string;
  readonly uid: number;
}

/** One stored success. */
interface CacheEntry {
  readonly format: typeof entryFormat;
  readonly identity: ProbeIdentity;
  readonly probedAtMs: number;
  readonly version: string;
}

const entryFormat = 'crustcore.probe/1';

/** The identity of `binary` (and `prlimit`) on this host now, or null when a binary cannot be examined. */
export function probeIdentity(backend: SandboxBackend, binary: string, prlimit: string | null): ProbeIdentity | null {
  const binaryIdentity = fileIdentity(binary);
  if (binaryIdentity === null) return null;
  const prlimitIdentity = prlimit === null ? null : fileIdentity(prlimit);
  if (prlimit !== null && prlimitIdentity === null) return null;
  return {
    backend,
    binary: binaryIdentity,
    prlimit: prlimitIdentity,
    kernelRelease: release(),
    uid: process.getuid?.() ?? -1,
  };
}

function fileIdentity(path: string): FileIdentity | null {
  try {
    const real = realpathSync(path);
    const stat = statSync(real);
    return {
      path: real,
      device: stat.dev,
      inode: stat.ino,
      sizeBytes: stat.size,
      mode: stat.mode,
      mtimeMs: stat.mtimeMs,
      ctimeMs: stat.ctimeMs,
    };
  } catch {
    return null;
  }
}

/** The cache file of one backend binary inside `cacheDir`. */
export function probeCachePath(cacheDir: string, identity: ProbeIdentity): string {
  const key = createHash('sha256').update(`${identity.backend}\0${identity.binary.path}`).digest('hex').slice(0, 32);
  return join(cacheDir, `sandbox-probe-${key}.json`);
}

/**
 * The backend version of a stored success for exactly `identity`, younger than the age bound at
 * `nowMs`; null for anything else (no file, unreadable, malformed, another identity, too old).
 */
export function loadProbeSuccess(cacheDir: string, identity: ProbeIdentity, nowMs: number): string | null {
  let entry: unknown;
  try {
    entry = JSON.parse(readFileSync(probeCachePath(cacheDir, identity), 'utf8'));
  } catch {
    return null;
  }
  if (!isEntry(entry)) return null;
  const ageMs = nowMs - entry.probedAtMs;
  if (!(ageMs >= 0 && ageMs <= Limits.probeCacheAgeMsMax)) return null;
  return canonical(entry.identity) === canonical(identity) ? entry.version : null;
}

/**
 * Stores a success atomically (a temp file renamed into place, mode 0600). A directory that
 * cannot be written only means the next process probes again.
 */
export function storeProbeSuccess(cacheDir: string, identity: ProbeIdentity, version: string, nowMs: number): void {
  const entry: CacheEntry = { format: entryFormat, identity, probedAtMs: nowMs, version };
  const target = probeCachePath(cacheDir, identity);
  const temporary = `${target}.${randomBytes(6).toString('hex')}`;
  try {
    mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
    writeFileSync(temporary, `${JSON.stringify(entry)}\n`, { mode: 0o600, flag: 'wx' });
    renameSync(temporary, target);
  } catch {
    rmSync(temporary, { force: true });
  }
}

/** The identity as a string with a fixed key order, for an exact comparison. */
function canonical(identity: ProbeIdentity): string {
  const file = (value: FileIdentity | null): unknown =>
    value === null
      ? null
      : [value.path, value.device, value.inode, value.sizeBytes, value.mode, value.mtimeMs, value.ctimeMs];
  return JSON.stringify([
    identity.backend,
    file(identity.binary),
    file(identity.prlimit),
    identity.kernelRelease,
    identity.uid,
  ]);
}

function isEntry(value: unknown): value is CacheEntry {
  if (!isRecord(value)) return false;
  const identity = value['identity'];
  return (
    value['format'] === entryFormat &&
    typeof value['version'] === 'string' &&
    Number.isFinite(value['probedAtMs']) &&
    isRecord(identity) &&
    (identity['backend'] === 'bwrap' || identity['backend'] === 'gvisor') &&
    isFileIdentity(identity['binary']) &&
    (identity['prlimit'] === null || isFileIdentity(identity['prlimit'])) &&
    typeof identity['kernelRelease'] === 'string' &&
    Number.isSafeInteger(identity['uid'])
  );
}

function isFileIdentity(value: unknown): value is FileIdentity {
  return (
    isRecord(value) &&
    typeof value['path'] === 'string' &&
    ['device', 'inode', 'sizeBytes', 'mode', 'mtimeMs', 'ctimeMs'].every((name) => Number.isFinite(value[name]))
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
