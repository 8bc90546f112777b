/**
 * The user's policy end to end: the real built CLI as a child process (no terminal on stdin),
 * real git repos, the real bubblewrap sandbox, a temp state dir and a temp `XDG_CONFIG_HOME`
 * holding the user's config and rules file. Protected-path settings change the verdict and are
 * recorded; the review mode `approve-before-execute` stops a worker until the user confirms; the
 * rules file refuses a run up front, keeps a branch unwritten at delivery, refuses or forces an
 * approval for `integrate`; a malformed rules file stops every command that acts. A refusal up
 * front writes nothing; every log left behind stays intact and replayable.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Event } from '../../kernel/src/core/index.js';
import {
  exportedEvents,
  stateSnapshot,
  cli,
  expectLogSound,
  git,
  logsOf,
  makeRepo,
  makeWorld,
  parseJson,
  requireBwrap,
  run,
  runJson,
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
  'db/schema.sql': 'create table t (id int);\n',
  'fixes/add.js': 'module.exports = (a, b) => a + b;\n',
};
const fix = { 'src/add.js': 'module.exports = (a, b) => a + b;\n' };
const verify = 'node test/add.test.js';
/** A worker that makes the fix from a file committed in the base. */
const worker = 'cp fixes/add.js src/add.js';

/** A world whose config home holds `config` and, when given, a rules file the config names. */
function configuredWorld(config: Record<string, unknown>, rules?: unknown): { world: World; rulesFile: string } {
  const world = makeWorld();
  const home = join(world.root, 'config');
  const rulesFile = join(world.root, 'rules.json');
  world.env['XDG_CONFIG_HOME'] = home;
  mkdirSync(join(home, 'crustcore'), { recursive: true });
  if (rules !== undefined) writeFileSync(rulesFile, typeof rules === 'string' ? rules : JSON.stringify(rules));
  const full = rules === undefined ? config : { ...config, rulesFile };
  writeFileSync(join(home, 'crustcore', 'config.json'), `${JSON.stringify(full)}\n`);
  return { world, rulesFile };
}

function eventOf<K extends Event['kind']>(all: readonly Event[], kind: K): Extract<Event, { kind: K }> {
  const found = all.find((event) => event.kind === kind);
  if (found === undefined) throw new Error(`no ${kind} event in ${JSON.stringify(all.map((e) => e.kind))}`);
  return found as Extract<Event, { kind: K }>;
}

function branches(world: World, repo: string): string[] {
  return git(world, repo, ['for-each-ref', '--format=%(refname:short)', 'refs/heads/'])
    .split('\n')
    .filter((line) => line !== '');
}

describe('protected paths from the config', () => {
  it('an extra protected rule makes a passing patch need approval', async () => {
    const { world } = configuredWorld({ protectedPaths: { extra: [{ rule: 'migrations', globs: ['db/**'] }] } });
    const { dir } = makeRepo(world, project);
    writeFiles(dir, { ...fix, 'db/schema.sql': 'create table t (id bigint);\n' });
    const { code, report } = await runJson(world, dir, ['--verify', verify]);
    expect({
      code,
      verdict: report.verdict,
      protectedPaths: report.protectedPaths,
      acceptedProtected: report.acceptedProtected,
    }).toEqual({
      code: 4,
      verdict: 'needs-approval',
      protectedPaths: [{ path: 'db/schema.sql', rule: 'migrations' }],
      acceptedProtected: [],
    });
  });

  it('a config allow glob accepts a protected change like --allow-protected, recorded in the log', async () => {
    const { world } = configuredWorld({ protectedPaths: { allow: ['test/**'] } });
    const { dir } = makeRepo(world, project);
    writeFiles(dir, { ...fix, 'test/add.test.js': `${project['test/add.test.js']}// reviewed\n` });
    const { code, report } = await runJson(world, dir, ['--verify', verify]);
    const accepted = [{ path: 'test/add.test.js', rule: 'testFile' }];
    expect({
      code,
      verdict: report.verdict,
      risks: report.risks,
      protectedPaths: report.protectedPaths,
      acceptedProtected: report.acceptedProtected,
    }).toEqual({
      code: 0,
      verdict: 'verified',
      risks: ['allow-protected (config): test/**'],
      protectedPaths: [],
      acceptedProtected: accepted,
    });
    const logged = await exportedEvents(world, report.log.path);
    expect({
      risks: eventOf(logged, 'taskCreated').risks,
      integrity: eventOf(logged, 'verifyFinished').integrity,
    }).toEqual({ risks: ['allow-protected (config): test/**'], integrity: { verdict: 'clean', accepted } });
  });
});

