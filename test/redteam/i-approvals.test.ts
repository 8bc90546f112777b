/**
 * REDTEAM I 41 and 42: approvals.
 *
 * 41: the model or a sidecar tries to approve its own action. The only decision path is the
 * kernel's `resolveApproval`/`decideApproval`, and the CLI calls it as the user; any other actor
 * is refused there before anything is read or written, and an `approvalResolved` from any other
 * actor is refused by the core even if it reaches the log.
 * 42: an approval token reused for another patch, another branch, after it was used, or after it
 * expired is refused: the token is single-use, MAC-bound to the approval's action digest and
 * expiry, and the digest is recomputed from the log.
 *
 * Method: the real CLI, real git and the real bubblewrap sandbox make the tasks and approvals;
 * the attacks then tamper with the kernel's own files or call the kernel API in-process. Each
 * refusal is checked to leave the whole state dir byte-for-byte unchanged (lock files aside).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { approvalOf } from '../../kernel/src/core/index.js';
import {
  decideApproval,
  findApproval,
  resolveApproval,
  type DecisionInput,
} from '../../kernel/src/host/approval-flow.js';
import { ResumedTask } from '../../kernel/src/host/resume-task.js';
import { StateDir } from '../../kernel/src/host/state-dir.js';
import type { ApprovalActor } from '../../kernel/src/policy/index.js';
import {
  cli,
  exportEvents,
  git,
  makeRepo,
  makeWorld,
  nodeFix,
  nodeProject,
  requireBwrap,
  run,
  runAllTests,
  snapshotTree,
  useBuiltCli,
  useWorlds,
  writeFiles,
  type World,
} from './support.js';

useBuiltCli();
requireBwrap();
useWorlds();

interface Listed {
  readonly approvalId: string;
  readonly taskId: string;
  readonly purpose: string;
  readonly branch: string | null;
  readonly logPath: string;
}

async function pending(world: World): Promise<Listed[]> {
  const result = await cli(world, ['approvals', '--json']);
  expect(result.code).toBe(0);
  return (JSON.parse(result.stdout) as { approvals: Listed[] }).approvals;
}

/** The state dir without lock files. */
function stateOf(world: World): Map<string, string> {
  const snapshot = snapshotTree(world.state);
  for (const key of [...snapshot.keys()]) if (key.endsWith('.lock')) snapshot.delete(key);
  return snapshot;
}

/** A run in its own repo whose patch fixes the code and edits a test: it waits for `acceptProtected`. */
async function protectedTask(world: World, name: string): Promise<Listed> {
  const repo = makeRepo(world, nodeProject, name);
  writeFiles(repo, { ...nodeFix, 'test/ok.test.js': `${nodeProject['test/ok.test.js']}// edited\n` });
  const { code, report } = await run(world, repo, ['--verify', runAllTests]);
  expect(code).toBe(4);
  const listed = (await pending(world)).find((approval) => approval.taskId === report.taskId);
  if (listed === undefined) throw new Error('the run filed no approval');
  return listed;
}

/** A verified task and an integrate request into existing branch `branch` (approve-before-merge). */
async function integrateRequest(world: World, branches: readonly string[]): Promise<{ repo: string; taskId: string }> {
  const repo = makeRepo(world, nodeProject);
  writeFiles(repo, nodeFix);
  const { code, report } = await run(world, repo, ['--verify', runAllTests]);
  expect(code).toBe(0);
  for (const branch of branches) git(world, repo, ['branch', branch]);
  return { repo, taskId: report.taskId };
}

function ticketPath(world: World, approval: Listed): string {
  return join(approval.logPath, '..', '..', 'approvals', 'tickets', `${approval.approvalId}.json`);
}

function swapToken(world: World, into: Listed, from: Listed): void {
  const target = JSON.parse(readFileSync(ticketPath(world, into), 'utf8')) as Record<string, unknown>;
  const source = JSON.parse(readFileSync(ticketPath(world, from), 'utf8')) as Record<string, unknown>;
  writeFileSync(ticketPath(world, into), JSON.stringify({ ...target, token: source['token'] }));
}

