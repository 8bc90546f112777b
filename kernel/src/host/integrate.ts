/**
 * Integration of a verified patch into an EXISTING local branch, and the actions a resumed task
 * performs after a user decision. The branch only ever fast-forwards: the kernel builds the
 * commit (verified tree, parent = the verified base) with a private index and moves the ref with
 * `update-ref <new> <base>`, so a branch that moved is refused, never rebased. A branch checked
 * out in any worktree is refused too: the kernel never changes a working tree.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { resolveRepo, runGit, type RepoInfo } from '../attempt/index.js';
import { assertNever, taskVerdict, type Action, type Task, type TaskVerdict } from '../core/index.js';
import type { VerifiedPatch } from '../verify/verified-patch.js';
import {
  findApprovalIn,
  requestApproval,
  resolveApproval,
  type DecisionRefusal,
  type LocatedApproval,
} from './approval-flow.js';
import type { ReviewModeSetting } from './config.js';
import { buildVerifiedCommit, commitToNewBranch, storePatch } from './deliver.js';
import { gateIntegration, loadPolicy } from './policy-gate.js';
import { ResumedTask, ResumeError } from './resume-task.js';
import { StateDir } from './state-dir.js';

/** Why a branch cannot take the verified patch. */
export type IntegrationRefusalCode = 'badBranchName' | 'noSuchBranch' | 'branchMoved' | 'checkedOut' | 'gitFailed';

/** A refused integration target: one line, what to do. */
export interface IntegrationRefusal {
  readonly code: IntegrationRefusalCode;
  readonly detail: string;
}

/**
 * Null when `branch` is an existing local branch that points at `baseCommit` and is checked out
 * in no worktree of the repo; otherwise why the kernel will not move it.
 */
export async function checkIntegrationTarget(
  repo: RepoInfo,
  branch: string,
  baseCommit: string,
): Promise<IntegrationRefusal | null> {
  const format = await runGit({ gitDir: repo.gitDir, args: ['check-ref-format', '--branch', branch] });
  if (!format.ok || branch.startsWith('-')) {
    return { code: 'badBranchName', detail: `'${branch}' is not a valid branch name` };
  }
  const head = await runGit({
    gitDir: repo.gitDir,
    args: ['rev-parse', '--verify', '--quiet', `refs/heads/${branch}`],
  });
  if (!head.ok) {
    return {
      code: 'noSuchBranch',
      detail: `branch '${branch}' does not exist; integrate only fast-forwards an existing branch (for a new one use 'crustcore run --branch ${branch}')`,
    };
  }
  const at = head.stdout.toString('utf8').trim();
  if (at !== baseCommit) {
    return {
      code: 'branchMoved',
      detail: `branch '${branch}' is at ${at.slice(0, 12)}, not at the verified base ${baseCommit.slice(0, 12)}: the kernel only fast-forwards and never rebases; run the task again on the branch (crustcore run --base ${branch} ...)`,
    };
  }
  const worktrees = await runGit({ gitDir: repo.gitDir, args: ['worktree', 'list', '--porcelain'] });
  if (!worktrees.ok) return { code: 'gitFailed', detail: worktrees.error.detail };
  const holder = checkedOutIn(worktrees.stdout.toString('utf8'), `refs/heads/${branch}`);
  if (holder !== null) {
    return {
      code: 'checkedOut',
      detail: `branch '${branch}' is checked out in ${holder}; the kernel never changes a working tree: switch that worktree to another branch (or 'git switch --detach'), or integrate into a branch that is not checked out, then run again`,
    };
  }
  return null;
}

/** The worktree path that has `ref` checked out, from `git worktree list --porcelain`; null if none. */
function checkedOutIn(porcelain: string, ref: string): string | null {
  let path: string | null = null;
  for (const line of porcelain.split('\n')) {
    if (line.startsWith('worktree ')) path = line.slice('worktree '.length);
    else if (line === `branch ${ref}`) return path ?? '(a worktree)';
  }
  return null;
}

/**
 * Fast-forwards existing branch `branch` from the verified base to a commit of `patch`. The ref
 * moves only if it still points at the base (`update-ref` with the base as the old value).
 */
export async function fastForwardBranch(input: {
  readonly repo: RepoInfo;
  readonly branch: string;
  readonly patch: VerifiedPatch;
  readonly message: string;
  readonly scratchDir: string;
}): Promise<
  { readonly ok: true; readonly commit: string } | { readonly ok: false; readonly error: IntegrationRefusal }
