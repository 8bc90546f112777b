/**
 * What a run delivers and what it leaves alone: the `--json` report, the patch stored by digest,
 * `--out`, `--branch` (a new branch whose tree is base + patch, with HEAD, index and working tree
 * untouched), and a checkout that is byte-for-byte unchanged by a run without `--branch`.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  Exit,
  cli,
  git,
  gitEnv,
  makeRepo,
  makeWorld,
  parseJson,
  requireBwrap,
  run,
  runJson,
  sha256,
  snapshotTree,
  useBuiltCli,
  useWorlds,
  writeFiles,
  type Repo,
  type RunJson,
  type World,
} from './support.js';

useBuiltCli();
requireBwrap();
useWorlds();

const baseFiles = {
  'a.js': 'export const a = 1;\n',
  'lib/util.js': 'export const twice = (x) => 2 * x;\n',
  '.gitignore': 'ignored.txt\nnode_modules/\n',
};

function storedBytes(report: RunJson): Buffer {
  const storedAt = report.patch?.storedAt;
  if (storedAt === null || storedAt === undefined) throw new Error(`no stored patch: ${JSON.stringify(report)}`);
  return readFileSync(storedAt);
}

describe('--json', () => {
  it('prints one JSON object: verdict, attempts, patch digest and files, verify facts, log head', async () => {
    const world = makeWorld();
    const repo = makeRepo(world, baseFiles);
    writeFiles(repo.dir, { 'a.js': 'export const a = 2;\n' });
    const verify = 'echo hello from verify';
    const result = await run(world, repo.dir, ['--json', '--verify', verify, '--goal', 'bump a']);
    expect(result.code).toBe(Exit.verified);
    const report = parseJson<RunJson>(result);
    const stored = storedBytes(report);
    const digest = sha256(stored);
    const repoState = report.patch?.storedAt?.split('/patches/')[0] ?? '';
    const output = 'hello from verify\n';
    expect(report).toEqual({
      verdict: 'verified',
      exitCode: 0,
      taskId: expect.stringMatching(/^t\d{8}T\d{6}-[0-9a-f]{12}$/),
      repo: realpathSync(repo.dir),
      baseCommit: repo.base,
      verifyCommand: verify,
      candidate: 'workingTree',
      reason: null,
      budget: null,
      attempts: [
        {
          attempt: 1,
          attemptId: expect.stringMatching(/^[0-9a-f]{32}$/),
          outcome: 'passed',
          reason: null,
          patchDigest: digest,
          files: ['a.js'],
          verify: {
            exitCode: 0,
            timedOut: false,
            outputStopped: false,
            durationMs: expect.any(Number),
            outputBytes: Buffer.byteLength(output),
            truncated: false,
            outputDigest: sha256(output),
            outputTail: output,
          },
        },
      ],
      patch: {
        digest,
        files: [{ path: 'a.js', status: 'modified' }],
        bytes: stored.length,
        storedAt: join(repoState, 'patches', `${digest}.patch`),
        writtenTo: null,
      },
      protectedPaths: [],
      acceptedProtected: [],
      manifestChanges: [],
      approvalId: null,
      branch: null,
      risks: [],
      log: {
        path: join(repoState, 'logs', `${report.taskId}.jsonl`),
        headSeq: expect.any(Number),
        headHash: expect.stringMatching(/^[0-9a-f]{64}$/),
      },
    });
    expect(repoState.startsWith(join(world.state, 'repos'))).toBe(true);
    expect(report).not.toHaveProperty('patchText');
    // The log head the report names is the head `inspect` finds.
    const inspected = await cli(world, ['inspect', '--json', report.log.path]);
    const scan = parseJson<{ status: string; lastSeq: number; lastHash: string; tasks: unknown[] }>(inspected);
    expect({ status: scan.status, lastSeq: scan.lastSeq, lastHash: scan.lastHash, tasks: scan.tasks }).toEqual({
      status: 'intact',
      lastSeq: report.log.headSeq,
      lastHash: report.log.headHash,
      tasks: [{ taskId: report.taskId, status: 'verified', attempts: 1, reason: null }],
    });
  });

  it('reports a truncated flood of output with its full size and digest, and only its tail', async () => {
    const world = makeWorld();
    const repo = makeRepo(world, baseFiles);
    writeFiles(repo.dir, { 'a.js': 'export const a = 2;\n' });
    const { code, report } = await runJson(world, repo.dir, [
      '--verify',
      "head -c 5000000 /dev/zero | tr '\\0' y; echo; echo THE-END; exit 1",
    ]);
    expect(code).toBe(Exit.rejected);
    const verify = report.attempts[0]?.verify;
    expect({
      exitCode: verify?.exitCode,
      timedOut: verify?.timedOut,
      truncated: verify?.truncated,
      outputBytes: verify?.outputBytes,
      outputDigest: verify?.outputDigest,
    }).toEqual({
      exitCode: 1,
      timedOut: false,
      truncated: true,
      outputBytes: 5_000_000 + 1 + 'THE-END\n'.length,
      outputDigest: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(verify?.outputTail.endsWith('yyyy\nTHE-END\n')).toBe(true);
    expect(verify?.outputTail.length).toBeLessThanOrEqual(2000);
  });
});

describe('the patch is delivered', () => {
  it('stored under the state dir by digest; the stored bytes are the printed patch', async () => {
    const world = makeWorld();
    const repo = makeRepo(world, baseFiles);
    writeFiles(repo.dir, { 'a.js': 'export const a = 2;\n', 'new/file.txt': 'added\n' });
    const result = await run(world, repo.dir, ['--verify', 'true']);
    expect(result.code).toBe(Exit.verified);
    const stored = /\nstored: (\S+)\n/.exec(result.stdout)?.[1] ?? '';
    const digest = /\npatch sha256:([0-9a-f]{64}) \(2 file\(s\), (\d+) bytes\)\n/.exec(result.stdout);
    expect(digest).not.toBeNull();
    const bytes = readFileSync(stored);
    expect(stored).toBe(join(stored.split('/patches/')[0] ?? '', 'patches', `${digest?.[1] ?? ''}.patch`));
    expect(stored.startsWith(`${world.state}/`)).toBe(true);
    expect(sha256(bytes)).toBe(digest?.[1]);
    expect(bytes.length).toBe(Number(digest?.[2]));
    // The patch text is printed last, after one empty line.
    const printed = result.stdout.slice(result.stdout.indexOf('\n\ndiff --git ') + 2);
    expect(printed).toBe(`${bytes.toString('utf8').trimEnd()}\n`);
  });

  it('--out writes exactly the stored bytes and reports where', async () => {
    const world = makeWorld();
    const repo = makeRepo(world, baseFiles);
    writeFiles(repo.dir, { 'a.js': 'export const a = 2;\n' });
    const out = join(world.root, 'verified.patch');
    const human = await run(world, repo.dir, ['--verify', 'true', '--out', out]);
    expect(human.code).toBe(Exit.verified);
    expect(human.stdout).toContain(`\nwritten: ${out}\n`);
    expect(human.stdout).not.toContain('diff --git');
    const out2 = join(world.root, 'verified-2.patch');
    const { report } = await runJson(world, repo.dir, ['--verify', 'true', '--out', out2]);
    expect(report.patch?.writtenTo).toBe(out2);
    expect(readFileSync(out2)).toEqual(storedBytes(report));
    expect(readFileSync(out)).toEqual(storedBytes(report));
  });

  it('--out is relative to the current directory', async () => {
    const world = makeWorld();
    const repo = makeRepo(world, baseFiles);
    writeFiles(repo.dir, { 'a.js': 'export const a = 2;\n' });
    const { code, report } = await runJson(world, repo.dir, ['--verify', 'true', '--out', '../rel.patch']);
    expect(code).toBe(Exit.verified);
    expect(report.patch?.writtenTo).toBe(join(world.root, 'rel.patch'));
    expect(readFileSync(join(world.root, 'rel.patch'))).toEqual(storedBytes(report));
  });
});

/** What `--branch` must not move: HEAD, the current branch, the index and the working tree. */
function checkoutState(world: World, repo: Repo): Record<string, unknown> {
  return {
    head: git(world, repo.dir, ['rev-parse', 'HEAD']).trim(),
    current: git(world, repo.dir, ['symbolic-ref', 'HEAD']).trim(),
    index: sha256(readFileSync(join(repo.dir, '.git', 'index'))),
    headFile: readFileSync(join(repo.dir, '.git', 'HEAD'), 'utf8'),
    workingTree: snapshotTree(repo.dir, (path) => path === '.git'),
    status: git(world, repo.dir, ['--no-optional-locks', 'status', '--porcelain=v1', '--untracked-files=all']),
  };
}

