/**
 * A protected patch of a run with `--branch <name>`: the approval carries the new branch, bound to
 * its action digest (the acceptance and the `writeNewBranch` of that name together), so the
 * ticket, the approvals file and the log all name one branch. A ticket edited to name another
 * branch, or none, no longer matches the digest the token and the log carry and is refused with
 * every file of the repo's state folder unchanged; a ticket written before new branches existed
 * still loads and grants.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { approvalOf } from '../../src/core/index.js';
import {
  approvalDigestOf,
  approvalsDirOf,
  findApprovalIn,
  listApprovals,
  resolveApproval,
  type DecisionRefusal,
} from '../../src/host/approval-flow.js';
import { ResumedTask } from '../../src/host/resume-task.js';
import { ApprovalStore, canonicalJson, computeActionDigest, type ActionDescriptor } from '../../src/policy/index.js';
import {
  approvalWorld,
  attemptId,
  baseCommit,
  patchDigest,
  snapshotFiles,
  type ApprovalWorld,
} from './approval-fixture.js';

const worlds: ApprovalWorld[] = [];
afterEach(() => {
  for (const world of worlds.splice(0)) world.cleanup();
});

function world(newBranch?: string): ApprovalWorld {
  const made = approvalWorld('t1', undefined, newBranch === undefined ? {} : { newBranch });
  worlds.push(made);
  return made;
}

function digestOf(action: ActionDescriptor): string {
  const digest = computeActionDigest(action);
  if (!digest.ok) throw new Error(digest.reason);
  return digest.digest;
}

const acceptDigest = digestOf({
  kind: 'runVerify',
  patchDigest,
  target: { type: 'attempt', attemptId },
  baseCommit,
  taskId: 't1',
});

/** The digest an approval of the protected patch plus new branch `branch` is bound to, computed independently. */
function boundDigest(branch: string): string {
  const write = digestOf({
    kind: 'writeNewBranch',
    patchDigest,
    target: { type: 'branch', branch },
    baseCommit,
    taskId: 't1',
  });
  const hex = createHash('sha256')
    .update('crustcore/approval-actions/v1\n')
    .update(canonicalJson([acceptDigest, write]))
    .digest('hex');
  return `sha256:${hex}`;
}

function ticketPathOf(w: ApprovalWorld): string {
  return join(approvalsDirOf(w.repoState), 'tickets', `${w.approvalId}.json`);
}

function readTicketJson(w: ApprovalWorld): Record<string, unknown> {
  return JSON.parse(readFileSync(ticketPathOf(w), 'utf8')) as Record<string, unknown>;
}

function open(w: ApprovalWorld): ResumedTask {
  return ResumedTask.open({
    stateDir: w.stateDir,
    repoState: w.repoState,
    taskId: w.taskId,
    nowMs: w.clock.nowMs,
    readClockMs: () => w.clock.nowMs,
  });
}

/** Grants the approval as the user; the log is checkpointed only when the grant went through. */
function grant(w: ApprovalWorld): ReturnType<typeof resolveApproval> {
  const located = findApprovalIn(w.repoState, w.approvalId);
  if (located === null) throw new Error('approval not found');
  const resumed = open(w);
  const result = resolveApproval(w.stateDir, located, resumed, {
    actor: 'user',
    via: 'cli-yes',
    decision: 'granted',
    nowMs: w.clock.nowMs,
  });
  if (result.ok) resumed.close();
  else resumed.abandon();
  return result;
}