> {
  const refused = await checkIntegrationTarget(input.repo, input.branch, input.patch.baseCommit);
  if (refused !== null) return { ok: false, error: refused };
  const built = await buildVerifiedCommit(input);
  if (!built.ok) return { ok: false, error: { code: 'gitFailed', detail: built.error.detail } };
  const update = await runGit({
    gitDir: input.repo.gitDir,
    args: ['update-ref', `refs/heads/${input.branch}`, built.commit, input.patch.baseCommit],
  });
  if (!update.ok) {
    return {
      ok: false,
      error: {
        code: 'branchMoved',
        detail: `branch '${input.branch}' moved while integrating: ${update.error.detail}`,
      },
    };
  }
  return { ok: true, commit: built.commit };
}

/** What the resumed actions did, for the report. */
export interface ResumedOutcome {
  /** The patch delivered (stored) by a `deliverPatch`. */
  patch: { readonly digest: string; readonly storedAt: string; readonly text: string } | null;
  branch: { readonly name: string; readonly commit: string | null; readonly error: string | null } | null;
  /** The approval a `requestApproval` minted. */
  approvalId: string | null;
  /** Refusals the core reported, and deliveries that could not be made. */
  readonly problems: string[];
}

/** Where a resumed task's actions run. */
export interface ResumedContext {
  readonly stateDir: StateDir;
  readonly repo: RepoInfo;
  readonly repoState: string;
  readonly resumed: ResumedTask;
  readonly progress: (line: string) => void;
  readonly readClockMs: () => number;
}

/** Performs the actions `step` returned for a resumed task, and those that follow, to quiescence. */
export async function performResumedActions(
  context: ResumedContext,
  first: readonly Action[],
): Promise<ResumedOutcome> {
  const outcome: ResumedOutcome = { patch: null, branch: null, approvalId: null, problems: [] };
  const queue: Action[] = [...first];
  while (queue.length > 0) {
    const action = queue.shift();
    if (action !== undefined) queue.push(...(await performOne(context, action, outcome)));
  }
  return outcome;
}

async function performOne(
  context: ResumedContext,
  action: Action,
  outcome: ResumedOutcome,
): Promise<readonly Action[]> {
  const { resumed } = context;
  switch (action.kind) {
    case 'deliverPatch':
      await deliver(context, action.patchDigest, outcome);
      return [];
    case 'integratePatch':
      return integrate(context, action.branch, action.mode, action.patchDigest, outcome);
    case 'requestApproval': {
      const files = resumed.evidence(action.patchDigest)?.files ?? [];
      const requested = requestApproval({
        stateDir: context.stateDir,
        repoDir: context.repo.topLevel,
        repoState: context.repoState,
        driver: resumed.driver,
        action,
        files,
        patch: null,
        nowMs: context.readClockMs(),
      });
      outcome.approvalId = requested.approvalId;
      return requested.actions;
    }
    case 'reportRefusal':
      outcome.problems.push(`the kernel refused: ${action.reason} (${action.detail})`);
      context.progress(`kernel refused an event: ${action.reason} (${action.detail})`);
      return [];
    case 'removeAttempt':
    case 'killJob':
      // A resumed task runs no attempt and no job; their trees and processes ended with the run.
      return [];
    case 'startAttempt':
    case 'runVerify':
      throw new Error(`a resumed task was asked to ${action.kind}; only a run starts attempts`);
    default:
      return assertNever(action);
  }
}

function keptPatchPath(repoState: string, patchDigest: string): string {
  const pending = join(repoState, 'pending', `${patchDigest}.patch`);
  return existsSync(pending) ? pending : join(repoState, 'patches', `${patchDigest}.patch`);
}

async function deliver(context: ResumedContext, patchDigest: string, outcome: ResumedOutcome): Promise<void> {
  let patch: VerifiedPatch;
  try {
    patch = await context.resumed.sealVerified({
      repoDir: context.repo.topLevel,
      repoState: context.repoState,
      patchPath: keptPatchPath(context.repoState, patchDigest),
    });
  } catch (error) {
    if (!(error instanceof ResumeError)) throw error;
    outcome.problems.push(`the approved patch was not delivered: ${error.message}`);
    return;
  }
  const storedAt = storePatch(context.repoState, patch);
  outcome.patch = { digest: patch.patchDigest, storedAt, text: Buffer.from(patch.patch).toString('utf8') };
  context.progress(`verified: patch ${patchDigest.slice(0, 12)} stored at ${storedAt}`);
}

