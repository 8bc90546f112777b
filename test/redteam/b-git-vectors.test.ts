/**
 * REDTEAM B9–B15: git execution vectors. No repo-controlled code runs in the kernel's git calls.
 *
 * Method: a user repo armed with every git program hook we know of, each a script that leaves a
 * marker file when it runs: `core.fsmonitor`, `core.hooksPath` to a committed hooks dir plus
 * `.git/hooks/*`, `.gitattributes` `* diff=evil` with `diff.evil.textconv`, `*.txt filter=evil`
 * with `clean`/`smudge` and `required=true`, a merge driver, `diff.external`, signing with
 * `gpg.program`, `core.alternateRefsCommand`, pager, editor, ssh and credential programs, and in
 * the CLI's environment `GIT_EXTERNAL_DIFF`, `GIT_PAGER` and config injected through
 * `GIT_CONFIG_COUNT`. A control copy proves the traps fire under plain git. Then the real
 * `crustcore run` verifies uncommitted edits, a `--patch`, and commits to `--branch new`: no
 * marker may appear, and every file of the user's repo (including `.git`) hashes the same
 * afterwards, except the new branch ref and new objects. B14 feeds patches that touch git
 * metadata and CI; B15 runs workers that rewrite the attempt's `.git`.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  Exit,
  eventsOf,
  expectLogged,
  git,
  gitEnv,
  makePatch,
  makeRepo,
  makeWorld,
  onlyEvent,
  requireBwrap,
  run,
  snapshotDiff,
  snapshotTree,
  useBuiltCli,
  useWorlds,
  writeFiles,
  writePatch,
  type World,
} from './support.js';

useBuiltCli();
requireBwrap();
useWorlds();

const hookNames = [
  'applypatch-msg',
  'pre-applypatch',
  'post-applypatch',
  'pre-commit',
  'pre-merge-commit',
  'prepare-commit-msg',
  'commit-msg',
  'post-commit',
  'pre-rebase',
  'post-checkout',
  'post-merge',
  'pre-push',
  'post-rewrite',
  'reference-transaction',
  'pre-auto-gc',
  'post-index-change',
  'push-to-checkout',
  'fsmonitor-watchman',
];

/** A script that records `<name> <args>` in the markers dir, then behaves enough like the real thing. */
function evilScript(world: World, name: string): string {
  const path = join(world.root, 'evil', name);
  writeFiles(world.root, {
    [`evil/${name}`]: {
      content: `#!/bin/sh\necho "${name} $*" >> '${world.markers}/${name}'\ncase "${name}" in\n  clean|smudge) exec cat ;;\n  textconv) exec cat "$1" ;;\nesac\nexit 0\n`,
      mode: 0o755,
    },
  });
  return path;
}

const baseFiles = {
  'notes.txt': 'draft\n',
  'src.js': 'module.exports = 1;\n',
  '.gitattributes': '* diff=evil\n*.txt filter=evil merge=evil\n',
};
const change = { 'notes.txt': 'fixed\n', 'src.js': 'module.exports = 2;\n' };
const verify = 'grep -q fixed notes.txt && grep -q 2 src.js';

/** A repo whose config, hooks and attributes run marker scripts; returns its path. */
function makeHostileRepo(world: World, name: string): string {
  const hooks = Object.fromEntries(
    hookNames.map((hook) => [
      `githooks/${hook}`,
      { content: `#!/bin/sh\necho "${hook} $*" >> '${world.markers}/hook-${hook}'\n`, mode: 0o755 },
    ]),
  );
  const repo = makeRepo(world, { ...baseFiles, ...hooks }, name);
  writeFiles(
    join(repo, '.git'),
    Object.fromEntries(
      hookNames.map((hook) => [
        `hooks/${hook}`,
        { content: `#!/bin/sh\necho "${hook}" >> '${world.markers}/githook-${hook}'\n`, mode: 0o755 },
      ]),
    ),
  );
  writeFiles(join(repo, '.git'), { 'info/attributes': '* diff=evil\n*.txt filter=evil\n' });
  const config: [string, string][] = [
    ['core.fsmonitor', evilScript(world, 'fsmonitor')],
    ['core.hooksPath', 'githooks'],
    ['diff.evil.textconv', evilScript(world, 'textconv')],
    ['diff.external', evilScript(world, 'external')],
    ['filter.evil.clean', evilScript(world, 'clean')],
    ['filter.evil.smudge', evilScript(world, 'smudge')],
    ['filter.evil.required', 'true'],
    ['merge.evil.driver', `${evilScript(world, 'merge')} %O %A %B`],
    ['core.alternateRefsCommand', evilScript(world, 'alternateRefs')],
    ['core.pager', evilScript(world, 'pager')],
    ['core.editor', evilScript(world, 'editor')],
    ['core.sshCommand', evilScript(world, 'ssh')],
    ['credential.helper', evilScript(world, 'credential')],
    ['commit.gpgSign', 'true'],
    ['gpg.program', evilScript(world, 'gpg')],
  ];
  for (const [key, value] of config) git(world, repo, ['config', key, value]);
  return repo;
}

