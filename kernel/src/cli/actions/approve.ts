import { createInterface } from 'node:readline';
import { resolveRepo, type RepoInfo } from '../../attempt/index.js';
import type { TaskStatus } from '../../core/index.js';
import {
  decideApproval,
  findApproval,
  viewOf,
  type Decision,
  type DecisionResult,
  type LocatedApproval,
} from '../../host/approval-flow.js';
import { performResumedActions, type Confirm, type ResumedContext, type ResumedOutcome } from '../../host/integrate.js';
import { checkBranchDelivery, loadPolicy, type RunPolicy } from '../../host/policy-gate.js';
import { ResumeError } from '../../host/resume-task.js';
import { StateDir } from '../../host/state-dir.js';
import { ApprovalStoreError } from '../../policy/index.js';
import type { CommandAction, CommandArgs } from '../command.js';
import { ExitCode } from '../exit-codes.js';
import type { Io } from '../io.js';
import { renderApproval } from './approvals.js';

/**
 * Asks on the terminal (`y/N` on stderr, the answer from stdin); null when stdin is no terminal,
 * so a script can never be taken for a user who typed yes.
 */
export const ttyConfirm: Confirm = (question) => {
  if (process.stdin.isTTY !== true) return Promise.resolve(null);
  return new Promise((resolveAnswer) => {
    const prompt = createInterface({ input: process.stdin, output: process.stderr });
    // End of input (Ctrl-D) or Ctrl-C without an answer is a no, never a silent exit.
    prompt.once('close', () => resolveAnswer(false));
    prompt.once('SIGINT', () => prompt.close());
    prompt.question(`${question} [y/N] `, (answer) => {
      resolveAnswer(/^(y|yes)$/i.test(answer.trim()));
      prompt.close();
    });
  });
};

/** What `approve` and `deny` print with `--json`. */
export interface DecisionReport {
  readonly approvalId: string;
  readonly purpose: string;
  readonly decision: Decision;
  readonly via: 'cli-tty' | 'cli-yes';
  readonly taskId: string;
  readonly status: TaskStatus;
  readonly patch: { readonly digest: string; readonly storedAt: string } | null;
  /**
   * The branch the decision concerns: the existing branch an `integrate` approval fast-forwards, or
   * the new branch a granted `acceptProtected` approval of `run --branch` creates; `commit` is null
   * and `error` says why when it was not written.
   */
  readonly branch: { readonly name: string; readonly commit: string | null; readonly error: string | null } | null;
  readonly reason: string | null;
  readonly log: { readonly path: string; readonly headSeq: number };
}

function failure(io: Io, json: boolean, code: string, message: string, exit: number): number {
  if (json) io.stdout(`${JSON.stringify({ error: { code, message } })}\n`);
  io.stderr(`crustcore: ${message}\n`);
  return exit;
}

/**
 * `approve` and `deny`: shows the approval, asks the user (or takes `--yes`), then lets the kernel
 * check the token and record the decision, and performs what the core returns for it.
 */
