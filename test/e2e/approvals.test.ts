/**
 * Approvals and integration end to end: the real built CLI as a child process, real git repos,
 * the real bubblewrap sandbox, a temp state dir and a temp config home. A run that touches a
 * protected path stops for an approval that `approvals` lists and `approve`/`deny` decide; a
 * verified task is integrated into an existing branch by fast-forward only, directly under review
 * mode `auto` and through an approval otherwise; a protected run with `--branch` creates its new
 * branch when the approval is granted, and never otherwise. Every refusal is checked to leave the state dir
 * (and the repo) unchanged, and every log to stay intact and replayable.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Event } from '../../kernel/src/core/index.js';
import {
  exportedEvents,
  stateSnapshot,
  cli,
  cliPath,
  expectLogSound,
  git,
  logsOf,
  makeRepo,
  makeWorld,
  parseJson,
  requireBwrap,
  runJson,
  sha256,
  snapshotTree,
  SuiteLimits,
  useBuiltCli,
  useWorlds,
  writeFiles,
  type World,
} from './support.js';

useBuiltCli();
requireBwrap();
useWorlds();

const project = {
  'src/add.js': 'module.exports = (a, b) => a - b;\n',
  'test/add.test.js': "const add = require('../src/add.js');\nif (add(2, 2) !== 4) process.exit(1);\n",
};
const fix = { 'src/add.js': 'module.exports = (a, b) => a + b;\n' };
const verify = 'node test/add.test.js';

interface ApprovalJson {
  readonly approvalId: string;
  readonly purpose: string;
  readonly taskId: string;
  readonly status: string;
  readonly branch: string | null;
  readonly newBranch: string | null;
  readonly files: readonly string[];
  readonly protectedPaths: readonly { path: string; reason: string }[];
  readonly verify: { command: string; exitCode: number; outputDigest: string; durationMs: number | null } | null;
  readonly patchPath: string | null;
  readonly logPath: string | null;
}

/** A world whose config home is inside it; `reviewMode` is written to the user config when given. */
function configuredWorld(reviewMode?: string): World {
  const world = makeWorld();
  const config = join(world.root, 'config');
  world.env['XDG_CONFIG_HOME'] = config;
  if (reviewMode !== undefined) {
    mkdirSync(join(config, 'crustcore'), { recursive: true });
    writeFileSync(join(config, 'crustcore', 'config.json'), `${JSON.stringify({ reviewMode })}\n`);
  }
  return world;
}

/** A run whose patch fixes the code and touches the test file: verify passes, approval needed. */
async function protectedRun(world: World): Promise<{ repo: string; taskId: string; logPath: string }> {
  const { dir } = makeRepo(world, project);
  writeFiles(dir, { ...fix, 'test/add.test.js': `${project['test/add.test.js']}// reviewed\n` });
  const { code, report } = await runJson(world, dir, ['--verify', verify]);
  expect({ code, verdict: report.verdict }).toEqual({ code: 4, verdict: 'needs-approval' });
  return { repo: dir, taskId: report.taskId, logPath: report.log.path };
}

/** A clean verified run of the fix. */
async function verifiedRun(world: World): Promise<{ repo: string; base: string; taskId: string; logPath: string }> {
  const { dir, base } = makeRepo(world, project);
  writeFiles(dir, fix);
  const { code, report } = await runJson(world, dir, ['--verify', verify]);
  expect({ code, verdict: report.verdict }).toEqual({ code: 0, verdict: 'verified' });
  return { repo: dir, base, taskId: report.taskId, logPath: report.log.path };
}

async function pending(world: World): Promise<ApprovalJson[]> {
  const listed = await cli(world, ['approvals', '--json']);
  expect(listed.code).toBe(0);
  return parseJson<{ approvals: ApprovalJson[] }>(listed).approvals;
}

