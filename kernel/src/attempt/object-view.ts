/**
 * The kernel's own view of a repository's objects.
 *
 * A private bare git directory in the kernel state dir whose `objects/info/alternates` points at
 * the user's object store: the kernel reads the user's objects through it and writes its own
 * objects (blobs of derived changes, trees) only into it. The user's `.git` is only ever read.
 * Its `info/attributes` unsets every attribute that could convert content or name a driver, and
 * its config defines no drivers, so even a call that consults attributes stays byte-exact.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { deflateSync } from 'node:zlib';
import { runGit, runGitOrThrow, type GitError } from './hardened-git.js';
import { Limits } from './limits.js';

/** Where a user's repository lives. All paths absolute. */
export interface RepoInfo {
  readonly topLevel: string;
  readonly gitDir: string;
  readonly commonDir: string;
  /** The object store, followed by every store it borrows from through alternates. */
  readonly objectDirs: readonly string[];
  readonly objectFormat: 'sha1' | 'sha256';
}

/** One entry of a flattened git tree. */
export interface TreeEntry {
  readonly path: string;
  readonly mode: '100644' | '100755' | '120000' | '160000';
  readonly oid: string;
}

/** The neutralising attributes of every git dir the kernel creates. */
export const NeutralAttributes =
  '* -text -eol -crlf -filter -ident -export-subst -working-tree-encoding !diff !merge\n';

/** Finds the repository containing `repoDir` (read-only: no git call here writes anything). */
export async function resolveRepo(
  repoDir: string,
): Promise<{ readonly ok: true; readonly repo: RepoInfo } | { readonly ok: false; readonly error: GitError }> {
  const result = await runGit({
    cwd: repoDir,
    args: [
      'rev-parse',
      '--path-format=absolute',
      '--show-toplevel',
      '--absolute-git-dir',
      '--git-common-dir',
      '--show-object-format',
    ],
  });
  if (!result.ok) return result;
  const [topLevel, gitDir, commonDir, format] = result.stdout.toString('utf8').split('\n');
  if (topLevel === undefined || gitDir === undefined || commonDir === undefined || topLevel === '') {
    return { ok: false, error: { code: 'notAGitRepo', detail: `${repoDir} has no work tree: run inside a checkout` } };
  }
  if (format !== 'sha1' && format !== 'sha256') {
    return { ok: false, error: { code: 'gitFailed', detail: `unsupported object format ${String(format)}` } };
  }
  return {
    ok: true,
    repo: { topLevel, gitDir, commonDir, objectDirs: objectDirsOf(join(commonDir, 'objects')), objectFormat: format },
  };
}

/**
 * `repo` itself when the caller already resolved it (each `resolveRepo` is a git call), else the
 * repository containing the directory `repo`.
 */
export async function resolvedRepo(
  repo: string | RepoInfo,
): Promise<{ readonly ok: true; readonly repo: RepoInfo } | { readonly ok: false; readonly error: GitError }> {
  return typeof repo === 'string' ? resolveRepo(repo) : { ok: true, repo };
}

function objectDirsOf(first: string): string[] {
  const dirs: string[] = [];
  const visit = (dir: string, depth: number): void => {
    if (dirs.includes(dir) || depth > Limits.alternatesDepthMax) return;
    dirs.push(dir);
    let text: string;
    try {
      text = readFileSync(join(dir, 'info', 'alternates'), 'utf8');
    } catch {
      return;
    }
    for (const line of text.split('\n')) {
      const trimmed = line.trim();
      if (trimmed === '' || trimmed.startsWith('#')) continue;
      visit(isAbsolute(trimmed) ? trimmed : resolve(dir, trimmed), depth + 1);
    }
  };
  visit(first, 0);
  return dirs;
}