describe('41: only the user resolves approvals', () => {
  it('the model, a sidecar or the kernel itself is refused at the API, before anything changes', async () => {
    const world = makeWorld();
    const approval = await protectedTask(world, 'repo');
    const stateDir = StateDir.open(world.env);
    const located = findApproval(stateDir, approval.approvalId);
    if (located === null) throw new Error('approval not found');
    const before = stateOf(world);
    for (const actor of ['model', 'sidecar', 'kernel'] as const satisfies readonly ApprovalActor[]) {
      const input: DecisionInput = { actor, via: 'cli-yes', decision: 'granted', nowMs: Date.now() };
      const decided = await decideApproval(stateDir, located, input, () => Promise.resolve('performed'));
      expect(decided).toEqual({
        ok: false,
        code: 'wrongActor',
        reason: `only the user resolves approvals, not the ${actor}; approval ${approval.approvalId} is unchanged`,
      });
      const resumed = ResumedTask.open({
        stateDir,
        repoState: located.repoState,
        taskId: approval.taskId,
        nowMs: Date.now(),
      });
      try {
        expect(resolveApproval(stateDir, located, resumed, input)).toMatchObject({ ok: false, code: 'wrongActor' });
      } finally {
        resumed.abandon();
      }
    }
    expect(stateOf(world)).toEqual(before);
    expect((await pending(world)).map((listed) => listed.approvalId)).toEqual([approval.approvalId]);
  });

  it('an approvalResolved from the model that reaches the log is refused by the core; the task still waits', async () => {
    const world = makeWorld();
    const approval = await protectedTask(world, 'repo');
    const stateDir = StateDir.open(world.env);
    const located = findApproval(stateDir, approval.approvalId);
    if (located === null) throw new Error('approval not found');
    const resumed = ResumedTask.open({
      stateDir,
      repoState: located.repoState,
      taskId: approval.taskId,
      nowMs: Date.now(),
    });
    const digest = approvalOf(resumed.driver.state, approval.approvalId)?.actionDigest ?? '';
    const actions = resumed.driver.emit({
      kind: 'approvalResolved',
      approvalId: approval.approvalId,
      actor: 'model',
      decision: 'granted',
      actionDigest: digest,
    });
    expect(actions).toEqual([
      {
        kind: 'reportRefusal',
        taskId: approval.taskId,
        reason: 'actorNotUser',
        detail: 'approvalResolved: only the user resolves approvals, not the model',
      },
    ]);
    expect(resumed.task().status).toBe('awaiting-approval');
    resumed.close();
    const { events } = await exportEvents(world, approval.logPath);
    expect(events.filter((event) => event.kind === 'approvalResolved')).toMatchObject([{ actor: 'model' }]);
    // The user's real approval still works afterwards, exactly once.
    const approved = await cli(world, ['approve', approval.approvalId, '--yes']);
    expect(approved.code).toBe(0);
  });
});