function markers(world: World): string[] {
  return readdirSync(world.markers).sort();
}

/** The CLI environment's own git traps. */
function hostileEnv(root: string): Record<string, string> {
  return {
    GIT_EXTERNAL_DIFF: join(root, 'evil', 'env-external'),
    GIT_PAGER: join(root, 'evil', 'env-pager'),
    GIT_CONFIG_COUNT: '2',
    GIT_CONFIG_KEY_0: 'core.fsmonitor',
    GIT_CONFIG_VALUE_0: join(root, 'evil', 'env-fsmonitor'),
    GIT_CONFIG_KEY_1: 'core.hooksPath',
    GIT_CONFIG_VALUE_1: join(root, 'githooks-env'),
  };
}

/** A world whose CLI env carries the git traps of `hostileEnv`, with their scripts in place. */
function hostileWorld(): World {
  const world = makeWorld(hostileEnv);
  for (const name of ['env-external', 'env-pager', 'env-fsmonitor']) evilScript(world, name);
  const hook = { content: `#!/bin/sh\necho x >> '${world.markers}/env-hook'\n`, mode: 0o755 };
  writeFiles(world.root, {
    'githooks-env/post-checkout': hook,
    'githooks-env/pre-commit': hook,
    'githooks-env/reference-transaction': hook,
  });
  return world;
}

describe('B9–B13 a repo armed with git program hooks', () => {
  it('the traps fire under plain git (control)', () => {
    const world = makeWorld();
    const repo = makeHostileRepo(world, 'control');
    writeFiles(repo, change);
    git(world, repo, ['status', '--porcelain']);
    git(world, repo, ['diff']);
    git(world, repo, ['diff', '--no-ext-diff']);
    expect(() => git(world, repo, ['commit', '-q', '-am', 'x'])).toThrow();
    git(world, repo, ['checkout', '-q', '-b', 'other']);
    git(world, repo, ['checkout', '-q', '--', 'notes.txt']);
    evilScript(world, 'env-fsmonitor');
    execFileSync('git', ['status', '--porcelain'], {
      cwd: repo,
      env: { ...gitEnv(world), ...hostileEnv(world.root) },
      stdio: 'pipe',
    });
    expect(markers(world)).toContain('env-fsmonitor');
    expect(markers(world)).toEqual(
      expect.arrayContaining([
        'clean',
        'external',
        'fsmonitor',
        'gpg',
        'hook-post-checkout',
        'hook-pre-commit',
        'smudge',
        'textconv',
      ]),
    );
  });

  it('a working-tree run runs none of them and changes nothing in the repo', async () => {
    const world = hostileWorld();
    const repo = makeHostileRepo(world, 'repo');
    writeFiles(repo, change);
    const before = snapshotTree(repo);
    const { code, report } = await run(world, repo, ['--verify', verify, '--timeout', '20']);
    expect({ code, verdict: report.verdict, files: report.patch?.files.map((f) => f.path) }).toEqual({
      code: Exit.verified,
      verdict: 'verified',
      files: ['notes.txt', 'src.js'],
    });
    expect(markers(world)).toEqual([]);
    expect(snapshotDiff(before, snapshotTree(repo))).toEqual({ added: [], removed: [], changed: [] });
    await expectLogged(world, report, 'verified');
  });

  it('a --patch run runs none of them and changes nothing in the repo', async () => {
    const world = hostileWorld();
    const repo = makeHostileRepo(world, 'repo');
    // The same patch from a clean twin with the same files (same blob ids), made without the traps.
    const twin = makeRepo(world, baseFiles, 'twin');
    const patch = makePatch(world, twin, change);
    writeFiles(repo, { 'notes.txt': 'uncommitted edit that the patch run must ignore\n' });
    const before = snapshotTree(repo);
    const { code, report } = await run(world, repo, ['--verify', verify, '--patch', patch, '--timeout', '20']);
    expect({ code, verdict: report.verdict, files: report.patch?.files.map((f) => f.path) }).toEqual({
      code: Exit.verified,
      verdict: 'verified',
      files: ['notes.txt', 'src.js'],
    });
    expect(markers(world)).toEqual([]);
    expect(snapshotDiff(before, snapshotTree(repo))).toEqual({ added: [], removed: [], changed: [] });
    await expectLogged(world, report, 'verified');
  });

  it('a --branch run runs none of them and adds only the branch ref and objects', async () => {
    const world = hostileWorld();
    const repo = makeHostileRepo(world, 'repo');
    writeFiles(repo, change);
    const before = snapshotTree(repo);
    const { code, report } = await run(world, repo, ['--verify', verify, '--branch', 'rt-new', '--timeout', '20']);
    expect({ code, verdict: report.verdict, branch: report.branch?.name, error: report.branch?.error }).toEqual({
      code: Exit.verified,
      verdict: 'integrated',
      branch: 'rt-new',
      error: null,
    });
    expect(markers(world)).toEqual([]);
    const diff = snapshotDiff(before, snapshotTree(repo));
    expect({ removed: diff.removed, changed: diff.changed }).toEqual({ removed: [], changed: [] });
    const allowed = /^\.git\/(objects\/.+|refs\/heads\/rt-new|logs\/refs\/heads\/rt-new)$/u;
    expect(diff.added.filter((path) => !allowed.test(path))).toEqual([]);
    expect(diff.added).toContain('.git/refs/heads/rt-new');
    // Read the commit raw (no filters, no textconv) to see the patch landed.
    expect(git(world, repo, ['cat-file', 'blob', 'rt-new:notes.txt'])).toBe('fixed\n');
    expect(markers(world)).toEqual([]);
    const events = await expectLogged(world, report, 'integrated');
    expect(onlyEvent(events, 'integrationFinished').commit).toBe(report.branch?.commit);
  });
});