/** Resolves `rev` to a full commit id in the user's repository. */
export async function resolveBase(
  repoDir: string | RepoInfo,
  rev: string,
): Promise<{ readonly ok: true; readonly commit: string } | { readonly ok: false; readonly error: GitError }> {
  const repo = await resolvedRepo(repoDir);
  if (!repo.ok) return repo;
  if (rev.startsWith('-') || rev.includes('\0') || rev.length === 0) {
    return {
      ok: false,
      error: { code: 'unknownRevision', detail: `base revision ${JSON.stringify(rev)} is not valid` },
    };
  }
  const result = await runGit({
    gitDir: repo.repo.gitDir,
    args: ['rev-parse', '--verify', '--quiet', '--end-of-options', `${rev}^{commit}`],
  });
  if (!result.ok) {
    return { ok: false, error: { code: 'unknownRevision', detail: `base revision ${rev} does not name a commit` } };
  }
  return { ok: true, commit: result.stdout.toString('utf8').trim() };
}

/** The kernel's private object store for one repository. */
export class ObjectView {
  readonly gitDir: string;
  readonly repo: RepoInfo;
  /**
   * Commit → tree, shared by every view of this process: a full commit id names its tree for good,
   * so asking git again (as each attempt's derivation would) only costs a process.
   */
  static readonly #trees = new Map<string, string>();

  private constructor(gitDir: string, repo: RepoInfo) {
    this.gitDir = gitDir;
    this.repo = repo;
  }

  /** Opens (creating on first use) the view at `<stateDir>/git`. Safe to call concurrently. */
  static open(repo: RepoInfo, stateDir: string): ObjectView {
    const gitDir = join(stateDir, 'git');
    if (!existsSync(join(gitDir, 'HEAD'))) {
      const staging = join(stateDir, `.git-${randomBytes(8).toString('hex')}`);
      mkdirSync(join(staging, 'objects', 'info'), { recursive: true, mode: 0o700 });
      mkdirSync(join(staging, 'refs'), { mode: 0o700 });
      mkdirSync(join(staging, 'info'), { mode: 0o700 });
      writeFileSync(join(staging, 'HEAD'), 'ref: refs/heads/crustcore-none\n');
      writeFileSync(join(staging, 'config'), configText(repo.objectFormat, true));
      writeFileSync(join(staging, 'info', 'attributes'), NeutralAttributes);
      try {
        renameSync(staging, gitDir);
      } catch {
        // Another run created it first; theirs is identical.
        rmSync(staging, { recursive: true, force: true });
      }
    }
    // Always rewrite the alternates atomically, so the view follows the repository it serves.
    const alternates = join(gitDir, 'objects', 'info', 'alternates');
    const temporary = `${alternates}.${randomBytes(6).toString('hex')}`;
    writeFileSync(temporary, repo.objectDirs.join('\n') + '\n');
    renameSync(temporary, alternates);
    return new ObjectView(gitDir, repo);
  }

  /** The id git gives a blob with these bytes. */
  blobId(content: Uint8Array): string {
    const hash = createHash(this.repo.objectFormat === 'sha1' ? 'sha1' : 'sha256');
    hash.update(`blob ${content.length}\0`);
    hash.update(content);
    return hash.digest('hex');
  }

  /** Writes a blob as a loose object into the view (never into the user's store); returns its id. */
  writeBlob(content: Uint8Array): string {
    const oid = this.blobId(content);
    const path = join(this.gitDir, 'objects', oid.slice(0, 2), oid.slice(2));
    if (existsSync(path)) return oid;
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const body = Buffer.concat([Buffer.from(`blob ${content.length}\0`), content]);
    const temporary = `${path}.${randomBytes(6).toString('hex')}`;
    writeFileSync(temporary, deflateSync(body), { mode: 0o444 });
    renameSync(temporary, path);
    return oid;
  }

