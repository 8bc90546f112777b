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
import { performResumedActions, type Confirm, type ResumedOutcome } from '../../host/integrate.js';
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
    decided = await decide(stateDir, located, repo?.ok === true ? repo.repo : null, decision, via, progress);
  } catch (error) {
    if (error instanceof ResumeError || error instanceof ApprovalStoreError) {
      return failure(io, args.json, error.code, `refused: ${error.message}`, ExitCode.failed);
    }
    throw error;
  }
  if (!decided.ok) return failure(io, args.json, decided.code, `refused: ${decided.reason}`, ExitCode.failed);
  const { outcome, status } = decided.result;
  const purpose = located.record.purpose;
  const done = decision === 'denied' || (purpose === 'integrate' ? status === 'integrated' : outcome.patch !== null);
  const reason = outcome.problems.length === 0 ? (outcome.branch?.error ?? null) : outcome.problems.join('; ');
  const report: DecisionReport = {
    approvalId,
    purpose,
    decision,
    via,
    taskId: located.record.taskId,
    status,
    patch: outcome.patch === null ? null : { digest: outcome.patch.digest, storedAt: outcome.patch.storedAt },
    branch: outcome.branch,
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

async function decide(
  stateDir: StateDir,
  located: LocatedApproval,
  repo: RepoInfo | null,
  decision: Decision,
  via: 'cli-tty' | 'cli-yes',
  progress: (line: string) => void,
): Promise<DecisionResult<Decided>> {
  return decideApproval(
    stateDir,
    located,
    { actor: 'user', via, decision, nowMs: Date.now() },
    async (context, actions) => {
      if (repo === null) throw new ResumeError('patchUnusable', 'the approval names no repository');
      const outcome = await performResumedActions(
        { stateDir, repo, repoState: located.repoState, resumed: context.resumed, progress, readClockMs: Date.now },
        actions,
      );
      return { outcome, status: context.resumed.task().status };
    },
  );
}

function renderDecision(report: DecisionReport, patchText: string | null): string {
  const lines: string[] = [];
  const task = `task ${report.taskId}`;
  if (report.decision === 'denied') {
    lines.push(
      report.purpose === 'integrate'
        ? `DENIED approval ${report.approvalId}: ${task} stays verified; branch '${report.branch?.name ?? ''}' is unchanged`
        : `REJECTED ${task}: approval ${report.approvalId} denied; the protected changes are not accepted`,
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
  }
  lines.push(`log: ${report.log.path} (head record ${report.log.headSeq})`);
  if (patchText !== null) lines.push('', patchText.trimEnd());
  return `${lines.join('\n')}\n`;
}

/** Runs `crustcore approve`; loaded only when the command runs. */
export const approveAction: CommandAction = (args, io) => runDecision('granted', args, io, ttyConfirm);