describe('B14 patches that touch git metadata and CI', () => {
  const evilConfig = (world: World, path: string): string =>
    writePatch(
      world,
      `diff --git a/${path} b/${path}\nnew file mode 100644\n--- /dev/null\n+++ b/${path}\n@@ -0,0 +1,2 @@\n+[core]\n+\tfsmonitor = ${evilScript(world, 'fsmonitor')}\n`,
      'git-config',
    );

  it.each(['.git/config', 'sub/.git/config', '.GIT/hooks/post-checkout'])(
    '%s is refused before apply (gitMetadata)',
    async (path) => {
      const world = makeWorld();
      const repo = makeRepo(world, baseFiles);
      const before = snapshotTree(repo);
      const { code, report } = await run(world, repo, [
        '--verify',
        'true',
        '--patch',
        evilConfig(world, path),
        '--timeout',
        '20',
      ]);
      expect({ code, verdict: report.verdict, patch: report.patch }).toEqual({
        code: Exit.rejected,
        verdict: 'rejected',
        patch: null,
      });
      const events = await expectLogged(world, report, 'rejected');
      expect(onlyEvent(events, 'patchRefused').code).toBe('gitMetadata');
      expect(eventsOf(events, 'verifyStarted')).toEqual([]);
      expect(markers(world)).toEqual([]);
      expect(snapshotDiff(before, snapshotTree(repo))).toEqual({ added: [], removed: [], changed: [] });
    },
  );

  it.each([
    ['.gitmodules', 'gitMetadata', '[submodule "evil"]\n\tpath = evil\n\turl = ../evil\n'],
    ['.gitattributes', 'gitMetadata', '* -diff\n'],
    [
      '.github/workflows/ci.yml',
      'ci',
      'on: push\njobs:\n  pwn:\n    runs-on: ubuntu-latest\n    steps:\n      - run: curl evil\n',
    ],
  ])('%s needs approval (%s) and is never verified', async (path, rule, content) => {
    const world = makeWorld();
    const repo = makeRepo(world, baseFiles);
    const patch = makePatch(world, repo, { [path]: content });
    const { code, report } = await run(world, repo, ['--verify', 'true', '--patch', patch, '--timeout', '20']);
    expect({ code, verdict: report.verdict, protectedPaths: report.protectedPaths }).toEqual({
      code: Exit.needsApproval,
      verdict: 'needs-approval',
      protectedPaths: [{ path, rule }],
    });
    const events = await expectLogged(world, report, 'awaiting-approval');
    expect(onlyEvent(events, 'verifyFinished').integrity).toEqual({
      verdict: 'protected',
      violations: [{ path, rule }],
    });
  });
});

