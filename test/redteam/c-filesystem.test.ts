/**
 * REDTEAM C16–C19: the filesystem (escaping paths, outside symlinks, special files).
 *
 * Method: real `crustcore run` on temp git repos with candidates made by `git diff --binary`,
 * by hand (hostile diff headers), by a sandboxed `--worker`, or left uncommitted in the user's
 * checkout. Each case asserts the refusal (exit 1, verdict `rejected`, a `patchRefused` event with
 * its code, no verify run) and then looks on the host: no file written outside, no secret read
 * (its bytes appear nowhere in the state dir, the log or the CLI's output). A verify that writes
 * through outside links that are legitimately in the base commit changes nothing outside.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  Exit,
  eventsOf,
  expectLogged,
  findFiles,
  makePatch,
  makeRepo,
  makeWorld,
  onlyEvent,
  requireBwrap,
  run,
  snapshotDiff,
  snapshotTree,
  token,
  useBuiltCli,
  useWorlds,
  writeFiles,
  writePatch,
  type RunJson,
  type World,
} from './support.js';

useBuiltCli();
requireBwrap();
useWorlds();

const baseFiles = { 'notes.txt': 'draft\n', 'src.js': 'module.exports = 1;\n' };

/** Asserts a refused candidate: exit 1, rejected, one `patchRefused` with `code`, no verify. */
async function expectRefused(world: World, outcome: Awaited<ReturnType<typeof run>>, code: string): Promise<RunJson> {
  const { report } = outcome;
  expect({ code: outcome.code, verdict: report.verdict, patch: report.patch }).toEqual({
    code: Exit.rejected,
    verdict: 'rejected',
    patch: null,
  });
  const events = await expectLogged(world, report, 'rejected');
  expect(onlyEvent(events, 'patchRefused').code).toBe(code);
  expect(eventsOf(events, 'verifyStarted')).toEqual([]);
  return report;
}

/** Every regular file under `dir` whose bytes contain `needle` (links are not followed). */
function filesContaining(dir: string, needle: string): string[] {
  return findFiles(dir, () => true).filter((path) => {
    try {
      return lstatSync(path).isFile() && readFileSync(path).includes(needle);
    } catch {
      return false;
    }
  });
}

/** A world whose home holds a `.ssh` dir, and a secret file outside every repo. */
function worldWithSecrets(): { world: World; secret: string; secretPath: string } {
  const world = makeWorld();
  const secret = `outside-secret-${token()}`;
  writeFiles(world.home, { '.ssh/id_ed25519': `${secret}\n` });
  const secretPath = join(world.root, 'secret.txt');
  writeFileSync(secretPath, `${secret}\n`);
  return { world, secret, secretPath };
}

/** No file named `mark` anywhere under the world, in the host's tmp dir or at the root. */
function expectNothingOutside(world: World, mark: string): void {
  expect(findFiles(world.root, (name) => name === mark)).toEqual([]);
  expect(existsSync(join(tmpdir(), mark))).toBe(false);
  expect(existsSync(join('/', mark))).toBe(false);
}

