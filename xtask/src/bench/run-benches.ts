import { existsSync, readdirSync } from 'node:fs';
import { join, posix } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseFigures } from './figure.js';
import type { BenchRow } from './table.js';

/** Folders whose `*.bench.ts` files are benchmarks; `sidecars/*` expands to every sidecar. */
const benchFolders = ['kernel/bench', 'protocol/bench', 'sidecars/*/bench', 'xtask/bench'] as const;

function expand(root: string, folder: string): string[] {
  const [head, star, ...tail] = folder.split('/');
  if (star !== '*' || head === undefined) return [folder];
  if (!existsSync(join(root, head))) return [];
  return readdirSync(join(root, head), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => posix.join(head, entry.name, ...tail))
    .sort();
}

/** Every bench file, repo-relative, in folder order and sorted within a folder. */
export function discoverBenches(root: string): string[] {
  return benchFolders
    .flatMap((folder) => expand(root, folder))
    .flatMap((folder) => {
      const absolute = join(root, folder);
      if (!existsSync(absolute)) return [];
      return readdirSync(absolute)
        .filter((name) => name.endsWith('.bench.ts'))
        .sort()
        .map((name) => posix.join(folder, name));
    });
}

/** A bench that threw, or returned something that is not a list of figures. */
export interface BenchFailure {
  readonly bench: string;
  readonly message: string;
}

/** All figures gathered and every bench that failed. */
export interface BenchResults {
  readonly rows: readonly BenchRow[];
  readonly failures: readonly BenchFailure[];
}

/** A bench's short name: `xtask/bench/bundle.bench.ts` → `xtask/bundle`. */
export function benchName(file: string): string {
  return file.replace('/bench/', '/').replace(/\.bench\.ts$/, '');
}

/**
 * Imports and runs each bench in turn (this process runs under tsx, so `.ts` imports work). A
 * failing bench is recorded and the rest still run.
 */
export async function runBenches(root: string, files: readonly string[]): Promise<BenchResults> {
  const rows: BenchRow[] = [];
  const failures: BenchFailure[] = [];
  for (const file of files) {
    const bench = benchName(file);
    try {
      const module = (await import(pathToFileURL(join(root, file)).href)) as { default?: unknown };
      if (typeof module.default !== 'function') {
        throw new Error('no default export function; export `default async function bench()`.');
      }
      const figures = parseFigures(await (module.default as () => Promise<unknown>)());
      for (const figure of figures) rows.push({ bench, figure });
    } catch (error) {
      failures.push({ bench, message: error instanceof Error ? error.message : String(error) });
    }
  }
  return { rows, failures };
}