export async function runDecision(decision: Decision, args: CommandArgs, io: Io, confirm: Confirm): Promise<number> {
  const approvalId = args.positionals[0] ?? '';
  const stateDir = StateDir.find(io.env);
  const located: LocatedApproval | null = stateDir === null ? null : findApproval(stateDir, approvalId);
  if (stateDir === null || located === null) {
    const message = `refused: no approval ${approvalId}; list pending approvals with 'crustcore approvals'`;
    return failure(io, args.json, 'unknownApproval', message, ExitCode.failed);
  }
  const newBranch = located.ticket?.newBranch ?? null;
  // A grant that creates a branch applies the rules of `run --branch`: they are read before anything changes.
  let branchPolicy: RunPolicy | null = null;
  if (decision === 'granted' && newBranch !== null) {
    const loaded = loadPolicy(io.env);
    if (!loaded.ok) return failure(io, args.json, 'config', `${loaded.message}; nothing was changed`, ExitCode.usage);
    branchPolicy = {
      policy: loaded.policy,
      yes: args.values['yes'] === true,
      confirm,
      show: (text) => io.stderr(`crustcore: ${text}\n`),
    };
  }
  if (!args.json) io.stdout(renderApproval(viewOf(located)));
  const verb = decision === 'granted' ? 'approve' : 'deny';
  let via: 'cli-tty' | 'cli-yes' = 'cli-yes';
  if (args.values['yes'] !== true) {
    const answer = await confirm(`${verb} approval ${approvalId}?`);
    if (answer === null) {
      const message = `no terminal to confirm on; pass --yes to ${verb} approval ${approvalId} from a script`;
      return failure(io, args.json, 'usage', message, ExitCode.usage);
    }
    if (!answer) return failure(io, args.json, 'declined', 'not confirmed; nothing was changed', ExitCode.failed);
    via = 'cli-tty';
  }
  const ticket = located.ticket;
  const repo = ticket === null ? null : await resolveRepo(ticket.repo);
  if (repo !== null && (!repo.ok || stateDir.repoDir(repo.repo.topLevel) !== located.repoState)) {
    const message = `refused: the repository ${ticket?.repo ?? ''} of approval ${approvalId} is gone or moved; nothing was changed`;
    return failure(io, args.json, 'repoGone', message, ExitCode.failed);
  }
  const progress = (line: string): void => io.stderr(`crustcore: ${line}\n`);
  let decided: DecisionResult<Decided>;
  try {
    decided = await decide(stateDir, located, repo?.ok === true ? repo.repo : null, {
      decision,
      via,
      progress,
      branchPolicy,
    });
  } catch (error) {
    if (error instanceof ResumeError || error instanceof ApprovalStoreError) {
      return failure(io, args.json, error.code, `refused: ${error.message}`, ExitCode.failed);
    }
    throw error;
  }
  if (!decided.ok) return failure(io, args.json, decided.code, `refused: ${decided.reason}`, ExitCode.failed);
  const { outcome, status } = decided.result;
  const purpose = located.record.purpose;
  const branchMade = newBranch === null || outcome.branch?.commit !== null;
  const done =
    decision === 'denied' || (purpose === 'integrate' ? status === 'integrated' : outcome.patch !== null && branchMade);
  const reason = outcome.problems.length === 0 ? (outcome.branch?.error ?? null) : outcome.problems.join('; ');
  const branch =
    decision === 'denied' && newBranch !== null
      ? { name: newBranch, commit: null, error: 'the approval was denied; the branch is not created' }
      : outcome.branch;
  const report: DecisionReport = {
    approvalId,
    purpose,
    decision,
    via,
    taskId: located.record.taskId,
    status,
    patch: outcome.patch === null ? null : { digest: outcome.patch.digest, storedAt: outcome.patch.storedAt },
    branch,
    reason: done ? null : reason,
    log: { path: decided.logPath, headSeq: decided.headSeq },
  };
  if (args.json) {
    io.stdout(`${JSON.stringify(report)}\n`);
  } else {
    io.stdout(renderDecision(report, outcome.patch?.text ?? null));
  }
  return done ? ExitCode.ok : ExitCode.failed;
}

interface Decided {
  readonly outcome: ResumedOutcome;
  readonly status: TaskStatus;
}

/** How the user decided, and what a grant that creates a branch is checked against. */
interface DecideOptions {
  readonly decision: Decision;
  readonly via: 'cli-tty' | 'cli-yes';
  readonly progress: (line: string) => void;
  /** The user's policy, read when the approval names a new branch and the decision is a grant. */
  readonly branchPolicy: RunPolicy | null;
}

async function decide(
  stateDir: StateDir,
  located: LocatedApproval,
  repo: RepoInfo | null,
  options: DecideOptions,
): Promise<DecisionResult<Decided>> {
  const { decision, via, progress } = options;
  return decideApproval(
    stateDir,
    located,
    { actor: 'user', via, decision, nowMs: Date.now() },
    async (context, actions) => {
      if (repo === null) throw new ResumeError('patchUnusable', 'the approval names no repository');
      const resumedContext: ResumedContext = {
        stateDir,
        repo,
        repoState: located.repoState,
        resumed: context.resumed,
        progress,
        readClockMs: Date.now,
      };
      const outcome = await performResumedActions(resumedContext, actions);
      const newBranch = context.ticket.newBranch;
      if (decision === 'granted' && newBranch !== null) {
        if (options.branchPolicy === null)
          throw new Error('a grant that creates a branch was decided without the policy');
        await createNewBranch(resumedContext, newBranch, options.branchPolicy, outcome);
      }
      return { outcome, status: context.resumed.task().status };
    },
  );
}