/**
 * Runs the CLI in a real pseudo-terminal (util-linux `script`) and types `keys` once `prompt` shows;
 * the screen ends with the CLI's exit code. Killed after the suite's CLI bound.
 */
function underTerminal(
  world: World,
  args: readonly string[],
  prompt: string,
  keys: string,
): Promise<{ readonly screen: string }> {
  const quote = (text: string): string => `'${text.replaceAll("'", "'\\''")}'`;
  const command = `${[process.execPath, cliPath, ...args].map(quote).join(' ')}; echo "exit $?"`;
  const child = spawn('script', ['-qec', command, '/dev/null'], { env: world.env, stdio: ['pipe', 'pipe', 'pipe'] });
  let screen = '';
  let typed = false;
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    screen += chunk;
    if (!typed && screen.includes(prompt)) {
      typed = true;
      child.stdin.write(keys);
    }
  });
  const deadline = setTimeout(() => child.kill('SIGKILL'), SuiteLimits.cliMs);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(deadline);
      resolve({ screen });
    });
  });
}

describe('approve and deny a protected patch', () => {
  it('approvals lists it; approve --yes delivers the VerifiedPatch once; the log stays sound', async () => {
    const world = configuredWorld();
    const { taskId, logPath } = await protectedRun(world);
    const [approval, ...others] = await pending(world);
    expect(others).toEqual([]);
    expect(approval).toMatchObject({
      purpose: 'acceptProtected',
      taskId,
      status: 'pending',
      branch: null,
      newBranch: null,
      files: ['src/add.js', 'test/add.test.js'],
      protectedPaths: [{ path: 'test/add.test.js', reason: 'testFile' }],
      verify: { command: verify, exitCode: 0 },
      logPath,
    });
    const id = approval?.approvalId ?? '';
    expect(id).toMatch(/^[a-z2-7]{26}$/);
    const human = await cli(world, ['approvals']);
    expect(human.stdout).toContain(`approval ${id}  acceptProtected  task ${taskId}  (pending)`);

    const approved = await cli(world, ['approve', id, '--yes', '--json']);
    const report = parseJson<{ status: string; via: string; patch: { digest: string; storedAt: string } }>(approved);
    expect({ code: approved.code, status: report.status, via: report.via }).toEqual({
      code: 0,
      status: 'verified',
      via: 'cli-yes',
    });
    expect(sha256(readFileSync(report.patch.storedAt))).toBe(report.patch.digest);
    await expectLogSound(world, logPath);
    const resolved = (await exportedEvents(world, logPath)).filter((event) => event.kind === 'approvalResolved');
    expect(resolved).toEqual([
      expect.objectContaining({ approvalId: id, actor: 'user', decision: 'granted' }) as unknown as Event,
    ]);
    expect(await pending(world)).toEqual([]);

    const before = stateSnapshot(world);
    const again = await cli(world, ['approve', id, '--yes']);
    expect({ code: again.code, stderr: again.stderr }).toEqual({
      code: 1,
      stderr: `crustcore: refused: approval ${id} was already granted and used; an approval authorises one action once\n`,
    });
    expect(stateSnapshot(world)).toEqual(before);
  });

  it('deny --yes rejects the task and stores no patch', async () => {
    const world = configuredWorld();
    const { taskId, logPath } = await protectedRun(world);
    const id = (await pending(world))[0]?.approvalId ?? '';
    const denied = await cli(world, ['deny', id, '--yes', '--json']);
    expect({ code: denied.code, report: parseJson<{ status: string; decision: string }>(denied) }).toMatchObject({
      code: 0,
      report: { status: 'rejected', decision: 'denied', taskId },
    });
    await expectLogSound(world, logPath);
    expect(logsOf(world).length).toBe(1);
    const repoFolder = join(logPath, '..', '..');
    expect(existsSync(join(repoFolder, 'patches'))).toBe(false);
  });

  it('without a terminal and without --yes nothing is decided (exit 2)', async () => {
    const world = configuredWorld();
    await protectedRun(world);
    const id = (await pending(world))[0]?.approvalId ?? '';
    const before = stateSnapshot(world);
    const asked = await cli(world, ['approve', id, '--json']);
    expect({ code: asked.code, stderr: asked.stderr }).toEqual({
      code: 2,
      stderr: `crustcore: no terminal to confirm on; pass --yes to approve approval ${id} from a script\n`,
    });
    expect(stateSnapshot(world)).toEqual(before);
  });

  it('on a terminal: end of input is a no and changes nothing; typing y grants it', async () => {
    const world = configuredWorld();
    const { logPath } = await protectedRun(world);
    const id = (await pending(world))[0]?.approvalId ?? '';
    const before = stateSnapshot(world);
    const closed = await underTerminal(world, ['approve', id], '[y/N] ', '\u0004');
    expect(closed.screen).toContain('not confirmed; nothing was changed');
    expect(closed.screen).toContain('exit 1');
    expect(stateSnapshot(world)).toEqual(before);

    const typed = await underTerminal(world, ['approve', id], '[y/N] ', 'y\r');
    expect(typed.screen).toContain('exit 0');
    const resolved = (await exportedEvents(world, logPath)).filter((event) => event.kind === 'approvalResolved');
    expect(resolved).toEqual([
      expect.objectContaining({ approvalId: id, actor: 'user', decision: 'granted' }) as unknown as Event,
    ]);
    await expectLogSound(world, logPath);
  });

  it('an edited expiry is detected by the MAC and refused; nothing changes', async () => {
    const world = configuredWorld();
    const { logPath } = await protectedRun(world);
    const id = (await pending(world))[0]?.approvalId ?? '';
    const file = join(logPath, '..', '..', 'approvals', 'approvals.json');
    const text = readFileSync(file, 'utf8');
    writeFileSync(
      file,
      text.replace(/"expiresAtMs": (\d+)/, (_m, ms: string) => `"expiresAtMs": ${Number(ms) + 1}`),
    );
    const before = stateSnapshot(world);
    const refused = await cli(world, ['approve', id, '--yes']);
    expect({ code: refused.code, stderr: refused.stderr }).toEqual({
      code: 1,
      stderr: `crustcore: refused: approval ${id} does not match its token: the record or the token was altered\n`,
    });
    expect(stateSnapshot(world)).toEqual(before);
    const unknown = await cli(world, ['approve', 'a'.repeat(26), '--yes']);
    expect({ code: unknown.code, stderr: unknown.stderr }).toEqual({
      code: 1,
      stderr: `crustcore: refused: no approval ${'a'.repeat(26)}; list pending approvals with 'crustcore approvals'\n`,
    });
  });
});

