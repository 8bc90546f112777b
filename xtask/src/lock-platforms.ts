/**
 * `xtask lock-platforms`: completes package-lock.json with the optional per-platform packages
 * (e.g. `@rollup/rollup-darwin-arm64`) that a registry mirror may not serve. npm drops such
 * entries when it cannot fetch their metadata, and `npm ci` then refuses the lock as out of sync.
 * Each added entry carries the os/cpu/libc tags npm would have recorded, so npm skips it on
 * every other platform exactly as with a complete lock. Run it after every `npm install`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

interface LockEntry {
  readonly version?: string;
  readonly dev?: boolean;
  readonly license?: string;
  readonly optionalDependencies?: Readonly<Record<string, string>>;
  readonly [key: string]: unknown;
}

/** The os/cpu/libc tags of a platform package, inferred from its name; null when not one. */
export function platformOf(name: string): { os: string[]; cpu: string[]; libc?: string[] } | null {
  const match =
    /-(android|darwin|freebsd|linux|openbsd|openharmony|win32|sunos|aix|netbsd)-([a-z0-9]+)(?:-(gnu|musl|gnueabihf|musleabihf|msvc|eabi))?$/.exec(
      name,
    );
  if (match === null) return null;
  const [, os = '', cpu = '', abi] = match;
  const tags: { os: string[]; cpu: string[]; libc?: string[] } = { os: [os], cpu: [cpu] };
  if (abi === 'gnu' || abi === 'gnueabihf') tags.libc = ['glibc'];
  if (abi === 'musl' || abi === 'musleabihf') tags.libc = ['musl'];
  return tags;
}

/** Returns the lock with missing optional platform entries added, and their names. */
export function completeLock(lock: { packages: Record<string, LockEntry> }): { added: string[]; unknown: string[] } {
  const added: string[] = [];
  const unknown: string[] = [];
  for (const [key, entry] of Object.entries(lock.packages)) {
    for (const [dependency, version] of Object.entries(entry.optionalDependencies ?? {})) {
      const hoisted = `node_modules/${dependency}`;
      if (lock.packages[hoisted] !== undefined || lock.packages[`${key}/node_modules/${dependency}`] !== undefined)
        continue;
      const tags = platformOf(dependency);
      if (tags === null) {
        unknown.push(dependency);
        continue;
      }
      lock.packages[hoisted] = {
        version,
        ...tags,
        ...(entry.dev === true ? { dev: true } : {}),
        optional: true,
        ...(entry.license === undefined ? {} : { license: entry.license }),
      };
      added.push(dependency);
    }
  }
  const root = lock.packages[''];
  const rest = Object.entries(lock.packages)
    .filter(([key]) => key !== '')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  lock.packages = Object.fromEntries(root === undefined ? rest : [['', root], ...rest]);
  return { added, unknown };
}

/** CLI wrapper: rewrites package-lock.json in place. */
export function runLockPlatforms(repoRoot: string): { ok: boolean; lines: string[] } {
  const path = join(repoRoot, 'package-lock.json');
  const lock = JSON.parse(readFileSync(path, 'utf8')) as { packages: Record<string, LockEntry> };
  const { added, unknown } = completeLock(lock);
  writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
  const lines = [`lock-platforms: added ${added.length} optional platform entr${added.length === 1 ? 'y' : 'ies'}`];
  for (const name of unknown) lines.push(`lock-platforms: cannot infer the platform of ${name}; add its entry by hand`);
  return { ok: unknown.length === 0, lines };
}