describe('42: a token is single-use, bound to its action, and expires', () => {
  it("another patch: a task's token does not approve another task's patch", async () => {
    const world = makeWorld();
    const first = await protectedTask(world, 'one');
    const second = await protectedTask(world, 'two');
    swapToken(world, second, first);
    const before = stateOf(world);
    const refused = await cli(world, ['approve', second.approvalId, '--yes']);
    expect({ code: refused.code, stderr: refused.stderr }).toEqual({
      code: 1,
      stderr: `crustcore: refused: no pending approval ${first.approvalId}; list them with \`crustcore approvals\`\n`,
    });
    expect(stateOf(world)).toEqual(before);
  });

  it('another branch: a denied approval for one branch does not authorise the request for another', async () => {
    const world = makeWorld();
    const { repo, taskId } = await integrateRequest(world, ['alpha', 'beta']);
    const first = await cli(world, ['integrate', taskId, '--into', 'alpha', '--json'], { cwd: repo });
    expect(first.code).toBe(4);
    const alpha = (await pending(world))[0];
    if (alpha === undefined) throw new Error('no approval for alpha');
    expect((await cli(world, ['deny', alpha.approvalId, '--yes'])).code).toBe(0);
    expect((await cli(world, ['integrate', taskId, '--into', 'beta'], { cwd: repo })).code).toBe(4);
    const beta = (await pending(world))[0];
    if (beta === undefined) throw new Error('no approval for beta');
    expect({ alpha: alpha.branch, beta: beta.branch }).toEqual({ alpha: 'alpha', beta: 'beta' });

    // The alpha token in beta's ticket: the MAC names alpha's id.
    const ticket = readFileSync(ticketPath(world, beta));
    swapToken(world, beta, alpha);
    const before = stateOf(world);
    const swapped = await cli(world, ['approve', beta.approvalId, '--yes']);
    expect({ code: swapped.code, stderr: swapped.stderr }).toEqual({
      code: 1,
      stderr: `crustcore: refused: no pending approval ${alpha.approvalId}; list them with \`crustcore approvals\`\n`,
    });
    expect(stateOf(world)).toEqual(before);

    // Beta's record rebound to alpha's action digest: the MAC covers the digest.
    writeFileSync(ticketPath(world, beta), ticket);
    const store = join(beta.logPath, '..', '..', 'approvals', 'approvals.json');
    const text = readFileSync(store, 'utf8');
    const file = JSON.parse(text) as { approvals: { approvalId: string; actionDigest: string }[] };
    const alphaDigest = file.approvals.find((record) => record.approvalId === alpha.approvalId)?.actionDigest ?? '';
    for (const record of file.approvals) if (record.approvalId === beta.approvalId) record.actionDigest = alphaDigest;
    writeFileSync(store, `${JSON.stringify(file, null, 2)}\n`);
    const rebound = stateOf(world);
    const refused = await cli(world, ['approve', beta.approvalId, '--yes']);
    expect({ code: refused.code, stderr: refused.stderr }).toEqual({
      code: 1,
      stderr: `crustcore: refused: approval ${beta.approvalId} does not match its token: the record or the token was altered\n`,
    });
    expect(stateOf(world)).toEqual(rebound);
    expect(git(world, repo, ['rev-parse', 'alpha'])).toBe(git(world, repo, ['rev-parse', 'beta']));

    // The genuine beta approval still works once; alpha's denial is final.
    writeFileSync(store, text);
    expect((await cli(world, ['approve', beta.approvalId, '--yes'])).code).toBe(0);
    const deniedAgain = await cli(world, ['approve', alpha.approvalId, '--yes']);
    expect(deniedAgain.code).toBe(1);
  });

  it('after use: an integrate approval performs once; reusing it changes nothing', async () => {
    const world = makeWorld();
    const { repo, taskId } = await integrateRequest(world, ['target']);
    expect((await cli(world, ['integrate', taskId, '--into', 'target'], { cwd: repo })).code).toBe(4);
    const approval = (await pending(world))[0];
    if (approval === undefined) throw new Error('no approval');
    expect((await cli(world, ['approve', approval.approvalId, '--yes'])).code).toBe(0);
    const moved = git(world, repo, ['rev-parse', 'target']);
    const before = stateOf(world);
    const reused = await cli(world, ['approve', approval.approvalId, '--yes']);
    expect({ code: reused.code, stderr: reused.stderr }).toEqual({
      code: 1,
      stderr: `crustcore: refused: approval ${approval.approvalId} was already granted and used; an approval authorises one action once\n`,
    });
    expect(stateOf(world)).toEqual(before);
    expect(git(world, repo, ['rev-parse', 'target'])).toBe(moved);
  });

  it('after expiry: the kernel refuses at the expiry time and changes nothing', async () => {
    const world = makeWorld();
    const approval = await protectedTask(world, 'repo');
    const stateDir = StateDir.open(world.env);
    const located = findApproval(stateDir, approval.approvalId);
    if (located === null) throw new Error('approval not found');
    const before = stateOf(world);
    const expiresAtMs = located.record.expiresAtMs;
    const decided = await decideApproval(
      stateDir,
      located,
      { actor: 'user', via: 'cli-yes', decision: 'granted', nowMs: expiresAtMs },
      () => Promise.resolve('performed'),
    );
    expect(decided).toEqual({
      ok: false,
      code: 'expired',
      reason: `approval ${approval.approvalId} expired; the kernel must request a new one`,
    });
    expect(stateOf(world)).toEqual(before);
  });
});