/** A worker that commits its change, moving HEAD, and arms the attempt's git config and hooks. */
function armingWorker(world: World): string {
  return [
    'set -e',
    'echo fixed > notes.txt',
    `printf '#!/bin/sh\\necho "$*" >> ${world.markers}/b15-$1\\n[ "$1" = clean ] && exec cat\\n[ "$1" = textconv ] && exec cat "$2"\\nexit 0\\n' > evil.sh`,
    'chmod +x evil.sh',
    'git add -A',
    'git -c user.name=w -c user.email=w@w.invalid commit -q -m wip',
    'git config core.fsmonitor "./evil.sh fsmonitor"',
    'git config core.hooksPath .git/hooks',
    'git config diff.external "./evil.sh external"',
    'git config diff.evil.textconv "./evil.sh textconv"',
    'git config filter.evil.clean "./evil.sh clean"',
    'git config filter.evil.required true',
    'git config core.alternateRefsCommand "./evil.sh alternateRefs"',
    'mkdir -p .git/info .git/hooks',
    "printf '* diff=evil filter=evil\\n' > .git/info/attributes",
    `for h in post-checkout pre-commit post-commit reference-transaction post-index-change; do printf '#!/bin/sh\\necho x >> ${world.markers}/b15-hook-%s\\n' $h > .git/hooks/$h; chmod +x .git/hooks/$h; done`,
  ].join('\n');
}

describe("B15 a worker rewrites the attempt's .git", () => {
  it('the arming worker makes plain git run its programs (control)', () => {
    const world = makeWorld();
    const repo = makeRepo(world, baseFiles);
    execFileSync('/bin/sh', ['-c', armingWorker(world)], { cwd: repo, env: gitEnv(world), stdio: 'pipe' });
    writeFiles(repo, { 'notes.txt': 'changed again\n' });
    git(world, repo, ['status', '--porcelain']);
    // Whether git then succeeds does not matter; that it ran the programs does.
    try {
      git(world, repo, ['diff', 'HEAD~1']);
    } catch {
      // The armed external diff makes this diff fail.
    }
    expect(markers(world)).toEqual(expect.arrayContaining(['b15-clean', 'b15-external', 'b15-fsmonitor']));
  });

  it('commits its change, moves HEAD and arms the attempt config: the patch is its real change, nothing runs', async () => {
    const world = makeWorld();
    const repo = makeRepo(world, baseFiles);
    const worker = armingWorker(world);
    const { code, report } = await run(world, repo, [
      '--verify',
      'grep -q fixed notes.txt',
      '--worker',
      worker,
      '--attempts',
      '1',
      '--timeout',
      '20',
    ]);
    expect({ code, verdict: report.verdict, files: report.patch?.files }).toEqual({
      code: Exit.verified,
      verdict: 'verified',
      files: [
        { path: 'evil.sh', status: 'added' },
        { path: 'notes.txt', status: 'modified' },
      ],
    });
    expect(readdirSync(world.markers)).toEqual([]);
    const events = await expectLogged(world, report, 'verified');
    expect(onlyEvent(events, 'patchDerived').files).toEqual(['evil.sh', 'notes.txt']);
  });

  it('replaces .git with a gitdir: file pointing at a decoy repo: the patch is its real change only', async () => {
    const world = makeWorld();
    const repo = makeRepo(world, baseFiles);
    const decoy = makeRepo(world, { ...baseFiles, 'notes.txt': 'fixed\n', 'decoy.txt': 'decoy\n' }, 'decoy');
    git(world, decoy, ['config', 'core.fsmonitor', evilScript(world, 'fsmonitor')]);
    writeFileSync(join(decoy, '.git', 'info', 'attributes'), '* diff=evil\n');
    git(world, decoy, ['config', 'diff.evil.textconv', evilScript(world, 'textconv')]);
    const decoyBefore = snapshotTree(decoy);
    const worker = `set -e\necho fixed > notes.txt\nrm -rf .git\necho 'gitdir: ${join(decoy, '.git')}' > .git`;
    const { code, report } = await run(world, repo, [
      '--verify',
      'grep -q fixed notes.txt',
      '--worker',
      worker,
      '--attempts',
      '1',
      '--timeout',
      '20',
    ]);
    expect({ code, verdict: report.verdict, files: report.patch?.files }).toEqual({
      code: Exit.verified,
      verdict: 'verified',
      files: [{ path: 'notes.txt', status: 'modified' }],
    });
    expect(readdirSync(world.markers)).toEqual([]);
    expect(snapshotDiff(decoyBefore, snapshotTree(decoy))).toEqual({ added: [], removed: [], changed: [] });
    const events = await expectLogged(world, report, 'verified');
    expect(onlyEvent(events, 'patchDerived').files).toEqual(['notes.txt']);
  });
});
