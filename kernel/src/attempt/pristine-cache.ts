/**
 * One pristine checkout per base commit, cached in the kernel state dir.
 *
 * The tree is written by the kernel itself from raw blobs (`cat-file --batch`): no checkout,
 * no attributes, no filters, no hooks. It is never mounted into a sandbox and never handed to a
 * worker; attempts get copies. Materialisation happens in a staging directory that is renamed
 * into place, so a crash leaves no half-written pristine behind and concurrent runs agree.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { runGitOrThrow } from './hardened-git.js';
import type { ObjectView } from './object-view.js';
import { checkPath } from './path-rules.js';

/** A materialised base: `tree` is the files, `index` a git index whose stat data matches them. */
export interface Pristine {
  readonly baseCommit: string;
  readonly tree: string;
  readonly index: string;
}

/** Every pristine file gets this mtime, so copies match the cached index and are never racy. */
export const PristineMtimeSeconds = 1_000_000_000;

/** Returns the pristine tree of `baseCommit`, materialising it on first use. */
export async function ensurePristine(view: ObjectView, stateDir: string, baseCommit: string): Promise<Pristine> {
  if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/u.test(baseCommit)) throw new Error(`base ${baseCommit} is not a full commit id`);
  const root = join(stateDir, 'pristine', baseCommit);
  const pristine: Pristine = { baseCommit, tree: join(root, 'tree'), index: join(root, 'index') };
  if (existsSync(join(root, 'complete'))) return pristine;

  const staging = join(stateDir, 'pristine', `.staging-${randomBytes(8).toString('hex')}`);
  mkdirSync(join(staging, 'tree'), { recursive: true, mode: 0o700 });
  try {
    await materialise(view, baseCommit, join(staging, 'tree'));
    const indexFile = join(staging, 'index');
    await runGitOrThrow({ gitDir: view.gitDir, indexFile, args: ['read-tree', baseCommit] });
    await runGitOrThrow({
      gitDir: view.gitDir,
      workTree: join(staging, 'tree'),
      indexFile,
      config: ['core.checkStat=minimal', 'core.trustctime=false'],
      args: ['update-index', '-q', '--refresh'],
    });
    writeFileSync(join(staging, 'complete'), `${baseCommit}\n`);
    try {
      renameSync(staging, root);
    } catch {
      // Another run finished the same pristine first; theirs is equivalent.
      rmSync(staging, { recursive: true, force: true });
    }
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
  if (!existsSync(join(root, 'complete'))) throw new Error(`pristine for ${baseCommit} could not be created`);
  return pristine;
}

async function materialise(view: ObjectView, baseCommit: string, treeDir: string): Promise<void> {
  const entries = await view.listTree(baseCommit);
  const blobs = await view.readBlobs(entries.filter((entry) => entry.mode !== '160000').map((entry) => entry.oid));
  const made = new Set<string>(['']);
  const ensureDir = (relative: string): void => {
    if (made.has(relative)) return;
    ensureDir(dirname(relative) === '.' ? '' : dirname(relative));
    mkdirSync(join(treeDir, relative), { mode: 0o755 });
    made.add(relative);
  };
  for (const entry of entries) {
    // The base is what the user committed; its paths are checked anyway before anything is written.
    const pathError = checkPath(entry.path);
    if (pathError !== undefined) throw new Error(`base ${baseCommit} holds an unsafe path ${entry.path}`);
    const parent = dirname(entry.path);
    ensureDir(parent === '.' ? '' : parent);
    const target = join(treeDir, entry.path);
    switch (entry.mode) {
      case '160000':
        ensureDir(entry.path);
        break;
      case '120000':
        symlinkSync(blobs.get(entry.oid) ?? Buffer.alloc(0), target);
        break;
      case '100644':
      case '100755':
        writeFileSync(target, blobs.get(entry.oid) ?? Buffer.alloc(0), {
          flag: 'wx',
          mode: entry.mode === '100755' ? 0o755 : 0o644,
        });
        utimesSync(target, PristineMtimeSeconds, PristineMtimeSeconds);
        break;
      default:
        entry.mode satisfies never;
    }
  }
}
