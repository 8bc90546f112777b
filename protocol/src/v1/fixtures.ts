import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import type { Verdict } from './judge.js';
import type { MethodName } from './methods.js';
import { Methods, methodFileStem } from './methods.js';

/** Where the v1 fixtures live, relative to this package. */
export const fixturesDirectory = resolve(import.meta.dirname, '..', '..', 'fixtures', 'v1');

/** One manifest entry: what an invalid fixture must be rejected as, and why. */
export interface ManifestEntry {
  readonly verdict: Exclude<Verdict, 'valid'>;
  readonly why: string;
}

/** One fixture: a single raw wire message that belongs to `method`, with its expected verdict. */
export interface Fixture {
  /** Path relative to the fixtures root, with `/` separators: `net.complete/valid/request-minimal.json`. */
  readonly path: string;
  readonly method: MethodName;
  readonly expected: Verdict;
  /** The manifest's reason for an invalid fixture; empty for a valid one. */
  readonly why: string;
  readonly message: unknown;
}

/** The fixtures folder as read from disk: every fixture, and manifest keys that match no fixture. */
export interface FixtureSet {
  readonly fixtures: readonly Fixture[];
  readonly staleManifestEntries: readonly string[];
  readonly problems: readonly string[];
}

function walk(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? walk(join(directory, entry.name)) : [join(directory, entry.name)],
  );
}

/**
 * Reads every fixture under `root` (`<method stem>/{valid,invalid}/<name>.json`) and the manifest.
 * Layout mistakes are reported in `problems` rather than thrown: an unknown method folder, a file
 * outside `valid/` or `invalid/`, an invalid fixture without a manifest entry, a bad entry.
 */
export function readFixtures(root: string = fixturesDirectory): FixtureSet {
  const manifest = JSON.parse(readFileSync(join(root, 'manifest.json'), 'utf8')) as Record<string, unknown>;
  const stems = new Map((Object.keys(Methods) as MethodName[]).map((method) => [methodFileStem(method), method]));
  const fixtures: Fixture[] = [];
  const problems: string[] = [];
  const paths = walk(root)
    .map((file) => relative(root, file).split(sep).join('/'))
    .filter((path) => path !== 'manifest.json')
    .sort();
  for (const path of paths) {
    const [stem = '', folder = '', name = '', ...rest] = path.split('/');
    const method = stems.get(stem);
    if (
      method === undefined ||
      rest.length > 0 ||
      !name.endsWith('.json') ||
      (folder !== 'valid' && folder !== 'invalid')
    ) {
      problems.push(`${path}: expected <method stem>/{valid,invalid}/<name>.json for a method of the table`);
      continue;
    }
    const message: unknown = JSON.parse(readFileSync(join(root, path), 'utf8'));
    if (folder === 'valid') {
      if (Object.hasOwn(manifest, path)) problems.push(`${path}: a valid fixture must not have a manifest entry`);
      fixtures.push({ path, method, expected: 'valid', why: '', message });
      continue;
    }
    const entry = manifest[path];
    if (!isManifestEntry(entry)) {
      problems.push(`${path}: needs a manifest entry { verdict, why } saying why it is invalid`);
      continue;
    }
    fixtures.push({ path, method, expected: entry.verdict, why: entry.why, message });
  }
  const staleManifestEntries = Object.keys(manifest).filter((key) => !paths.includes(key));
  return { fixtures, staleManifestEntries, problems };
}

function isManifestEntry(value: unknown): value is ManifestEntry {
  if (typeof value !== 'object' || value === null) return false;
  const entry = value as Record<string, unknown>;
  return (
    Object.keys(entry).length === 2 &&
    (entry['verdict'] === 'invalidEnvelope' ||
      entry['verdict'] === 'invalidParams' ||
      entry['verdict'] === 'invalidResult') &&
    typeof entry['why'] === 'string' &&
    entry['why'].length > 0
  );
}