async function integrate(
  context: ResumedContext,
  branch: string,
  mode: 'newBranch' | 'existingBranch',
  patchDigest: string,
  outcome: ResumedOutcome,
): Promise<readonly Action[]> {
  const { resumed } = context;
  const taskId = resumed.taskId;
  const fail = (reason: string): readonly Action[] => {
    outcome.branch = { name: branch, commit: null, error: reason };
    context.progress(`branch '${branch}' not integrated: ${reason}`);
    return resumed.driver.emit({ kind: 'integrationFailed', taskId, reason });
  };
  let patch: VerifiedPatch;
  try {
    patch = await resumed.sealVerified({
      repoDir: context.repo.topLevel,
      repoState: context.repoState,
      patchPath: join(context.repoState, 'patches', `${patchDigest}.patch`),
    });
  } catch (error) {
    if (!(error instanceof ResumeError)) throw error;
    return fail(`${error.code}: ${error.message}`);
  }
  const task = resumed.task();
  const approval = task.integration?.approvalId ?? null;
  const message = `${task.goal === '' ? 'Verified change' : task.goal}\n\nVerified by crustcore: '${task.verifyCommand}' passed on a fresh tree.\nTask: ${taskId}\nPatch: sha256:${patch.patchDigest}\n${approval === null ? '' : `Approval: ${approval}\n`}`;
  const scratchDir = join(context.repoState, 'scratch');
  const result =
    mode === 'existingBranch'
      ? await fastForwardBranch({ repo: context.repo, branch, patch, message, scratchDir })
      : await commitToNewBranch({ repo: context.repo, branch, patch, message, scratchDir });
  if (!result.ok) return fail(`${result.error.code}: ${result.error.detail}`);
  outcome.branch = { name: branch, commit: result.commit, error: null };
  context.progress(
    `branch '${branch}' now at ${result.commit.slice(0, 12)} (verified patch ${patchDigest.slice(0, 12)})`,
  );
  return resumed.driver.emit({ kind: 'integrationFinished', taskId, branch, commit: result.commit });
}

/** How the user confirms: true yes, false no, null when there is no terminal to ask on. */
export type Confirm = (question: string) => Promise<boolean | null>;

/** What `crustcore integrate` was asked. */
export interface IntegrateRequest {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly repoDir: string;
  readonly taskId: string;
  readonly branch: string;
  /** `--yes`: the user's confirmation for scripts. */
  readonly yes: boolean;
  readonly confirm: Confirm;
  readonly progress: (line: string) => void;
  readonly readClockMs?: () => number;
}

/** What `crustcore integrate` concluded. */
export interface IntegrateReport {
  readonly verdict: TaskVerdict;
  readonly exitCode: number;
  readonly taskId: string;
  readonly branch: string;
  readonly reviewMode: ReviewModeSetting;
  readonly commit: string | null;
  readonly approvalId: string | null;
  readonly reason: string | null;
  /** The rules-file decision that let the integration proceed; empty without a rules file. */
  readonly policy: readonly string[];
  readonly log: { readonly path: string; readonly headSeq: number };
}

/** The result of `integrateTask`: a report, or a refusal (exit 1) or usage error (exit 2) that changed nothing. */
export type IntegrateOutcome =
  | { readonly kind: 'report'; readonly report: IntegrateReport }
  | { readonly kind: 'refused'; readonly message: string }
  | { readonly kind: 'usage'; readonly message: string };

/**
 * `crustcore integrate`: fast-forwards an existing branch to the verified patch of a task. Under
 * review mode `auto` the command itself is the user's approval (confirmed on the terminal or by
 * `--yes`); otherwise the kernel files an approval and stops (exit 4) until `crustcore approve`.
 * Either way the log records the request, the approval and its resolution, and the result.
 */