function branches(world: World, repo: Repo): string[] {
  return git(world, repo.dir, ['for-each-ref', '--format=%(refname)', 'refs/heads/'])
    .split('\n')
    .filter((line) => line !== '');
}

describe('--branch <new-name>', () => {
  it('creates exactly that branch at base + patch; HEAD, index and working tree are unchanged', async () => {
    const world = makeWorld();
    const repo = makeRepo(world, baseFiles);
    writeFiles(repo.dir, {
      'a.js': 'export const a = 2;\n',
      'lib/more.js': 'export const more = 1;\n',
      'ignored.txt': 'ignored\n',
    });
    const before = checkoutState(world, repo);
    const branchesBefore = branches(world, repo);
    const { code, report } = await runJson(world, repo.dir, [
      '--verify',
      'true',
      '--branch',
      'crustcore/verified-1',
      '--goal',
      'Bump a and add more',
    ]);
    expect(code).toBe(Exit.verified);
    expect(checkoutState(world, repo)).toEqual(before);
    expect(branches(world, repo)).toEqual([...branchesBefore, 'refs/heads/crustcore/verified-1'].sort());
    const commit = git(world, repo.dir, ['rev-parse', 'refs/heads/crustcore/verified-1']).trim();
    expect(report.verdict).toBe('integrated');
    expect(report.branch).toEqual({ name: 'crustcore/verified-1', commit, error: null });
    expect(git(world, repo.dir, ['rev-parse', `${commit}^`]).trim()).toBe(repo.base);
    expect(git(world, repo.dir, ['log', '-1', '--format=%B', commit])).toContain('Bump a and add more\n');
    // The branch tree is base + the verified patch, computed here with a private index.
    const patch = storedBytes(report);
    const indexEnv = { ...gitEnv(world), GIT_INDEX_FILE: join(world.root, 'check-index') };
    execFileSync('git', ['read-tree', repo.base], { cwd: repo.dir, env: indexEnv });
    execFileSync('git', ['apply', '--cached', '--binary', '-'], { cwd: repo.dir, env: indexEnv, input: patch });
    const expectedTree = execFileSync('git', ['write-tree'], { cwd: repo.dir, env: indexEnv, encoding: 'utf8' }).trim();
    expect(git(world, repo.dir, ['rev-parse', `${commit}^{tree}`]).trim()).toBe(expectedTree);
    expect(git(world, repo.dir, ['diff', '--name-status', repo.base, commit])).toBe('M\ta.js\nA\tlib/more.js\n');
    expect(git(world, repo.dir, ['diff', '--binary', '--full-index', repo.base, commit])).toBe(patch.toString('utf8'));
  });

  it('a rejected run creates no branch', async () => {
    const world = makeWorld();
    const repo = makeRepo(world, baseFiles);
    writeFiles(repo.dir, { 'a.js': 'export const a = 2;\n' });
    const before = checkoutState(world, repo);
    const branchesBefore = branches(world, repo);
    const { code, report } = await runJson(world, repo.dir, ['--verify', 'false', '--branch', 'never-made']);
    expect({ code, branch: report.branch }).toEqual({ code: Exit.rejected, branch: null });
    expect(branches(world, repo)).toEqual(branchesBefore);
    expect(checkoutState(world, repo)).toEqual(before);
  });
});

describe('the checkout is byte-for-byte unchanged by a run without --branch', () => {
  const candidates: readonly (readonly [string, (world: World) => readonly string[], number])[] = [
    ['uncommitted changes, verified', () => ['--verify', 'true'], Exit.verified],
    ['uncommitted changes, rejected', () => ['--verify', 'echo no; exit 1'], Exit.rejected],
    ['a worker, verified', () => ['--worker', 'echo 1 > worker.txt', '--verify', 'test -f worker.txt'], Exit.verified],
  ];

  it.each(candidates)('%s', async (_name, args, exit) => {
    const world = makeWorld();
    const repo = makeRepo(world, baseFiles);
    writeFiles(repo.dir, {
      'a.js': 'export const a = 2;\n',
      'untracked.txt': 'untracked\n',
      'ignored.txt': 'ignored\n',
      'node_modules/dep/index.js': 'module.exports = 1;\n',
    });
    git(world, repo.dir, ['add', 'a.js']);
    writeFiles(repo.dir, { 'a.js': 'export const a = 3;\n' });
    const before = snapshotTree(repo.dir);
    const result = await run(world, repo.dir, args(world));
    expect(result.code).toBe(exit);
    expect(snapshotTree(repo.dir)).toEqual(before);
  });
});