describe('integrate into an existing branch', () => {
  it('review mode auto: integrate --yes fast-forwards the branch; HEAD, index and working tree are untouched', async () => {
    const world = configuredWorld('auto');
    const { repo, base, taskId, logPath } = await verifiedRun(world);
    git(world, repo, ['branch', 'target']);
    const checkout = snapshotTree(repo, (relative) => relative === '.git');
    const head = git(world, repo, ['rev-parse', 'HEAD']);
    const index = readFileSync(join(repo, '.git', 'index'));
    const result = await cli(world, ['integrate', taskId, '--into', 'target', '--yes', '--json'], { cwd: repo });
    const report = parseJson<{ verdict: string; commit: string; reviewMode: string; exitCode: number }>(result);
    expect({ code: result.code, verdict: report.verdict, reviewMode: report.reviewMode }).toEqual({
      code: 0,
      verdict: 'integrated',
      reviewMode: 'auto',
    });
    expect(git(world, repo, ['rev-parse', 'target']).trim()).toBe(report.commit);
    expect(git(world, repo, ['rev-parse', `${report.commit}^`]).trim()).toBe(base);
    expect(git(world, repo, ['show', `${report.commit}:src/add.js`])).toBe(fix['src/add.js']);
    expect(git(world, repo, ['rev-parse', 'HEAD'])).toBe(head);
    expect(snapshotTree(repo, (relative) => relative === '.git')).toEqual(checkout);
    expect(readFileSync(join(repo, '.git', 'index'))).toEqual(index);
    await expectLogSound(world, logPath);
    const kinds = (await exportedEvents(world, logPath)).slice(-4).map((event) => event.kind);
    expect(kinds).toEqual(['integrationRequested', 'approvalRequested', 'approvalResolved', 'integrationFinished']);
    expect(await pending(world)).toEqual([]);
  });

  it('review mode auto without a terminal or --yes: exit 2, nothing changes', async () => {
    const world = configuredWorld('auto');
    const { repo, taskId } = await verifiedRun(world);
    git(world, repo, ['branch', 'target']);
    const before = stateSnapshot(world);
    const result = await cli(world, ['integrate', taskId, '--into', 'target'], { cwd: repo });
    expect({ code: result.code, stderr: result.stderr }).toEqual({
      code: 2,
      stderr: 'crustcore: no terminal to confirm the integration on; pass --yes to confirm it in a script\n',
    });
    expect(stateSnapshot(world)).toEqual(before);
  });

  it('approve-before-merge: integrate stops for an approval (exit 4); approve performs it once', async () => {
    const world = configuredWorld();
    const { repo, base, taskId, logPath } = await verifiedRun(world);
    git(world, repo, ['branch', 'target']);
    const asked = await cli(world, ['integrate', taskId, '--into', 'target', '--json'], { cwd: repo });
    const request = parseJson<{ verdict: string; approvalId: string }>(asked);
    expect({ code: asked.code, verdict: request.verdict }).toEqual({ code: 4, verdict: 'needs-approval' });
    expect(git(world, repo, ['rev-parse', 'target']).trim()).toBe(base);
    const [approval] = await pending(world);
    expect(approval).toMatchObject({ approvalId: request.approvalId, purpose: 'integrate', branch: 'target', taskId });

    const approved = await cli(world, ['approve', request.approvalId, '--yes', '--json']);
    const report = parseJson<{ status: string; branch: { name: string; commit: string } }>(approved);
    expect({ code: approved.code, status: report.status, branch: report.branch.name }).toEqual({
      code: 0,
      status: 'integrated',
      branch: 'target',
    });
    expect(git(world, repo, ['rev-parse', 'target']).trim()).toBe(report.branch.commit);
    await expectLogSound(world, logPath);

    const before = stateSnapshot(world);
    const again = await cli(world, ['approve', request.approvalId, '--yes']);
    expect(again.code).toBe(1);
    expect(stateSnapshot(world)).toEqual(before);
  });

  it('an integrate ticket edited into a protected acceptance with a new branch is refused, not a crash; nothing changes', async () => {
    const world = configuredWorld();
    const { repo, taskId, logPath } = await verifiedRun(world);
    git(world, repo, ['branch', 'target']);
    const asked = await cli(world, ['integrate', taskId, '--into', 'target', '--json'], { cwd: repo });
    const { approvalId } = parseJson<{ approvalId: string }>(asked);
    const ticket = join(logPath, '..', '..', 'approvals', 'tickets', `${approvalId}.json`);
    const edited = {
      ...(JSON.parse(readFileSync(ticket, 'utf8')) as object),
      purpose: 'acceptProtected',
      branch: null,
      newBranch: 'x',
    };
    writeFileSync(ticket, JSON.stringify(edited));
    const before = stateSnapshot(world);
    const refused = await cli(world, ['approve', approvalId, '--yes']);
    expect({ code: refused.code, stderr: refused.stderr }).toEqual({
      code: 1,
      stderr: `crustcore: refused: approval ${approvalId} names a new branch its log's integrate cannot carry; it was altered\n`,
    });
    expect(stateSnapshot(world)).toEqual(before);
    expect(git(world, repo, ['branch', '--list', 'x'])).toBe('');
  });

  it('a branch that moved after the request is refused at approval: integrationFailed is logged, the task stays verified', async () => {
    const world = configuredWorld();
    const { repo, base, taskId, logPath } = await verifiedRun(world);
    git(world, repo, ['branch', 'target']);
    const asked = await cli(world, ['integrate', taskId, '--into', 'target', '--json'], { cwd: repo });
    const { approvalId } = parseJson<{ approvalId: string }>(asked);
    const moved = git(world, repo, ['commit-tree', `${base}^{tree}`, '-p', base, '-m', 'moved'], '').trim();
    git(world, repo, ['update-ref', 'refs/heads/target', moved]);
    const approved = await cli(world, ['approve', approvalId, '--yes', '--json']);
    const report = parseJson<{ status: string; reason: string }>(approved);
    expect({ code: approved.code, status: report.status }).toEqual({ code: 1, status: 'verified' });
    expect(report.reason).toMatch(/^branchMoved: branch 'target' is at [0-9a-f]{12}, not at the verified base /);
    expect(git(world, repo, ['rev-parse', 'target']).trim()).toBe(moved);
    await expectLogSound(world, logPath);
    expect((await exportedEvents(world, logPath)).at(-1)).toMatchObject({ kind: 'integrationFailed', taskId });
  });

  it('refuses a moved branch, a checked-out branch and a missing branch up front; nothing is logged', async () => {
    const world = configuredWorld('auto');
    const { repo, base, taskId, logPath } = await verifiedRun(world);
    const moved = git(world, repo, ['commit-tree', `${base}^{tree}`, '-p', base, '-m', 'moved'], '').trim();
    git(world, repo, ['branch', 'ahead', moved]);
    const log = readFileSync(logPath);
    const cases: [string, RegExp][] = [
      [
        'ahead',
        /^crustcore: refused: branch 'ahead' is at [0-9a-f]{12}, not at the verified base [0-9a-f]{12}: the kernel only fast-forwards and never rebases;/,
      ],
      ['main', /^crustcore: refused: branch 'main' is checked out in .*; the kernel never changes a working tree: /],
      ['nope', /^crustcore: refused: branch 'nope' does not exist; integrate only fast-forwards an existing branch/],
    ];
    for (const [branch, message] of cases) {
      const result = await cli(world, ['integrate', taskId, '--into', branch, '--yes'], { cwd: repo });
      expect({ branch, code: result.code, lines: result.stderr.split('\n').length }).toEqual({
        branch,
        code: 1,
        lines: 2,
      });
      expect(result.stderr).toMatch(message);
    }
    expect(readFileSync(logPath)).toEqual(log);
    expect(git(world, repo, ['rev-parse', 'main']).trim()).toBe(base);
  });
});