export async function integrateTask(request: IntegrateRequest): Promise<IntegrateOutcome> {
  const readClockMs = request.readClockMs ?? Date.now;
  // The policy is read when the command starts: a malformed config or rules file changes nothing.
  const loaded = loadPolicy(request.env);
  if (!loaded.ok) return { kind: 'usage', message: loaded.message };
  const policy = loaded.policy;
  const reviewMode = policy.reviewMode;
  const repoResult = await resolveRepo(request.repoDir);
  if (!repoResult.ok) {
    return {
      kind: 'usage',
      message: `${request.repoDir} is not a git repository (${repoResult.error.detail}); pass --dir <repo>`,
    };
  }
  const repo = repoResult.repo;
  const stateDir = StateDir.open(request.env);
  const repoState = stateDir.repoDir(repo.topLevel);
  let resumed: ResumedTask;
  try {
    resumed = ResumedTask.open({ stateDir, repoState, taskId: request.taskId, nowMs: readClockMs(), readClockMs });
  } catch (error) {
    if (error instanceof ResumeError) return { kind: 'refused', message: error.message };
    if ((error as { code?: unknown }).code === 'notFound') {
      return {
        kind: 'refused',
        message: `no task ${request.taskId} in ${repo.topLevel}; pass --dir <repo> and a task id from 'crustcore run'`,
      };
    }
    throw error;
  }
  let closed = false;
  try {
    const task = resumed.task();
    const unusable = await precondition(task, repo, repoState, request.branch);
    if (unusable !== null) return { kind: 'refused', message: unusable };
    // The rules judge the files of the verified patch as the log recorded them, never a file on disk.
    const files = resumed.evidence(task.patchDigest ?? '')?.files;
    if (files === undefined) {
      return {
        kind: 'refused',
        message: `the log of task ${task.taskId} holds no verify evidence for its patch; run the task again`,
      };
    }
    const gate = gateIntegration(policy, request.branch, files);
    if (gate.verdict === 'refused') return { kind: 'refused', message: gate.message };
    for (const line of gate.lines) request.progress(line);
    const needsApproval = gate.needsApproval;
    let via: 'cli-tty' | 'cli-yes' = 'cli-yes';
    if (!needsApproval && !request.yes) {
      const answer = await request.confirm(
        `integrate verified patch ${(task.patchDigest ?? '').slice(0, 12)} of task ${task.taskId} into existing branch '${request.branch}'?`,
      );
      if (answer === null) {
        return {
          kind: 'usage',
          message: 'no terminal to confirm the integration on; pass --yes to confirm it in a script',
        };
      }
      if (!answer) return { kind: 'refused', message: 'not confirmed; nothing was changed' };
      via = 'cli-tty';
    }
    const context: ResumedContext = { stateDir, repo, repoState, resumed, progress: request.progress, readClockMs };
    const requested = resumed.driver.emit({
      kind: 'integrationRequested',
      taskId: task.taskId,
      branch: request.branch,
      mode: 'existingBranch',
    });
    const outcome = await performResumedActions(context, requested);
    let reason = outcome.problems.join('; ');
    if (!needsApproval && outcome.approvalId !== null) {
      const located: LocatedApproval | null = findApprovalIn(repoState, outcome.approvalId);
      const resolved: { ok: true; actions: readonly Action[] } | DecisionRefusal =
        located === null
          ? { ok: false, code: 'unknownApproval', reason: `approval ${outcome.approvalId} was not filed` }
          : resolveApproval(stateDir, located, resumed, {
              actor: 'user',
              via,
              decision: 'granted',
              nowMs: readClockMs(),
            });
      if (resolved.ok) {
        const performed = await performResumedActions(context, resolved.actions);
        outcome.branch = performed.branch;
        reason = [...outcome.problems, ...performed.problems].join('; ');
      } else {
        reason = resolved.reason;
      }
    }
    const after = resumed.task();
    resumed.close();
    closed = true;
    const verdict = taskVerdict(after);
    const waiting = after.status === 'awaiting-approval';
    const integrated = after.status === 'integrated';
    return {
      kind: 'report',
      report: {
        verdict: waiting ? 'needs-approval' : verdict,
        exitCode: integrated ? 0 : waiting ? 4 : 1,
        taskId: after.taskId,
        branch: request.branch,
        reviewMode,
        commit: after.integration?.commit ?? null,
        approvalId: outcome.approvalId,
        reason: integrated || waiting ? null : reason === '' ? (after.integrationError ?? null) : reason,
        policy: gate.lines,
        log: { path: resumed.logPath, headSeq: resumed.driver.head.seq },
      },
    };
  } finally {
    if (!closed) resumed.abandon();
  }
}

/** Why task `task` cannot be integrated into `branch` now; null when it can. Nothing is written. */
async function precondition(task: Task, repo: RepoInfo, repoState: string, branch: string): Promise<string | null> {
  if (task.status === 'integrated') {
    return `task ${task.taskId} is already integrated into '${task.integration?.branch ?? ''}'`;
  }
  if (task.status === 'awaiting-approval') {
    return `task ${task.taskId} awaits approval ${task.awaiting?.approvalId ?? ''}; decide it with 'crustcore approve' or 'crustcore deny'`;
  }
  if (task.status !== 'verified') return `task ${task.taskId} is ${task.status}: only a verified patch is integrated`;
  if (task.patchDigest === null || !existsSync(join(repoState, 'patches', `${task.patchDigest}.patch`))) {
    return `the verified patch of task ${task.taskId} is not stored in the state dir; run the task again`;
  }
  const refused = await checkIntegrationTarget(repo, branch, task.baseCommit);
  return refused === null ? null : refused.detail;
}