  /** The flattened tree of a commit or tree: blobs, symlinks and gitlinks, in git order. */
  async listTree(treeish: string): Promise<TreeEntry[]> {
    const out = await runGitOrThrow({ gitDir: this.gitDir, args: ['ls-tree', '-r', '-z', '--full-tree', treeish] });
    const entries: TreeEntry[] = [];
    for (const record of splitZ(out)) {
      const tab = record.indexOf('\t');
      const [mode, , oid] = record.slice(0, tab).split(' ');
      const path = record.slice(tab + 1);
      if (mode !== '100644' && mode !== '100755' && mode !== '120000' && mode !== '160000') {
        throw new Error(`unexpected mode ${String(mode)} for ${path} in ${treeish}`);
      }
      entries.push({ path, mode, oid: oid ?? '' });
    }
    return entries;
  }

  /** Reads blobs by id with `cat-file --batch` (raw bytes: no filter, no textconv). */
  async readBlobs(oids: readonly string[]): Promise<Map<string, Buffer>> {
    const unique = [...new Set(oids)];
    const blobs = new Map<string, Buffer>();
    if (unique.length === 0) return blobs;
    const out = await runGitOrThrow({
      gitDir: this.gitDir,
      args: ['cat-file', '--batch'],
      stdin: Buffer.from(unique.join('\n') + '\n'),
    });
    let offset = 0;
    while (offset < out.length) {
      const newline = out.indexOf(0x0a, offset);
      const header = out.subarray(offset, newline).toString('utf8');
      const [oid, type, size] = header.split(' ');
      if (type !== 'blob' || oid === undefined || size === undefined) throw new Error(`cat-file: ${header}`);
      const start = newline + 1;
      const end = start + Number(size);
      blobs.set(oid, out.subarray(start, end));
      offset = end + 1;
    }
    return blobs;
  }

  /** The tree id of a commit (asked of git once per view and commit: a commit's tree never changes). */
  async treeOf(commit: string): Promise<string> {
    const key = `${this.gitDir}\0${commit}`;
    const known = ObjectView.#trees.get(key);
    if (known !== undefined) return known;
    const out = await runGitOrThrow({ gitDir: this.gitDir, args: ['rev-parse', '--verify', `${commit}^{tree}`] });
    const tree = out.toString('utf8').trim();
    if (/^[0-9a-f]{40}([0-9a-f]{24})?$/u.test(commit)) {
      if (ObjectView.#trees.size >= Limits.treeIdsCachedMax) ObjectView.#trees.clear();
      ObjectView.#trees.set(key, tree);
    }
    return tree;
  }

  /** Writes a tree from flattened entries through a throwaway index; returns the tree id. */
  async writeTree(entries: readonly TreeEntry[], scratchDir: string): Promise<string> {
    const indexFile = join(scratchDir, `index-${randomBytes(6).toString('hex')}`);
    try {
      const lines = entries.map((entry) => `${entry.mode} ${entry.oid}\t${entry.path}\0`).join('');
      await runGitOrThrow({
        gitDir: this.gitDir,
        indexFile,
        args: ['update-index', '-z', '--index-info'],
        stdin: Buffer.from(lines),
      });
      const out = await runGitOrThrow({ gitDir: this.gitDir, indexFile, args: ['write-tree'] });
      return out.toString('utf8').trim();
    } finally {
      rmSync(indexFile, { force: true });
    }
  }
}

/** The config of a git dir the kernel creates. */
export function configText(objectFormat: 'sha1' | 'sha256', bare: boolean): string {
  const lines = [
    '[core]',
    `\trepositoryformatversion = ${objectFormat === 'sha1' ? 0 : 1}`,
    `\tbare = ${bare}`,
    '\tfilemode = true',
    '\tsymlinks = true',
    '\tcheckStat = minimal',
    '\ttrustctime = false',
    '\tautocrlf = false',
  ];
  if (objectFormat === 'sha256') lines.push('[extensions]', '\tobjectformat = sha256');
  return lines.join('\n') + '\n';
}

/** Splits NUL-terminated git output into UTF-8 records. */
export function splitZ(out: Buffer): string[] {
  const records: string[] = [];
  let start = 0;
  for (let index = 0; index < out.length; index += 1) {
    if (out[index] === 0) {
      records.push(out.subarray(start, index).toString('utf8'));
      start = index + 1;
    }
  }
  return records;
}