/** The repo around a protected run with `--branch`, as it was before the run: nothing may change it but the branch. */
interface BranchRun {
  readonly repo: string;
  readonly base: string;
  readonly taskId: string;
  readonly logPath: string;
  readonly approvalId: string;
  /** The ticket file of the approval, in the repo's state folder. */
  readonly ticketPath: string;
  /** HEAD, the index bytes and every checkout file (outside `.git`), taken before the run. */
  readonly checkout: () => { head: string; index: Buffer; files: Record<string, string> };
}

const reviewed = { ...fix, 'test/add.test.js': `${project['test/add.test.js']}// reviewed\n` };

function checkoutOf(world: World, repo: string): { head: string; index: Buffer; files: Record<string, string> } {
  return {
    head: git(world, repo, ['rev-parse', 'HEAD']),
    index: readFileSync(join(repo, '.git', 'index')),
    files: snapshotTree(repo, (relative) => relative === '.git'),
  };
}

function branchesOf(world: World, repo: string): string[] {
  return git(world, repo, ['for-each-ref', '--format=%(refname) %(objectname)', 'refs/heads'])
    .split('\n')
    .filter((line) => line !== '');
}

/** `run --branch fix` on a patch that touches the test file: exit 4, an approval, and no branch yet. */
async function protectedBranchRun(world: World, branch = 'fix'): Promise<BranchRun> {
  const { dir, base } = makeRepo(world, project);
  writeFiles(dir, reviewed);
  const before = checkoutOf(world, dir);
  const { code, report, stderr } = await runJson(world, dir, ['--verify', verify, '--branch', branch]);
  expect({ code, verdict: report.verdict, branch: report.branch }).toEqual({
    code: 4,
    verdict: 'needs-approval',
    branch: null,
  });
  const approvalId = report.approvalId ?? '';
  expect(stderr).toContain(`crustcore: branch '${branch}' is created when approval ${approvalId} is granted\n`);
  expect(branchesOf(world, dir)).toEqual([`refs/heads/main ${base}`]);
  expect(checkoutOf(world, dir)).toEqual(before);
  const ticketPath = join(report.log.path, '..', '..', 'approvals', 'tickets', `${approvalId}.json`);
  return {
    repo: dir,
    base,
    taskId: report.taskId,
    logPath: report.log.path,
    approvalId,
    ticketPath,
    checkout: () => before,
  };
}