describe('C16 symlinks that point outside the tree', () => {
  it('a patch adding a link to ../../.. is refused (symlinkOutside)', async () => {
    const world = makeWorld();
    const repo = makeRepo(world, baseFiles);
    const patch = makePatch(world, repo, { up: { symlink: '../../..' }, 'notes.txt': 'fixed\n' });
    await expectRefused(
      world,
      await run(world, repo, ['--verify', 'true', '--patch', patch, '--timeout', '20']),
      'symlinkOutside',
    );
  });

  it('a patch adding a link to $HOME/.ssh is refused (symlinkOutside)', async () => {
    const { world } = worldWithSecrets();
    const repo = makeRepo(world, baseFiles);
    const patch = makePatch(world, repo, { keys: { symlink: join(world.home, '.ssh') } });
    await expectRefused(
      world,
      await run(world, repo, ['--verify', 'true', '--patch', patch, '--timeout', '20']),
      'symlinkOutside',
    );
  });

  it('a worker adding a link to ../../.. is refused (symlinkOutside)', async () => {
    const world = makeWorld();
    const repo = makeRepo(world, baseFiles);
    const worker = 'echo fixed > notes.txt && ln -s ../../.. up';
    await expectRefused(
      world,
      await run(world, repo, ['--verify', 'true', '--worker', worker, '--attempts', '1', '--timeout', '20']),
      'symlinkOutside',
    );
  });

  it('a verify writing through outside links that the base commit holds changes nothing outside', async () => {
    const { world } = worldWithSecrets();
    const mark = `PWNED-${token()}`;
    const repo = makeRepo(world, {
      ...baseFiles,
      up: { symlink: '../../..' },
      keys: { symlink: join(world.home, '.ssh') },
    });
    const patch = makePatch(world, repo, { 'notes.txt': 'fixed\n' });
    const homeBefore = snapshotTree(world.home);
    const repoBefore = snapshotTree(repo);
    const verify = [
      `echo pwned > up/${mark}`,
      `echo pwned > up/tmp/${mark}`,
      `echo pwned > keys/${mark}`,
      'echo pwned >> keys/id_ed25519',
      'true',
    ].join('; ');
    const { code, report } = await run(world, repo, ['--verify', verify, '--patch', patch, '--timeout', '20']);
    expect({ code, verdict: report.verdict }).toEqual({ code: Exit.verified, verdict: 'verified' });
    expectNothingOutside(world, mark);
    expect(snapshotDiff(homeBefore, snapshotTree(world.home))).toEqual({ added: [], removed: [], changed: [] });
    expect(snapshotDiff(repoBefore, snapshotTree(repo))).toEqual({ added: [], removed: [], changed: [] });
    await expectLogged(world, report, 'verified');
  });

  it('a verify that makes outside links itself and writes through them changes nothing outside', async () => {
    const { world } = worldWithSecrets();
    const mark = `PWNED-${token()}`;
    const repo = makeRepo(world, baseFiles);
    writeFiles(repo, { 'notes.txt': 'fixed\n' });
    const homeBefore = snapshotTree(world.home);
    const verify = [
      'ln -s ../../.. up',
      `ln -s '${join(world.home, '.ssh')}' keys`,
      `ln -s '${world.root}' root`,
      `echo pwned > up/${mark}`,
      `echo pwned > keys/${mark}`,
      `echo pwned > root/${mark}`,
      'true',
    ].join('; ');
    const { code, report } = await run(world, repo, ['--verify', verify, '--timeout', '20']);
    expect({ code, verdict: report.verdict }).toEqual({ code: Exit.verified, verdict: 'verified' });
    expectNothingOutside(world, mark);
    expect(snapshotDiff(homeBefore, snapshotTree(world.home))).toEqual({ added: [], removed: [], changed: [] });
    await expectLogged(world, report, 'verified');
  });
});

describe('C17 diff headers that escape the tree', () => {
  const newFile = (path: string): string =>
    `diff --git a/${path} b/${path}\nnew file mode 100644\nindex 0000000..4b2ab3b\n--- /dev/null\n+++ b/${path}\n@@ -0,0 +1 @@\n+pwned\n`;

  it.each([
    ['a git header with ../escape.txt', (_root: string) => newFile('../escape.txt')],
    [
      'a plain unified diff with ../../escape.txt',
      (_root: string) => '--- /dev/null\n+++ b/../../escape.txt\n@@ -0,0 +1 @@\n+pwned\n',
    ],
    ['a git header with an absolute path', (root: string) => newFile(`${root}/escape.txt`)],
    [
      'a plain unified diff with an absolute path',
      (root: string) => `--- /dev/null\n+++ ${root}/escape.txt\n@@ -0,0 +1 @@\n+pwned\n`,
    ],
  ])('%s is refused before apply (pathEscapes) and nothing is written', async (_name, text) => {
    const world = makeWorld();
    const repo = makeRepo(world, baseFiles);
    const repoBefore = snapshotTree(repo);
    const patch = writePatch(world, text(world.root), 'escape');
    await expectRefused(
      world,
      await run(world, repo, ['--verify', 'true', '--patch', patch, '--timeout', '20']),
      'pathEscapes',
    );
    expect(findFiles(world.root, (name) => name === 'escape.txt')).toEqual([]);
    expect(existsSync(join(tmpdir(), 'escape.txt'))).toBe(false);
    expect(snapshotDiff(repoBefore, snapshotTree(repo))).toEqual({ added: [], removed: [], changed: [] });
  });
});