describe('review mode approve-before-execute', () => {
  it('a worker run without a terminal or --yes: exit 2, one line after the plan, nothing written', async () => {
    const { world } = configuredWorld({ reviewMode: 'approve-before-execute' });
    const { dir, base } = makeRepo(world, project);
    const before = stateSnapshot(world);
    const result = await cli(world, ['run', '--worker', worker, '--verify', verify], { cwd: dir });
    expect({ code: result.code, stdout: result.stdout, stderr: result.stderr.split('\n') }).toEqual({
      code: 2,
      stdout: '',
      stderr: [
        `crustcore: plan: take the worker '${worker}', run in the sandbox, up to 2 attempt(s) on a fresh tree of ${dir} at ${base.slice(0, 12)}, verify it with '${verify}' in the sandbox (no network, no secrets); grants to the untrusted code: none; on a pass, store the verified patch. Your confirmation is needed: review mode approve-before-execute asks before a worker or a model runs.`,
        'crustcore: this run needs your confirmation (review mode approve-before-execute asks before a worker or a model runs) and there is no terminal to ask on; pass --yes to confirm it from a script (nothing was run)',
        '',
      ],
    });
    expect(stateSnapshot(world)).toEqual(before);
    expect(logsOf(world)).toEqual([]);
  });

  it('with --yes the worker runs and the log records the confirmation', async () => {
    const { world } = configuredWorld({ reviewMode: 'approve-before-execute' });
    const { dir } = makeRepo(world, project);
    const { code, report } = await runJson(world, dir, ['--worker', worker, '--verify', verify, '--yes']);
    expect({ code, verdict: report.verdict, risks: report.risks }).toEqual({
      code: 0,
      verdict: 'verified',
      risks: ['confirmed before execute (cli-yes)'],
    });
    expect(eventOf(await exportedEvents(world, report.log.path), 'taskCreated').risks).toEqual([
      'confirmed before execute (cli-yes)',
    ]);
  });

  it('a --patch run is not held: only untrusted code waits for the confirmation', async () => {
    const { world } = configuredWorld({ reviewMode: 'approve-before-execute' });
    const { dir } = makeRepo(world, project);
    writeFiles(dir, fix);
    const { code, report } = await runJson(world, dir, ['--verify', verify]);
    expect({ code, verdict: report.verdict, risks: report.risks }).toEqual({ code: 0, verdict: 'verified', risks: [] });
  });
});

const releaseRules = {
  version: 1,
  rules: [
    { effect: 'allow', actions: ['runWorker', 'writeNewBranch', 'integrateExistingBranch'] },
    { effect: 'deny', actions: ['writeNewBranch'], branches: ['release/*'], reason: 'releases are cut by CI' },
    { effect: 'deny', actions: ['writeNewBranch'], paths: ['src/**'], branches: ['docs/*'], reason: 'docs only' },
    { effect: 'deny', actions: ['integrateExistingBranch'], branches: ['stable'], reason: 'stable is frozen' },
    { effect: 'ask', actions: ['integrateExistingBranch'], branches: ['shared'], reason: 'shared with the team' },
  ],
};