/** The tree of `base` with the files of `files` replaced: `path -> mode type oid`, as `ls-tree -r` prints it. */
function treeWith(world: World, repo: string, base: string, files: Readonly<Record<string, string>>): string[] {
  const entries = new Map(
    git(world, repo, ['ls-tree', '-r', base])
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => [line.split('\t')[1] ?? '', line] as const),
  );
  for (const [path, content] of Object.entries(files)) {
    const oid = git(world, repo, ['hash-object', '--stdin'], content).trim();
    entries.set(path, `100644 blob ${oid}\t${path}`);
  }
  return [...entries.keys()].sort().map((path) => entries.get(path) ?? '');
}

interface DecisionJson {
  readonly decision: string;
  readonly status: string;
  readonly patch: { readonly digest: string; readonly storedAt: string } | null;
  readonly branch: { readonly name: string; readonly commit: string | null; readonly error: string | null } | null;
  readonly reason: string | null;
}

describe('a protected run with --branch', () => {
  it('the approval names the new branch; approve creates it on the base with the patch, and touches nothing else', async () => {
    const world = configuredWorld();
    const run = await protectedBranchRun(world);
    const [approval, ...others] = await pending(world);
    expect(others).toEqual([]);
    expect(approval).toMatchObject({
      approvalId: run.approvalId,
      purpose: 'acceptProtected',
      taskId: run.taskId,
      branch: null,
      newBranch: 'fix',
      protectedPaths: [{ path: 'test/add.test.js', reason: 'testFile' }],
    });
    const human = await cli(world, ['approvals']);
    expect(human.stdout).toContain('  new branch: fix (created on approval; must not exist yet)\n');
    expect(human.stdout).toContain("; then commit it onto new branch 'fix'\n");

    const approved = await cli(world, ['approve', run.approvalId, '--yes', '--json']);
    const report = parseJson<DecisionJson>(approved);
    const commit = git(world, run.repo, ['rev-parse', 'refs/heads/fix']).trim();
    expect({ code: approved.code, report }).toEqual({
      code: 0,
      report: expect.objectContaining({
        decision: 'granted',
        status: 'integrated',
        branch: { name: 'fix', commit, error: null },
        reason: null,
      }) as unknown as DecisionJson,
    });
    expect(sha256(readFileSync(report.patch?.storedAt ?? ''))).toBe(report.patch?.digest);
    expect(git(world, run.repo, ['rev-list', '--parents', '-n', '1', commit]).trim()).toBe(`${commit} ${run.base}`);
    expect(
      git(world, run.repo, ['ls-tree', '-r', commit])
        .split('\n')
        .filter((line) => line !== ''),
    ).toEqual(treeWith(world, run.repo, run.base, reviewed));
    expect(branchesOf(world, run.repo)).toEqual([`refs/heads/fix ${commit}`, `refs/heads/main ${run.base}`]);
    expect(checkoutOf(world, run.repo)).toEqual(run.checkout());

    await expectLogSound(world, run.logPath);
    const tail = (await exportedEvents(world, run.logPath)).slice(-3);
    expect(tail).toEqual([
      expect.objectContaining({ kind: 'approvalResolved', approvalId: run.approvalId, decision: 'granted' }),
      expect.objectContaining({ kind: 'integrationRequested', taskId: run.taskId, branch: 'fix', mode: 'newBranch' }),
      expect.objectContaining({ kind: 'integrationFinished', taskId: run.taskId, branch: 'fix', commit }),
    ] as unknown as Event[]);
    expect(await pending(world)).toEqual([]);
  });

  it('approve without --json says where the branch was created', async () => {
    const world = configuredWorld();
    const run = await protectedBranchRun(world);
    const approved = await cli(world, ['approve', run.approvalId, '--yes']);
    const commit = git(world, run.repo, ['rev-parse', 'refs/heads/fix']).trim();
    expect(approved.code).toBe(0);
    expect(approved.stdout).toContain(`\nbranch 'fix' created at ${commit}\n`);
    await expectLogSound(world, run.logPath);
  });

  it('deny creates no branch', async () => {
    const world = configuredWorld();
    const run = await protectedBranchRun(world);
    const denied = await cli(world, ['deny', run.approvalId, '--yes', '--json']);
    expect({ code: denied.code, report: parseJson<DecisionJson>(denied) }).toEqual({
      code: 0,
      report: expect.objectContaining({
        decision: 'denied',
        status: 'rejected',
        patch: null,
        branch: { name: 'fix', commit: null, error: 'the approval was denied; the branch is not created' },
      }) as unknown as DecisionJson,
    });
    expect(branchesOf(world, run.repo)).toEqual([`refs/heads/main ${run.base}`]);
    expect(checkoutOf(world, run.repo)).toEqual(run.checkout());
    await expectLogSound(world, run.logPath);
    const kinds = (await exportedEvents(world, run.logPath)).map((event) => event.kind);
    expect(kinds.filter((kind) => kind.startsWith('integration'))).toEqual([]);
  });

  it('a branch created meanwhile is never moved: the grant stores the patch and reports why there is no branch', async () => {
    const world = configuredWorld();
    const run = await protectedBranchRun(world);
    const theirs = git(world, run.repo, ['commit-tree', `${run.base}^{tree}`, '-p', run.base, '-m', 'theirs'], '');
    git(world, run.repo, ['branch', 'fix', theirs.trim()]);
    const approved = await cli(world, ['approve', run.approvalId, '--yes', '--json']);
    const report = parseJson<DecisionJson>(approved);
    const error = "branchExists: branch 'fix' already exists; choose a new name (an existing branch is never moved)";
    expect({ code: approved.code, report }).toEqual({
      code: 1,
      report: expect.objectContaining({
        decision: 'granted',
        status: 'verified',
        branch: { name: 'fix', commit: null, error },
        reason: error,
      }) as unknown as DecisionJson,
    });
    expect(sha256(readFileSync(report.patch?.storedAt ?? ''))).toBe(report.patch?.digest);
    expect(branchesOf(world, run.repo)).toEqual([`refs/heads/fix ${theirs.trim()}`, `refs/heads/main ${run.base}`]);
    expect(checkoutOf(world, run.repo)).toEqual(run.checkout());
    await expectLogSound(world, run.logPath);
    expect((await exportedEvents(world, run.logPath)).slice(-2)).toEqual([
      expect.objectContaining({ kind: 'integrationRequested', branch: 'fix', mode: 'newBranch' }),
      expect.objectContaining({ kind: 'integrationFailed', taskId: run.taskId, reason: error }),
    ] as unknown as Event[]);
    expect(await pending(world)).toEqual([]);

    const human = await cli(world, ['approve', run.approvalId, '--yes']);
    expect(human.code).toBe(1);
  });

  it('the rules of run --branch apply at approval: a deny for the patch paths keeps the branch from being written', async () => {
    const world = configuredWorld();
    const rulesFile = join(world.root, 'rules.json');
    const rules = [
      { effect: 'allow', actions: ['writeNewBranch'] },
      { effect: 'deny', actions: ['writeNewBranch'], paths: ['test/**'], reason: 'test changes are merged by hand' },
    ];
    writeFileSync(rulesFile, JSON.stringify({ version: 1, rules }));
    mkdirSync(join(world.root, 'config', 'crustcore'), { recursive: true });
    writeFileSync(join(world.root, 'config', 'crustcore', 'config.json'), JSON.stringify({ rulesFile }));
    const run = await protectedBranchRun(world);
    const approved = await cli(world, ['approve', run.approvalId, '--yes', '--json']);
    const report = parseJson<DecisionJson>(approved);
    expect({ code: approved.code, status: report.status, patch: report.patch !== null }).toEqual({
      code: 1,
      status: 'verified',
      patch: true,
    });
    expect(report.branch?.error).toMatch(
      /^policy: rule 1 denies writeNewBranch on branch 'fix' for \d+ paths?: .*: test changes are merged by hand/,
    );
    expect(branchesOf(world, run.repo)).toEqual([`refs/heads/main ${run.base}`]);
    await expectLogSound(world, run.logPath);
    expect((await exportedEvents(world, run.logPath)).slice(-2)).toEqual([
      expect.objectContaining({ kind: 'integrationRequested', branch: 'fix', mode: 'newBranch' }),
      expect.objectContaining({ kind: 'integrationFailed', reason: report.branch?.error }),
    ] as unknown as Event[]);
  });

  it('a ticket edited to name another branch, or none, is refused by the digest; nothing changes', async () => {
    const world = configuredWorld();
    const run = await protectedBranchRun(world);
    const original = readFileSync(run.ticketPath, 'utf8');
    const ticket = JSON.parse(original) as Record<string, unknown>;
    expect(ticket['newBranch']).toBe('fix');
    const edits: readonly Record<string, unknown>[] = [
      { ...ticket, newBranch: 'other' },
      { ...ticket, newBranch: null },
      Object.fromEntries(Object.entries(ticket).filter(([key]) => key !== 'newBranch')),
    ];
    for (const edited of edits) {
      writeFileSync(run.ticketPath, `${JSON.stringify(edited, null, 2)}\n`);
      const before = stateSnapshot(world);
      const refused = await cli(world, ['approve', run.approvalId, '--yes']);
      expect({ code: refused.code, stderr: refused.stderr }).toEqual({
        code: 1,
        stderr: `crustcore: refused: approval ${run.approvalId} is for another action (patch, target or base differ)\n`,
      });
      expect(stateSnapshot(world)).toEqual(before);
      expect(branchesOf(world, run.repo)).toEqual([`refs/heads/main ${run.base}`]);
    }
    expect(checkoutOf(world, run.repo)).toEqual(run.checkout());
    // The untouched ticket is still good: the refusals spent nothing.
    writeFileSync(run.ticketPath, original);
    const approved = await cli(world, ['approve', run.approvalId, '--yes', '--json']);
    expect({ code: approved.code, branch: parseJson<DecisionJson>(approved).branch?.name }).toEqual({
      code: 0,
      branch: 'fix',
    });
    await expectLogSound(world, run.logPath);
  });
});