describe('C18 the kernel never follows a symlink in the tree', () => {
  it('a worker turning a file into a link to an outside secret is refused and the secret is never read', async () => {
    const { world, secret, secretPath } = worldWithSecrets();
    const repo = makeRepo(world, baseFiles);
    const worker = `rm notes.txt && ln -s '${secretPath}' notes.txt`;
    const outcome = await run(world, repo, [
      '--verify',
      'cat notes.txt',
      '--worker',
      worker,
      '--attempts',
      '1',
      '--timeout',
      '20',
    ]);
    await expectRefused(world, outcome, 'symlinkOutside');
    expect(JSON.stringify(outcome.report) + outcome.stderr).not.toContain(secret);
    expect(filesContaining(world.state, secret)).toEqual([]);
  });

  it('an uncommitted link to an outside secret in the checkout is refused and the secret is never read', async () => {
    const { world, secret, secretPath } = worldWithSecrets();
    const repo = makeRepo(world, baseFiles);
    writeFiles(repo, { 'data.txt': { symlink: secretPath }, 'notes.txt': 'fixed\n' });
    const outcome = await run(world, repo, ['--verify', 'cat data.txt', '--timeout', '20']);
    await expectRefused(world, outcome, 'symlinkOutside');
    expect(JSON.stringify(outcome.report) + outcome.stderr).not.toContain(secret);
    expect(filesContaining(world.state, secret)).toEqual([]);
  });

  it('a committed link to an outside secret is carried as a link: never read, not readable inside', async () => {
    const { world, secret, secretPath } = worldWithSecrets();
    const repo = makeRepo(world, { ...baseFiles, 'leak.txt': { symlink: secretPath } });
    const patch = makePatch(world, repo, { 'notes.txt': 'fixed\n' });
    const outcome = await run(world, repo, ['--verify', 'cat leak.txt; true', '--patch', patch, '--timeout', '20']);
    expect({ code: outcome.code, verdict: outcome.report.verdict }).toEqual({
      code: Exit.verified,
      verdict: 'verified',
    });
    expect(outcome.report.attempts[0]?.verify?.outputTail).toContain('No such file');
    expect(JSON.stringify(outcome.report) + outcome.stderr).not.toContain(secret);
    expect(filesContaining(world.state, secret)).toEqual([]);
    await expectLogged(world, outcome.report, 'verified');
  });
});

describe('C19 special files', () => {
  it('a worker creating a FIFO is refused (specialFile)', async () => {
    const world = makeWorld();
    const repo = makeRepo(world, baseFiles);
    const worker = 'echo fixed > notes.txt && mkfifo pipe';
    await expectRefused(
      world,
      await run(world, repo, ['--verify', 'true', '--worker', worker, '--attempts', '1', '--timeout', '20']),
      'specialFile',
    );
  });

  it('an uncommitted FIFO in the checkout is refused (specialFile)', async () => {
    const world = makeWorld();
    const repo = makeRepo(world, baseFiles);
    writeFiles(repo, { 'notes.txt': 'fixed\n' });
    execFileSync('mkfifo', [join(repo, 'pipe')]);
    await expectRefused(world, await run(world, repo, ['--verify', 'true', '--timeout', '20']), 'specialFile');
  });
});