/**
 * Creates the new branch a granted `acceptProtected` approval carries, as `run --branch` does once
 * the patch is delivered: the rules are asked for `writeNewBranch` with the verified patch's
 * paths, the core is told (`integrationRequested`, mode `newBranch`), and the `integratePatch` it
 * returns commits the patch on its base through a private index (`commitToNewBranch`), never
 * moving an existing branch. Either way the log ends with `integrationFinished` or
 * `integrationFailed`, and `outcome.branch` says which.
 */
async function createNewBranch(
  context: ResumedContext,
  branch: string,
  policy: RunPolicy,
  outcome: ResumedOutcome,
): Promise<void> {
  const { resumed } = context;
  const task = resumed.task();
  const notCreated = (error: string): void => {
    outcome.branch = { name: branch, commit: null, error };
    context.progress(`branch '${branch}' not created: ${error}`);
  };
  const files = task.patchDigest === null ? undefined : resumed.evidence(task.patchDigest)?.files;
  if (outcome.patch === null || task.status !== 'verified' || files === undefined) {
    notCreated(`task ${task.taskId} is ${task.status} and its approved patch was not delivered`);
    return;
  }
  const checked = await checkBranchDelivery(policy, branch, files);
  const requested = resumed.driver.emit({
    kind: 'integrationRequested',
    taskId: task.taskId,
    branch,
    mode: 'newBranch',
  });
  if (!checked.ok) {
    notCreated(checked.reason);
    const failed = resumed.driver.emit({ kind: 'integrationFailed', taskId: task.taskId, reason: checked.reason });
    outcome.problems.push(...(await performResumedActions(context, failed)).problems);
    return;
  }
  for (const line of checked.lines) context.progress(line);
  const performed = await performResumedActions(context, requested);
  outcome.problems.push(...performed.problems);
  if (performed.branch === null)
    notCreated(performed.problems.join('; ') || 'the kernel did not start the integration');
  else outcome.branch = performed.branch;
}

function renderDecision(report: DecisionReport, patchText: string | null): string {
  const lines: string[] = [];
  const task = `task ${report.taskId}`;
  if (report.decision === 'denied') {
    lines.push(
      report.purpose === 'integrate'
        ? `DENIED approval ${report.approvalId}: ${task} stays verified; branch '${report.branch?.name ?? ''}' is unchanged`
        : `REJECTED ${task}: approval ${report.approvalId} denied; the protected changes are not accepted${report.branch === null ? '' : `; branch '${report.branch.name}' is not created`}`,
    );
  } else if (report.purpose === 'integrate') {
    lines.push(
      report.branch?.commit === null || report.branch === null
        ? `NOT INTEGRATED ${task}: ${report.reason ?? 'unknown reason'}`
        : `INTEGRATED ${task}: branch '${report.branch.name}' fast-forwarded to ${report.branch.commit}`,
    );
  } else {
    lines.push(
      report.patch === null
        ? `NOT DELIVERED ${task}: ${report.reason ?? 'unknown reason'}`
        : `VERIFIED ${task}: approval ${report.approvalId} granted; patch sha256:${report.patch.digest}`,
    );
    if (report.patch !== null) lines.push(`stored: ${report.patch.storedAt}`);
    if (report.branch !== null) {
      lines.push(
        report.branch.commit === null
          ? `branch '${report.branch.name}' not created: ${report.branch.error ?? 'unknown error'}`
          : `branch '${report.branch.name}' created at ${report.branch.commit}`,
      );
    }
  }
  lines.push(`log: ${report.log.path} (head record ${report.log.headSeq})`);
  if (patchText !== null) lines.push('', patchText.trimEnd());
  return `${lines.join('\n')}\n`;
}

/** Runs `crustcore approve`; loaded only when the command runs. */
export const approveAction: CommandAction = (args, io) => runDecision('granted', args, io, ttyConfirm);
