import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fail, ok } from './result.js';
import type { Result } from './result.js';

/** Why reading a private file failed. */
export type PrivateReadError =
  | { readonly code: 'missing' }
  | { readonly code: 'insecure'; readonly reason: string }
  | { readonly code: 'tooLarge'; readonly bytes: number }
  | { readonly code: 'io'; readonly reason: string };

const errorCode = (error: unknown): string =>
  typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : 'unknown';

/**
 * Reads a file that must be private: a regular file (not a symlink), owned by this user, with no
 * group or other permission bits, at most `bytesMax` bytes. Checks run on the open descriptor.
 */
export async function readPrivateFile(path: string, bytesMax: number): Promise<Result<Buffer, PrivateReadError>> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENOENT') return fail({ code: 'missing' });
    if (code === 'ELOOP') return fail({ code: 'insecure', reason: 'it is a symbolic link' });
    return fail({ code: 'io', reason: `cannot open it (${code})` });
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) return fail({ code: 'insecure', reason: 'it is not a regular file' });
    const uid = process.getuid?.();
    if (uid !== undefined && stats.uid !== uid)
      return fail({ code: 'insecure', reason: `it is owned by uid ${stats.uid}, not you` });
    if ((stats.mode & 0o077) !== 0) {
      return fail({
        code: 'insecure',
        reason: `its mode ${(stats.mode & 0o777).toString(8)} lets group or others read it`,
      });
    }
    if (stats.size > bytesMax) return fail({ code: 'tooLarge', bytes: stats.size });
    const bytes = await handle.readFile();
    if (bytes.length > bytesMax) return fail({ code: 'tooLarge', bytes: bytes.length });
    return ok(bytes);
  } catch (error) {
    return fail({ code: 'io', reason: `cannot read it (${errorCode(error)})` });
  } finally {
    await handle.close();
  }
}

/**
 * Replaces (or, with `exclusive`, creates) `path` so that a reader sees the old bytes or the new
 * ones, never a mix: write a 0600 temp file in the same directory (O_EXCL), fsync it, rename (or
 * link, which fails when the target exists) it over the target, fsync the directory. On failure the
 * temp file is removed and the target is untouched. A crash may leave a stray `.<name>.*.tmp`,
 * which no reader ever opens.
 */
export async function writePrivateFileAtomically(
  path: string,
  bytes: Buffer,
  options: { readonly exclusive: boolean },
): Promise<Result<void, { readonly code: 'exists' } | { readonly code: 'io'; readonly reason: string }>> {
  const directory = dirname(path);
  const temp = join(directory, `.${basename(path)}.${randomBytes(8).toString('hex')}.tmp`);
  let step = 'create a temp file';
  try {
    const handle = await open(
      temp,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      0o600,
    );
    try {
      step = 'write the temp file';
      await handle.chmod(0o600);
      await handle.writeFile(bytes);
      step = 'fsync the temp file';
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (options.exclusive) {
      step = 'link the new file into place';
      await link(temp, path);
      await unlink(temp).catch(() => undefined);
    } else {
      step = 'rename the temp file into place';
      await rename(temp, path);
    }
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    if (options.exclusive && errorCode(error) === 'EEXIST' && step === 'link the new file into place') {
      return fail({ code: 'exists' });
    }
    return fail({ code: 'io', reason: `cannot ${step} (${errorCode(error)})` });
  }
  await syncDirectory(directory);
  return ok(undefined);
}

/** Makes the rename durable. Some file systems refuse to fsync a directory; the rename still happened. */
async function syncDirectory(directory: string): Promise<void> {
  try {
    const handle = await open(directory, constants.O_RDONLY);
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Durability of the directory entry is best effort; atomicity does not depend on it.
  }
}