describe('the rules file', () => {
  it('denies writeNewBranch for release/* up front: exit 1, nothing run, no branch, no log', async () => {
    const { world, rulesFile } = configuredWorld({ reviewMode: 'auto' }, releaseRules);
    const { dir } = makeRepo(world, project);
    writeFiles(dir, fix);
    const before = stateSnapshot(world);
    const result = await cli(world, ['run', '--verify', verify, '--branch', 'release/1.0'], { cwd: dir });
    expect({ code: result.code, stdout: result.stdout, stderr: result.stderr }).toEqual({
      code: 1,
      stdout: '',
      stderr: `crustcore: refused: policy: rule 1 denies writeNewBranch on branch 'release/1.0': rules[1] (deny, priority 0) decided writeNewBranch: releases are cut by CI (rules file ${rulesFile}); nothing was run\n`,
    });
    expect(branches(world, dir)).toEqual(['main']);
    expect(stateSnapshot(world)).toEqual(before);
  });

  it('allows a branch up front and records it; denies it at delivery by the patch paths: verified, stored, exit 1, no branch', async () => {
    const { world } = configuredWorld({ reviewMode: 'auto' }, releaseRules);
    const { dir } = makeRepo(world, project);
    writeFiles(dir, fix);
    const { code, report } = await runJson(world, dir, ['--verify', verify, '--branch', 'docs/fix']);
    const allowed =
      "policy: rule 0 allows writeNewBranch on branch 'docs/fix': rules[0] (allow, priority 0) decided writeNewBranch";
    const denied =
      "policy: rule 2 denies writeNewBranch on branch 'docs/fix' for 1 path: rules[2] (deny, priority 0) decided writeNewBranch on src/add.js: docs only";
    expect({
      code,
      exitCode: report.exitCode,
      verdict: report.verdict,
      risks: report.risks,
      branch: report.branch,
      stored: report.patch?.storedAt !== null && report.patch?.storedAt !== undefined,
    }).toEqual({
      code: 1,
      exitCode: 1,
      verdict: 'verified',
      risks: [allowed],
      branch: { name: 'docs/fix', commit: null, error: denied },
      stored: true,
    });
    expect(branches(world, dir)).toEqual(['main']);
    const logged = await exportedEvents(world, report.log.path);
    expect({
      risks: eventOf(logged, 'taskCreated').risks,
      last: logged.at(-1),
    }).toEqual({
      risks: [allowed],
      last: { ...logged.at(-1), kind: 'integrationFailed', taskId: report.taskId, reason: denied },
    });
  });

  it('a worker run and a branch the rules allow proceed; both decisions are in the log', async () => {
    const { world } = configuredWorld({ reviewMode: 'auto' }, releaseRules);
    const { dir } = makeRepo(world, project);
    const { code, report } = await runJson(world, dir, ['--worker', worker, '--verify', verify, '--branch', 'fix/add']);
    const risks = [
      'policy: rule 0 allows runWorker: rules[0] (allow, priority 0) decided runWorker',
      "policy: rule 0 allows writeNewBranch on branch 'fix/add': rules[0] (allow, priority 0) decided writeNewBranch",
    ];
    expect({ code, verdict: report.verdict, risks: report.risks, branch: report.branch?.name }).toEqual({
      code: 0,
      verdict: 'integrated',
      risks,
      branch: 'fix/add',
    });
    expect(branches(world, dir)).toEqual(['fix/add', 'main']);
    expect(eventOf(await exportedEvents(world, report.log.path), 'taskCreated').risks).toEqual(risks);
  });

  it('denies integrate into a frozen branch: exit 1, nothing changes', async () => {
    const { world, rulesFile } = configuredWorld({ reviewMode: 'auto' }, releaseRules);
    const { dir, base } = makeRepo(world, project);
    writeFiles(dir, fix);
    const { code, report } = await runJson(world, dir, ['--verify', verify]);
    expect({ code, verdict: report.verdict }).toEqual({ code: 0, verdict: 'verified' });
    git(world, dir, ['branch', 'stable']);
    const before = stateSnapshot(world);
    const result = await cli(world, ['integrate', report.taskId, '--into', 'stable', '--yes'], { cwd: dir });
    expect({ code: result.code, stdout: result.stdout, stderr: result.stderr }).toEqual({
      code: 1,
      stdout: '',
      stderr: `crustcore: refused: policy: rule 3 denies integrateExistingBranch on branch 'stable' for 1 path: rules[3] (deny, priority 0) decided integrateExistingBranch on src/add.js: stable is frozen (rules file ${rulesFile}); nothing was changed\n`,
    });
    expect(stateSnapshot(world)).toEqual(before);
    expect(git(world, dir, ['rev-parse', 'stable']).trim()).toBe(base);
  });

  it('an ask forces the approval path for integrate under review mode auto; approve then performs it', async () => {
    const { world } = configuredWorld({ reviewMode: 'auto' }, releaseRules);
    const { dir, base } = makeRepo(world, project);
    writeFiles(dir, fix);
    const { report } = await runJson(world, dir, ['--verify', verify]);
    git(world, dir, ['branch', 'shared']);
    const asked = await cli(world, ['integrate', report.taskId, '--into', 'shared', '--yes', '--json'], { cwd: dir });
    const request = parseJson<{ verdict: string; reviewMode: string; approvalId: string; policy: string[] }>(asked);
    expect({ code: asked.code, ...request, approvalId: typeof request.approvalId }).toMatchObject({
      code: 4,
      verdict: 'needs-approval',
      reviewMode: 'auto',
      approvalId: 'string',
      policy: [
        "policy: rule 4 asks for integrateExistingBranch on branch 'shared' for 1 path: rules[4] (ask, priority 0) decided integrateExistingBranch on src/add.js: shared with the team",
      ],
    });
    expect(git(world, dir, ['rev-parse', 'shared']).trim()).toBe(base);
    await expectLogSound(world, report.log.path);
    const kinds = (await exportedEvents(world, report.log.path)).slice(-2).map((event) => event.kind);
    expect(kinds).toEqual(['integrationRequested', 'approvalRequested']);

    const approved = await cli(world, ['approve', request.approvalId, '--yes', '--json']);
    const decided = parseJson<{ status: string; branch: { name: string; commit: string } }>(approved);
    expect({ code: approved.code, status: decided.status }).toEqual({ code: 0, status: 'integrated' });
    expect(git(world, dir, ['rev-parse', 'shared']).trim()).toBe(decided.branch.commit);
    await expectLogSound(world, report.log.path);
  });

  it('a malformed rules file stops run and integrate with exit 2, naming the file and the JSON path', async () => {
    const { world, rulesFile } = configuredWorld(
      { reviewMode: 'auto' },
      { version: 1, rules: [{ effect: 'allow' }, { effect: 'maybe', actions: ['runWorker'] }] },
    );
    const { dir } = makeRepo(world, project);
    writeFiles(dir, fix);
    const before = stateSnapshot(world);
    const line = `crustcore: rules file ${rulesFile}: rules[1].effect: expected "allow" | "deny" | "ask", got "maybe"\n`;
    const ran = await run(world, dir, ['--verify', verify]);
    expect({ code: ran.code, stdout: ran.stdout, stderr: ran.stderr }).toEqual({ code: 2, stdout: '', stderr: line });
    const integrated = await cli(world, ['integrate', 't20250101T000000-000000000000', '--into', 'main', '--yes'], {
      cwd: dir,
    });
    expect({ code: integrated.code, stderr: integrated.stderr }).toEqual({ code: 2, stderr: line });
    expect(stateSnapshot(world)).toEqual(before);
  });
});
