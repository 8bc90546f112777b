import { existsSync, readdirSync } from 'node:fs';
import { join, posix } from 'node:path';
import type { Outcome } from './outcome.js';
import { runTool } from './run-tool.js';

/** Folders searched for `tsconfig.json` projects besides the root one. */
const projectFolders = ['kernel', 'protocol', 'sidecars', 'xtask', 'test'] as const;

const skippedFolders: ReadonlySet<string> = new Set(['node_modules', 'dist', 'fixtures', 'coverage']);

function findProjects(root: string, folder: string): string[] {
  const absolute = join(root, folder);
  if (!existsSync(absolute)) return [];
  const found: string[] = [];
  for (const entry of readdirSync(absolute, { withFileTypes: true })) {
    const path = posix.join(folder, entry.name);
    if (entry.isDirectory() && !skippedFolders.has(entry.name)) found.push(...findProjects(root, path));
    else if (entry.isFile() && entry.name === 'tsconfig.json') found.push(path);
  }
  return found;
}

/** Every TypeScript project in the repository: the root `tsconfig.json` first, then nested ones, sorted. */
export function listTsProjects(root: string): string[] {
  const nested = projectFolders.flatMap((folder) => findProjects(root, folder)).sort();
  return ['tsconfig.json', ...nested];
}

/** Runs `tsc -p` on every project; all of them run even when one fails. */
export async function runTypecheck(root: string, capture: boolean): Promise<Outcome> {
  const lines: string[] = [];
  let ok = true;
  for (const project of listTsProjects(root)) {
    const run = await runTool(root, 'typescript', ['-p', project, '--noEmit', '--pretty', 'false'], {
      capture,
      binName: 'tsc',
    });
    if (run.output !== '') lines.push(run.output.trimEnd());
    lines.push(`tsc -p ${project}: ${run.exitCode === 0 ? 'ok' : `failed (exit ${run.exitCode})`}`);
    ok &&= run.exitCode === 0;
  }
  return { ok, lines };
}