describe('an approval that carries a new branch', () => {
  it('binds the branch into the digest that the approvals file, the ticket, the log and the listing share', () => {
    const w = world('fix');
    const digest = boundDigest('fix');
    expect(digest).not.toBe(acceptDigest);
    const record = new ApprovalStore(approvalsDirOf(w.repoState)).get(w.approvalId);
    expect({
      actionKind: record?.actionKind,
      actionDigest: record?.actionDigest,
      title: record?.summary.title,
    }).toEqual({
      actionKind: 'runVerify',
      actionDigest: digest,
      title: `accept patch ${patchDigest.slice(0, 12)} of task t1: it changes 1 protected path(s) among 2 file(s); verify passed; then commit it onto new branch 'fix'`,
    });
    expect(readTicketJson(w)).toMatchObject({ purpose: 'acceptProtected', branch: null, newBranch: 'fix' });
    const resumed = open(w);
    try {
      expect(approvalOf(resumed.driver.state, w.approvalId)?.actionDigest).toBe(digest);
      const task = resumed.task();
      const awaiting = task.awaiting;
      if (awaiting === null) throw new Error('the task awaits no approval');
      expect(approvalDigestOf(task, awaiting, 'fix')).toBe(digest);
      expect(approvalDigestOf(task, awaiting, null)).toBe(acceptDigest);
      expect(() => approvalDigestOf(task, { ...awaiting, purpose: 'integrate' }, 'fix')).toThrow(
        'a new branch rides only on an acceptProtected approval, not integrate',
      );
    } finally {
      resumed.abandon();
    }
    const [view, ...others] = listApprovals(w.stateDir, { repoState: w.repoState, nowMs: w.clock.nowMs });
    expect(others).toEqual([]);
    expect({ branch: view?.branch, newBranch: view?.newBranch }).toEqual({ branch: null, newBranch: 'fix' });
  });

  it('grants with the untouched ticket: the core delivers the patch', () => {
    const w = world('fix');
    expect(grant(w)).toEqual({ ok: true, actions: [{ kind: 'deliverPatch', taskId: 't1', patchDigest }] });
    expect(new ApprovalStore(approvalsDirOf(w.repoState)).get(w.approvalId)?.status).toBe('used');
  });

  const edits: readonly [string, (ticket: Record<string, unknown>) => Record<string, unknown>][] = [
    ['names another branch', (ticket) => ({ ...ticket, newBranch: 'other' })],
    ['names no branch', (ticket) => ({ ...ticket, newBranch: null })],
    ['drops the field', (ticket) => Object.fromEntries(Object.entries(ticket).filter(([key]) => key !== 'newBranch'))],
  ];
  for (const [name, edit] of edits) {
    it(`refuses a ticket that ${name} and changes nothing`, () => {
      const w = world('fix');
      writeFileSync(ticketPathOf(w), JSON.stringify(edit(readTicketJson(w))));
      const before = snapshotFiles(w.repoState);
      expect(grant(w)).toEqual({
        ok: false,
        code: 'digestMismatch',
        reason: `approval ${w.approvalId} is for another action (patch, target or base differ)`,
      } satisfies DecisionRefusal);
      expect(snapshotFiles(w.repoState)).toEqual(before);
    });
  }

  it('a branch added to a ticket of an approval without one is refused and changes nothing', () => {
    const w = world();
    writeFileSync(ticketPathOf(w), JSON.stringify({ ...readTicketJson(w), newBranch: 'fix' }));
    const before = snapshotFiles(w.repoState);
    expect(grant(w)).toEqual({
      ok: false,
      code: 'digestMismatch',
      reason: `approval ${w.approvalId} is for another action (patch, target or base differ)`,
    });
    expect(snapshotFiles(w.repoState)).toEqual(before);
  });

  it('a new branch on a ticket for another purpose makes the ticket unreadable', () => {
    const w = world('fix');
    writeFileSync(ticketPathOf(w), JSON.stringify({ ...readTicketJson(w), purpose: 'integrate' }));
    expect(findApprovalIn(w.repoState, w.approvalId)?.ticket).toBeNull();
    writeFileSync(ticketPathOf(w), JSON.stringify({ ...readTicketJson(w), purpose: 'acceptProtected', newBranch: 7 }));
    expect(findApprovalIn(w.repoState, w.approvalId)?.ticket).toBeNull();
  });

  it('a ticket written before approvals carried new branches loads with none and still grants', () => {
    const w = world();
    const { newBranch, ...older } = readTicketJson(w);
    expect(newBranch).toBeNull();
    writeFileSync(ticketPathOf(w), JSON.stringify(older));
    expect(findApprovalIn(w.repoState, w.approvalId)?.ticket).toMatchObject({ newBranch: null, branch: null });
    expect(grant(w)).toEqual({ ok: true, actions: [{ kind: 'deliverPatch', taskId: 't1', patchDigest }] });
  });
});
