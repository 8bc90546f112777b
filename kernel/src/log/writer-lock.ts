/**
 * The single-writer lock `<log>.lock`, created with `O_EXCL`. It holds the writer's pid, the
 * process start time the kernel reports for that pid (so a reused pid is not mistaken for the
 * holder) and the time the lock was taken. A lock whose holder is gone is taken over, and the
 * takeover is reported to the caller.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeSync,
  linkSync,
} from 'node:fs';
import { LogError } from './log-error.js';

/** What a lock file records about its holder. */
export type LockHolder = {
  readonly pid: number;
  /** Start time of the process in clock ticks since boot (Linux `/proc/<pid>/stat` field 22), if known. */
  readonly processStart: string | null;
  readonly lockedAtMs: number;
};

/** A lock this process holds. */
export type HeldLock = {
  readonly path: string;
  readonly holder: LockHolder;
  /** The dead holder whose lock was taken over, if any. */
  readonly tookOverFrom: LockHolder | null;
};

/** Path of the lock of `logPath`. */
export function lockPathOf(logPath: string): string {
  return `${logPath}.lock`;
}

/** The start time of `pid`, or null when the platform does not tell. */
export function processStartOf(pid: number): string | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
  // The command name (field 2) is in parentheses and may itself contain spaces or ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19] ?? null;
}

function isAlive(holder: LockHolder): boolean {
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    // EPERM: the pid exists but belongs to someone else; it is alive.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (holder.processStart === null) return true;
  const now = processStartOf(holder.pid);
  return now === null || now === holder.processStart;
}

function parseHolder(text: string): LockHolder | null {
  try {
    const value = JSON.parse(text) as Record<string, unknown>;
    const { pid, processStart, lockedAtMs } = value;
    if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid <= 0) return null;
    if (processStart !== null && typeof processStart !== 'string') return null;
    if (typeof lockedAtMs !== 'number') return null;
    return { pid, processStart, lockedAtMs };
  } catch {
    return null;
  }
}

/**
 * Creates the lock holding `holder`, or returns false when it exists. The holder is written under a
 * private name first and hard-linked into place, so a racing reader never sees an empty lock (which
 * it would judge stale and take over from a live writer).
 */
function tryCreate(path: string, holder: LockHolder): boolean {
  const staging = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const failed = (error: unknown): LogError =>
    new LogError('io', `cannot create the lock ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}.`);
  try {
    let fd: number;
    try {
      fd = openSync(staging, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    } catch (error) {
      throw failed(error);
    }
    try {
      writeSync(fd, JSON.stringify(holder));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      linkSync(staging, path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw failed(error);
    }
    return true;
  } finally {
    rmSync(staging, { force: true });
  }
}

function readLockText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new LogError('io', `cannot read the lock ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}.`);
  }
}

/**
 * Takes the lock of `logPath` for this process. Throws `LogError('locked')` naming the holder pid
 * when a live process holds it.
 */
export function acquireLock(logPath: string, nowMs: number): HeldLock {
  const path = lockPathOf(logPath);
  const holder: LockHolder = { pid: process.pid, processStart: processStartOf(process.pid), lockedAtMs: nowMs };
  for (let attempt = 0; attempt < 3; attempt++) {
    if (tryCreate(path, holder)) return { path, holder, tookOverFrom: null };
    const text = readLockText(path);
    if (text === null) continue;
    const previous = parseHolder(text);
    if (previous !== null && isAlive(previous)) {
      throw new LogError(
        'locked',
        `log ${logPath} is locked by a running crustcore (pid ${previous.pid}); wait for it to finish or use another log.`,
      );
    }
    // The holder is gone (or the lock is unreadable): move the stale lock aside atomically, and
    // confirm that what was moved is the lock judged stale, not a fresh one from a racing process.
    const aside = `${path}.stale.${process.pid}`;
    try {
      renameSync(path, aside);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new LogError(
        'io',
        `cannot take over the stale lock ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}.`,
      );
    }
    const moved = readLockText(aside);
    if (moved !== text) {
      try {
        linkSync(aside, path);
      } catch {
        // Someone else holds the lock now; the retry below reports them.
      }
      unlinkSync(aside);
      continue;
    }
    unlinkSync(aside);
    if (tryCreate(path, holder)) {
      return { path, holder, tookOverFrom: previous ?? { pid: 0, processStart: null, lockedAtMs: 0 } };
    }
  }
  throw new LogError('locked', `log ${logPath} is being locked by another process at the same time; run again.`);
}

/** Releases a lock this process holds; leaves it alone if it is no longer ours. */
export function releaseLock(lock: HeldLock): void {
  const text = readLockText(lock.path);
  if (text === null) return;
  const current = parseHolder(text);
  if (current?.pid === lock.holder.pid && current.lockedAtMs === lock.holder.lockedAtMs) unlinkSync(lock.path);
}
